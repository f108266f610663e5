"""A simulated caller that goes through the real Asterisk: used by the demo, end-to-end tests and live replay.

It registers its own Stasis app, originates `Local/<exten>@<context>`: the `;2` half runs the dialplan into the
agent's Stasis app exactly as a PSTN/SIP call would, the `;1` half stays in the caller app, where we play the
caller's turns (WAV files Asterisk can read) and send DTMF. The caller waits for the agent to finish
speaking using the agent's CallEvents (the agent runs in the same process in these set-ups).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from ari_agent.ari.client import AriClient, AriError, EventListener
from ari_agent.ari.models import AriEvent
from ari_agent.events import CallEvent, EventBus, EventType

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """One thing the caller does."""

    sound: str = ""  # sound URI Asterisk can play, e.g. sound:/var/lib/ari-agent/sounds/demo/t1
    dtmf: str = ""
    silence_s: float = 0.0  # stay silent this long (no-input handling)
    barge_in_after_ms: int | None = None  # speak this long after the agent's reply starts, over it
    hangup: bool = False  # hang up (mid-sentence if a sound is playing)
    hangup_after_ms: int = 0


class SimulatedCaller:
    """Drives one Local-channel call into the agent."""

    def __init__(
        self,
        ari_url: str,
        username: str,
        password: str,
        bus: EventBus,
        *,
        app: str | None = None,
        context: str = "ari-agent-incoming",
        exten: str = "100",
        caller_id: str = '"Demo Caller" <+15551230000>',
        agent_app: str | None = None,
    ) -> None:
        # One Stasis app per caller: ARI gives an app's events to one WebSocket only, so concurrent simulated
        # callers sharing a name would steal each other's events.
        self.app = app or f"ari-agent-caller-{uuid.uuid4().hex[:8]}"
        self._ari = AriClient(ari_url, username, password, self.app)
        self._bus = bus
        self._context = context
        self._exten = exten
        self._caller_id = caller_id
        # The agent's Stasis app, when it is not the one extension 100 enters: a benchmark's own agent runs beside
        # the one `make up` started without either taking the other's calls.
        self._agent_app = agent_app
        self.channel_id = f"sim-{uuid.uuid4().hex[:12]}"
        self.call_id: str | None = None
        self._agent_events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._own_events: asyncio.Queue[AriEvent] = asyncio.Queue()
        self._listener = EventListener(self._ari, self._own_events.put_nowait, self._noop)
        self._listener_task: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(self._on_agent_event)
        self._playback_seq = 0
        self.hung_up = asyncio.Event()
        self._adopted = asyncio.Event()

    async def _noop(self, _: bool) -> None:
        return None

    def _on_agent_event(self, event: CallEvent) -> None:
        if event.type is EventType.CALL_STARTED and event.data.get("channel_id", "").startswith(
            self.channel_id
        ):
            self.call_id = event.call_id
            self._adopted.set()
        if self.call_id is not None and event.call_id == self.call_id:
            self._agent_events.put_nowait(event)

    async def __aenter__(self) -> SimulatedCaller:
        self._listener_task = asyncio.create_task(self._listener.run(), name=f"{self.app}-events")
        async with asyncio.timeout(10):
            await self._listener.connected.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(AriError):
            await self._ari.hangup(self.channel_id)
        self._unsubscribe()
        if self._listener_task is not None:
            self._listener_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener_task
        await self._ari.close()

    async def dial(self, timeout: float = 15.0) -> str:
        """Place the call; returns the agent's call id once the agent has adopted it."""
        # With an agent app of its own, the call goes straight into it (asterisk_conf: ari-agent-sim-app).
        endpoint = f"Local/{self._exten}@{self._context}"
        if self._agent_app:
            endpoint = f"Local/{self._agent_app}@ari-agent-sim-app"
        await self._ari.originate(endpoint, app=self.app, channel_id=self.channel_id, caller_id=self._caller_id)
        async with asyncio.timeout(timeout):
            while True:
                event = await self._own_events.get()
                if event.type == "StasisStart" and event.channel_id == self.channel_id:
                    break
            await self._adopted.wait()
        assert self.call_id is not None
        return self.call_id

    async def wait_agent(self, *types: EventType, timeout: float = 30.0) -> CallEvent:
        """Next agent event of one of these types (CALL_ENDED always ends the wait)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._agent_events.get()
                if event.type in types or event.type is EventType.CALL_ENDED:
                    return event

    async def wait_agent_done_speaking(self, timeout: float = 30.0) -> CallEvent:
        """Wait until the agent's reply finished playing (or the call ended)."""
        return await self.wait_agent(EventType.PLAYBACK_FINISHED, timeout=timeout)

    async def play(self, sound: str, wait: bool = True) -> None:
        """Play one caller utterance into the call."""
        self._playback_seq += 1
        playback_id = f"{self.channel_id}-say{self._playback_seq}"
        await self._ari.play(self.channel_id, sound, playback_id)
        if not wait:
            return
        async with asyncio.timeout(60):
            while True:
                event = await self._own_events.get()
                if event.type == "PlaybackFinished" and event.playback_id == playback_id:
                    return
                if event.type in ("StasisEnd", "ChannelDestroyed") and event.channel_id == self.channel_id:
                    self.hung_up.set()
                    return

    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF digits from the caller side."""
        await self._ari.request("POST", f"/channels/{self.channel_id}/dtmf", {"dtmf": digits})

    async def hangup(self) -> None:
        """The caller hangs up."""
        with contextlib.suppress(AriError):
            await self._ari.hangup(self.channel_id)

    async def _wait_reply_finished(self) -> CallEvent:
        while True:
            event = await self.wait_agent(EventType.PLAYBACK_FINISHED, timeout=60)
            if event.type is EventType.CALL_ENDED or not event.data.get("interrupted"):
                return event

    async def run_turns(self, turns: list[CallerTurn], *, end_timeout: float = 60.0) -> CallEvent:
        """Play the script: each turn after the agent finished speaking (or over it, for barge-in)."""
        for turn in turns:
            if turn.barge_in_after_ms is not None:
                event = await self.wait_agent(EventType.PLAYBACK_STARTED, timeout=60)
                if event.type is EventType.CALL_ENDED:
                    return event
                await asyncio.sleep(turn.barge_in_after_ms / 1000)
            else:
                event = await self._wait_reply_finished()
                if event.type is EventType.CALL_ENDED:
                    return event
                await asyncio.sleep(0.3)  # a human pause before answering
            if turn.hangup and turn.sound:
                await self.play(turn.sound, wait=False)
                await asyncio.sleep(turn.hangup_after_ms / 1000)
                await self.hangup()
                break
            if turn.hangup:
                await self.hangup()
                break
            if turn.sound:
                await self.play(turn.sound)
            elif turn.dtmf:
                await self.send_dtmf(turn.dtmf)
            elif turn.silence_s:
                await asyncio.sleep(turn.silence_s)
        return await self.wait_agent(EventType.CALL_ENDED, timeout=end_timeout)
