"""The voice agent's input channel: one HTTP round trip per caller turn.

Rasa's REST channel answers a turn with the bot's messages only; the agent then needed a second request for the
tracker (the slots it reports, the question asked next, the intent it logs), and the tracker it returned grows
with every turn of the call. This channel handles the message exactly as the REST channel does and answers with
the messages plus the few tracker fields the agent reads, taken from the tracker store in process.

POST /webhooks/agent/webhook  {"sender", "message", "metadata"}
  -> {"messages": [...as the REST channel...], "slots": {...}, "latest_message": {"intent", "entities"}}
It carries the caller's slots (name, phone), so it asks for the token the tracker endpoints ask for (?token=,
Rasa's --auth-token, given to the channel in credentials.yml from the environment).
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def _last_parse(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The understanding of the caller's latest turn (its last user event, as the tracker endpoint has it)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            data = event.parse_data or {}
            return {"intent": data.get("intent") or {}, "entities": data.get("entities") or []}
    return {"intent": {}, "entities": []}


class AgentInput(RestInput):
    """REST semantics, plus the slots and the understood intent in the same answer."""

    def __init__(self, token: Text = "") -> None:
        self.token = token

    @classmethod
    def name(cls) -> Text:
        return "agent"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "AgentInput":
        return cls(str((credentials or {}).get("token") or ""))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        hook = Blueprint("agent_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            agent = request.app.ctx.agent
            if self.token and not hmac.compare_digest(request.args.get("token") or "", self.token):
                return response.json({"error": "wrong or missing ?token= (Rasa's --auth-token)"}, status=401)
            body = request.json or {}
            sender = body.get("sender")
            text = body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "expected JSON {sender, message[, metadata]}"}, status=400)
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=self.name(), metadata=self.get_metadata(request))
            )
            tracker = await agent.tracker_store.retrieve(sender)
            if tracker is None:
                return response.json({"error": f"no conversation {sender!r} after the turn"}, status=500)
            return response.json(
                {
                    "messages": collector.messages,
                    "slots": tracker.current_slot_values(),
                    "latest_message": _last_parse(tracker),
                }
            )

        return hook
