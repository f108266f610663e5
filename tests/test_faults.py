"""Faults injected into the real stack: the agent process killed with SIGKILL mid-call, then started again.

The agent runs as its own process here (`ari-agent run`), so killing it is what a crash is: no drain, no
clean-up, its snoop/media channels and its `calls` row left behind in a real Asterisk and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from ari_agent.ari.client import AriClient
from ari_agent.config import Settings
from ari_agent.events import EventBus, EventType
from ari_agent.sim.caller import SimulatedCaller
from tests.e2e import place_call, running_agent, stack_settings, wait_queue_line

pytestmark = pytest.mark.integration

AGENT = Path(sys.executable).parent / "ari-agent"
LONG_GREETING = ("Thank you for calling Riverside Dental. This call may be recorded. We can book, move or cancel "
                 "appointments, and tell you our hours, prices and address. How can I help you today?")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AgentProcess:
    """`ari-agent run` with its own HTTP port and log file."""

    def __init__(self, log: Path, port: int, **env_vars: str) -> None:
        self.port = port
        env = {
            **os.environ,
            **env_vars,
            "ARI_AGENT_HTTP_PORT": str(port),
            "ARI_AGENT_HTTP_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ARI_AGENT_CALL_GREETING": LONG_GREETING,
        }
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen([str(AGENT), "run"], stdout=self._out, stderr=subprocess.STDOUT, env=env)

    async def ready(self, timeout: float = 60.0) -> float:
        """Seconds until /readyz says ready (ARI connected, model loaded)."""
        started = time.monotonic()
        async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
            while True:
                assert self.proc.poll() is None, self.log.read_text()[-2000:]
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as resp:
                        if resp.status == 200:
                            return time.monotonic() - started
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        self._out.close()


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.kill(signal.SIGTERM)


async def _wait_for(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def _dial(ari: AriClient, caller: SimulatedCaller) -> tuple[str, str]:
    """Call the agent; returns its leg's channel id and our call id once it has answered and set up media."""
    await ari.originate("Local/100@ari-agent-incoming", app=caller.app, channel_id=caller.channel_id,
                        caller_id='"Fault Test" <+15557770000>')

    async def agent_leg() -> str | None:
        # The agent's half of the Local channel, once the agent has answered it and built its media.
        names = {c.name: c for c in await ari.list_channels()}
        mine = next((n for n, c in names.items() if c.id == caller.channel_id), "")
        other = names.get(mine[:-1] + "2") if mine.endswith(";1") else None
        media = any(n.startswith("UnicastRTP/") for n in names)
        return other.id if other is not None and other.state == "Up" and media else None

    await _wait_for(agent_leg, 20, "the agent to answer and set up media")
    leg = await agent_leg()
    assert leg is not None
    call_id = await ari.get_var(leg, "CDR(userfield)")
    assert call_id
    return leg, call_id


@contextlib.asynccontextmanager
async def _call_in_progress(settings: Settings) -> AsyncIterator[tuple[AriClient, str, str]]:
    """A simulated caller answered by the agent; yields an ARI client, the agent's leg and our call id."""
    credentials = (settings.ari.url, settings.ari.username, settings.ari.password)
    ari = AriClient(*credentials, settings.ari.app)
    try:
        async with SimulatedCaller(*credentials, EventBus()) as caller:
            leg, call_id = await _dial(ari, caller)
            yield ari, leg, call_id
    finally:
        await ari.close()


async def _in_queue(ari: AriClient, leg: str) -> None:
    async def in_queue() -> bool:
        return (await ari.get_channel(leg)).app_name == "Queue"

    await _wait_for(in_queue, 20, "the caller to enter the queue")


def _stored(dsn: str, call_id: str) -> tuple[object, list[str]]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT outcome, ended_at IS NOT NULL FROM calls WHERE call_id = %s", [call_id]).fetchone()
        codes = [c for (c,) in conn.execute(
            "SELECT code FROM call_events WHERE call_id = %s AND kind = 'error'", [call_id]).fetchall()]
    return row, codes


async def test_agent_killed_mid_call_the_caller_reaches_the_queue_after_the_restart(
    agents: list[AgentProcess], tmp_path: Path
) -> None:
    settings = stack_settings()
    port = _free_port()
    agents.append(first := AgentProcess(tmp_path / "agent-1.log", port))
    await first.ready()
    async with _call_in_progress(settings) as (ari, leg, call_id):
        await asyncio.sleep(1.0)  # mid-greeting
        first.kill(signal.SIGKILL)

        agents.append(second := AgentProcess(tmp_path / "agent-2.log", port))
        restarted = time.monotonic()
        ready_s = await second.ready()
        await _in_queue(ari, leg)
        to_queue_s = time.monotonic() - restarted
        line = await wait_queue_line(call_id, timeout=15)  # what the member who picks up sees
        leftovers = [c.id for c in await ari.list_channels() if c.id.startswith(call_id)]
    log = (tmp_path / "agent-2.log").read_text()
    print(f"restart: ready in {ready_s:.1f} s, caller in the queue {to_queue_s - ready_s:.1f} s after ready")
    # The caller heard the apology first, then reached the queue with the call's id and why it came.
    assert "apologising, sending it to the queue" in log and "could not play" not in log
    assert line["reason"] == "error" and line["transcript_url"].endswith(f"/calls/{call_id}")
    assert to_queue_s < 10  # from the restart: the agent's start-up, the apology, the transfer
    # The killed run's helper channels are gone, and its calls row is closed with the reason.
    assert leftovers == []
    row, codes = _stored(settings.database.dsn, call_id)
    assert row == ("failed", True) and "agent-restarted" in codes


async def test_sigterm_with_a_call_that_outlives_the_drain_ends_in_a_spoken_handoff(
    agents: list[AgentProcess], tmp_path: Path
) -> None:
    settings = stack_settings()
    agents.append(agent := AgentProcess(tmp_path / "agent.log", _free_port(), ARI_AGENT_CALL_DRAIN_SECONDS="1"))
    await agent.ready()
    async with _call_in_progress(settings) as (ari, leg, call_id):
        agent.proc.send_signal(signal.SIGTERM)
        await _in_queue(ari, leg)
        line = await wait_queue_line(call_id, timeout=15)
        assert agent.proc.wait(timeout=30) == 0
    assert line["reason"] == "error"
    row, codes = _stored(settings.database.dsn, call_id)
    assert row == ("handoff", True) and "agent-shutdown" in codes


async def test_asterisk_restarted_mid_call_ends_the_call_cleanly_and_serves_the_next(tmp_path: Path) -> None:
    """Asterisk restarting takes its calls with it: the agent ends that call (nothing left open, nothing
    leaked), reconnects, and answers the next call normally."""
    settings = stack_settings()
    scripts = Path(__file__).parent.parent / "scripts"
    async with running_agent(settings) as (agent, recorder):
        async with SimulatedCaller(settings.ari.url, settings.ari.username, settings.ari.password,
                                   agent.bus) as caller:
            call_id = await caller.dial()
            await caller.wait_agent(EventType.PLAYBACK_STARTED)
            restart = await asyncio.create_subprocess_exec(
                "bash", "-c", f"{scripts}/asterisk-stop.sh && {scripts}/asterisk-start.sh",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            assert await restart.wait() == 0
            ended = await recorder.wait_for(EventType.CALL_ENDED, call_id, timeout=30)
        assert agent.manager is not None and agent.manager.active_calls == 0
        assert ended.data["outcome"] in ("hangup", "failed"), ended.data
        # The agent reconnects to the new Asterisk, and the next caller is answered and greeted.
        await recorder.wait_for(EventType.ARI_RECONNECTED, "-", timeout=30)
        async with SimulatedCaller(settings.ari.url, settings.ari.username, settings.ari.password,
                                   agent.bus) as caller:
            await caller.dial(timeout=30)
            await caller.wait_agent(EventType.PLAYBACK_STARTED)


async def test_action_server_down_mid_call_apologises_and_hands_off() -> None:
    """The action server dies during a booking: the caller is apologised to and put through, never left waiting."""
    settings = stack_settings()
    run_dir = Path(os.environ.get("ARI_AGENT_RUN", Path(__file__).parent.parent / ".run"))
    scripts = Path(__file__).parent.parent / "scripts"
    pid = int((run_dir / "rasa-actions.pid").read_text())
    try:
        async with running_agent(settings) as (agent, recorder):
            def on_event(event: Any) -> None:
                # Once the first reply is out, the action server's process group is killed.
                if event.type is EventType.DIALOGUE_RESULT and os.path.exists(f"/proc/{pid}"):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)

            agent.bus.subscribe(on_event)
            run = await place_call(agent, recorder, {"turns": [
                {"text": "Hello, I'd like to book a cleaning please."},
                {"text": "Next Wednesday at ten in the morning."},
                {"text": "My name is Mary Mitchell."},
            ]})
    finally:
        restart = await asyncio.create_subprocess_exec(
            "bash", str(scripts / "rasa-start.sh"), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        assert await restart.wait() == 0
    said = [e.data["text"] for e in run.of(EventType.AGENT_TURN)]
    assert run.ended.data["outcome"] == "handoff", run.dialogue()
    assert "sorry" in said[-1].lower() or "connect" in said[-1].lower(), said
    assert run.queue_line is not None
