"""`ari-agent check`: one line per component, and four distinct, actionable failures (issue 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ari_agent.check import check_vosk
from ari_agent.config import load_settings

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_STACK_ENV = ("HOME", "ARI_AGENT_CACHE", "XDG_CACHE_HOME", "ARI_AGENT_RUN")


def run_check(**env: str) -> tuple[int, dict[str, str]]:
    out = subprocess.run(
        [sys.executable, "-m", "ari_agent.cli", "check"],
        capture_output=True,
        text=True,
        # Only where the local stack lives (its cache: the Vosk model, the Rasa token) is passed on.
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k in _STACK_ENV}, **env},
        timeout=60,
    )
    lines = {line.split()[1]: line for line in out.stdout.splitlines() if line.strip()}
    return out.returncode, lines


def test_the_local_stack_checks_ok() -> None:
    code, lines = run_check()
    assert code == 0, lines
    assert set(lines) == {"asterisk", "database", "rasa", "vosk", "tts"}
    assert all(line.startswith("ok") for line in lines.values())
    assert lines["vosk"].endswith("expectation hints on"), lines["vosk"]


def test_the_vosk_line_says_whether_expected_answers_are_read_twice(tmp_path: Path) -> None:
    model = tmp_path / "model"
    for sub in ("am", "conf", "graph"):
        (model / sub).mkdir(parents=True)
    settings = load_settings(environ={"ARI_AGENT_ASR_VOSK_MODEL_PATH": str(model)})
    static = check_vosk(settings)  # a large model: static HCLG.fst, no runtime grammar
    assert static.ok and "hints off: the model has no runtime-grammar graph" in static.message
    (model / "graph" / "HCLr.fst").write_bytes(b"")
    assert check_vosk(settings).message.endswith("expectation hints on")
    off = load_settings(environ={"ARI_AGENT_ASR_VOSK_MODEL_PATH": str(model), "ARI_AGENT_ASR_EXPECTATION_HINTS": "0"})
    assert check_vosk(off).message.endswith("expectation hints off ([asr] expectation_hints = false)")


def test_four_broken_components_give_four_distinct_actionable_messages() -> None:
    code, lines = run_check(
        ARI_AGENT_ARI_URL=f"http://127.0.0.1:{closed_port()}",
        ARI_AGENT_ASR_VOSK_MODEL_PATH="/nonexistent/vosk-model",
        ARI_AGENT_DATABASE_DSN=f"postgresql://ari_agent:ari_agent@127.0.0.1:{closed_port()}/ari_agent",
    )
    assert code == 1
    assert lines["asterisk"].startswith("FAIL") and "cannot reach ARI" in lines["asterisk"]
    assert "is Asterisk running" in lines["asterisk"]
    assert lines["vosk"].startswith("FAIL") and "/nonexistent/vosk-model does not exist" in lines["vosk"]
    assert "setup-vosk.sh" in lines["vosk"]
    assert lines["database"].startswith("FAIL") and "cannot connect to PostgreSQL" in lines["database"]
    assert "is PostgreSQL running" in lines["database"]
    code, lines = run_check(ARI_AGENT_ARI_PASSWORD="wrong-password")
    assert code == 1
    assert lines["asterisk"].startswith("FAIL") and "refused user 'ari_agent'" in lines["asterisk"]
    assert "ARI_AGENT_ARI_PASSWORD" in lines["asterisk"]
    assert "wrong-password" not in "".join(lines.values())  # secrets never printed


def test_a_bad_setting_fails_before_any_probe() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ari_agent.cli", "check"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ARI_AGENT_TTS_ENGINE": "festival"},
        timeout=60,
    )
    assert out.returncode == 2
    assert "tts.engine = 'festival': allowed values are flite, espeak, coqui" in out.stderr
