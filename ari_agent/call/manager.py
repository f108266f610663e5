"""The call registry: routes ARI events to the owning CallSession, adopts new calls, resynchronises.

The events WebSocket reader calls `dispatch` for every event; dispatch only routes (never awaits), so one
slow call can never hold up another or the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ari_agent.ari.client import AriError
from ari_agent.ari.models import AriEvent, Channel
from ari_agent.call.deps import CallDeps
from ari_agent.call.handoff import ALL_BUSY, RESCUE_APOLOGY, say_and_wait, set_queue_variables, transcript_url
from ari_agent.call.leg import HELPER_SUFFIXES, helper_channel_ids
from ari_agent.call.session import CallSession
from ari_agent.events import CallEvent, EventType

_LOGGER = logging.getLogger(__name__)

CloseUnfinished = Callable[[set[str]], Awaitable[object]]
RESCUE_GRACE_SECONDS = 0.5
# StasisBroadcast offers a call to every agent of an Asterisk at once and the first claim wins: each call an agent
# already serves delays its claim by this much, so the least busy agent usually takes the call (the offer
# comes in a shuffled order, so equally busy agents share calls at random). Capped well inside the dialplan's
# broadcast timeout (1000 ms in extensions_ari_agent.conf).
CLAIM_DELAY_PER_CALL_SECONDS = 0.02
CLAIM_DELAY_MAX_SECONDS = 0.3
CLAIM_DELAY_FULL_SECONDS = 0.6


class CallManager:
    """Owns every live CallSession of this process."""

    def __init__(self, deps: CallDeps, close_unfinished: CloseUnfinished | None = None) -> None:
        self.deps = deps
        # Closes `calls` rows a previous run left open, given the channels still alive (store.queries).
        self._close_unfinished = close_unfinished
        self.sessions: dict[str, CallSession] = {}  # caller channel id -> session
        self._routes: dict[str, CallSession] = {}  # every channel id a session owns -> session
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._overloaded = False

    @property
    def active_calls(self) -> int:
        """Calls in progress."""
        return len(self.sessions)

    def dispatch(self, event: AriEvent) -> None:
        """Route one ARI event. Never blocks and never raises for a bad event."""
        session = self._routes.get(event.channel_id)
        if session is None and event.playback_id:
            session = self._session_for_playback(event.playback_id)
        if session is not None:
            session.deliver(event)
            return
        if event.type == "StasisStart" and event.channel is not None and not _is_helper_channel(event):
            self._adopt(event.channel)
        elif event.type == "CallBroadcast" and event.channel is not None:
            self._keep(asyncio.create_task(self._claim(event.channel.id), name=f"claim-{event.channel.id}"))

    async def _claim(self, channel_id: str) -> None:
        """Claim a call StasisBroadcast offers. A full agent claims too, but last, so that an agent with room
        wins whenever there is one; if it does win, the caller hears the busy line and goes to the queue with a
        `calls` row (handoff `capacity`), as on a single agent. A draining agent does not claim: if none
        claims, the dialplan's timeout sends the caller to the queue."""
        if not self._accepting:
            _LOGGER.info("draining: not claiming call %s", channel_id)
            return
        if self.full() is not None:
            delay = CLAIM_DELAY_FULL_SECONDS
        else:
            delay = min(len(self.sessions) * CLAIM_DELAY_PER_CALL_SECONDS, CLAIM_DELAY_MAX_SECONDS)
        if delay:
            await asyncio.sleep(delay)
        try:
            won = await self.deps.ari.claim(channel_id)
        except AriError as exc:
            _LOGGER.error("claiming call %s failed: %s", channel_id, exc)
            return
        _LOGGER.debug("call %s %s", channel_id, "claimed" if won else "taken by another agent")

    def _session_for_playback(self, playback_id: str) -> CallSession | None:
        media_id, _ = helper_channel_ids(playback_id.split("-pb", 1)[0])
        return self._routes.get(media_id)

    def _adopt(self, channel: Channel) -> None:
        if not self._accepting:
            _LOGGER.warning("draining: sending new call %s to the queue", channel.id)
            self._keep(asyncio.create_task(self._send_to_queue(channel.id), name=f"drain-{channel.id}"))
            return
        why = self.full()
        if why is not None:
            self._keep(asyncio.create_task(self._over_capacity(channel, why), name=f"full-{channel.id}"))
            return
        session = CallSession(self.deps, channel)
        self.sessions[channel.id] = session
        for cid in (channel.id, *helper_channel_ids(session.call_id)):
            self._routes[cid] = session
        self._keep(asyncio.create_task(self._run(session), name=f"call-{session.call_id}"))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, session: CallSession) -> None:
        try:
            await session.run()
        except Exception:
            _LOGGER.exception("call session crashed", extra={"call_id": session.call_id})
        finally:
            self.sessions.pop(session.channel.id, None)
            for cid in [cid for cid, s in self._routes.items() if s is session]:
                del self._routes[cid]

    async def _say_then_queue(self, channel_id: str, text: str, playback_id: str, variables: dict[str, str],
                              said: Callable[[str], None] | None = None) -> bool:
        """A caller no session serves: one line, the queue's variables, the queue; hung up only if Asterisk
        refuses the transfer. True when the caller reached the queue."""
        await say_and_wait(self.deps, channel_id, text, playback_id, said=said)
        await set_queue_variables(self.deps.ari, channel_id, variables)
        if await self._send_to_queue(channel_id):
            return True
        with contextlib.suppress(AriError):
            await self.deps.ari.hangup(channel_id)
        return False

    async def _send_to_queue(self, channel_id: str) -> bool:
        call = self.deps.settings.call
        try:
            await self.deps.ari.continue_in_dialplan(channel_id, call.handoff_context, call.default_queue)
        except AriError as exc:
            _LOGGER.error("could not send channel %s to the queue: %s", channel_id, exc)
            return False
        return True

    async def resync(self, reconnect: bool) -> None:
        """After every (re)connect: end sessions whose channel is gone, rescue channels nobody owns.

        Asterisk does not replay events missed while the WebSocket was down, so a caller who hung up in
        that window would otherwise keep a session alive, and a call that entered Stasis in that window
        would hear dead air. On the first connect the same scan finds what a previous run of the agent left
        (a crash, a SIGKILL, a deploy): its callers are apologised to and put through to the queue, its helper
        channels destroyed, and its unfinished `calls` rows closed.
        """
        if reconnect:
            self.deps.bus.emit(CallEvent(EventType.ARI_RECONNECTED, "-", {"active_calls": len(self.sessions)}))
        try:
            channels = {c.id: c for c in await self.deps.ari.list_channels()}
            held = await self.deps.ari.app_channel_ids()
        except AriError as exc:
            _LOGGER.error("resync failed: %s", exc)
            return
        for channel_id, session in list(self.sessions.items()):
            session.emit(EventType.ARI_RECONNECTED)
            if channel_id not in channels:
                # Gone while the events socket was down: the caller hung up, or Asterisk itself went away (a
                # node restart). Either way it is said, so the call's record does not read as a plain hang-up.
                session.emit(EventType.ERROR, code="channel-gone-while-disconnected",
                             message="the call's channel ended while the agent was not connected to Asterisk")
                session.deliver(AriEvent(type="ChannelDestroyed", application="", channel=session.channel))
        orphans: set[str] = set()
        for channel in channels.values():
            if channel.id in self._routes:
                continue
            in_app = channel.app_name == "Stasis" and channel.app_data.split(",")[0] == self.deps.ari.app
            if not (in_app or channel.id in held):
                # Another agent's (several may serve one Asterisk), or not in an ARI app at all: not ours to touch.
                continue
            if channel.id.endswith(HELPER_SUFFIXES):
                # A helper channel whose call is gone (e.g. the agent restarted): remove it.
                with contextlib.suppress(AriError):
                    await self.deps.ari.hangup(channel.id)
                orphans.add(channel.id)
                continue
            _LOGGER.warning("channel %s is in the app with no session: apologising, sending it to the queue",
                            channel.id)
            orphans.add(channel.id)
            self._keep(asyncio.create_task(self._rescue(channel.id), name=f"rescue-{channel.id}"))
        if not reconnect and self._close_unfinished is not None:
            alive = set(channels) - orphans
            try:
                await self._close_unfinished(alive)
            except Exception as exc:  # the store being down must not stop the agent taking calls
                _LOGGER.error("could not close calls left unfinished by a previous run: %r", exc)

    def audio_backlog_ms(self) -> int:
        """The longest wait of any call's received audio to be heard."""
        return max((s.audio_backlog_ms for s in self.sessions.values()), default=0)

    def full(self) -> str | None:
        """Why no more calls are taken now (for /readyz), or None."""
        call = self.deps.settings.call
        limit = call.max_concurrent_calls
        if limit and len(self.sessions) >= limit:
            return f"at capacity: {len(self.sessions)} calls of max_concurrent_calls = {limit}"
        # The measured limit: the recogniser not keeping up with the calls already taken. Left only at half the
        # threshold, so one call's catch-up does not let the next arrival tip it over again.
        behind = self.audio_backlog_ms()
        threshold = call.overload_backlog_ms
        if threshold and (behind >= threshold or (self._overloaded and behind * 2 >= threshold)):
            self._overloaded = True
            return f"overloaded: a call's audio waits {behind} ms to be heard (overload_backlog_ms = {threshold})"
        self._overloaded = False
        return None

    async def _over_capacity(self, channel: Channel, why: str) -> None:
        """A call over the limit: a short line, then the queue. Recorded as a call handed off for `capacity`."""
        call = self.deps.settings.call
        call_id = uuid.uuid4().hex[:16]
        bus = self.deps.bus

        def emit(type_: EventType, **data: Any) -> None:
            bus.emit(CallEvent(type_, call_id, data))

        emit(EventType.CALL_STARTED, channel_id=channel.id, linkedid=channel.linkedid, sip_call_id=channel.protocol_id,
             caller=channel.caller_number, caller_name=channel.caller_name, extension=channel.exten,
             scope=self.deps.scope, node=self.deps.settings.ari.node_name())  # fmt: skip
        emit(EventType.HANDOFF, reason="capacity", queue=call.default_queue, summary=why)
        _LOGGER.warning("%s: sending %s to the queue", why, channel.id)
        with contextlib.suppress(AriError, TimeoutError):
            async with asyncio.timeout(call.stage_timeout_seconds):
                await self.deps.ari.answer(channel.id)
                await self.deps.ari.set_var(channel.id, "CDR(userfield)", call_id)
        variables = {"__ARI_AGENT_CALL_ID": call_id, "__ARI_AGENT_REASON": "capacity",
                     "__ARI_AGENT_SUMMARY": "All agent lines were busy."}
        sent = await self._say_then_queue(channel.id, ALL_BUSY, f"{call_id}-busy", variables,
                                          said=lambda text: emit(EventType.AGENT_TURN, text=text))
        emit(EventType.CALL_ENDED, outcome="handoff" if sent else "failed", handoff_reason="capacity",
             hangup_by="agent")

    async def _rescue(self, channel_id: str) -> None:
        """A caller nobody is serving: the apology, then the queue; hung up only if Asterisk refuses both."""
        # A call entering Stasis just as the agent connects is listed before its StasisStart is read: give
        # that event a moment to arrive (it makes a session) before treating the channel as left behind.
        await asyncio.sleep(RESCUE_GRACE_SECONDS)
        if channel_id in self._routes:
            return
        # Which call it was: our call id is in the CDR's userfield, set when the call was answered.
        call_id = ""
        with contextlib.suppress(AriError):
            call_id = await self.deps.ari.get_var(channel_id, "CDR(userfield)")
        variables = {
            "__ARI_AGENT_CALL_ID": call_id,
            "__ARI_AGENT_REASON": "error",
            "__ARI_AGENT_SUMMARY": "The agent restarted during this call; see its transcript.",
            "__ARI_AGENT_TRANSCRIPT_URL": transcript_url(self.deps.settings, call_id) if call_id else "",
        }
        await self._say_then_queue(channel_id, RESCUE_APOLOGY, f"{channel_id}-rescue", variables)

    async def drain(self, timeout: float) -> None:
        """Stop adopting calls and wait for the live ones to end (SIGTERM)."""
        self._accepting = False
        waits = [s.wait_ended() for s in self.sessions.values()]
        if waits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*waits)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _is_helper_channel(event: AriEvent) -> bool:
    # Snoop and externalMedia channels we create enter our app too; only callers start sessions.
    return event.channel_id.endswith(HELPER_SUFFIXES) or (event.args[:1] == ["snoop"])
