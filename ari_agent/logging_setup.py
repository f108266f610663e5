"""Structured logs: one line per record (JSON or logfmt), call id on every line, secrets masked."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from ari_agent.events import CallEvent, EventType

_LOGGER = logging.getLogger(__name__)
# The logger log_event writes to: admins can raise or lower the event lines on their own.
EVENT_LOGGER = logging.getLogger("ari_agent.events")

MASK = "***"

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_KEY_VALUE = re.compile(
    r"""(?ix)
    (\b(?:password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)
     ["']?\s*[=:]\s*)                       # key, optional closing quote of a JSON key, separator
    ("[^"]*"|'[^']*'|[^\s&,;"'}]+)          # the value, quoted or bare
    """
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):([^@\s/]+)@")
_AUTH_HEADER = re.compile(r"(?i)\b(basic|bearer|digest)\s+[A-Za-z0-9+/=._~-]{6,}")

# Event data that holds what the caller or the agent said: only at DEBUG.
# What the caller said or keyed in (a DTMF digit may be part of a card number; an ASR hint is a transcript).
_SPOKEN_KEYS = frozenset(
    {"text", "replies", "summary", "entities", "slots", "caller_name", "utterance", "hint", "digit", "digits"}
)
# Events whose only content is speech text, and that come many per turn: DEBUG only.
_DEBUG_ONLY_EVENTS = frozenset({EventType.ASR_PARTIAL})


class SecretMasker:
    """Replaces configured secrets and anything that looks like a credential with ***."""

    def __init__(self, secrets: Iterable[str] = ()):
        # Longest first, so a secret containing another is masked whole. Very short values would mask
        # ordinary words everywhere, so they are left to the patterns.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every secret masked."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_USERINFO.sub(rf"\1:{MASK}@", text)
        text = _AUTH_HEADER.sub(rf"\1 {MASK}", text)
        return _KEY_VALUE.sub(lambda m: m.group(1) + _quoted_mask(m.group(2)), text)

    def mask_value(self, value: Any) -> Any:
        """Mask strings inside a value (str, mapping, list); other types are returned unchanged."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {k: MASK if _is_secret_key(str(k)) else self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_value(v) for v in value]
        return value


def _quoted_mask(value: str) -> str:
    if value[:1] in ("'", '"'):
        return value[0] + MASK + value[0]
    return MASK


def _is_secret_key(key: str) -> bool:
    return bool(_KEY_VALUE.match(f"{key}=x"))


class SecretFilter(logging.Filter):
    """Masks secrets in the rendered message, the traceback and the `extra=` fields of every record."""

    def __init__(self, masker: SecretMasker):
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.masker.mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.masker.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker.mask(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS:
                setattr(record, key, MASK if _is_secret_key(key) else self.masker.mask_value(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """JSON-safe form of a value: no audio bytes, no NaN, rounded floats."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # never caller audio in a log
    if isinstance(value, float):
        return round(value, 2) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON object."""
        out: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extras = _extras(record)
        if "call_id" in extras:
            out["call_id"] = extras.pop("call_id")
        out.update({k: _plain(v) for k, v in extras.items() if k not in out})
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else None)
        if exc:
            out["exc"] = exc
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


_LOGFMT_BARE = re.compile(r"^[^\s=\"\\]+$")


def _logfmt_value(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if _LOGFMT_BARE.match(text):
        return text
    # Quoted, with newlines escaped: a traceback stays on its line.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """key=value pairs, one record per line; a `data` mapping in extra is flattened into keys."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single logfmt line."""
        pairs: list[tuple[str, Any]] = [
            ("ts", _timestamp(record)),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        extras = _extras(record)
        if "call_id" in extras:
            pairs.append(("call_id", extras.pop("call_id")))
        data = extras.pop("data", None)
        pairs.extend(extras.items())
        if isinstance(data, Mapping):
            taken = {k for k, _ in pairs}
            pairs.extend((str(k), v) for k, v in data.items() if str(k) not in taken)
        elif data is not None:
            pairs.append(("data", data))
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else None)
        if exc:
            pairs.append(("exc", exc))
        if record.stack_info:
            pairs.append(("stack", record.stack_info))
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in pairs)


class _AgentHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(
    fmt: str = "logfmt", level: str | int = "INFO", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as one JSON or logfmt line, secrets masked."""
    if fmt not in ("json", "logfmt"):
        raise ValueError(f"log format must be json or logfmt, not {fmt!r}")
    handler = _AgentHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(SecretFilter(SecretMasker(secrets)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _AgentHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    logging.captureWarnings(True)
    return handler


def event_fields(event: CallEvent, with_speech: bool) -> dict[str, Any]:
    """The loggable part of an event's data: spoken text only when `with_speech`, never audio."""
    out: dict[str, Any] = {}
    for key, value in event.data.items():
        if isinstance(value, bytes | bytearray | memoryview):
            continue
        if key in _SPOKEN_KEYS and not with_speech:
            if isinstance(value, str):
                out[f"{key}_chars"] = len(value)  # says "something was heard" without saying what
            continue
        out[key] = value
    return out


def log_event(event: CallEvent) -> None:
    """EventBus subscriber: one log line per CallEvent; what was said only on DEBUG records."""
    debug = EVENT_LOGGER.isEnabledFor(logging.DEBUG)
    if event.type in _DEBUG_ONLY_EVENTS and not debug:
        return
    spoken = any(key in _SPOKEN_KEYS for key in event.data)
    if event.type in _DEBUG_ONLY_EVENTS or (spoken and debug):
        # The line that carries the transcript is itself a DEBUG record: an INFO-level shipper never sees it.
        level = logging.DEBUG
    elif event.type is EventType.ERROR:
        level = logging.WARNING
    else:
        level = logging.INFO
    # An error's code and message are in the text too: a plain-text log (or a test's captured log) shows why.
    detail = f" {event.data.get('code', '')}: {event.data.get('message', '')}" if event.type is EventType.ERROR else ""
    EVENT_LOGGER.log(
        level,
        "%s%s",
        event.type.value,
        detail,
        extra={
            "call_id": event.call_id,
            "event": event.type.value,
            "data": event_fields(event, with_speech=level == logging.DEBUG),
        },
    )
