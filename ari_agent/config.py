"""Settings: one TOML file plus environment overrides, validated once at start-up into frozen dataclasses.

Nothing deeper in the code reads os.environ or the file: the Settings object is passed down.
Environment overrides are named ARI_AGENT_<SECTION>_<KEY>, e.g. ARI_AGENT_ARI_PASSWORD.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import socket
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "ARI_AGENT_"
# The same cache directory as scripts/lib.sh: ARI_AGENT_CACHE, else $XDG_CACHE_HOME/ari-agent, else ~/.cache/ari-agent.
DEFAULT_CACHE = Path(
    os.environ.get("ARI_AGENT_CACHE")
    or str(Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "ari-agent")
)


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key, the value and what is allowed."""


@dataclass(frozen=True, slots=True)
class AriSettings:
    """How to reach Asterisk's REST interface."""

    url: str = "http://127.0.0.1:18088"
    username: str = "ari_agent"
    password: str = field(default="ari_agent_secret", repr=False)
    app: str = "ari-agent"
    reconnect_max_seconds: float = 10.0
    request_timeout_seconds: float = 5.0
    # The Asterisk server this agent serves, as calls, pages and metrics name it (several nodes share one
    # database). Empty: this machine's host name.
    node: str = ""

    def node_name(self) -> str:
        """The node's name: `node`, else the host name."""
        return self.node or socket.gethostname()


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """Where Asterisk's externalMedia channel sends the caller's audio."""

    bind_host: str = "127.0.0.1"
    # The address Asterisk sends RTP to: the agent's address as seen from Asterisk.
    external_host: str = "127.0.0.1"
    format: str = "slin16"


@dataclass(frozen=True, slots=True)
class AsrSettings:
    """Offline speech recognition."""

    vosk_model_path: str = str(DEFAULT_CACHE / "vosk-model-en")
    sample_rate: int = 16000
    # When the bot asked for a service, a day/time, a phone number or a yes/no, decode the answer a second time
    # against those phrases and send that reading to the dialogue as a hint (asr.expectations).
    expectation_hints: bool = True
    # The open decoder returns this many alternatives, and a language model of the Rasa project's training
    # phrases picks among them (asr.domain_lm); 0: the recogniser's single best reading, as before.
    alternatives: int = 10
    # The open decoder's search (Kaldi's --beam and --max-active; 0: the model's own conf/model.conf, for the
    # English model 10 and 3000). Narrower is cheaper and hears less well: README, Performance.
    beam: float = 0.0
    max_active: int = 0
    # The recogniser hears the caller through WebRTC's noise suppressor (media.denoise): 0 off, 1-4 low to very
    # high. Off by default: level 2 lowered the word error of 200 simulated calls, not their success (README,
    # Call behaviour).
    noise_suppression: int = 0


@dataclass(frozen=True, slots=True)
class DialogueSettings:
    """The Rasa server."""

    rasa_url: str = "http://127.0.0.1:15005"
    timeout_seconds: float = 3.0
    # Rasa's HTTP API (trackers, /status) takes this token (`rasa run --auth-token`); without one anybody who
    # reaches the port can read and rewrite every conversation. auth_token wins; else the file's content (the
    # local stack writes it, scripts/rasa-start.sh); neither: no token is sent.
    auth_token: str = field(default="", repr=False)
    auth_token_file: str = str(DEFAULT_CACHE / "rasa-token")

    def token(self) -> str:
        """The token to send: auth_token, else the first line of auth_token_file, else ""."""
        if self.auth_token:
            return self.auth_token
        try:
            return Path(self.auth_token_file).expanduser().read_text().strip()
        except OSError:
            return ""


@dataclass(frozen=True, slots=True)
class TtsSettings:
    """Speech synthesis and the prompt cache."""

    engine: str = "flite"  # flite | espeak | coqui
    voice: str = "slt"
    # Where the agent writes prompt WAVs, and the same directory as Asterisk sees it (differs when Asterisk
    # runs in a chroot or a container).
    cache_dir: str = str(DEFAULT_CACHE / "asterisk-root" / "var" / "lib" / "ari-agent" / "sounds")
    asterisk_sound_dir: str = "/var/lib/ari-agent/sounds"
    coqui_model_path: str = ""
    coqui_config_path: str = ""


@dataclass(frozen=True, slots=True)
class CallSettings:
    """Turn-taking, silence handling and handoff."""

    greeting: str = "Hello, you've reached Riverside Dental Clinic. How can I help you today?"
    end_of_turn_ms: int = 600
    # Shorter trailing silence that ends the turn once the recogniser's partial result has stopped changing.
    fast_end_of_turn_ms: int = 350
    # A pause after words that cannot end a sentence ("... for", "... and", half a phone number) ends the turn
    # only after this much silence; a whole answer to the question asked ("yes please") after this little.
    hold_end_of_turn_ms: int = 1300
    # Measured: synthetic voices pause up to 300 ms at the comma of "Yes, cancel it", so a whole yes/no ends
    # the turn no sooner than a settled partial does (350); a shorter wait cut "cancel it" off as a new turn.
    # ... after a whole phrase callers usually continue (a task request, a day without a time).
    likely_more_end_of_turn_ms: int = 1300
    complete_end_of_turn_ms: int = 350
    min_speech_ms: int = 120
    # Detection plus the stop stays within the 200 ms a caller notices (make bench: p95 206 at 200); a cough
    # (tests: 150 ms) still does not interrupt.
    barge_in_ms: int = 180
    # Line echo is assumed at least this far below the agent's prompt (see ListenerConfig).
    echo_return_loss_db: float = 25.0
    no_input_seconds: float = 6.0
    max_reprompts: int = 2
    # The same reply at most this many times in a row; the turn that would say it once more hands the call to a
    # person (`misunderstood`) instead (0: no limit). A safety net under the dialogue's own repair counters.
    max_same_reply: int = 3
    max_utterance_seconds: float = 20.0
    stage_timeout_seconds: float = 8.0
    max_call_seconds: float = 900.0
    default_queue: str = "reception"
    handoff_context: str = "ari-agent-handoff"
    operator_digit: str = "0"
    # Keyed digits are one turn (a phone or card number is redacted and understood whole): it ends with "#",
    # this long without another key, or dtmf_max_digits keys.
    dtmf_interdigit_ms: int = 2500
    dtmf_max_digits: int = 20
    # On SIGTERM, live calls get this long to finish; then each is apologised to and put through to the queue.
    drain_seconds: float = 30.0
    # Calls over this go straight to the queue with a short line (0: no limit). The default is what make bench
    # ran at once on 2 cores and kept up with (10 calls, turn p95 1.5 s, heard at most ~40 ms late; 20 calls fell
    # seconds behind); raise it on a bigger machine after measuring there.
    max_concurrent_calls: int = 10
    # Also refused while any call's audio waits this long to be heard (the recogniser cannot keep up with the
    # calls already taken: a new one would slow every one of them); taken again below half of it. 0: off.
    overload_backlog_ms: int = 1000
    # A call whose audio waits this long to be heard goes to a person (handoff `capacity`): its caller already
    # waits that long for every answer, and handing it over frees the machine for the other calls. What was
    # said before is heard and stored first. 0: off.
    handoff_backlog_ms: int = 5000
    # The queue member hears a short spoken summary (who, why, what was gathered) before the bridge.
    announce_summary: bool = True
    # A timezone name for the call's "now" (dates like "tomorrow"); empty means the machine's local time.
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Transcript store."""

    dsn: str = field(default="postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent", repr=False)
    spool_path: str = str(DEFAULT_CACHE / "spool" / "events.jsonl")
    spool_max_mb: int = 256
    statement_timeout_seconds: float = 2.0
    # Regular expressions whose matches are replaced by "[redacted]" before anything is stored, on top of the
    # Luhn-checked card numbers (e.g. national insurance or patient numbers). TOML: a list of strings;
    # environment: a JSON list, or one pattern.
    redact_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The agent's own HTTP server: /metrics, /healthz, /readyz and the supervisor pages."""

    host: str = "127.0.0.1"
    port: int = 18080
    public_url: str = "http://127.0.0.1:18080"
    supervisor_user: str = "supervisor"
    supervisor_password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    """Log format and level."""

    format: str = "logfmt"  # logfmt | json
    level: str = "INFO"


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Per-call recordings: the caller's turns as the agent's endpointing cut them, plus what the agent said."""

    enabled: bool = False
    # The directory the supervisor pages serve recordings from (Asterisk's view of it, inside its chroot).
    directory: str = str(DEFAULT_CACHE / "asterisk-root" / "var" / "lib" / "ari-agent" / "recordings")
    retention_days: int = 90  # call directories older than this are deleted at start-up; 0 keeps them forever


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the agent."""

    ari: AriSettings = field(default_factory=AriSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    call: CallSettings = field(default_factory=CallSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)

    def secrets(self) -> list[str]:
        """Values that must never appear in logs."""
        found = [self.ari.password, self.http.supervisor_password, self.dialogue.token()]
        password = urlsplit(self.database.dsn).password
        if password:
            found.append(password)
        return [s for s in found if s]


_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("tts", "engine"): ("flite", "espeak", "coqui"),
    ("media", "format"): ("slin16", "ulaw"),
    ("logging", "format"): ("logfmt", "json"),
    ("logging", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}
_POSITIVE = {
    ("ari", "reconnect_max_seconds"),
    ("ari", "request_timeout_seconds"),
    ("dialogue", "timeout_seconds"),
    ("call", "end_of_turn_ms"),
    ("call", "fast_end_of_turn_ms"),
    ("call", "hold_end_of_turn_ms"),
    ("call", "likely_more_end_of_turn_ms"),
    ("call", "complete_end_of_turn_ms"),
    ("call", "barge_in_ms"),
    ("call", "echo_return_loss_db"),
    ("call", "no_input_seconds"),
    ("call", "max_utterance_seconds"),
    ("call", "stage_timeout_seconds"),
    ("call", "max_call_seconds"),
    ("database", "spool_max_mb"),
    ("database", "statement_timeout_seconds"),
}
_URLS = {("ari", "url"), ("dialogue", "rasa_url"), ("http", "public_url")}


def _section_types() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _convert(section: str, key: str, raw: Any, target: Any) -> Any:
    where = f"{section}.{key}"
    if isinstance(target, types.UnionType):
        target = next(t for t in typing.get_args(target) if t is not type(None))
    if target is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return raw.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where} = {raw!r}: expected true or false")
    if target is int:
        try:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} = {raw!r}: expected a whole number") from None
    if target is float:
        try:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} = {raw!r}: expected a number") from None
    if target is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{where} = {raw!r}: expected a string")
        return raw
    if target == tuple[str, ...]:
        if isinstance(raw, str):
            # From the environment: a JSON list, else the one pattern itself (a regex may start with "[").
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                parsed = None
            raw = parsed if isinstance(parsed, list) else [raw]
        if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
            raise ConfigError(f"{where} = {raw!r}: expected a list of strings")
        return tuple(raw)
    raise ConfigError(f"{where}: unsupported setting type {target!r}")


def _validate(section: str, key: str, value: Any) -> Any:
    where = f"{section}.{key}"
    shown = "<secret>" if "password" in key or key == "dsn" else repr(value)
    if (section, key) in _CHOICES:
        choices = _CHOICES[(section, key)]
        if section == "logging" and key == "level":
            value = str(value).upper()
        if value not in choices:
            raise ConfigError(f"{where} = {shown}: allowed values are {', '.join(choices)}")
    if (section, key) in _POSITIVE and not value > 0:
        raise ConfigError(f"{where} = {shown}: must be greater than 0")
    if (section, key) in _URLS:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where} = {shown}: expected an http:// or https:// URL with a host")
    if (section, key) == ("database", "dsn"):
        if urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ConfigError(f"{where} = {shown}: expected a postgresql:// URL")
    if (section, key) == ("http", "port") and not 0 < value < 65536:
        raise ConfigError(f"{where} = {shown}: expected a TCP port between 1 and 65535")
    if (section, key) in (("asr", "beam"), ("asr", "max_active")) and value < 0:
        raise ConfigError(f"{where} = {shown}: must be 0 (the model's own) or the decoder's {key.replace('_', '-')}")
    if (section, key) == ("asr", "noise_suppression") and value not in range(5):
        raise ConfigError(f"{where} = {shown}: must be 0 (off) or 1 to 4 (WebRTC's low to very high suppression)")
    if (section, key) == ("call", "max_same_reply") and value < 0:
        raise ConfigError(f"{where} = {shown}: must be 0 (no limit) or how many times the same reply may be said")
    if (section, key) == ("recording", "retention_days") and value < 0:
        raise ConfigError(f"{where} = {shown}: must be 0 (keep forever) or a number of days")
    if (section, key) == ("database", "redact_patterns"):
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{where}[{index}] = {pattern!r}: not a regular expression ({exc}); "
                    "write it as a Python regex, e.g. '\\bAB\\d{6}\\b'"
                ) from None
    if (section, key) == ("call", "operator_digit") and value not in (*"0123456789*#", ""):
        raise ConfigError(f"{where} = {shown}: expected one DTMF digit (0-9, * or #) or empty to disable")
    return value


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), apply ARI_AGENT_* environment overrides, validate, freeze."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = env[ENV_PREFIX + "CONFIG"]
    if path is not None:
        file = Path(path)
        try:
            raw = tomllib.loads(file.read_text())
        except FileNotFoundError:
            raise ConfigError(f"configuration file {file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {file} is not valid TOML: {exc}") from None

    sections = _section_types()
    for name in raw:
        if name not in sections:
            raise ConfigError(f"unknown section [{name}]; known sections: {', '.join(sections)}")

    built: dict[str, Any] = {}
    for name, cls in sections.items():
        given = raw.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"[{name}] must be a table")
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        for key in given:
            if key not in known:
                raise ConfigError(f"unknown key {name}.{key}; known keys: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key in known:
            env_name = f"{ENV_PREFIX}{name}_{key}".upper()
            if env_name in env:
                value = _convert(name, key, env[env_name], hints[key])
            elif key in given:
                value = _convert(name, key, given[key], hints[key])
            else:
                continue
            values[key] = _validate(name, key, value)
        built[name] = cls(**values)
    settings = Settings(**built)
    _refuse_public_defaults(settings)
    # Defaults are validated too: a bad default would be our bug, better caught at start-up.
    for name in sections:
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            _validate(name, f.name, getattr(section, f.name))
    return settings


# The passwords committed in this repository (the local stack's). Anyone can read them, so they are accepted
# only where nothing but this machine can connect: a loopback address.
COMMITTED_PASSWORDS = frozenset({"ari_agent_secret", "ari_agent", "change-me"})  # the stack's; the example's


def _loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_public_defaults(settings: Settings) -> None:
    """ConfigError when a committed default password would be used with a server that is not on loopback."""
    ari_host = urlsplit(settings.ari.url).hostname
    if settings.ari.password in COMMITTED_PASSWORDS and not _loopback(ari_host):
        raise ConfigError(
            f"[ari] password is the default committed in ari-agent's repository, with Asterisk at {ari_host}: "
            "set a password of your own in ari.conf and in [ari] password (or ARI_AGENT_ARI_PASSWORD)"
        )
    db = urlsplit(settings.database.dsn)
    if db.password in COMMITTED_PASSWORDS and not _loopback(db.hostname):
        raise ConfigError(
            f"[database] dsn uses the default password committed in ari-agent's repository, with PostgreSQL at "
            f"{db.hostname}: give the database role a password of your own and put it in the dsn"
        )
    http = settings.http
    if http.supervisor_password in COMMITTED_PASSWORDS and not _loopback(http.host):
        raise ConfigError(
            f"[http] supervisor_password is the example's, with the pages served on {http.host}: set a password "
            "of your own (ARI_AGENT_HTTP_SUPERVISOR_PASSWORD)"
        )
