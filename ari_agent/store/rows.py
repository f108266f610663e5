"""CallEvent -> row operations: a pure translation with per-call state, no database.

The writer applies the operations with SQL, or spools them as JSON lines when PostgreSQL is away. Every
operation is idempotent (keyed on call_id and the per-call seq assigned here), so applying one twice, or
replaying a spool after a crash, never duplicates a row.
"""

from __future__ import annotations

import enum
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ari_agent.events import CallEvent, EventType
from ari_agent.store.redact import Redact, no_redaction, redact_value

_LOGGER = logging.getLogger(__name__)

OUTCOMES = frozenset({"booked", "cancelled", "rescheduled", "answered", "handoff", "hangup", "failed"})
# Events kept as call_events rows: the unexpected or noteworthy moments of a call.
EVENT_KINDS = frozenset(
    {
        EventType.BARGE_IN,
        EventType.REPROMPT,
        EventType.FALLBACK,
        EventType.OUT_OF_SCOPE,
        EventType.DTMF,
        EventType.ARI_RECONNECTED,
        EventType.ERROR,
        EventType.HANDOFF,
        EventType.BOOKING,
        # What was taken for the reply's echo and not answered: a supervisor can check it was no caller.
        EventType.OVERLAP_IGNORED,
    }
)
# Columns whose values are timestamps; the spool stores them as ISO 8601 strings.
TIME_COLUMNS = frozenset({"started_at", "answered_at", "ended_at", "at"})
# calls columns CALL_STARTED may fill, from these event data keys (first key present wins).
_CALL_STARTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "channel_uniqueid": ("channel_uniqueid", "channel_id", "uniqueid"),
    "linkedid": ("linkedid",),
    "sip_call_id": ("sip_call_id",),
    "caller_number": ("caller_number", "caller"),
    "caller_name": ("caller_name",),
    "extension": ("extension",),
    "recording_path": ("recording_path",),
    "scope": ("scope",),
    "node": ("node",),
}
# Free text that may carry what a caller said; identifiers and codes are never redacted.
_REDACTED_CALL_COLUMNS = frozenset({"caller_number", "caller_name"})


class OpKind(enum.StrEnum):
    """What one row operation does."""

    UPSERT_CALL = "upsert-call"  # insert the call row, or fill its columns if a stub exists
    UPDATE_CALL = "update-call"  # set columns of the call row (creating a stub row first if needed)
    INSERT_TURN = "insert-turn"  # insert one turn; a second insert of the same (call_id, seq) does nothing
    UPDATE_TURN = "update-turn"  # set columns of an existing turn
    INSERT_EVENT = "insert-event"  # insert one call_events row; idempotent like INSERT_TURN


@dataclass(frozen=True, slots=True)
class RowOp:
    """One idempotent write. `at` is the event time: it dates the stub call row when the call row is missing."""

    kind: OpKind
    call_id: str
    at: datetime
    seq: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One spool line."""
        fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.fields.items()}
        record: dict[str, Any] = {"kind": self.kind.value, "call_id": self.call_id, "at": self.at.isoformat()}
        record.update({"seq": self.seq, "fields": fields})
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, line: str) -> RowOp:
        """Parse one spool line written by to_json."""
        record = json.loads(line)
        fields = {
            k: (datetime.fromisoformat(v) if k in TIME_COLUMNS and isinstance(v, str) else v)
            for k, v in record["fields"].items()
        }
        return cls(
            kind=OpKind(record["kind"]),
            call_id=record["call_id"],
            at=datetime.fromisoformat(record["at"]),
            seq=record["seq"],
            fields=fields,
        )


@dataclass(slots=True)
class _CallState:
    """What the mapper remembers about one call to number its rows and merge later events into them."""

    next_seq: int = 0
    # Event identity -> seq it was given, so a replayed event reuses its seq instead of making a new row.
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    last_caller_seq: int | None = None
    last_agent_seq: int | None = None
    speech_start_ms: int | None = None
    speech_end_ms: int | None = None


class CallRowMapper:
    """Translates each CallEvent into the row operations that record it; keeps per-call numbering state."""

    def __init__(self, redact: Redact = no_redaction, *, remember_ended: int = 1000) -> None:
        self._redact = redact
        self._calls: dict[str, _CallState] = {}
        # Ended calls stay known for a while so a late or replayed event does not restart their numbering.
        self._ended: OrderedDict[str, _CallState] = OrderedDict()
        self._remember_ended = remember_ended

    @property
    def active_calls(self) -> int:
        """Calls whose CALL_ENDED has not been seen yet."""
        return len(self._calls)

    def map(self, event: CallEvent) -> list[RowOp]:
        """The row operations for one event, in the order they must be applied."""
        state = self._state(event.call_id)
        kind = event.type
        data = event.data
        if kind is EventType.CALL_STARTED:
            return [self._call_started(event)]
        if kind is EventType.CALL_ANSWERED:
            return [RowOp(OpKind.UPDATE_CALL, event.call_id, event.at, fields={"answered_at": event.at})]
        if kind is EventType.SPEECH_STARTED:
            state.speech_start_ms = _int_or_none(data.get("audio_ms"))
            state.speech_end_ms = None
            return []
        if kind is EventType.SPEECH_ENDED:
            state.speech_end_ms = _int_or_none(data.get("audio_ms"))
            return []
        if kind is EventType.CALLER_TURN:
            return self._caller_turn(event, state)
        if kind is EventType.DIALOGUE_RESULT:
            return self._dialogue_result(event, state)
        if kind is EventType.AGENT_TURN:
            seq = self._seq(event, state)
            state.last_agent_seq = seq
            fields = {"speaker": "agent", "text": self._redact(str(data.get("text", ""))), "at": event.at}
            if data.get("audio_path"):
                fields["audio_path"] = str(data["audio_path"])
            return [RowOp(OpKind.INSERT_TURN, event.call_id, event.at, seq=seq, fields=fields)]
        if kind is EventType.TURN_LATENCY:
            # The latency of answering the caller's last turn: stored on that turn.
            if state.last_caller_seq is None:
                return []
            fields = {"latency": redact_value(dict(data), self._redact)}
            return [RowOp(OpKind.UPDATE_TURN, event.call_id, event.at, seq=state.last_caller_seq, fields=fields)]
        ops: list[RowOp] = []
        if kind in EVENT_KINDS:
            ops.append(self._event_row(event, state))
        if kind is EventType.BARGE_IN and state.last_agent_seq is not None:
            fields = {"barge_in": True}
            ops.append(RowOp(OpKind.UPDATE_TURN, event.call_id, event.at, seq=state.last_agent_seq, fields=fields))
        elif kind is EventType.HANDOFF:
            fields = {
                "handoff_reason": _str_or_none(data.get("reason")),
                "handoff_queue": _str_or_none(data.get("queue")),
            }
            ops.append(RowOp(OpKind.UPDATE_CALL, event.call_id, event.at, fields=_drop_none(fields)))
        elif kind is EventType.BOOKING and data.get("reference"):
            ops.append(
                RowOp(OpKind.UPDATE_CALL, event.call_id, event.at, fields={"booking_ref": str(data["reference"])})
            )
        elif kind is EventType.CALL_ENDED:
            ops.append(self._call_ended(event))
            self._forget(event.call_id)
        return ops

    def _state(self, call_id: str) -> _CallState:
        state = self._calls.get(call_id)
        if state is None:
            state = self._ended.pop(call_id, None) or _CallState()
            self._calls[call_id] = state
        return state

    def _forget(self, call_id: str) -> None:
        state = self._calls.pop(call_id, None)
        if state is None:
            return
        self._ended[call_id] = state
        while len(self._ended) > self._remember_ended:
            self._ended.popitem(last=False)

    def _seq(self, event: CallEvent, state: _CallState) -> int:
        # Identity of an event: its type and timestamp (microseconds). A replayed event keeps its seq.
        key = (event.type.value, event.at.isoformat())
        seq = state.seen.get(key)
        if seq is None:
            seq = state.next_seq
            state.next_seq += 1
            state.seen[key] = seq
        return seq

    def _call_started(self, event: CallEvent) -> RowOp:
        fields: dict[str, Any] = {"started_at": event.at}
        for column, keys in _CALL_STARTED_COLUMNS.items():
            value = next((event.data[k] for k in keys if event.data.get(k) not in (None, "")), None)
            if value is not None:
                text = str(value)
                fields[column] = self._redact(text) if column in _REDACTED_CALL_COLUMNS else text
        return RowOp(OpKind.UPSERT_CALL, event.call_id, event.at, fields=fields)

    def _caller_turn(self, event: CallEvent, state: _CallState) -> list[RowOp]:
        data = event.data
        seq = self._seq(event, state)
        state.last_caller_seq = seq
        fields: dict[str, Any] = {
            "speaker": "caller",
            "text": self._redact(str(data.get("text", ""))),
            "source": _str_or_none(data.get("source")),
            "asr_confidence": _float_or_none(data.get("confidence")),
            # Offsets given with the turn win over those remembered from SPEECH_STARTED / SPEECH_ENDED.
            "audio_start_ms": _int_or_none(data.get("audio_start_ms", state.speech_start_ms)),
            "audio_end_ms": _int_or_none(data.get("audio_end_ms", state.speech_end_ms)),
            "audio_path": _str_or_none(data.get("audio_path")),  # the turn's recording (migration 0003)
            # The recogniser's reading against the expected answer's phrases (migration 0004).
            "asr_hint": redact_value(data["hint"], self._redact) if isinstance(data.get("hint"), dict) else None,
            "at": event.at,
        }
        state.speech_start_ms = state.speech_end_ms = None
        return [RowOp(OpKind.INSERT_TURN, event.call_id, event.at, seq=seq, fields=_drop_none(fields))]

    def _dialogue_result(self, event: CallEvent, state: _CallState) -> list[RowOp]:
        # The understanding of a caller turn arrives after the turn was written: merge it into that row.
        if state.last_caller_seq is None:
            _LOGGER.debug("dialogue result without a caller turn", extra={"call_id": event.call_id})
            return []
        data = event.data
        fields: dict[str, Any] = {
            "intent": _str_or_none(data.get("intent")),
            "intent_confidence": _float_or_none(data.get("intent_confidence")),
            "entities": redact_value(data.get("entities") or [], self._redact),
        }
        return [RowOp(OpKind.UPDATE_TURN, event.call_id, event.at, seq=state.last_caller_seq, fields=fields)]

    def _event_row(self, event: CallEvent, state: _CallState) -> RowOp:
        data = dict(event.data)
        if event.type is EventType.DTMF and str(data.get("digit", "")).isdigit():
            # One digit per row would rebuild a keyed-in card number past the redactor; the whole entry is kept
            # (redacted) in the caller turn whose source is dtmf.
            data["digit"] = "[digit]"
        code = data.get("code") if event.type is EventType.ERROR else data.get("reason", data.get("code"))
        fields: dict[str, Any] = {
            "kind": event.type.value,
            "code": _str_or_none(code),
            "data": redact_value(data, self._redact),
            "at": event.at,
        }
        return RowOp(OpKind.INSERT_EVENT, event.call_id, event.at, seq=self._seq(event, state), fields=fields)

    def _call_ended(self, event: CallEvent) -> RowOp:
        outcome = _str_or_none(event.data.get("outcome"))
        if outcome is not None and outcome not in OUTCOMES:
            # The check constraint would reject the row forever; keep the call, lose only the bad label.
            _LOGGER.warning("unknown call outcome %r stored as NULL", outcome, extra={"call_id": event.call_id})
            outcome = None
        fields: dict[str, Any] = {"ended_at": event.at, "outcome": outcome}
        reason = _str_or_none(event.data.get("handoff_reason"))
        if reason is not None:
            fields["handoff_reason"] = reason
        return RowOp(OpKind.UPDATE_CALL, event.call_id, event.at, fields=fields)


def _drop_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else round(float(value))
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
