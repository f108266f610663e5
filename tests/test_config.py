"""Settings: defaults, file, environment overrides, and errors that name the key, the value and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ari_agent.config import ConfigError, load_settings


def test_defaults_are_the_local_stack() -> None:
    s = load_settings(environ={})
    assert s.ari.url == "http://127.0.0.1:18088"
    assert s.ari.app == "ari-agent"
    assert s.tts.engine == "flite"
    assert s.call.default_queue == "reception"


def test_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('[ari]\nurl = "http://pbx.example:8088"\npassword = "file-secret"\n[call]\nno_input_seconds = 4\n')
    s = load_settings(cfg, environ={"ARI_AGENT_ARI_PASSWORD": "env-secret", "ARI_AGENT_CALL_MAX_REPROMPTS": "3"})
    assert s.ari.url == "http://pbx.example:8088"
    assert s.ari.password == "env-secret"
    assert s.call.no_input_seconds == 4.0
    assert s.call.max_reprompts == 3


def test_config_path_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('[tts]\nvoice = "kal16"\n')
    assert load_settings(environ={"ARI_AGENT_CONFIG": str(cfg)}).tts.voice == "kal16"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ARI_AGENT_TTS_ENGINE": "festival"}, "tts.engine = 'festival': allowed values are flite, espeak, coqui"),
        ({"ARI_AGENT_CALL_NO_INPUT_SECONDS": "soon"}, "call.no_input_seconds = 'soon': expected a number"),
        ({"ARI_AGENT_CALL_END_OF_TURN_MS": "0"}, "call.end_of_turn_ms = 0: must be greater than 0"),
        ({"ARI_AGENT_ARI_URL": "pbx:8088"}, "ari.url = 'pbx:8088': expected an http:// or https:// URL"),
        ({"ARI_AGENT_HTTP_PORT": "70000"}, "http.port = 70000: expected a TCP port"),
        ({"ARI_AGENT_CALL_OPERATOR_DIGIT": "00"}, "call.operator_digit = '00': expected one DTMF digit"),
        ({"ARI_AGENT_ASR_BEAM": "-1"}, "asr.beam = -1.0: must be 0 (the model's own) or the decoder's beam"),
    ],
)
def test_bad_values_name_key_value_and_allowed(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert needle in str(err.value)


def test_secrets_are_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"ARI_AGENT_DATABASE_DSN": "mysql://u:topsecret@h/db"})
    assert "topsecret" not in str(err.value)
    assert "database.dsn = <secret>" in str(err.value)
    s = load_settings(environ={"ARI_AGENT_ARI_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(s)
    assert "hunter2" in s.secrets()


def test_unknown_keys_and_sections_are_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text("[ari]\npasword = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown key ari.pasword; known keys: .*password"):
        load_settings(cfg, environ={})
    cfg.write_text("[asterisk]\nurl = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown section \[asterisk\]"):
        load_settings(cfg, environ={})


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[ari\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})


def test_redact_patterns_from_the_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[database]\nredact_patterns = ["\\\\bAB\\\\d{6}\\\\b", "patient \\\\d+"]\n')
    assert load_settings(path, environ={}).database.redact_patterns == (r"\bAB\d{6}\b", r"patient \d+")
    env = {"ARI_AGENT_DATABASE_REDACT_PATTERNS": '["x\\\\d", "y"]'}
    assert load_settings(environ=env).database.redact_patterns == (r"x\d", "y")
    # One pattern on its own, even one that starts like a JSON list.
    one = {"ARI_AGENT_DATABASE_REDACT_PATTERNS": "[0-9]{10}"}
    assert load_settings(environ=one).database.redact_patterns == ("[0-9]{10}",)
    with pytest.raises(ConfigError, match=r"redact_patterns\[0\] = '\(unclosed': not a regular expression"):
        load_settings(environ={"ARI_AGENT_DATABASE_REDACT_PATTERNS": "(unclosed"})
    path.write_text("[database]\nredact_patterns = [1, 2]\n")
    with pytest.raises(ConfigError, match="expected a list of strings"):
        load_settings(path, environ={})


def test_the_rasa_token_comes_from_the_setting_or_the_file_and_is_a_secret(tmp_path: Path) -> None:
    token_file = tmp_path / "rasa-token"
    settings = load_settings(environ={"ARI_AGENT_DIALOGUE_AUTH_TOKEN_FILE": str(token_file)})
    assert settings.dialogue.token() == ""
    token_file.write_text("s3cr3t-token\n")
    assert settings.dialogue.token() == "s3cr3t-token" and "s3cr3t-token" in settings.secrets()
    given = load_settings(environ={"ARI_AGENT_DIALOGUE_AUTH_TOKEN": "given", "ARI_AGENT_DIALOGUE_AUTH_TOKEN_FILE":
                                   str(token_file)})
    assert given.dialogue.token() == "given" and "given" not in repr(given.dialogue)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ARI_AGENT_ARI_URL": "http://pbx.example.com:8088"}, "[ari] password"),
        ({"ARI_AGENT_DATABASE_DSN": "postgresql://ari_agent:ari_agent@db.example.com/ari_agent"}, "[database] dsn"),
        ({"ARI_AGENT_HTTP_HOST": "0.0.0.0", "ARI_AGENT_HTTP_SUPERVISOR_PASSWORD": "change-me"}, "supervisor_password"),
    ],
)
def test_committed_passwords_are_refused_off_this_machine(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(environ=env)


def test_committed_passwords_are_fine_on_loopback_and_own_passwords_anywhere() -> None:
    load_settings(environ={})  # the local stack
    load_settings(environ={"ARI_AGENT_ARI_URL": "http://[::1]:8088"})
    load_settings(environ={"ARI_AGENT_ARI_URL": "http://pbx.example.com:8088", "ARI_AGENT_ARI_PASSWORD": "mine"})
