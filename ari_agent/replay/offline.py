"""Offline replay: a real CallSession driven by a simulated line, paced by audio time, without Asterisk.

The session, the listener (VAD, endpointing, barge-in), Vosk, Rasa, the handoff policy and the TTS prompt cache
are the production ones. Only Asterisk is replaced, by two pieces that share one audio clock:

- `ReplayLine` is the media source. It yields 20 ms frames as fast as the listener takes them, but only while
  audio time matters (the session waits for a turn, a turn is being recognised, or a prompt is playing). While
  the agent thinks, audio time stands still, so a replay is deterministic in audio time whatever the machine.
- `ReplayAri` answers the session's ARI requests. A playback "lasts" its prompt's duration in line frames.

The caller's script runs inside the line: the next turn starts once the agent is idle again (its reply played,
the listener waiting), or ~0.5 s into the reply for `barge_in` turns; after the last turn the caller hangs up.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ari_agent.ari.client import AriClient
from ari_agent.ari.models import AriEvent, Channel
from ari_agent.asr.base import AsrEngine
from ari_agent.call.listener import Listener
from ari_agent.call.session import CallDeps, CallSession
from ari_agent.config import Settings
from ari_agent.dialogue.base import DialogueEngine
from ari_agent.events import CallEvent, EventBus, EventRecorder, EventType
from ari_agent.media.audio import FRAME_BYTES, FRAME_MS, frames, read_wav
from ari_agent.replay.case import Case, Turn

_LOGGER = logging.getLogger(__name__)

SILENCE = b"\x00" * FRAME_BYTES
GAP_MS = 300  # a human pause before answering (the live caller waits the same)
BARGE_AFTER_MS = 500  # how far into the agent's reply a barge_in turn starts
MAX_AUDIO_MS = 10 * 60 * 1000  # a runaway case (the agent never finishes) hangs up after ten audio minutes
_APP = "ari-agent-replay"


@dataclass
class _Playback:
    playback_id: str
    duration_ms: int
    seq: int
    played_ms: int = 0


@dataclass
class CaseRun:
    """What one replayed case did."""

    case: Case
    call_id: str = ""
    events: list[CallEvent] = field(default_factory=list)
    # case turn index -> the CALLER_TURN and DIALOGUE_RESULT events that happened while it was the current turn
    turn_events: dict[int, list[CallEvent]] = field(default_factory=dict)
    audio_ms: int = 0  # audio time of the whole call (the caller's line)
    wall_s: float = 0.0
    turns_played: int = 0
    error: str | None = None

    def of(self, type_: EventType) -> list[CallEvent]:
        """Events of one type."""
        return [e for e in self.events if e.type is type_]


class ReplayLine:
    """The caller's line: the media source of the session and the player of the case's turns."""

    port = 0

    def __init__(self, case: Case) -> None:
        self.case = case
        self.audio_ms = 0
        self.current_turn = -1
        self.turns_started = 0
        self.session: CallSession | None = None
        self._pending: collections.deque[bytes] = collections.deque()
        self._playback: _Playback | None = None
        self._playbacks = 0
        self._mark = 0  # playbacks started before the current turn: a barge-in waits for a newer one
        self._await_returned: int | None = None
        self._hung_up = False
        self._closed = False
        self._audio_cache: dict[int, list[bytes]] = {}

    # --- MediaSource ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Nothing to bind."""
        return None

    def close(self) -> None:
        """Stop yielding frames."""
        self._closed = True

    async def frames(self) -> AsyncIterator[bytes]:
        """20 ms frames of 16 kHz PCM, as fast as consumed while audio time runs; waits while the agent thinks."""
        while not self._closed:
            frame = self._next_frame()
            if frame is None:
                await asyncio.sleep(0.0005)
                continue
            yield frame
            # Let the session's other tasks (events, barge-in, DTMF) run between frames.
            await asyncio.sleep(0)

    # --- playbacks (from ReplayAri) -------------------------------------------------------------------
    def start_playback(self, playback_id: str, duration_ms: int) -> None:
        """A prompt starts playing; it lasts `duration_ms` of line audio."""
        self._playbacks += 1
        self._playback = _Playback(playback_id, max(FRAME_MS, duration_ms), self._playbacks)
        self._deliver("PlaybackStarted", playback_id=playback_id, playback_state="playing")

    def stop_playback(self, playback_id: str) -> None:
        """The agent stopped its prompt (barge-in)."""
        if self._playback is not None and self._playback.playback_id == playback_id:
            self._playback = None
            self._deliver("PlaybackFinished", playback_id=playback_id, playback_state="done")

    # --- the clock and the script ---------------------------------------------------------------------
    def _deliver(self, type_: str, **kw: Any) -> None:
        if self.session is not None:
            channel = self.session.channel
            self.session.deliver(AriEvent(type=type_, application="ari-agent", channel=channel, **kw))

    def _next_frame(self) -> bytes | None:
        session = self.session
        listener = session.listener if session is not None else None
        if listener is None or self._hung_up:
            return None
        if self._await_returned is not None:
            # A text or DTMF turn was handed over: wait until the session took it before audio runs again.
            if listener.turns_returned <= self._await_returned:
                return None
            self._await_returned = None
        if self._playback is None and not listener.consumes_audio:
            return None  # the agent is thinking: audio time stands still
        self._script(listener.waiting_idle and self._playback is None)
        if self._hung_up or self._await_returned is not None:
            return None
        frame = self._pending.popleft() if self._pending else SILENCE
        self.audio_ms += FRAME_MS
        playback = self._playback
        if playback is not None:
            playback.played_ms += FRAME_MS
            if playback.played_ms >= playback.duration_ms:
                self._playback = None
                self._deliver("PlaybackFinished", playback_id=playback.playback_id, playback_state="done")
        return frame

    def _script(self, idle: bool) -> None:
        if self._pending:
            return
        turns = self.case.turns
        if self.audio_ms >= MAX_AUDIO_MS or (idle and self.turns_started >= len(turns)):
            self._hang_up()
            return
        if self.turns_started >= len(turns):
            return
        turn = turns[self.turns_started]
        playback = self._playback
        barge_now = (
            turn.barge_in
            and playback is not None
            and playback.seq > self._mark
            and playback.played_ms >= BARGE_AFTER_MS
        )
        if barge_now or idle:
            self._start_turn(turn, barge=barge_now)

    def _start_turn(self, turn: Turn, *, barge: bool) -> None:
        listener = self._next_turn()
        if turn.kind == "audio":
            self._say(self._turn_frames(self.current_turn, turn), barge=barge)
        elif turn.kind == "silence":
            self._keep_silent(turn.silence or 0)
        elif turn.kind == "dtmf":
            self._press(listener, turn.dtmf or "", barge=barge)
        else:
            self._type(turn.text or "", barge=barge)

    # --- what a caller can do in a turn (the script above, or the simulated person) ------------------------
    def _next_turn(self) -> Listener:
        """Count a new caller turn; returns the session's listener."""
        assert self.session is not None and self.session.listener is not None
        self.current_turn = self.turns_started
        self.turns_started += 1
        self._mark = self._playbacks
        return self.session.listener

    def _say(self, audio: list[bytes], *, barge: bool) -> None:
        """Speak these frames, after a human pause unless talking over the agent."""
        if not barge:
            self._pending.extend([SILENCE] * (GAP_MS // FRAME_MS))
        self._pending.extend(audio)

    def _press(self, listener: Listener, digits: str, *, barge: bool) -> None:
        """Keys pressed on the caller's phone; audio time waits until the session has taken the entry."""
        before = listener.turns_returned
        for digit in digits:
            self._deliver("ChannelDtmfReceived", digit=digit)
        if not barge:
            self._await_returned = before

    def _keep_silent(self, seconds: float) -> None:
        self._pending.extend([SILENCE] * int(seconds * 1000 // FRAME_MS))

    def _type(self, text: str, *, barge: bool) -> None:
        """A text turn, handed straight to the listener; audio time waits until the session has taken it."""
        assert self.session is not None and self.session.listener is not None
        before = self.session.listener.turns_returned
        self.session.listener.put_text(text, barge_in=barge)
        if not barge:
            self._await_returned = before

    def _turn_frames(self, index: int, turn: Turn) -> list[bytes]:
        cached = self._audio_cache.get(index)
        if cached is None:
            assert turn.audio is not None
            cached = frames(read_wav(turn.audio))
            self._audio_cache[index] = cached
        return cached

    def _hang_up(self) -> None:
        self._hung_up = True
        self._deliver("StasisEnd")


class ReplayAri(AriClient):
    """Answers a CallSession's ARI requests like Asterisk would, on the line's audio clock."""

    def __init__(self, line: ReplayLine, durations: dict[str, int]) -> None:
        super().__init__("http://replay.invalid", "replay", "replay", _APP)
        self._line = line
        self._durations = durations  # prompt URI -> duration in ms, filled by ReplayPrompts
        self.continued: list[tuple[str, str, str]] = []
        self.hung_up: list[str] = []

    def _stasis_start(self, channel_id: str) -> None:
        if self._line.session is not None:
            channel = Channel(id=channel_id, name=f"Replay/{channel_id}", state="Up")
            self._line.session.deliver(AriEvent(type="StasisStart", application=_APP, channel=channel))

    async def answer(self, channel_id: str) -> None:
        """Nothing to answer."""
        return None

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        """Variables are not kept."""
        return None

    async def external_media(self, channel_id: str, external_host: str, fmt: str) -> Channel:
        """The helper channel enters Stasis at once."""
        asyncio.get_running_loop().call_soon(self._stasis_start, channel_id)
        return Channel(id=channel_id, name="UnicastRTP/replay", state="Up")

    async def snoop(self, channel_id: str, snoop_id: str, spy: str = "in") -> Channel:
        """The snoop channel enters Stasis at once."""
        asyncio.get_running_loop().call_soon(self._stasis_start, snoop_id)
        return Channel(id=snoop_id, name="Snoop/replay", state="Up")

    async def create_bridge(self, bridge_id: str, kind: str = "mixing") -> None:
        """No bridge is needed."""
        return None

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        """No bridge is needed."""
        return None

    async def destroy_bridge(self, bridge_id: str) -> None:
        """No bridge is needed."""
        return None

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Remember who was hung up."""
        self.hung_up.append(channel_id)

    async def play(self, channel_id: str, media: str, playback_id: str) -> None:
        """Play a prompt on the line's clock."""
        self._line.start_playback(playback_id, self._durations.get(media, 1000))

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a prompt (barge-in)."""
        self._line.stop_playback(playback_id)

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, priority: int = 1) -> None:
        """A handoff: the caller leaves for a queue."""
        self.continued.append((channel_id, context, extension))


class ReplayPrompts:
    """The real prompt cache, remembering each prompt's duration for ReplayAri's playbacks."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache
        self.durations: dict[str, int] = {}

    async def get(self, text: str) -> Any:
        """The prompt of `text` (synthesised by the real engine on a miss)."""
        prompt = await self._cache.get(text)
        self.durations[prompt.uri] = int(prompt.duration_ms)
        return prompt


@dataclass
class Engines:
    """The long-lived engines every replayed case shares."""

    settings: Settings
    asr: AsrEngine
    dialogue: DialogueEngine
    prompts: Any  # PromptCache


@dataclass(frozen=True, slots=True)
class PlayedCall:
    """How one offline call ran: its id, the failure if it did not finish, and its wall time."""

    call_id: str
    error: str | None
    wall_s: float


async def play_call(
    line: ReplayLine, engines: Engines, bus: EventBus, *, scope: str, now: datetime, caller: str, timeout: float
) -> PlayedCall:
    """A fresh CallSession on the replay line `line`, with its events on `bus`; never raises for a call failure."""
    prompts = ReplayPrompts(engines.prompts)
    ari = ReplayAri(line, prompts.durations)
    deps = CallDeps(
        settings=engines.settings,
        ari=ari,
        asr=engines.asr,
        dialogue=engines.dialogue,
        prompts=prompts,
        bus=bus,
        now=lambda: now,
        scope=scope,
        media_factory=lambda host: line,
    )
    channel = Channel(
        id=f"replay-{uuid.uuid4().hex[:12]}", name="Replay/caller", state="Ring", caller_number=caller, exten="100"
    )
    session = CallSession(deps, channel)
    line.session = session
    error: str | None = None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await session.run()
    except TimeoutError:
        error = f"the call did not finish within {timeout:.0f} s of wall time"
    except Exception as exc:  # a crash is a result to report, not a reason to stop the other calls
        _LOGGER.exception("offline call %s failed", session.call_id)
        error = f"{type(exc).__name__}: {exc}"
    finally:
        await ari.close()
    return PlayedCall(session.call_id, error, time.perf_counter() - started)


async def run_case_offline(case: Case, engines: Engines, *, timeout: float = 300.0) -> CaseRun:
    """Replay one case through a fresh CallSession; returns what happened (never raises for a call failure)."""
    run = CaseRun(case=case)
    line = ReplayLine(case)
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)

    def attribute(event: CallEvent) -> None:
        if event.type in (EventType.CALLER_TURN, EventType.DIALOGUE_RESULT) and line.current_turn >= 0:
            run.turn_events.setdefault(line.current_turn, []).append(event)

    bus.subscribe(attribute)
    scope = f"replay-{case.name}-{uuid.uuid4().hex[:8]}"
    now = case.now or datetime.now().replace(microsecond=0)
    await _setup_bookings(engines.settings.database.dsn, scope, case)
    played = await play_call(line, engines, bus, scope=scope, now=now, caller=case.caller, timeout=timeout)
    run.call_id, run.error, run.wall_s = played.call_id, played.error, played.wall_s
    run.audio_ms = line.audio_ms
    run.turns_played = line.turns_started
    run.events = list(recorder.events)
    return run


async def _setup_bookings(dsn: str, scope: str, case: Case) -> None:
    """Insert the case's `setup.bookings` into its own scope (the same table the Rasa actions use)."""
    if not case.bookings:
        return
    import psycopg

    from ari_agent.replay.case import SETUP_DURATIONS

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for booking in case.bookings:
            # References are unique across all scopes: a fresh one per replay, in the agent's own style.
            reference = "RP" + uuid.uuid4().hex[:6].upper()
            await conn.execute(
                "INSERT INTO bookings (reference, scope, name, phone, service, starts_at, duration_minutes) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    reference,
                    scope,
                    booking.name,
                    booking.phone or case.caller or None,
                    booking.service,
                    booking.starts_at,
                    SETUP_DURATIONS[booking.service],
                ),
            )
