"""Live replay: the same cases through the real Asterisk, with a simulated caller on a Local channel.

The agent runs in this process (as in tests/e2e.py); each case gets its own booking scope and `now` by
setting them on the agent's shared CallDeps between cases (cases run one after another).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime

from ari_agent.app import Agent
from ari_agent.demo import CallerVoice
from ari_agent.events import CallEvent, EventRecorder, EventType
from ari_agent.replay.case import Case
from ari_agent.replay.offline import BARGE_AFTER_MS, GAP_MS, CaseRun, _setup_bookings
from ari_agent.sim.caller import SimulatedCaller

_LOGGER = logging.getLogger(__name__)


async def run_case_live(case: Case, agent: Agent, voice: CallerVoice, *, timeout: float = 300.0) -> CaseRun:
    """Dial the in-process agent through Asterisk and play the case's turns; returns what happened."""
    assert agent.manager is not None
    settings = agent.settings
    run = CaseRun(case=case)
    deps = agent.manager.deps
    scope = f"replay-{case.name}-{uuid.uuid4().hex[:8]}"
    now = case.now or datetime.now().replace(microsecond=0)
    await _setup_bookings(settings.database.dsn, scope, case)
    deps.scope = scope
    deps.now = lambda: now
    # Every sound is rendered before dialling, so the caller never keeps the agent waiting on synthesis.
    sounds: list[str | None] = []
    for turn in case.turns:
        if turn.audio is not None:
            sounds.append(await voice.from_wav(turn.audio))
        elif turn.kind == "text":
            sounds.append(await voice.render(turn.text or ""))
        else:
            sounds.append(None)
    recorder = EventRecorder()
    current = {"turn": -1}

    def attribute(event: CallEvent) -> None:
        recorder(event)
        if event.type in (EventType.CALLER_TURN, EventType.DIALOGUE_RESULT) and current["turn"] >= 0:
            run.turn_events.setdefault(current["turn"], []).append(event)

    unsubscribe = agent.bus.subscribe(attribute)
    caller_id = f'"Replay" <{case.caller}>' if case.caller else '"Replay" <+15550000000>'
    started = time.perf_counter()
    try:
        async with (
            SimulatedCaller(
                settings.ari.url, settings.ari.username, settings.ari.password, agent.bus, caller_id=caller_id
            ) as caller,
            asyncio.timeout(timeout),
        ):
            run.call_id = await caller.dial()
            ended = await _play(case, caller, sounds, current, run)
            if ended is None:
                await caller.wait_agent_done_speaking(timeout=60)
                await caller.hangup()
            await recorder.wait_for(EventType.CALL_ENDED, run.call_id, timeout=30)
    except TimeoutError:
        run.error = f"live replay did not finish within {timeout:.0f} s"
    finally:
        unsubscribe()
    run.wall_s = time.perf_counter() - started
    run.audio_ms = int(run.wall_s * 1000)  # live audio runs in real time
    run.events = [e for e in recorder.events if e.call_id == run.call_id]
    return run


async def _play(
    case: Case, caller: SimulatedCaller, sounds: list[str | None], current: dict[str, int], run: CaseRun
) -> CallEvent | None:
    """Play the turns; returns CALL_ENDED if the agent ended the call first, else None."""
    for index, turn in enumerate(case.turns):
        if turn.barge_in:
            event = await caller.wait_agent(EventType.PLAYBACK_STARTED, timeout=60)
            if event.type is EventType.CALL_ENDED:
                return event
            await asyncio.sleep(BARGE_AFTER_MS / 1000)
        else:
            while True:
                event = await caller.wait_agent(EventType.PLAYBACK_FINISHED, timeout=60)
                if event.type is EventType.CALL_ENDED:
                    return event
                if not event.data.get("interrupted"):
                    break
            await asyncio.sleep(GAP_MS / 1000)
        current["turn"] = index
        run.turns_played = index + 1
        sound = sounds[index]
        if sound is not None:
            await caller.play(sound)
        elif turn.dtmf:
            await caller.send_dtmf(turn.dtmf)
        elif turn.silence:
            await asyncio.sleep(turn.silence)
        if caller.hung_up.is_set():
            with contextlib.suppress(TimeoutError):
                return await caller.wait_agent(EventType.CALL_ENDED, timeout=10)
    return None
