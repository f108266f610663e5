"""Handing a caller to a person: what the caller hears, and what the human who picks up is given.

The queue side reads channel variables (copied to the member's channel by Asterisk's "__" prefix): who is
calling, why, what they wanted, and a link to the transcript; optionally a spoken summary played to the member
before the caller is put through. Used by a live session and by the call manager's rescue and over-capacity
paths, which have no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ari_agent.ari.client import AriClient, AriError
from ari_agent.call.deps import CallDeps
from ari_agent.config import Settings

_LOGGER = logging.getLogger(__name__)

CONNECTING = "Let me connect you with a member of our team. One moment please."
# To a caller found waiting after the agent restarted: short, they have already waited in silence.
RESCUE_APOLOGY = "Sorry, something went wrong on our side. Connecting you to a colleague."
# To a caller over the agent's call limit ([call] max_concurrent_calls).
ALL_BUSY = "All our lines are busy right now. Connecting you to a colleague."
HANDOFF_REASONS_SPOKEN = {
    "requested": "asked for a person",
    "dtmf": "pressed zero for the operator",
    "urgent": "has an urgent problem",
    "misunderstood": "was not understood twice",
    "out_of_scope": "asked for something this line cannot help with",
    "frustration": "sounded frustrated",
    "error": "hit a technical problem",
    "no_input": "did not say anything",
    "capacity": "reached us while the assistant was overloaded",
}
_BOOKING_SLOTS = ("service", "date", "time")


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the agent knows about a call at the moment it hands it over."""

    call_id: str
    caller_number: str
    slots: Mapping[str, Any]
    last_intent: str | None

    def summary(self, reason: str) -> str:
        """One line for the queue log and the supervisor pages."""
        wanted = ", ".join(f"{k} {v}" for k, v in sorted(self.slots.items()) if k in _BOOKING_SLOTS)
        said = self.last_intent or "nothing understood"
        return f"Handoff ({reason}); last intent {said}" + (f"; {wanted}" if wanted else "")

    def caller_details(self) -> str:
        parts = [f"number={self.caller_number}"] if self.caller_number else []
        parts += [f"{k}={v}" for k, v in sorted(self.slots.items()) if k in ("name", *_BOOKING_SLOTS)]
        return " ".join(parts)

    def announcement(self, reason: str) -> str:
        """What the queue member hears before the caller is put through."""
        why = HANDOFF_REASONS_SPOKEN.get(reason, reason.replace("_", " "))
        parts = [f"Transferred call. The caller {why}."]
        wanted = [str(self.slots[k]) for k in _BOOKING_SLOTS if self.slots.get(k)]
        if wanted:
            parts.append("They were booking: " + ", ".join(wanted) + ".")
        if self.slots.get("name"):
            parts.append(f"Name: {self.slots['name']}.")
        return " ".join(parts)

    def queue_variables(self, settings: Settings, reason: str, summary: str) -> dict[str, str]:
        """What the queue member's side sees (the queue log, a screen pop): who, why, and the transcript."""
        return {
            # A double underscore makes Asterisk copy the variable to the queue member's channel.
            "__ARI_AGENT_CALL_ID": self.call_id,
            "__ARI_AGENT_REASON": reason,
            "__ARI_AGENT_INTENT": self.last_intent or "",
            "__ARI_AGENT_SUMMARY": summary,
            "__ARI_AGENT_CALLER": self.caller_details(),
            "__ARI_AGENT_TRANSCRIPT_URL": transcript_url(settings, self.call_id),
        }


def transcript_url(settings: Settings, call_id: str) -> str:
    """The supervisor page of one call: the link the human who takes a handoff is given."""
    return f"{settings.http.public_url.rstrip('/')}/calls/{call_id}"


async def set_queue_variables(ari: AriClient, channel_id: str, variables: dict[str, str]) -> None:
    """Set the variables the queue side reads (best effort: the transfer matters more than any one of them)."""
    for name, value in variables.items():
        with contextlib.suppress(AriError, TimeoutError):
            async with asyncio.timeout(2):
                await ari.set_var(channel_id, name, _dialplan_safe(value))


async def say_and_wait(
    deps: CallDeps, channel_id: str, text: str, playback_id: str, *, said: Callable[[str], None] | None = None
) -> None:
    """Play a fixed line to a channel whose playback events nobody reads (a failed call, a caller the agent is
    about to transfer), then wait the prompt's length: leaving Stasis stops a playback, so a transfer right
    after would cut it off. `said(text)` is called once the playback is under way. Never raises: the
    transfer that follows matters more than the line."""
    try:
        async with asyncio.timeout(deps.settings.call.stage_timeout_seconds):
            prompt = await deps.prompts.get(text)
            await deps.ari.play(channel_id, prompt.uri, playback_id)
    except Exception as exc:
        _LOGGER.warning("could not play %r to %s: %r", text, channel_id, exc)
        return
    if said is not None:
        said(text)
    await asyncio.sleep(prompt.duration_ms / 1000 + 0.2)


def _dialplan_safe(value: str) -> str:
    # Commas and pipes split dialplan application arguments; newlines break the queue log.
    return value.replace("\n", " ").replace(",", ";").replace("|", "/")[:400]
