"""The dialogue engine contract: one conversation per call, one turn at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ari_agent.asr.base import AsrHint


class DialogueError(RuntimeError):
    """The dialogue engine failed or timed out; `code` becomes a metric label and a DB column."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Handoff:
    """The dialogue asks for a human. `reason` is one of the documented handoff reasons."""

    reason: str  # requested | dtmf | urgent | misunderstood | out_of_scope | frustration | error | no_input
    queue: str | None = None  # None: the configured default queue
    summary: str = ""


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the dialogue knows about the call before the caller speaks."""

    now: datetime  # the call's current local date and time (dates like "tomorrow" resolve against it)
    caller_number: str = ""
    caller_name: str = ""
    call_id: str = ""
    scope: str = "live"  # bookings scope: replayed cases each get their own, isolated from live bookings


@dataclass(frozen=True, slots=True)
class DialogueResult:
    """What one caller turn produced."""

    replies: list[str]
    intent: str | None = None
    intent_confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    handoff: Handoff | None = None
    # Set by the dialogue when the call reached an outcome: booked | cancelled | rescheduled.
    outcome: str | None = None
    booking_ref: str | None = None
    end_call: bool = False  # the caller said goodbye and the agent has nothing more to do
    # The kind of answer the bot's question outside a form expects (asr.expectations), e.g. "task" after the
    # opening repair question; inside a form the requested slot says it.
    expect: str | None = None
    # The question is answered by this many keys at most ("press 1 for yes, or 2 for no": 1; a day of the month:
    # 2): the entry ends with them, not after a pause. 0: the usual entry.
    entry_keys: int = 0
    latency_ms: float = 0.0


class DialogueEngine(Protocol):
    """Rasa in production; a scripted fake in unit tests."""

    async def start(self, conversation_id: str, context: CallContext) -> None:
        """Open a fresh conversation carrying the call's context."""
        ...

    async def send(
        self,
        conversation_id: str,
        text: str,
        asr_confidence: float = 1.0,
        *,
        hint: AsrHint | None = None,
        unsure: float = 0.0,
    ) -> DialogueResult:
        """One caller turn (with the recogniser's expectation hint, if any). Raises DialogueError on failure."""
        ...

    async def end(self, conversation_id: str) -> None:
        """Forget the conversation (best effort)."""
        ...
