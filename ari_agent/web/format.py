"""Small value formatters shared by the supervisor pages: times, durations, confidences, event descriptions.

They return plain text; the pages escape it. The wording of events matches what `ari-agent calls show`
prints (kind, code, data) but reads as a sentence, because a supervisor scans the page rather than greps it.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

# Handoff reasons documented in ari_agent/dialogue/base.py, explained for people.
HANDOFF_REASONS: dict[str, str] = {
    "requested": "caller asked for a person",
    "dtmf": "caller pressed the operator key",
    "urgent": "urgent request",
    "misunderstood": "agent kept misunderstanding",
    "out_of_scope": "request outside what the agent handles",
    "frustration": "caller sounded frustrated",
    "error": "technical error",
    "no_input": "caller stayed silent",
}


def clock(value: datetime | None, tz: tzinfo | None = None) -> str:
    """Date and time to the second in the supervisor's timezone (local when tz is None); '-' for None."""
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """m:ss (h:mm:ss past an hour); 'live' when the call has not ended."""
    if seconds is None:
        return "live"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def offset(at: datetime, start: datetime) -> str:
    """Time into the call, e.g. '+1:05.3'."""
    tenths = max(0, round((at - start).total_seconds() * 10))
    minutes, rest = divmod(tenths, 600)
    return f"+{minutes}:{rest // 10:02d}.{rest % 10}"


def confidence(value: float | None) -> str:
    """Two decimals, or '?' when unknown."""
    return "?" if value is None else f"{value:.2f}"


def handoff_reason(reason: str | None) -> str:
    """The stored reason with its meaning, e.g. 'no_input (caller stayed silent)'."""
    if not reason:
        return "-"
    meaning = HANDOFF_REASONS.get(reason)
    return f"{reason} ({meaning})" if meaning else reason


def hint_note(hint: Any) -> str | None:
    """A stored turn's expectation hint (turns.asr_hint) as "as when: half past two"; None when there is none."""
    if isinstance(hint, dict) and hint.get("text"):
        return f"as {hint.get('kind', 'answer')}: {hint['text']}"
    return None


def _num(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None or value == "" else str(value)


def describe_event(kind: str, code: str | None, data: dict[str, Any]) -> tuple[str, list[str]]:
    """(sentence, data keys it used) for one call_events row; unused keys are shown raw beside it."""
    if kind == "barge-in":
        ms = _num(data, "reaction_ms")
        return ("Caller interrupted the agent" + (f" (agent stopped after {ms} ms)" if ms else ""),
                ["reaction_ms", "playback_id"])  # fmt: skip
    if kind == "reprompt":
        count = _num(data, "count")
        return (f"No answer heard: reprompt #{count}" if count else "No answer heard: reprompt", ["count"])
    if kind == "fallback":
        return "Agent did not understand the caller (fallback)", []
    if kind == "out-of-scope":
        return "Request outside what the agent handles", []
    if kind == "dtmf":
        digit = _num(data, "digit")
        return (f"Caller pressed key {digit}" if digit else "Caller pressed a key", ["digit"])
    if kind == "ari-reconnected":
        return "Agent reconnected to Asterisk (events may have been missed)", []
    if kind == "error":
        message = _num(data, "message")
        text = f"Error {code or data.get('code') or '(no code)'}" + (f": {message}" if message else "")
        return text, ["code", "message"]
    if kind == "handoff":
        queue = _num(data, "queue")
        summary = _num(data, "summary")
        text = f"Handed over to a person: {handoff_reason(code or _num(data, 'reason'))}"
        text += f", queue {queue}" if queue else ""
        text += f". Summary: {summary}" if summary else ""
        return text, ["reason", "queue", "summary"]
    if kind == "booking":
        action = _num(data, "action") or "booking"
        reference = _num(data, "reference")
        return (f"Booking {action}" + (f", reference {reference}" if reference else ""), ["action", "reference"])
    return kind + (f" {code}" if code else ""), ["code"]


def extra_data(data: dict[str, Any], used: list[str]) -> str:
    """The event's data keys not already in its sentence, as compact JSON ('' when none)."""
    rest = {k: v for k, v in data.items() if k not in used}
    return json.dumps(rest, ensure_ascii=False, default=str, sort_keys=True) if rest else ""
