"""Offline replay against the real Vosk model and the real Rasa server (integration): diffs and speed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from ari_agent.config import load_settings
from ari_agent.replay.case import load_case
from ari_agent.replay.offline import run_case_offline
from ari_agent.replay.report import aggregate, judge, table
from ari_agent.replay.runner import offline_engines, replay

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parent / "corpus"


async def test_a_wrong_expectation_fails_with_a_clear_diff(tmp_path: Path) -> None:
    case_dir = tmp_path / "wrong"
    shutil.copytree(CORPUS / "handoff-explicit", case_dir)
    yaml_text = (case_dir / "call.yaml").read_text()
    # The caller asks for a person: expecting a booking, and book_appointment as the intent, is wrong.
    yaml_text = yaml_text.replace("outcome: handoff", "outcome: booked").replace("  handoff_reason: requested\n", "")
    yaml_text = yaml_text.replace("intent: request_human", "intent: book_appointment")
    (case_dir / "call.yaml").write_text(yaml_text)
    case = load_case(case_dir)
    async with offline_engines(load_settings(environ={})) as engines:
        result = judge(case, await run_case_offline(case, engines))
    print(table([result]))
    assert result.status == "fail"
    assert "outcome: expected booked, got handoff" in result.diff
    assert any(d.startswith("turns[0].intent: expected book_appointment, got request_human") for d in result.diff)


async def test_offline_replay_of_mixed_cases_passes_and_reports_its_speed() -> None:
    # The speed is reported, not asserted: a timed assertion flakes on a busy machine (make bench measures it).
    names = ["book-basic", "hours-mid-booking", "silence-then-question", "dtmf-operator", "phone-urgent"]
    cases = [load_case(CORPUS / name) for name in names]
    started = time.perf_counter()
    results = []
    async with offline_engines(load_settings(environ={})) as engines:
        for case in cases:
            results.append(judge(case, await run_case_offline(case, engines)))
    wall = time.perf_counter() - started
    agg = aggregate(results, wall)
    print(f"offline replay: {agg['audio_s']:.1f} s of audio in {wall:.1f} s: {agg['speed_factor']:.1f}x real time")
    print(table(results))
    assert agg["speed_factor"] > 0
    assert all(r.status == "pass" for r in results), table(results)


async def test_cases_replayed_side_by_side_report_in_their_own_order(tmp_path: Path) -> None:
    # Three short cases, two at a time: each is its own conversation and booking scope, and the report keeps
    # the order of the directories whatever order they finish in.
    names = ["handoff-explicit", "book-kal16", "phone-urgent"]
    for name in names:
        shutil.copytree(CORPUS / name, tmp_path / "cases" / name)
    report = tmp_path / "report.json"
    code = await replay(load_settings(environ={}), [tmp_path / "cases"], report=report, jobs=2)
    data = json.loads(report.read_text())
    assert [c["case"] for c in data["cases"]] == sorted(names)
    assert code == 0 and data["aggregate"]["all_passed"], [c["diff"] for c in data["cases"]]
