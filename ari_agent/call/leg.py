"""The caller's audio leg: an RTP receiver fed by an externalMedia channel bridged to a snoop on the caller.

The snoop copies what the caller says (spy "in") without touching the caller's own channel, so playbacks and
the later transfer to a queue work on it as on any channel. Every channel and bridge made here is named after
the call, which lets a restarted agent find and destroy the helpers of calls it no longer owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ari_agent.ari.client import AriError
from ari_agent.call.deps import CallDeps, MediaSource
from ari_agent.errors import StageError
from ari_agent.media.audio import FRAME_MS

_LOGGER = logging.getLogger(__name__)

# A call's helper channels are named after it: the manager routes their events to the call by these names and,
# after a restart, finds and destroys the helpers of calls it no longer owns.
HELPER_SUFFIXES = ("-media", "-snoop")


def helper_channel_ids(call_id: str) -> tuple[str, str]:
    """The externalMedia and snoop channel ids of a call."""
    media, snoop = (f"{call_id}{suffix}" for suffix in HELPER_SUFFIXES)
    return media, snoop


class MediaLeg:
    """Sets up and tears down one call's listening path in Asterisk."""

    def __init__(self, deps: CallDeps, call_id: str, caller_channel_id: str) -> None:
        self._deps = deps
        self._call_id = call_id
        self._caller = caller_channel_id
        self.media_id, self.snoop_id = helper_channel_ids(call_id)
        self.bridge_id = f"{call_id}-bridge"
        self._in_stasis = {cid: asyncio.Event() for cid in (self.media_id, self.snoop_id)}
        self.receiver: MediaSource | None = None

    def entered_stasis(self, channel_id: str) -> bool:
        """A StasisStart for one of this leg's channels: True if it was one (and is now noted)."""
        event = self._in_stasis.get(channel_id)
        if event is None:
            return False
        event.set()
        return True

    async def open(self) -> MediaSource:
        """Bind the receiver, create the helper channels, bridge them; returns the started receiver.

        The receiver is closed by close(), whatever happened here.
        """
        settings = self._deps.settings
        receiver = self._deps.media_factory(settings.media.bind_host)
        self.receiver = receiver
        await receiver.start()
        ari = self._deps.ari
        await ari.external_media(
            self.media_id, f"{settings.media.external_host}:{receiver.port}", settings.media.format
        )
        await ari.snoop(self._caller, self.snoop_id, spy="in")
        # externalMedia returns before the channel is in Stasis; adding it to a bridge earlier gives 422.
        try:
            async with asyncio.timeout(settings.call.stage_timeout_seconds):
                for event in self._in_stasis.values():
                    await event.wait()
        except TimeoutError:
            raise StageError("media-timeout", "snoop/externalMedia channels never entered Stasis") from None
        for cid in (self.media_id, self.snoop_id):
            # The helpers are not calls: keep them out of the CDR.
            with contextlib.suppress(AriError):
                await ari.set_var(cid, "CDR_PROP(disable)", "1")
        await ari.create_bridge(self.bridge_id)
        await ari.add_to_bridge(self.bridge_id, [self.snoop_id, self.media_id])
        return receiver

    def backlog_ms(self) -> int:
        """Received audio not yet taken by the listener."""
        return int(getattr(self.receiver, "queued_frames", 0)) * FRAME_MS

    def stop_listening(self) -> int:
        """Stop receiving; the frames already received are still delivered. Returns how many are queued."""
        if self.receiver is None:
            return 0
        self.receiver.close()
        return int(getattr(self.receiver, "queued_frames", 0))

    async def close(self) -> None:
        """Tear down what open() made, step by step; a step that fails does not stop the others."""
        if self.receiver is not None:
            self.receiver.close()
        ari = self._deps.ari
        # Made one at a time: a coroutine made up front and never reached (cleanup cut short) only warns.
        steps: tuple[Callable[[], Awaitable[None]], ...] = (
            lambda: ari.destroy_bridge(self.bridge_id),
            lambda: ari.hangup(self.snoop_id),
            lambda: ari.hangup(self.media_id),
        )
        for step in steps:
            try:
                async with asyncio.timeout(2):
                    await step()
            except (AriError, TimeoutError) as exc:
                _LOGGER.warning("cleanup step failed: %r", exc, extra={"call_id": self._call_id})

    def stats(self) -> dict[str, int]:
        """Audio health of the call: packets received, loss concealed, frames the agent was too slow for."""
        stats = getattr(self.receiver, "stats", None)
        if stats is None:
            return {}
        return {
            "packets": int(stats.packets),
            "concealed_ms": int(stats.concealed_ms),
            "dropped_frames": int(stats.dropped_frames),
            "foreign_packets": int(getattr(stats, "foreign_packets", 0)),
        }
