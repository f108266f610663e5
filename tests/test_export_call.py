"""A call recorded through the real stack, exported with export-call, replays offline to the same outcome."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ari_agent.recording import read_manifest
from ari_agent.replay.case import load_case
from ari_agent.replay.export import ExportError, export_call
from ari_agent.replay.offline import run_case_offline
from ari_agent.replay.report import judge, table
from ari_agent.replay.runner import offline_engines
from tests.e2e import place_call, running_agent, stack_settings

pytestmark = pytest.mark.integration


async def test_a_recorded_call_exports_and_replays_to_the_same_outcome(tmp_path: Path) -> None:
    base = stack_settings()
    settings = dataclasses.replace(
        base, recording=dataclasses.replace(base.recording, enabled=True, directory=str(tmp_path / "rec"))
    )
    script = {
        "turns": [
            {"text": "What are your opening hours?"},
            {"text": "Thank you, goodbye."},
        ]
    }
    async with running_agent(settings) as (agent, recorder):
        run = await place_call(agent, recorder, script)
    outcome = run.ended.data["outcome"]
    manifest = read_manifest(tmp_path / "rec" / run.call_id)
    assert [e["kind"] for e in manifest if e["kind"] != "agent"] == ["speech", "speech"]
    assert (tmp_path / "rec" / run.call_id / "caller-01.wav").stat().st_size > 10000
    assert any(e["kind"] == "agent" and e["file"] == "agent-01.wav" for e in manifest)

    case_file = await export_call(settings, run.call_id, tmp_path / "case")
    case = load_case(case_file.parent)
    assert [t.kind for t in case.turns] == ["audio", "audio"]
    assert case.expect.outcome == outcome
    async with offline_engines(settings) as engines:
        result = judge(case, await run_case_offline(case, engines))
    print(table([result]))
    assert result.outcome_got == outcome, table([result])
    assert result.status == "pass", table([result])


async def test_export_of_an_unknown_call_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="call nope-not-a-call is not in the database"):
        await export_call(stack_settings(), "nope-not-a-call", tmp_path / "case")
