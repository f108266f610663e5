"""rasa_project/components/schema_cache.py in Rasa's own venv: installed by importing the components, and the same
verdicts and error messages as jsonschema's own validate on Rasa's real schemas (an action server reply, an
events body), valid and broken. Rasa lives in another venv, so the check runs there as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ari_agent.config import DEFAULT_CACHE

pytestmark = pytest.mark.integration

RASA_PROJECT = Path(__file__).resolve().parent.parent / "rasa_project"
RASA_PYTHON = DEFAULT_CACHE / "rasa-venv" / "bin" / "python"

_CHECK = r"""
import json, sys
import jsonschema
original = jsonschema.validate
sys.path.insert(0, sys.argv[1])
import components  # installs the cached validate, as the Rasa server does when it loads the model
from components import schema_cache
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.server import EVENTS_SCHEMA

reply = RemoteAction.action_response_format_spec()
cases = [
    (reply, {"events": [{"event": "slot", "name": "date", "value": "friday"}], "responses": [{"text": "Hi"}]}),
    (reply, {"events": [], "responses": []}),
    (reply, {"events": [{"name": "date"}], "responses": []}),  # an event without its type
    (reply, {"events": "slot", "responses": []}),
    (reply, {"events": [], "responses": ["text"]}),
    (EVENTS_SCHEMA, [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "hello"}]),
    (EVENTS_SCHEMA, [{"event": "not-an-event-type"}]),
    (EVENTS_SCHEMA, {"event": "slot"}),
]

def verdict(fn, instance, schema):
    try:
        fn(instance, schema)
        return "ok"
    except jsonschema.ValidationError as exc:
        return "invalid: " + exc.message

out = {
    "installed": jsonschema.validate is schema_cache.validate,
    "verdicts": [[verdict(original, i, s), verdict(jsonschema.validate, i, s)] for s, i in cases],
}
# Twice through the cache (the second call reuses the checked schema) gives the same verdicts.
out["again"] = [verdict(jsonschema.validate, i, s) for s, i in cases]
print(json.dumps(out))
"""


def test_cached_validate_is_installed_and_agrees_with_jsonschema() -> None:
    assert RASA_PYTHON.exists(), f"no Rasa venv at {RASA_PYTHON}: run scripts/setup-rasa.sh (make test does)"
    run = subprocess.run(
        [str(RASA_PYTHON), "-c", _CHECK, str(RASA_PROJECT)],
        capture_output=True, text=True, timeout=180, check=False,
        env={"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["installed"]
    verdicts = out["verdicts"]
    for original, cached in verdicts:
        assert original == cached
    assert [v[1] for v in verdicts] == out["again"]
    # The cases cover both answers: a check that accepted (or refused) everything would agree trivially.
    assert sum(v[0] == "ok" for v in verdicts) == 3 and sum(v[0] != "ok" for v in verdicts) == 5
