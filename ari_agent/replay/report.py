"""Judging a replayed case against its expectations, and the table / JSON report over a corpus."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ari_agent.events import EventType
from ari_agent.replay.case import Case
from ari_agent.replay.offline import CaseRun
from ari_agent.replay.wer import word_errors

_LOGGER = logging.getLogger(__name__)


@dataclass
class TurnCheck:
    """One caller turn: what it should have been understood as, what was heard and understood."""

    index: int
    kind: str
    reference: str | None
    heard: str | None
    intent_expected: str | None
    intent_got: str | None
    replies: list[str] = field(default_factory=list)  # what the agent answered to this turn
    hint: str | None = None  # the constrained reading of the turn when an answer was expected ("when: ...")

    @property
    def intent_ok(self) -> bool | None:
        """None when no intent was expected."""
        return None if self.intent_expected is None else self.intent_expected == self.intent_got


@dataclass
class CaseResult:
    """The verdict on one case."""

    case: str
    directory: str
    description: str = ""
    status: str = "fail"  # pass | fail | error | known-failure | fixed (a known failure that now passes)
    known_failure: str | None = None
    outcome_expected: str | None = None
    outcome_got: str | None = None
    handoff_reason_expected: str | None = None
    handoff_reason_got: str | None = None
    slots_expected: dict[str, str] = field(default_factory=dict)
    slots_got: dict[str, str] = field(default_factory=dict)
    max_turns: int | None = None
    caller_turns: int = 0
    word_errors: int = 0
    reference_words: int = 0
    turns: list[TurnCheck] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0
    diff: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def wer(self) -> float | None:
        """Word error rate over the turns with a reference transcript and audio."""
        return self.word_errors / self.reference_words if self.reference_words else None

    @property
    def intents(self) -> tuple[int, int]:
        """(correct, expected) intents."""
        checked = [t.intent_ok for t in self.turns if t.intent_ok is not None]
        return sum(1 for ok in checked if ok), len(checked)

    @property
    def counts_as_pass(self) -> bool:
        """Passing, or a known failure (reported apart; does not fail the run)."""
        return self.status in ("pass", "known-failure", "fixed")


def malformed(directory: Path, message: str) -> CaseResult:
    """The result of a case that could not be loaded."""
    return CaseResult(case=directory.name, directory=str(directory), status="error", error=message, diff=[message])


def judge(case: Case, run: CaseRun) -> CaseResult:
    """Compare what happened with what the case expects."""
    ended = run.of(EventType.CALL_ENDED)
    end = ended[-1].data if ended else {}
    slots: dict[str, str] = {}
    for event in run.of(EventType.DIALOGUE_RESULT):
        for key, value in (event.data.get("slots") or {}).items():
            if value not in (None, "", []):
                slots[str(key)] = str(value)
    result = CaseResult(
        case=case.name,
        directory=str(case.directory),
        description=case.description,
        known_failure=case.known_failure,
        outcome_expected=case.expect.outcome,
        outcome_got=end.get("outcome"),
        handoff_reason_expected=case.expect.handoff_reason,
        handoff_reason_got=end.get("handoff_reason"),
        slots_expected=dict(case.expect.slots),
        slots_got=slots,
        max_turns=case.expect.max_turns,
        caller_turns=len(run.of(EventType.CALLER_TURN)),
        latencies_ms=[float(e.data.get("total_ms", 0.0)) for e in run.of(EventType.TURN_LATENCY)],
        audio_s=run.audio_ms / 1000,
        wall_s=run.wall_s,
        error=run.error,
    )
    for index, turn in enumerate(case.turns):
        events = run.turn_events.get(index, [])
        said = [str(e.data.get("text", "")) for e in events if e.type is EventType.CALLER_TURN]
        understood = [e.data.get("intent") for e in events if e.type is EventType.DIALOGUE_RESULT]
        heard = " ".join(said) if said else (None if index >= run.turns_played else "")
        check = TurnCheck(
            index=index,
            kind=turn.kind,
            reference=turn.text,
            heard=heard,
            intent_expected=turn.intent,
            intent_got=understood[0] if understood else None,
            replies=[" ".join(e.data.get("replies") or []) for e in events if e.type is EventType.DIALOGUE_RESULT],
            hint=next((_hint_text(e.data["hint"]) for e in events if isinstance(e.data.get("hint"), dict)), None),
        )
        result.turns.append(check)
        if turn.kind == "audio" and turn.text and index < run.turns_played:
            errors, n = word_errors(turn.text, heard or "")
            result.word_errors += errors
            result.reference_words += n
    diff = result.diff
    if run.error:
        diff.append(f"error: {run.error}")
    if result.outcome_got != case.expect.outcome:
        diff.append(f"outcome: expected {case.expect.outcome}, got {result.outcome_got}")
    if case.expect.handoff_reason is not None and result.handoff_reason_got != case.expect.handoff_reason:
        diff.append(f"handoff_reason: expected {case.expect.handoff_reason}, got {result.handoff_reason_got}")
    for key, want in case.expect.slots.items():
        got = slots.get(key)
        if got != want:
            diff.append(f"slots.{key}: expected {want}, got {got}")
    if case.expect.max_turns is not None and result.caller_turns > case.expect.max_turns:
        diff.append(f"max_turns: expected at most {case.expect.max_turns} caller turns, took {result.caller_turns}")
    if case.expect.ended_by is not None and end.get("hangup_by") != case.expect.ended_by:
        diff.append(f"ended_by: expected {case.expect.ended_by}, got {end.get('hangup_by')}")
    for check in result.turns:
        if check.intent_ok is False:
            shown = "not reached" if check.heard is None else f"heard {check.heard!r}"
            diff.append(
                f"turns[{check.index}].intent: expected {check.intent_expected}, got {check.intent_got} ({shown})"
            )
    passed = not diff
    if case.known_failure:
        result.status = "fixed" if passed else "known-failure"
    else:
        result.status = "pass" if passed else "fail"
    return result


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (q in 0-100, interpolated); None without values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def aggregate(results: list[CaseResult], wall_s: float) -> dict[str, Any]:
    """Corpus-wide figures."""
    ran = [r for r in results if r.status != "error"]
    errors = sum(r.word_errors for r in ran)
    words = sum(r.reference_words for r in ran)
    intents_ok = sum(r.intents[0] for r in ran)
    intents_all = sum(r.intents[1] for r in ran)
    with_reason = [r for r in ran if r.handoff_reason_expected is not None]
    latencies = [x for r in ran for x in r.latencies_ms]
    audio_s = sum(r.audio_s for r in ran)
    return {
        "cases": len(results),
        "passed": sum(1 for r in results if r.status == "pass"),
        "failed": sum(1 for r in results if r.status == "fail"),
        "malformed": sum(1 for r in results if r.status == "error"),
        "known_failures": sum(1 for r in results if r.status == "known-failure"),
        "fixed_known_failures": sum(1 for r in results if r.status == "fixed"),
        "wer": errors / words if words else None,
        "intent_accuracy": intents_ok / intents_all if intents_all else None,
        "intents": [intents_ok, intents_all],
        "outcome_accuracy": (sum(1 for r in ran if r.outcome_got == r.outcome_expected) / len(ran)) if ran else None,
        "handoff_reason_accuracy": (
            sum(1 for r in with_reason if r.handoff_reason_got == r.handoff_reason_expected) / len(with_reason)
            if with_reason
            else None
        ),
        "turn_latency_p50_ms": percentile(latencies, 50),
        "turn_latency_p95_ms": percentile(latencies, 95),
        "audio_s": audio_s,
        "wall_s": wall_s,
        "speed_factor": audio_s / wall_s if wall_s > 0 else None,
        "all_passed": all(r.counts_as_pass for r in results),
    }


def _fmt(value: float | None, pattern: str = "{:.1%}") -> str:
    return "-" if value is None else pattern.format(value)


def table(results: list[CaseResult]) -> str:
    """One line per case, then the diff of every case that did not pass."""
    width = max([len(r.case) for r in results] + [4])
    lines = [f"{'case':<{width}}  {'result':<13} {'outcome expected/got':<26} {'WER':>6}  intents"]
    for r in results:
        ok, total = r.intents
        outcome = f"{r.outcome_expected or '-'}/{r.outcome_got or '-'}"
        if r.handoff_reason_expected or r.handoff_reason_got:
            outcome += f" ({r.handoff_reason_got or '-'})"
        lines.append(
            f"{r.case:<{width}}  {r.status.upper():<13} {outcome:<26} {_fmt(r.wer):>6}  "
            + (f"{ok}/{total}" if total else "-")
        )
    for r in results:
        if r.status == "pass":
            continue
        title = f"--- {r.case}: {r.status.upper()}"
        if r.known_failure:
            title += f" (known failure: {r.known_failure})"
        lines.append(title)
        lines.extend(f"    {d}" for d in r.diff)
        if r.status != "error":
            for t in r.turns:
                if t.kind in ("audio", "text"):
                    hint = f" (as {t.hint})" if t.hint else ""
                    lines.append(f"    turn {t.index}: said {t.reference!r} heard {t.heard!r}{hint} -> {t.intent_got}")
                    lines.extend(f"        agent: {reply}" for reply in t.replies)
    return "\n".join(lines)


def _hint_text(hint: dict[str, Any]) -> str:
    return f"{hint.get('kind', '?')}: {hint.get('text', '')!r}" + ("" if hint.get("complete") else ", partial")


def summary(agg: dict[str, Any]) -> str:
    """The aggregate figures as text."""
    p50, p95 = agg["turn_latency_p50_ms"], agg["turn_latency_p95_ms"]
    ok, total = agg["intents"]
    return "\n".join(
        [
            f"cases {agg['cases']}: {agg['passed']} passed, {agg['failed']} failed, {agg['malformed']} malformed, "
            f"{agg['known_failures']} known failures, {agg['fixed_known_failures']} known failures now passing",
            f"WER {_fmt(agg['wer'])}  intent accuracy {_fmt(agg['intent_accuracy'])} ({ok}/{total})  "
            f"outcome accuracy {_fmt(agg['outcome_accuracy'])}  "
            f"handoff-reason accuracy {_fmt(agg['handoff_reason_accuracy'])}",
            f"turn latency p50 {_fmt(p50, '{:.0f} ms')} p95 {_fmt(p95, '{:.0f} ms')}  "
            f"audio {agg['audio_s']:.1f} s in {agg['wall_s']:.1f} s wall: "
            f"speed {_fmt(agg['speed_factor'], '{:.1f}x')} real time",
        ]
    )


def write_json(path: Path, results: list[CaseResult], agg: dict[str, Any]) -> None:
    """The same report as JSON."""
    cases = []
    for r in results:
        item = asdict(r)
        item["wer"] = r.wer
        item["intents"] = list(r.intents)
        cases.append(item)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"aggregate": agg, "cases": cases}, indent=2, default=str) + "\n")
