"""CallEvent: the one stream every observer of a call reads (logs, metrics, transcript store, tests).

Every stage boundary of a call emits exactly one typed, timestamped event. Observers never reach into
the CallSession; they subscribe to the bus.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)


class EventType(enum.StrEnum):
    """Stage boundaries of a call. Values are stable: they are stored in call_events.kind."""

    CALL_STARTED = "call-started"  # StasisStart adopted; data: caller, caller_name, extension, channel ids
    CALL_ANSWERED = "call-answered"
    LISTEN_STARTED = "listen-started"
    SPEECH_STARTED = "speech-started"  # VAD onset; data: audio_ms
    SPEECH_ENDED = "speech-ended"  # endpoint decided; data: audio_ms, endpoint_wait_ms
    ASR_PARTIAL = "asr-partial"  # data: text
    ASR_FINAL = "asr-final"  # data: text, confidence, asr_ms
    CALLER_TURN = "caller-turn"  # a complete caller turn; data: text, confidence, source (speech|dtmf|text)
    DIALOGUE_RESULT = "dialogue-result"  # data: intent, intent_confidence, entities, slots, replies, handoff
    AGENT_TURN = "agent-turn"  # what the agent said; data: text
    TTS_DONE = "tts-done"  # data: tts_ms, cached
    PLAYBACK_STARTED = "playback-started"  # data: playback_id
    PLAYBACK_FINISHED = "playback-finished"  # data: playback_id, interrupted
    BARGE_IN = "barge-in"  # data: reaction_ms
    # Quiet speech over the agent, decoded: its own words coming back (line echo) or nothing, so not a turn.
    OVERLAP_IGNORED = "overlap-ignored"  # data: text, confidence, audio_ms
    TURN_LATENCY = "turn-latency"  # data: total_ms and per-stage breakdown
    DTMF = "dtmf"  # data: digit
    REPROMPT = "reprompt"  # data: count
    FALLBACK = "fallback"  # nlu_fallback turn
    OUT_OF_SCOPE = "out-of-scope"
    HANDOFF = "handoff"  # data: reason, queue, summary
    BOOKING = "booking"  # data: reference, action (booked|cancelled|rescheduled)
    ARI_RECONNECTED = "ari-reconnected"
    ERROR = "error"  # data: code, message
    CALL_ENDED = "call-ended"  # data: outcome, handoff_reason, hangup_by


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One stage boundary of one call."""

    type: EventType
    call_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Monotonic stamp for latency arithmetic; `at` is for humans and the database.
    mono: float = field(default_factory=time.monotonic)


Subscriber = Callable[[CallEvent], None]


class EventBus:
    """Fan-out of CallEvents to synchronous subscribers.

    Subscribers must be cheap and non-blocking (increment a counter, put on a queue). A subscriber that
    raises is logged and skipped: an observer must never break a call.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: CallEvent) -> None:
        """Deliver one event to every subscriber, in subscription order."""
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                _LOGGER.exception("event subscriber failed on %s", event.type, extra={"call_id": event.call_id})


class EventRecorder:
    """Collects events in memory; used by tests and by replay to inspect what a call did."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, type_: EventType, call_id: str | None = None) -> list[CallEvent]:
        """Events of one type, optionally of one call."""
        return [e for e in self.events if e.type is type_ and (call_id is None or e.call_id == call_id)]

    async def wait_for(self, type_: EventType, call_id: str | None = None, timeout: float = 30.0) -> CallEvent:
        """Wait until an event of this type has been seen."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.of(type_, call_id)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()
