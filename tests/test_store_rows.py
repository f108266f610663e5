"""CallEvent -> row operations: numbering, merges, redaction and the spool format; no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ari_agent.events import CallEvent, EventType
from ari_agent.store.redact import Redactor
from ari_agent.store.rows import CallRowMapper, OpKind, RowOp

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def synthetic_call(call_id: str = "c1") -> list[CallEvent]:
    """A booking call with a barge-in, a DTMF key and an error, timestamps 100 ms apart."""
    steps: list[tuple[EventType, dict[str, object]]] = [
        (
            EventType.CALL_STARTED,
            {
                "caller": "+441234",
                "caller_name": "Ann",
                "extension": "100",
                "channel_id": "1700.1",
                "linkedid": "1700.1",
                "sip_call_id": "abc@h",
            },
        ),
        (EventType.CALL_ANSWERED, {}),
        (EventType.AGENT_TURN, {"text": "Hello, how can I help?"}),
        (EventType.BARGE_IN, {"reaction_ms": 180}),
        (EventType.SPEECH_STARTED, {"audio_ms": 1200}),
        (EventType.SPEECH_ENDED, {"audio_ms": 2900, "endpoint_wait_ms": 600}),
        (EventType.CALLER_TURN, {"text": "book a haircut", "confidence": 0.91, "source": "speech"}),
        (
            EventType.DIALOGUE_RESULT,
            {"intent": "book", "intent_confidence": 0.97, "entities": [{"entity": "service", "value": "haircut"}]},
        ),
        (EventType.AGENT_TURN, {"text": "What day?"}),
        (EventType.TURN_LATENCY, {"total_ms": 640, "asr_ms": 40, "dialogue_ms": 12}),
        (EventType.DTMF, {"digit": "4"}),
        (
            EventType.CALLER_TURN,
            {
                "text": "my card is 4111 1111 1111 1111",
                "confidence": 0.8,
                "hint": {"kind": "digits", "text": "4111 1111 1111 1111", "complete": False},
            },
        ),
        (EventType.ERROR, {"code": "dialogue-timeout", "message": "rasa slow"}),
        (EventType.BOOKING, {"reference": "BK-42", "action": "booked"}),
        (EventType.CALL_ENDED, {"outcome": "booked", "hangup_by": "caller"}),
    ]
    return [CallEvent(t, call_id, d, at=T0 + timedelta(milliseconds=100 * i)) for i, (t, d) in enumerate(steps)]


def test_synthetic_call_maps_to_ordered_idempotent_ops() -> None:
    mapper = CallRowMapper(Redactor())
    ops = [op for e in synthetic_call() for op in mapper.map(e)]
    kinds = [(op.kind, op.seq) for op in ops]
    assert kinds == [
        (OpKind.UPSERT_CALL, None),
        (OpKind.UPDATE_CALL, None),
        (OpKind.INSERT_TURN, 0),  # agent greeting
        (OpKind.INSERT_EVENT, 1),  # barge-in row
        (OpKind.UPDATE_TURN, 0),  # ... marks the greeting as interrupted
        (OpKind.INSERT_TURN, 2),  # caller turn
        (OpKind.UPDATE_TURN, 2),  # intent merged into it
        (OpKind.INSERT_TURN, 3),
        (OpKind.UPDATE_TURN, 2),  # latency of answering turn 2
        (OpKind.INSERT_EVENT, 4),  # dtmf
        (OpKind.INSERT_TURN, 5),
        (OpKind.INSERT_EVENT, 6),  # error
        (OpKind.INSERT_EVENT, 7),  # booking
        (OpKind.UPDATE_CALL, None),  # booking_ref
        (OpKind.UPDATE_CALL, None),  # ended
    ]
    start = ops[0].fields
    assert start["channel_uniqueid"] == "1700.1" and start["caller_number"] == "+441234"
    assert start["started_at"] == T0
    caller = ops[5].fields
    assert caller == {
        "speaker": "caller",
        "text": "book a haircut",
        "source": "speech",
        "asr_confidence": 0.91,
        "audio_start_ms": 1200,
        "audio_end_ms": 2900,
        "at": T0 + timedelta(milliseconds=600),
    }
    assert ops[6].fields["intent"] == "book" and ops[6].fields["intent_confidence"] == 0.97
    assert ops[4].fields == {"barge_in": True}
    assert ops[8].fields == {"latency": {"total_ms": 640, "asr_ms": 40, "dialogue_ms": 12}}
    assert ops[9].fields["data"] == {"digit": "[digit]"}  # single keyed digits never reach the store
    assert ops[10].fields["text"] == "my card is [redacted]"
    assert ops[10].fields["asr_hint"] == {"kind": "digits", "text": "[redacted]", "complete": False}
    assert "asr_hint" not in caller  # no answer was expected of the first turn
    assert ops[11].fields["code"] == "dialogue-timeout"
    assert ops[13].fields == {"booking_ref": "BK-42"}
    assert ops[14].fields["outcome"] == "booked"
    assert ops[14].fields["ended_at"] == T0 + timedelta(milliseconds=1400)


def test_replayed_events_keep_their_seq() -> None:
    events = synthetic_call()
    mapper = CallRowMapper()
    first = [op for e in events for op in mapper.map(e)]
    again = [op for e in events for op in mapper.map(e)]
    assert [(o.kind, o.seq, o.fields) for o in again] == [(o.kind, o.seq, o.fields) for o in first]
    # A mapper of a restarted agent numbers the same stream the same way.
    restarted = CallRowMapper()
    fresh = [op for e in events for op in restarted.map(e)]
    assert [(o.kind, o.seq) for o in fresh] == [(o.kind, o.seq) for o in first]


def test_replay_mid_call_does_not_renumber() -> None:
    events = synthetic_call()
    mapper = CallRowMapper()
    for e in events[:8]:
        mapper.map(e)
    replayed = mapper.map(events[6])  # the first caller turn again
    assert [(o.kind, o.seq) for o in replayed] == [(OpKind.INSERT_TURN, 2)]
    nxt = mapper.map(events[8])
    assert [(o.kind, o.seq) for o in nxt] == [(OpKind.INSERT_TURN, 3)]


def test_calls_are_numbered_independently() -> None:
    mapper = CallRowMapper()
    a = [op for e in synthetic_call("a") for op in mapper.map(e)]
    b = [op for e in synthetic_call("b") for op in mapper.map(e)]
    assert [o.seq for o in a] == [o.seq for o in b]
    assert {o.call_id for o in a} == {"a"} and {o.call_id for o in b} == {"b"}


def test_unknown_outcome_is_not_sent_to_the_check_constraint() -> None:
    (op,) = CallRowMapper().map(CallEvent(EventType.CALL_ENDED, "c", {"outcome": "weird"}, at=T0))
    assert op.fields["outcome"] is None


def test_dialogue_result_without_a_caller_turn_writes_nothing() -> None:
    assert CallRowMapper().map(CallEvent(EventType.DIALOGUE_RESULT, "c", {"intent": "greet"}, at=T0)) == []


def test_spool_line_round_trip_keeps_types() -> None:
    mapper = CallRowMapper()
    for op in [o for e in synthetic_call() for o in mapper.map(e)]:
        back = RowOp.from_json(op.to_json())
        assert back == op
        assert "\n" not in op.to_json()


def test_speech_ignored_as_the_replys_echo_is_kept_as_an_event_row() -> None:
    # Not a turn, but what was heard and why it was not answered must be there to check afterwards.
    event = CallEvent(
        EventType.OVERLAP_IGNORED, "c", {"text": "my card is 4111 1111 1111 1111", "confidence": 0.4}, at=T0
    )
    (op,) = CallRowMapper(Redactor()).map(event)
    assert op.kind is OpKind.INSERT_EVENT and op.fields["kind"] == "overlap-ignored"
    assert op.fields["data"] == {"text": "my card is [redacted]", "confidence": 0.4}
