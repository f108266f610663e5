"""Helpers for end-to-end calls through the real stack: an in-process agent, a simulated caller, a TCP relay.

The stack (Asterisk, PostgreSQL, Rasa + actions) is started by `make test` (scripts/test.sh); the agent runs
in the test's own event loop so the test can read its CallEvents.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

from ari_agent.app import Agent
from ari_agent.config import DEFAULT_CACHE, Settings, load_settings
from ari_agent.demo import CallerVoice, script_to_turns
from ari_agent.events import CallEvent, EventBus, EventRecorder, EventType
from ari_agent.sim.caller import SimulatedCaller

CACHE = DEFAULT_CACHE
QUEUE_LOG = CACHE / "asterisk-root" / "var" / "log" / "asterisk" / "ari-agent-queue.log"


# End-to-end calls run in real time: a short greeting saves ~3 s of every call (the default greeting is
# spoken in the barge-in test, which needs time to talk over it, and in the demo).
SHORT_GREETING = "Riverside Dental, how can I help?"


def stack_settings(**call: Any) -> Settings:
    """Settings of the local stack, with [call] overrides (and the short greeting unless one is given)."""
    base = load_settings(environ={})
    call.setdefault("greeting", SHORT_GREETING)
    return dataclasses.replace(base, call=dataclasses.replace(base.call, **call))


@dataclasses.dataclass
class CallRun:
    """What one end-to-end call did."""

    call_id: str
    ended: CallEvent
    events: list[CallEvent]
    queue_line: dict[str, str] | None = None  # what the queue member saw, for handed-off calls

    def of(self, type_: EventType) -> list[CallEvent]:
        return [e for e in self.events if e.type is type_ and e.call_id == self.call_id]

    def caller_texts(self) -> list[str]:
        return [str(e.data["text"]) for e in self.of(EventType.CALLER_TURN)]

    def dialogue(self) -> list[str]:
        """The conversation as it happened, for assertion messages."""
        out = []
        for e in self.events:
            if e.call_id != self.call_id:
                continue
            if e.type is EventType.CALLER_TURN:
                out.append(f"caller: {e.data['text']}")
            elif e.type is EventType.DIALOGUE_RESULT:
                out.append(f"  intent: {e.data.get('intent')} {e.data.get('intent_confidence', 0):.2f}")
            elif e.type is EventType.AGENT_TURN:
                out.append(f"agent: {e.data['text']}")
        return out

    def intents(self) -> list[str | None]:
        return [e.data.get("intent") for e in self.of(EventType.DIALOGUE_RESULT)]


@contextlib.asynccontextmanager
async def running_agent(settings: Settings, **kwargs: Any) -> AsyncIterator[tuple[Agent, EventRecorder]]:
    """An Agent connected to the local Asterisk, with a recorder on its event bus."""
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    # Each test books in its own scope, so bookings of earlier runs never make its slots unavailable.
    kwargs.setdefault("scope", f"test-{uuid.uuid4().hex[:10]}")
    async with Agent(settings, bus=bus, serve_http=kwargs.pop("serve_http", False), **kwargs) as agent:
        assert agent.listener is not None
        async with asyncio.timeout(15):
            await agent.listener.connected.wait()
        yield agent, recorder


async def place_call(
    agent: Agent, recorder: EventRecorder, script: dict[str, Any], *, timeout: float = 150.0, own_app: bool = False
) -> CallRun:
    """Dial the agent through Asterisk and play the script's caller turns; `own_app`: straight into the agent's
    Stasis app rather than through extension 100."""
    settings = agent.settings
    turns = await script_to_turns(script, CallerVoice(settings))
    async with SimulatedCaller(
        settings.ari.url,
        settings.ari.username,
        settings.ari.password,
        agent.bus,
        agent_app=settings.ari.app if own_app else None,
    ) as caller:
        call_id = await caller.dial()
        async with asyncio.timeout(timeout):
            await caller.run_turns(turns, end_timeout=timeout)
        ended = await recorder.wait_for(EventType.CALL_ENDED, call_id, timeout=30)
        line = None
        if ended.data.get("outcome") == "handoff":
            # Stay on the line until the queue member picks up, as a caller would.
            line = await wait_queue_line(call_id)
    return CallRun(call_id, ended, list(recorder.events), line)


def queue_lines(call_id: str) -> list[dict[str, str]]:
    """Lines the queue member wrote for this call (URI-decoded fields)."""
    if not QUEUE_LOG.exists():
        return []
    out = []
    for line in QUEUE_LOG.read_text().splitlines():
        if call_id not in line:
            continue
        stamp, _, rest = line.partition(" ")
        fields = {"at": stamp}
        for item in rest.split(" "):
            key, _, value = item.partition("=")
            fields[key] = urllib.parse.unquote(value)
        out.append(fields)
    return out


async def wait_queue_line(call_id: str, timeout: float = 20.0) -> dict[str, str]:
    """The member-answered line of this call, once the queue member picked up."""
    async with asyncio.timeout(timeout):
        while True:
            lines = [x for x in queue_lines(call_id) if x.get("event") == "member-answered"]
            if lines:
                return lines[0]
            await asyncio.sleep(0.2)


class TcpRelay:
    """A loopback TCP relay in front of a real server, to cut it off mid-call like a crash would."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.stall = False  # accept connections and never answer, like a hung server

    async def start(self) -> None:
        """Listen (again, on the same port after a kill)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stall:
            self._conns.add(writer)
            with contextlib.suppress(ConnectionError, OSError):
                while await reader.read(65536):
                    pass  # swallow the request, answer nothing
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._conns.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def hang(self) -> None:
        """From now on accept connections and never answer (the open ones are cut, so clients reconnect)."""
        self.stall = True
        self._cut()

    async def kill(self) -> None:
        """Stop accepting and cut every open connection (the server is gone)."""
        if self._server is not None:
            self._server.close()
        self._cut()

    def _cut(self) -> None:
        for conn in list(self._conns):
            conn.close()
        self._conns.clear()
