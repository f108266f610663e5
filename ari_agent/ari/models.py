"""ARI wire format: JSON <-> typed models. Translation only, no I/O, so it is tested without a network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AriFormatError(ValueError):
    """An ARI message did not have the shape we rely on."""


@dataclass(frozen=True, slots=True)
class Channel:
    """The parts of an ARI Channel we use."""

    id: str
    name: str
    state: str
    caller_number: str = ""
    caller_name: str = ""
    exten: str = ""
    context: str = ""
    protocol_id: str = ""  # the SIP Call-ID for PJSIP channels
    app_name: str = ""  # the dialplan application running, "Stasis" while in an ARI app
    app_data: str = ""
    channelvars: dict[str, str] = field(default_factory=dict)

    @property
    def linkedid(self) -> str:
        """The linkedid, when ari.conf exports CHANNEL(linkedid) as a channel variable."""
        return self.channelvars.get("CHANNEL(linkedid)", "")


@dataclass(frozen=True, slots=True)
class AriEvent:
    """One event from the events WebSocket."""

    type: str
    application: str
    channel: Channel | None = None
    args: list[str] = field(default_factory=list)  # StasisStart arguments
    digit: str = ""  # ChannelDtmfReceived
    playback_id: str = ""  # Playback* events
    playback_state: str = ""
    cause: int | None = None  # hangup cause
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def channel_id(self) -> str:
        """Id of the channel the event is about, or empty."""
        return self.channel.id if self.channel else ""


def parse_channel(data: Any) -> Channel:
    """Build a Channel from ARI's JSON object."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise AriFormatError(f"channel without an id: {data!r:.200}")
    # A field of the wrong type is treated as absent: one odd event must not tear down the events socket.
    caller = _object(data.get("caller"))
    dialplan = _object(data.get("dialplan"))
    variables = _object(data.get("channelvars"))
    return Channel(
        id=data["id"],
        name=str(data.get("name", "")),
        state=str(data.get("state", "")),
        caller_number=str(caller.get("number", "")),
        caller_name=str(caller.get("name", "")),
        exten=str(dialplan.get("exten", "")),
        context=str(dialplan.get("context", "")),
        protocol_id=str(data.get("protocol_id", "")),
        app_name=str(dialplan.get("app_name", "")),
        app_data=str(dialplan.get("app_data", "")),
        channelvars={str(k): str(v) for k, v in variables.items()},
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def channel_to_json(channel: Channel) -> dict[str, Any]:
    """Inverse of parse_channel for the fields we keep (used by tests and the resync log)."""
    out: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "state": channel.state,
        "caller": {"number": channel.caller_number, "name": channel.caller_name},
        "dialplan": {
            "exten": channel.exten,
            "context": channel.context,
            "app_name": channel.app_name,
            "app_data": channel.app_data,
        },
        "protocol_id": channel.protocol_id,
    }
    if channel.channelvars:
        out["channelvars"] = dict(channel.channelvars)
    return out


def parse_event(data: Any) -> AriEvent:
    """Build an AriEvent from one WebSocket message (already JSON-decoded)."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise AriFormatError(f"event without a type: {data!r:.200}")
    channel = parse_channel(data["channel"]) if isinstance(data.get("channel"), dict) else None
    playback: dict[str, Any] = data["playback"] if isinstance(data.get("playback"), dict) else {}
    if channel is None and playback:
        # Playback events name their channel only in target_uri ("channel:<id>").
        target = str(playback.get("target_uri", ""))
        if target.startswith("channel:"):
            channel = Channel(id=target.removeprefix("channel:"), name="", state="")
    args = data.get("args") or []
    cause = data.get("cause")
    return AriEvent(
        type=data["type"],
        application=str(data.get("application", "")),
        channel=channel,
        args=[str(a) for a in args] if isinstance(args, list) else [],
        digit=str(data.get("digit", "")),
        playback_id=str(playback.get("id", "")),
        playback_state=str(playback.get("state", "")),
        cause=cause if isinstance(cause, int) and not isinstance(cause, bool) else None,
        raw=data,
    )
