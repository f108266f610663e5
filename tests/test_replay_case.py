"""Replay case format: parsing, validation errors that name the file and field, WER, judging (no services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_agent.events import CallEvent, EventType
from ari_agent.media.audio import silence, write_wav
from ari_agent.replay.case import CaseError, find_cases, load_case
from ari_agent.replay.offline import CaseRun
from ari_agent.replay.report import aggregate, judge, table
from ari_agent.replay.wer import wer, word_errors, words

GOOD = """
description: caller books a cleaning, corrects the day mid-way
now: 2026-11-25T10:00:00
caller: "+15551230000"
turns:
  - audio: 01.wav
    text: I'd like to book a cleaning
    intent: book_appointment
    barge_in: true
  - text: no, make it Wednesday
  - dtmf: "0"
  - silence: 8
expect:
  outcome: booked
  slots: {service: cleaning, date: 2026-12-02, time: "15:00"}
  max_turns: 8
  ended_by: agent
"""


def make_case(tmp_path: Path, text: str, name: str = "c1", wav: bool = True) -> Path:
    case = tmp_path / name
    case.mkdir()
    (case / "call.yaml").write_text(text)
    if wav:
        write_wav(case / "01.wav", silence(500, 8000), 8000)
    return case


def test_the_documented_example_parses(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, GOOD))
    assert [t.kind for t in case.turns] == ["audio", "text", "dtmf", "silence"]
    assert case.turns[0].barge_in and case.turns[0].intent == "book_appointment"
    assert case.turns[2].dtmf == "0" and case.turns[3].silence == 8.0
    assert case.now is not None and case.now.isoformat() == "2026-11-25T10:00:00"
    assert case.expect.slots == {"service": "cleaning", "date": "2026-12-02", "time": "15:00"}
    assert case.caller == "+15551230000" and case.expect.max_turns == 8 and case.expect.ended_by == "agent"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("audio: 01.wav", "audio: 02.wav"), "c1/call.yaml: turns[0].audio: file 02.wav does not exist"),
        (("outcome: booked", "outcome: done"), "c1/call.yaml: expect.outcome: 'done'"),
        (('dtmf: "0"', "dtmf: x"), "c1/call.yaml: turns[2].dtmf:"),
        (("silence: 8", "silence: -1"), "c1/call.yaml: turns[3].silence:"),
        (("barge_in: true", "barge_in: maybe"), "c1/call.yaml: turns[0].barge_in:"),
        (("max_turns: 8", "max_turns: 0"), "c1/call.yaml: expect.max_turns:"),
        (("ended_by: agent", "ended_by: nobody"), "c1/call.yaml: expect.ended_by: 'nobody'"),
        (("  - silence: 8", "  - silence: 8\n    volume: 3"), "c1/call.yaml: turns[3].volume: unknown key"),
        (("outcome: booked", "outcome: booked\n  handoff_reason: requested"), "expect.handoff_reason: only"),
        (("now: 2026-11-25T10:00:00", "now: tomorrow"), "c1/call.yaml: now:"),
    ],
)
def test_a_malformed_case_names_its_file_and_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GOOD
    directory = make_case(tmp_path, GOOD.replace(*change))
    with pytest.raises(CaseError) as err:
        load_case(directory)
    assert message in str(err.value)


def test_missing_expect_and_empty_turns_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match=r"c1/call.yaml: expect: missing"):
        load_case(make_case(tmp_path, "turns: [{text: hi}]\n"))
    with pytest.raises(CaseError, match=r"c2/call.yaml: turns: expected a non-empty list"):
        load_case(make_case(tmp_path, "turns: []\nexpect: {outcome: hangup}\n", "c2"))


def test_a_wav_that_is_not_mono_16_bit_is_refused(tmp_path: Path) -> None:
    directory = make_case(tmp_path, GOOD)
    (directory / "01.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(CaseError, match=r"turns\[0\].audio: file 01.wav is not a mono 16-bit"):
        load_case(directory)


def test_find_cases_takes_a_case_or_a_directory_of_cases(tmp_path: Path) -> None:
    a = make_case(tmp_path, GOOD, "a")
    b = make_case(tmp_path, GOOD, "b")
    assert find_cases([tmp_path]) == [a, b]
    assert find_cases([b]) == [b]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CaseError, match=r"empty: no call\.yaml"):
        find_cases([empty])


def test_setup_bookings_are_validated(tmp_path: Path) -> None:
    text = GOOD + "setup:\n  bookings:\n    - {name: Tom Baker, service: polish, starts_at: 2026-11-26T11:00:00}\n"
    with pytest.raises(CaseError, match=r"setup.bookings\[0\].service: 'polish'"):
        load_case(make_case(tmp_path, text))


def test_word_error_rate() -> None:
    assert words("I'd like a Check-up, please!") == ["i'd", "like", "a", "check", "up", "please"]
    assert word_errors("book a cleaning", "book a cleaning") == (0, 3)
    assert word_errors("book a cleaning", "book cleaning") == (1, 3)  # deletion
    assert word_errors("book a cleaning", "look a cleaning please") == (2, 3)  # substitution + insertion
    assert wer("", "") == 0.0 and wer("", "noise") == 1.0
    assert wer("next tuesday at half past two", "next tuesday at half past due") == pytest.approx(1 / 6)


def _event(type_: EventType, **data: object) -> CallEvent:
    return CallEvent(type_, "call-1", dict(data))


def test_judge_reports_a_clear_diff(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, GOOD))
    run = CaseRun(case=case, call_id="call-1", turns_played=4, audio_ms=20000, wall_s=2.0)
    heard = _event(EventType.CALLER_TURN, text="i'd like to book the cleaning")
    result = _event(EventType.DIALOGUE_RESULT, intent="ask_price", slots={"service": "cleaning", "date": None})
    run.turn_events = {0: [heard, result]}
    run.events = [heard, result, _event(EventType.CALL_ENDED, outcome="answered", handoff_reason=None)]
    verdict = judge(case, run)
    assert verdict.status == "fail"
    assert "outcome: expected booked, got answered" in verdict.diff
    assert "slots.date: expected 2026-12-02, got None" in verdict.diff
    assert "ended_by: expected agent, got None" in verdict.diff
    assert any(d.startswith("turns[0].intent: expected book_appointment, got ask_price") for d in verdict.diff)
    assert verdict.word_errors == 1 and verdict.reference_words == 6  # "a" heard as "the"
    text = table([verdict])
    assert "FAIL" in text and "booked/answered" in text
    agg = aggregate([verdict], wall_s=4.0)
    assert agg["outcome_accuracy"] == 0.0 and agg["speed_factor"] == 5.0 and agg["all_passed"] is False


def test_an_audio_name_the_file_system_cannot_hold_is_a_case_error(tmp_path: Path) -> None:
    # Found by the fuzz test in a cold run: a YAML escape of lone surrogates made Path.resolve raise
    # UnicodeEncodeError instead of a CaseError naming the field.
    (tmp_path / "call.yaml").write_text('turns:\n- audio: "\\ud800\\udc00"\n')
    with pytest.raises(CaseError, match=r"turns\[0\]\.audio"):
        load_case(tmp_path)
