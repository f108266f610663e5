"""RasaDialogue: the DialogueEngine over Rasa's HTTP API (REST channel + tracker endpoints).

The wire format lives in the pure functions at the top (`context_events`, `result_from_rasa`,
`handoff_summary`); the class only moves bytes. The bot's signals are custom payloads documented in
rasa_project/README.md: {"handoff": {"reason", "queue"}}, {"outcome", "booking_ref"}, {"end_call": true}.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from ari_agent.asr.base import AsrHint
from ari_agent.dialogue.base import CallContext, DialogueError, DialogueResult, Handoff

_LOGGER = logging.getLogger(__name__)

# Slots the agent sets at the start of a call; the custom actions read them.
CONTEXT_SLOTS = ("call_now", "caller_number", "call_id", "booking_scope")
# Slots worth reporting to the agent (transcripts, handoff summaries); the rest is the bot's bookkeeping.
REPORTED_SLOTS = (
    "task",
    "service",
    "date",
    "time",
    "name",
    "phone",
    "old_date",
    "booking_ref",
    "handoff_reason",
    "requested_slot",
    "confirmed",
    # Asked "What would you like to change?" (a read-back refused): the agent decodes the answer against the
    # details' phrases (asr.expectations.expectation_for).
    "correcting",
    # Half a name kept while the other half is asked for, and the names the caller refused: the name decoder
    # passes over those (asr.expectations.refused_names).
    "name_part",
    "names_refused",
)
HANDOFF_REASONS = frozenset(
    {"requested", "dtmf", "urgent", "misunderstood", "out_of_scope", "frustration", "error", "no_input"}
)


def context_events(context: CallContext, scope: str) -> list[dict[str, Any]]:
    """Tracker events that open a fresh conversation carrying the call's context."""
    values = {
        "call_now": context.now.replace(tzinfo=None).isoformat(timespec="seconds"),
        "caller_number": context.caller_number or None,
        "call_id": context.call_id or None,
        "booking_scope": scope,
    }
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
    ]
    events += [{"event": "slot", "name": name, "value": values[name]} for name in CONTEXT_SLOTS]
    events.append({"event": "action", "name": "action_listen"})
    return events


def handoff_summary(slots: dict[str, Any]) -> str:
    """One line for the human who takes the call: what the caller wanted so far."""
    parts = []
    if slots.get("task"):
        parts.append(f"task {slots['task']}")
    for key in ("service", "date", "time", "old_date", "name", "phone"):
        if slots.get(key):
            parts.append(f"{key.replace('_', ' ')} {slots[key]}")
    return "; ".join(parts)


def result_from_rasa(replies: list[dict[str, Any]], tracker: dict[str, Any], latency_ms: float = 0.0) -> DialogueResult:
    """Translate a REST-channel reply list and the tracker after the turn into a DialogueResult."""
    texts: list[str] = []
    handoff: Handoff | None = None
    outcome: str | None = None
    booking_ref: str | None = None
    end_call = False
    expect: str | None = None
    entry_keys = 0
    all_slots: dict[str, Any] = tracker.get("slots") or {}
    slots = {k: all_slots[k] for k in REPORTED_SLOTS if all_slots.get(k) is not None}
    for reply in replies:
        if reply.get("text"):
            texts.append(str(reply["text"]))
        custom = reply.get("custom")
        if not isinstance(custom, dict):
            continue
        if isinstance(custom.get("handoff"), dict):
            reason = str(custom["handoff"].get("reason") or "error")
            if reason not in HANDOFF_REASONS:
                _LOGGER.warning("unknown handoff reason %r from the bot", reason)
            queue = custom["handoff"].get("queue")
            handoff = Handoff(reason=reason, queue=str(queue) if queue else None, summary=handoff_summary(slots))
        if custom.get("outcome"):
            outcome = str(custom["outcome"])
            booking_ref = str(custom["booking_ref"]) if custom.get("booking_ref") else None
        if custom.get("end_call"):
            end_call = True
        if isinstance(custom.get("expect"), str):
            expect = custom["expect"]
        if isinstance(custom.get("keys"), int) and custom["keys"] > 0:
            entry_keys = int(custom["keys"])
    latest = tracker.get("latest_message") or {}
    # The tracker's latest_message can lag a turn behind; the last user event is authoritative.
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user":
            latest = event.get("parse_data") or latest
            break
    intent = latest.get("intent") or {}
    entities = [
        {k: e[k] for k in ("entity", "value", "start", "end", "extractor") if k in e}
        for e in latest.get("entities") or []
    ]
    return DialogueResult(
        replies=texts,
        intent=intent.get("name"),
        intent_confidence=float(intent.get("confidence") or 0.0),
        entities=entities,
        slots=slots,
        handoff=handoff,
        outcome=outcome,
        booking_ref=booking_ref,
        end_call=end_call,
        expect=expect,
        entry_keys=entry_keys,
        latency_ms=latency_ms,
    )


def result_to_rasa(result: DialogueResult) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The inverse of `result_from_rasa` (for round-trip tests and the fake Rasa of replays)."""
    replies: list[dict[str, Any]] = [{"text": text} for text in result.replies]
    if result.handoff is not None:
        replies.append({"custom": {"handoff": {"reason": result.handoff.reason, "queue": result.handoff.queue}}})
    if result.outcome is not None:
        replies.append({"custom": {"outcome": result.outcome, "booking_ref": result.booking_ref}})
    if result.end_call:
        replies.append({"custom": {"end_call": True}})
    tracker = {
        "slots": dict(result.slots),
        "latest_message": {
            "intent": {"name": result.intent, "confidence": result.intent_confidence},
            "entities": [dict(e) for e in result.entities],
        },
    }
    return replies, tracker


class RasaDialogue:
    """DialogueEngine backed by a Rasa server started with `--enable-api`."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 3.0,
        session: aiohttp.ClientSession | None = None,
        scope: str = "live",
        auth_token: str = "",
    ) -> None:
        self._base = base_url.rstrip("/")
        self._params = {"token": auth_token} if auth_token else {}
        self._timeout = timeout
        self._session = session
        self._own_session = session is None
        self._scope = scope
        # conversation -> the slot the bot's last turn asked for, and the task it was for, sent with the next turn
        # (metadata).
        self._requested: dict[str, str] = {}
        self._task: dict[str, str] = {}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    def _conv_url(self, conversation_id: str, tail: str) -> str:
        return f"{self._base}/conversations/{quote(conversation_id, safe='')}/{tail}"

    async def _request(self, method: str, url: str, conversation_id: str, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                async with self._http().request(method, url, params=self._params, **kwargs) as resp:
                    if resp.status >= 400:
                        body = (await resp.text())[:200]
                        if resp.status == 401:
                            body += " (set [dialogue] auth_token to Rasa's --auth-token)"
                        raise DialogueError("dialogue-failed", f"rasa {method} {url}: {resp.status} {body}")
                    return await resp.json(content_type=None)
        except TimeoutError as exc:
            raise DialogueError("dialogue-timeout", f"rasa did not answer within {self._timeout}s") from exc
        except aiohttp.ClientError as exc:
            _LOGGER.warning("rasa request failed: %s", exc, extra={"call_id": conversation_id})
            raise DialogueError("dialogue-failed", f"rasa {method} {url}: {exc}") from exc

    async def start(self, conversation_id: str, context: CallContext, scope: str | None = None) -> None:
        """Open a fresh conversation carrying the call's context (now, caller, call id, booking scope)."""
        # CallContext may carry its own scope one day; an explicit argument wins, then the constructor's.
        chosen = scope or getattr(context, "scope", None) or self._scope
        self._requested.pop(conversation_id, None)
        self._task.pop(conversation_id, None)
        await self._request(
            "PUT",
            self._conv_url(conversation_id, "tracker/events"),
            conversation_id,
            json=context_events(context, str(chosen)),
        )

    async def send(
        self,
        conversation_id: str,
        text: str,
        asr_confidence: float = 1.0,
        *,
        hint: AsrHint | None = None,
        unsure: float = 0.0,
    ) -> DialogueResult:
        """One caller turn: the bot's replies, the understood intent, the slots and the bot's signals."""
        started = time.monotonic()
        # How sure the recogniser was: the NLU does not tell a caller "this line can't help" from a garbled turn.
        metadata: dict[str, Any] = {"asr_confidence": asr_confidence, "asr_unsure": round(unsure, 3)}
        requested = self._requested.get(conversation_id)
        if requested:
            # The question this turn answers: the NLU reads "yes, cancel it" or "Mary Mitchell, thanks" by it.
            metadata["requested_slot"] = requested
            task = self._task.get(conversation_id)
            if task:
                # Mid-task, the NLU starts another task only on that task's own verb, not on garble.
                metadata["task"] = task
        if hint is not None:
            # Read by the form validation (rasa_project/actions): a fallback for the value it asked for.
            metadata["asr_hint"] = hint.as_dict()
        replies = await self._request(
            "POST",
            f"{self._base}/webhooks/rest/webhook",
            conversation_id,
            json={"sender": conversation_id, "message": text, "metadata": metadata},
        )
        tracker = await self._request(
            "GET", self._conv_url(conversation_id, "tracker?include_events=AFTER_RESTART"), conversation_id
        )
        if not isinstance(replies, list) or not isinstance(tracker, dict):
            raise DialogueError("dialogue-failed", "unexpected reply shape from rasa")
        if not replies:
            # Every turn of the bot says something; silence means an action failed (e.g. the action server
            # is down, which Rasa only logs). The agent treats it as a failure and hands off.
            raise DialogueError("dialogue-failed", "rasa returned no reply (action server down?)")
        result = result_from_rasa(replies, tracker, (time.monotonic() - started) * 1000.0)
        asked = result.slots.get("requested_slot")
        self._requested[conversation_id] = asked if isinstance(asked, str) else ""
        task = result.slots.get("task")
        self._task[conversation_id] = task if isinstance(task, str) else ""
        _LOGGER.debug(
            "rasa turn: intent=%s (%.2f) replies=%d",
            result.intent,
            result.intent_confidence,
            len(result.replies),
            extra={"call_id": conversation_id},
        )
        return result

    async def end(self, conversation_id: str) -> None:
        """Forget the conversation (best effort): the in-memory tracker is emptied."""
        self._requested.pop(conversation_id, None)
        self._task.pop(conversation_id, None)
        try:
            await self._request("PUT", self._conv_url(conversation_id, "tracker/events"), conversation_id, json=[])
        except DialogueError as exc:
            _LOGGER.info("rasa end failed: %s", exc, extra={"call_id": conversation_id})

    async def not_ready_reason(self) -> str | None:
        """None when the server answers /status with a loaded model, else why not."""
        try:
            status = await self._request("GET", f"{self._base}/status", "-")
        except DialogueError as exc:
            return f"rasa: {exc}"
        if not isinstance(status, dict) or not status.get("model_file"):
            return "rasa: no model loaded"
        return None

    async def close(self) -> None:
        """Close the HTTP session if this object created it."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None
