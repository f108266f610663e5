"""`ari-agent simulate`: goal-driven simulated callers against the real agent, judged by what they wanted.

Each call is drawn from the seed (goals.py), talks through a person policy (person.py) that answers the
agent's actual questions, speaks with one of the machine's voices over one line condition (voices.py) or as
text, and runs offline through a real CallSession with the real Vosk, Rasa and TTS on the replay line's audio
clock (replay/offline.py). The verdict reads the bookings table and the call's events, never the transcript
alone: a booking with a wrong day, time, service or name is a wrong write, which is worse than a handoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import statistics
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ari_agent.config import Settings
from ari_agent.events import CallEvent, EventBus, EventRecorder, EventType
from ari_agent.media.audio import FRAME_MS, frames
from ari_agent.replay.case import Case, Expect
from ari_agent.replay.offline import BARGE_AFTER_MS, Engines, ReplayLine, play_call
from ari_agent.replay.report import percentile
from ari_agent.replay.wer import word_errors
from ari_agent.sim.goals import SERVICE_MINUTES, SimCall, call_now, draw_call
from ari_agent.sim.person import Action, HangUp, Keys, Person, Say, Silence, sounds_like
from ari_agent.sim.voices import LINES, apply_line, available_voices, speak

_EMPTY = Case(name="simulated", directory=Path("."), description="", turns=(), expect=Expect(outcome="hangup"))
TALK_OVER_FRAMES = 10  # more than 200 ms of the caller's sentence still to come when the agent starts replying


@dataclass
class CallResult:
    """The verdict on one simulated call."""

    index: int
    goal: str
    voice: str
    line: str
    persona: dict[str, Any]
    success: bool = False
    why: str = ""
    outcome: str = ""
    handoff_reason: str = ""
    caller_turns: int = 0
    pausing_turns: int = 0  # caller utterances with a pause inside
    talk_overs: int = 0
    talk_overs_pausing: int = 0
    wrong_writes: list[str] = field(default_factory=list)
    false_out_of_scope: bool = False
    word_errors: int = 0
    ref_words: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    decode_s: float = 0.0  # the recogniser's time on the caller's turns (the CPU the agent spends most on)
    audio_s: float = 0.0
    wall_s: float = 0.0
    transcript: list[str] = field(default_factory=list)
    error: str = ""


class SimLine(ReplayLine):
    """The replay line with a person on it instead of a script: each turn is decided when the agent stops."""

    def __init__(self, call: SimCall, person: Person) -> None:
        super().__init__(_EMPTY)
        self.call = call
        self.person = person
        self.heard: list[str] = []  # what the agent said since the caller last spoke
        self.slots: dict[str, object] = {}
        self.outcome: str | None = None
        self.transcript: list[str] = []
        self.references: list[str] = []  # what the caller really said, one per audio utterance
        self._held: Action | None = None  # decided during a reply but not a barge-in: used when idle
        self._barged_for = 0
        self._utterance_open = False
        self._utterance_paused = False
        self._spoken_frames = 0
        self.utterances = 0
        self.pausing = 0
        self.talk_overs = 0
        self.talk_overs_pausing = 0
        self._rng = random.Random(f"line:{call.seed}:{call.index}")
        self._rate = self._rng.choice((140, 160, 175))

    # --- the session's events -------------------------------------------------------------------------
    def observe(self, event: CallEvent) -> None:
        """Bus subscriber: what the caller hears and what the agent decided."""
        if event.type is EventType.AGENT_TURN:
            text = str(event.data.get("text", ""))
            self.heard.append(text)
            self.transcript.append(f"agent: {text}")
            # The agent starts replying: is the caller still in the middle of a sentence?
            if self._utterance_open and len(self._pending) > TALK_OVER_FRAMES:
                self.talk_overs += 1
                self.talk_overs_pausing += int(self._utterance_paused)
                said = self._spoken_frames - len(self._pending)
                self.transcript.append(f"TALK-OVER {len(self._pending) * FRAME_MS} ms before the caller's end, "
                                       f"{said * FRAME_MS} ms into the utterance")  # fmt: skip
        elif event.type is EventType.DIALOGUE_RESULT:
            self.slots = dict(event.data.get("slots") or {})
            self.transcript.append(f"  intent: {event.data.get('intent')} ({event.data.get('intent_confidence')})")
        elif event.type is EventType.BOOKING:
            self.outcome = str(event.data.get("action", "")) or self.outcome
        elif event.type is EventType.CALLER_TURN:
            confidence = event.data.get("confidence")
            conf = f" ({float(confidence):.2f})" if isinstance(confidence, int | float) else ""
            self.transcript.append(f"heard{conf}: {event.data.get('text', '')}")
            hint = event.data.get("hint")
            if isinstance(hint, dict):  # the constrained reading the dialogue was also given
                whole = "whole" if hint.get("complete") else "part"
                name = f", name {hint['name']!r}" if hint.get("name") else ""
                self.transcript.append(f"  hint ({hint.get('kind')}, {whole}): {hint.get('text', '')!r}{name}")

    # --- the script, decided live ---------------------------------------------------------------------
    def _script(self, idle: bool) -> None:
        if self._pending:
            return
        self._utterance_open = False
        if self.audio_ms >= 10 * 60 * 1000:
            self._hang_up()
            return
        playback = self._playback
        if (
            not idle
            and playback is not None
            and playback.seq > self._barged_for
            and playback.played_ms >= BARGE_AFTER_MS
            and self.call.persona.talks_over
            and self._held is None
            and self.heard
        ):
            # A person who talks over answers as soon as they know the answer.
            self._barged_for = playback.seq
            action = self._decide()
            if isinstance(action, Say) and action.barge_in:
                self._begin(action, barge=True)
            else:
                self._held = action
            return
        if idle:
            action = self._held or self._decide()
            self._held = None
            self._begin(action, barge=False)

    def _decide(self) -> Action:
        heard = " ".join(self.heard)
        self.heard = []
        return self.person.respond(heard, self.slots, outcome=self.outcome)

    def _begin(self, action: Action, *, barge: bool) -> None:
        listener = self._next_turn()
        if isinstance(action, HangUp):
            self._hang_up()
            return
        if isinstance(action, Silence):
            self._keep_silent(action.seconds)
            return
        if isinstance(action, Keys):
            self.transcript.append(f"caller keys: {action.digits}")
            self._press(listener, action.digits, barge=barge)
            return
        if self.call.persona.text_only:
            self.transcript.append(f"caller: {action.plain}")
            self._type(action.plain, barge=barge)
            return
        pieces, pauses = self._pieces(action.text)
        shown = "".join(f"{p} [{pauses[i]:.1f}s] " if i < len(pauses) else p for i, p in enumerate(pieces))
        self.transcript.append(f"caller: {shown}")
        pcm = speak(self.call.voice, pieces, pauses, self._rate)
        pcm = apply_line(pcm, self.call.line, seed=self.call.seed * 1000 + self.call.index * 50 + self.turns_started)
        self._say(frames(pcm), barge=barge)
        self._spoken_frames = len(self._pending)
        self._utterance_open = True
        self._utterance_paused = any(p > 0 for p in pauses)
        self.utterances += 1
        self.pausing += int(self._utterance_paused)
        self.references.append(action.plain)

    def _pieces(self, text: str) -> tuple[list[str], list[float]]:
        """Split at '|': a pause of 0.5-1.0 s where the persona pauses, else the pieces run together."""
        parts = [p.strip() for p in text.split("|")]
        pieces, pauses = [parts[0]], []
        for part in parts[1:]:
            if self._rng.random() < self.call.persona.pause_rate:
                pieces.append(part)
                pauses.append(round(self._rng.uniform(0.5, 1.0), 2))
            else:
                pieces[-1] = f"{pieces[-1]} {part}"
        return pieces, pauses


# --- running --------------------------------------------------------------------------------------------
async def _setup(dsn: str, scope: str, call: SimCall) -> None:
    existing = call.goal.existing
    if existing is None:
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        inserted = None
        while inserted is None:  # a reference drawn again (a database that kept many runs' bookings): another
            cur = await conn.execute(
                "INSERT INTO bookings (reference, scope, name, phone, service, starts_at, duration_minutes) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (reference) DO NOTHING RETURNING reference",
                ("SM" + uuid.uuid4().hex[:6].upper(), scope, existing.name, call.caller_id or None, existing.service,
                 existing.starts_at, SERVICE_MINUTES[existing.service]),
            )  # fmt: skip
            inserted = await cur.fetchone()


async def _rows(dsn: str, scope: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        cur = await conn.execute(
            "SELECT name, service, starts_at, status, reference FROM bookings WHERE scope = %s ORDER BY id", (scope,)
        )
        return list(await cur.fetchall())


async def run_call(call: SimCall, engines: Engines, *, timeout: float = 600.0) -> CallResult:
    """One simulated call through a fresh CallSession; the verdict from the database and the events."""
    result = CallResult(index=call.index, goal=call.goal.kind, voice=call.voice, line=call.line,
                        persona=asdict(call.persona))  # fmt: skip
    person = Person(call)
    line = SimLine(call, person)
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    bus.subscribe(line.observe)
    scope = f"sim-{call.seed}-{call.index}-{uuid.uuid4().hex[:6]}"
    dsn = engines.settings.database.dsn
    await _setup(dsn, scope, call)
    played = await play_call(line, engines, bus, scope=scope, now=call.now, caller=call.caller_id, timeout=timeout)
    result.error, result.wall_s = played.error or "", played.wall_s
    result.audio_s = line.audio_ms / 1000
    result.transcript = line.transcript
    result.caller_turns = line.turns_started
    result.pausing_turns = line.pausing
    result.talk_overs = line.talk_overs
    result.talk_overs_pausing = line.talk_overs_pausing
    turns = recorder.of(EventType.CALLER_TURN)
    heard = [str(e.data.get("text", "")) for e in turns if e.data.get("source") == "speech"]
    if not call.persona.text_only:
        for reference, hypothesis in zip(line.references, heard, strict=False):
            errors, n = word_errors(reference, hypothesis)
            result.word_errors += errors
            result.ref_words += n
    result.latencies_ms = [float(e.data.get("total_ms", 0.0)) for e in recorder.of(EventType.TURN_LATENCY)]
    decode_ms = sum(float(e.data.get("decode_ms", 0.0)) for e in recorder.of(EventType.ASR_FINAL))
    result.decode_s = round(decode_ms / 1000, 3)
    ended = recorder.of(EventType.CALL_ENDED)
    if ended:
        result.outcome = str(ended[-1].data.get("outcome") or "")
        result.handoff_reason = str(ended[-1].data.get("handoff_reason") or "")
    said = " ".join(str(e.data.get("text", "")) for e in recorder.of(EventType.AGENT_TURN)).lower()
    result.false_out_of_scope = call.goal.kind != "out_of_scope" and "can't help with that" in said
    _judge(call, person, result, await _rows(dsn, scope), said)
    return result


def _name_ok(stored: str, wanted: str) -> bool:
    """The stored name is the caller's, or spelled as it sounds ("Ruth Right" for "Ruth Wright"): a spelling
    cannot be checked over a voice line; any other name is a wrong write."""
    return sounds_like(re.sub(r"[^a-z ]", "", stored.lower()), wanted)


def _judge(call: SimCall, person: Person, result: CallResult, rows: list[dict[str, Any]], said: str) -> None:
    """Success and wrong writes, from the goal and the bookings table."""
    goal = call.goal
    if result.error:
        result.why = result.error
        return
    if goal.kind == "book":
        assert goal.starts_at is not None
        booked = [r for r in rows if r["status"] == "booked"]
        for r in booked:
            wrong = [
                what
                for what, ok in (
                    ("service", r["service"] == goal.service),
                    ("start", r["starts_at"].replace(tzinfo=None) == goal.starts_at),
                    ("name", _name_ok(r["name"], goal.name)),
                )
                if not ok
            ]
            if wrong:
                result.wrong_writes.append(f"booked {r['service']} {r['starts_at']:%a %d %H:%M} for {r['name']!r}: "
                                           f"wrong {', '.join(wrong)}")  # fmt: skip
        result.success = len(booked) == 1 and not result.wrong_writes
        result.why = "booked as wanted" if result.success else (result.wrong_writes[0] if result.wrong_writes else
                                                                _not_done(result))  # fmt: skip
        return
    if goal.kind in ("cancel", "reschedule"):
        existing = goal.existing
        assert existing is not None
        target = rows[0] if rows else None
        extra = rows[1:]
        for r in extra:
            result.wrong_writes.append(f"new booking {r['service']} {r['starts_at']:%a %d %H:%M} for {r['name']!r}")
        if target is None:
            result.why = "the set-up booking is gone"
            return
        moved = target["starts_at"].replace(tzinfo=None) != existing.starts_at
        if goal.kind == "cancel":
            if moved:
                result.wrong_writes.append("moved instead of cancelled")
            result.success = target["status"] == "cancelled" and not result.wrong_writes
            result.why = "cancelled" if result.success else _not_done(result)
            return
        assert goal.starts_at is not None
        if target["status"] == "cancelled":
            result.wrong_writes.append("cancelled instead of moved")
        elif moved and target["starts_at"].replace(tzinfo=None) != goal.starts_at:
            result.wrong_writes.append(f"moved to the wrong start {target['starts_at']:%a %d %H:%M}")
        result.success = moved and not result.wrong_writes
        result.why = "moved as wanted" if result.success else (result.wrong_writes or [_not_done(result)])[0]
        return
    for r in rows:
        result.wrong_writes.append(f"unwanted booking {r['service']} {r['starts_at']:%a %d %H:%M}")
    if goal.kind.startswith("ask_"):
        result.success = person.done and result.outcome != "handoff" and not result.wrong_writes
        result.why = "answered" if result.success else _not_done(result)
    elif goal.kind in ("human", "urgent"):
        wanted = "requested" if goal.kind == "human" else "urgent"
        # The operator key (offered by the keypad menu) is a request for a person too.
        result.success = result.handoff_reason == wanted or (goal.kind == "human" and result.handoff_reason == "dtmf")
        result.why = f"handed off as {wanted}" if result.success else _not_done(result)
    elif goal.kind == "out_of_scope":
        result.success = "can't help with that" in said and not result.wrong_writes
        result.why = "told honestly it can't help" if result.success else _not_done(result)
    else:  # no_input
        result.success = result.handoff_reason == "no_input"
        result.why = "handed off after silence" if result.success else _not_done(result)


def _not_done(result: CallResult) -> str:
    if result.outcome == "handoff":
        return f"handed off ({result.handoff_reason})"
    return f"ended without the goal ({result.outcome or 'no outcome'})"


# --- the report -----------------------------------------------------------------------------------------
def _percentile(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def aggregate(results: list[CallResult], wall_s: float) -> dict[str, Any]:
    """The JSON `aggregate`: task success, talk-over, wrong writes, turns per task, WER, latency."""
    successes = [r for r in results if r.success]
    utterances = sum(r.caller_turns for r in results)
    pausing = sum(r.pausing_turns for r in results)
    ref = sum(r.ref_words for r in results)
    latencies = [ms for r in results for ms in r.latencies_ms]
    return {
        "calls": len(results),
        "task_success": _rate(len(successes), len(results)),
        "talk_over_rate": _rate(sum(r.talk_overs for r in results), utterances),
        "talk_over_rate_pausing": _rate(sum(r.talk_overs_pausing for r in results), pausing),
        "pausing_utterances": pausing,
        "wrong_writes": sum(len(r.wrong_writes) for r in results),
        "false_out_of_scope": sum(r.false_out_of_scope for r in results),
        "turns_per_task": round(statistics.mean(r.caller_turns for r in successes), 2) if successes else None,
        "wer": _rate(sum(r.word_errors for r in results), ref),
        "turn_latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "errors": sum(bool(r.error) for r in results),
        "wall_s": round(wall_s, 1),
        "audio_s": round(sum(r.audio_s for r in results), 1),
        "decode_s": round(sum(r.decode_s for r in results), 1),
    }


def breakdown(results: list[CallResult], key: str) -> dict[str, dict[str, Any]]:
    """Success per goal, voice or line, so a weakness is visible."""
    groups: dict[str, list[CallResult]] = defaultdict(list)
    for r in results:
        groups[str(getattr(r, key))].append(r)
    return {
        name: {
            "calls": len(group),
            "task_success": _rate(sum(r.success for r in group), len(group)),
            "wrong_writes": sum(len(r.wrong_writes) for r in group),
            "why_failed": dict(Counter(r.why for r in group if not r.success).most_common(5)),
        }
        for name, group in sorted(groups.items())
    }


def report(results: list[CallResult], wall_s: float, *, seed: int, text: bool) -> dict[str, Any]:
    """The whole JSON report."""
    return {
        "seed": seed,
        "mode": "text" if text else "audio",
        "aggregate": aggregate(results, wall_s),
        "per_goal": breakdown(results, "goal"),
        "per_voice": breakdown(results, "voice"),
        "per_line": breakdown(results, "line"),
        "calls": [asdict(r) for r in results],
    }


def summary(rep: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    agg = rep["aggregate"]
    lines = [
        f"{agg['calls']} {rep['mode']} calls (seed {rep['seed']}): task success {agg['task_success']}, "
        f"wrong writes {agg['wrong_writes']}, told 'can't help' wrongly {agg['false_out_of_scope']}, "
        f"talk-over {agg['talk_over_rate']} (pausing callers {agg['talk_over_rate_pausing']}), "
        f"turns/task {agg['turns_per_task']}, WER {agg['wer']}, latency p50/p95 {agg['turn_latency_ms']['p50']}/"
        f"{agg['turn_latency_ms']['p95']} ms, {agg['audio_s']} s audio in {agg['wall_s']} s "
        f"(recogniser {agg['decode_s']} s)",
    ]
    for goal, row in rep["per_goal"].items():
        lines.append(f"  {goal:<13} {row['calls']:>4} calls  success {row['task_success']}  {row['why_failed']}")
    return "\n".join(lines)


async def simulate(
    settings: Settings, *, calls: int, seed: int, jobs: int = 1, text: bool = False, report_path: Path | None = None,
    threshold: float | None = None, max_wrong_writes: int | None = None, verbose: bool = False,
    only: frozenset[int] = frozenset(),
) -> int:  # fmt: skip
    """Run `calls` simulated calls; print the summary, write the report; 1 if below `threshold` or over
    `max_wrong_writes`. `only`: run just these call numbers of the run (a failure looked at again)."""
    from dataclasses import replace

    from ari_agent.replay.runner import StackNotReady, offline_engines

    voices = [] if text else available_voices()
    if not text and not voices:
        print("simulate: no TTS voice found (install flite or espeak-ng, or use --text)")
        return 2
    drawn = [draw_call(i, seed, call_now(seed, i), voices, list(LINES)) for i in range(calls) if not only or i in only]
    if text:
        drawn = [replace(c, persona=replace(c.persona, text_only=True), voice="text", line="text") for c in drawn]
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        try:
            engines = await stack.enter_async_context(offline_engines(settings))
        except StackNotReady as exc:
            print(f"simulate: {exc}")
            return 2
        slots = asyncio.Semaphore(jobs)

        async def one(call: SimCall) -> CallResult:
            async with slots:
                result = await run_call(call, engines)
            mark = "ok  " if result.success else "FAIL"
            print(f"  {mark} #{call.index:<4} {call.goal.kind:<13} {call.voice:<28} {call.line:<15} {result.why}",
                  flush=True)  # fmt: skip
            if verbose and not result.success:
                for line in result.transcript:
                    print(f"        {line}")
            return result

        results = list(await asyncio.gather(*(one(c) for c in drawn)))
    rep = report(results, time.perf_counter() - started, seed=seed, text=text)
    print()
    print(summary(rep))
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(rep, indent=2, default=str))
        print(f"report written to {report_path}")
    success = rep["aggregate"]["task_success"] or 0.0
    failed = 0
    if threshold is not None and success < threshold:
        print(f"simulate: task success {success} is below the threshold {threshold}")
        failed = 1
    wrong = rep["aggregate"]["wrong_writes"]
    if max_wrong_writes is not None and wrong > max_wrong_writes:
        print(f"simulate: {wrong} wrong values written (at most {max_wrong_writes} allowed)")
        failed = 1
    return failed

