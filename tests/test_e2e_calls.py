"""End-to-end calls through the real Asterisk, the real Vosk model, the real Rasa server and PostgreSQL.

Each test places a simulated caller (a Local channel playing synthesized speech) into the dialplan, exactly as a
phone call would enter the agent's Stasis app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from ari_agent.ari.client import AriClient
from ari_agent.config import CallSettings
from ari_agent.demo import run_demo_call
from ari_agent.dialogue.rasa import RasaDialogue
from ari_agent.events import EventType
from ari_agent.sim.caller import CallerTurn, SimulatedCaller
from ari_agent.store.queries import get_call
from tests.e2e import TcpRelay, place_call, running_agent, stack_settings

pytestmark = pytest.mark.integration


def say(*lines: str, **extra: Any) -> dict[str, Any]:
    return {"turns": [{"text": line, **extra} for line in lines]}


async def helper_channels_left(settings: Any, call_id: str) -> list[str]:
    ari = AriClient(settings.ari.url, settings.ari.username, settings.ari.password, settings.ari.app)
    try:
        channels = [c.id for c in await ari.list_channels() if c.id.startswith(call_id)]
        bridges = [b["id"] for b in await ari.list_bridges() if str(b.get("id", "")).startswith(call_id)]
    finally:
        await ari.close()
    return channels + bridges


async def test_the_demo_call_books_and_is_stored_and_linked_to_its_cdr(capsys: pytest.CaptureFixture[str]) -> None:
    # `make demo`'s own code path: a caller books a cleaning through Asterisk, Vosk and Rasa; the transcript is
    # printed back from PostgreSQL. Its "half past two" is heard "half past due" on this machine, so the
    # booked time also proves the day/time hint went through the live path.
    settings = stack_settings()
    code = await run_demo_call(settings, None, timeout=150)
    out = capsys.readouterr().out
    assert code == 0, out
    found = re.search(r"^call (\w+) ", out, re.MULTILINE)
    assert found is not None, out
    call_id = found.group(1)
    assert await helper_channels_left(settings, call_id) == []
    async with await psycopg.AsyncConnection.connect(settings.database.dsn) as conn:
        detail = await get_call(conn, call_id)
        assert detail is not None
        call = detail["call"]
        assert call["outcome"] == "booked" and call["booking_ref"], out
        cur = await conn.execute(
            "select service, status, starts_at from bookings where reference = %s", [call["booking_ref"]]
        )
        service, status, starts_at = await cur.fetchone() or (None, None, None)
        assert (service, status) == ("cleaning", "booked")
        assert (starts_at.weekday(), starts_at.hour, starts_at.minute) == (1, 14, 30), out  # Tuesday, 14:30
        caller_turns = [t for t in detail["turns"] if t["speaker"] == "caller"]
        assert len(caller_turns) == 5 and caller_turns[0]["intent"] == "book_appointment"
        # Asked which day, the caller's answer was also read against the day/time phrases, and stored.
        assert caller_turns[0]["asr_hint"] is None
        hint = caller_turns[1]["asr_hint"]
        assert hint is not None and hint["kind"] == "when" and "tuesday" in hint["text"], hint
        # Asterisk writes the CDR when the channel is gone; it joins our call by userfield/uniqueid.
        for _ in range(50):
            detail = await get_call(conn, call_id)
            if detail and detail["cdrs"]:
                break
            await asyncio.sleep(0.2)
        assert detail is not None and detail["cdrs"], "no CDR joined the call"


async def test_caller_who_interrupts_the_greeting_is_understood() -> None:
    settings = stack_settings(greeting=CallSettings().greeting)
    script = {
        "turns": [
            {"text": "Hello, I need an appointment for a cleaning.", "barge_in": True},
            {"hangup": True},
        ]
    }
    async with running_agent(settings) as (agent, recorder):
        run = await place_call(agent, recorder, script)
    barge = run.of(EventType.BARGE_IN)
    assert len(barge) == 1
    # Audio-time reaction of the detector; the stop request to Asterisk follows at once.
    assert barge[0].data["reaction_ms"] <= 300
    assert "cleaning" in run.caller_texts()[0]
    assert run.intents()[0] == "book_appointment"
    first_playback = run.of(EventType.PLAYBACK_FINISHED)[0]
    assert first_playback.data["interrupted"] is True


async def test_caller_asking_for_a_human_lands_in_the_queue_with_context() -> None:
    settings = stack_settings()
    async with running_agent(settings) as (agent, recorder):
        run = await place_call(agent, recorder, say("Can I speak to a real person please?"))
    line = run.queue_line
    assert line is not None
    assert run.ended.data["outcome"] == "handoff"
    assert run.ended.data["handoff_reason"] == "requested"
    assert line["queue"] == "reception" and line["reason"] == "requested"
    assert line["transcript_url"].endswith(f"/calls/{run.call_id}")
    assert line["summary"] and "requested" in line["summary"]
    assert "15551230000" in line["caller"]


async def test_an_agent_under_an_app_of_its_own_takes_only_its_calls() -> None:
    """make bench runs its own agent beside the one `make up` started: neither may take the other's calls."""
    base = stack_settings()
    own = dataclasses.replace(base, ari=dataclasses.replace(base.ari, app=f"ari-agent-test-{uuid.uuid4().hex[:6]}"))
    async with running_agent(base) as (_, beside), running_agent(own) as (agent, recorder):
        run = await place_call(agent, recorder, say("Can I speak to a real person please?"), own_app=True)
    assert run.ended.data["outcome"] == "handoff" and run.ended.data["handoff_reason"] == "requested"
    assert not [e for e in beside.events if e.type is EventType.CALL_STARTED]


async def test_silent_caller_is_reprompted_then_handed_off() -> None:
    settings = stack_settings(no_input_seconds=2.0, max_reprompts=1)
    script = {"turns": [{"silence": 12}]}
    async with running_agent(settings) as (agent, recorder):
        run = await place_call(agent, recorder, script)
    line = run.queue_line
    assert line is not None
    assert [e.data["count"] for e in run.of(EventType.REPROMPT)] == [1, 2]
    assert run.ended.data["handoff_reason"] == "no_input"
    assert line["reason"] == "no_input"


async def test_caller_hanging_up_mid_sentence_leaves_nothing_behind() -> None:
    settings = stack_settings()
    async with running_agent(settings) as (agent, recorder):
        voice_turns = {"turns": [{"text": "Hello, I need an appointment for a cleaning next week on Friday morning."}]}
        from ari_agent.demo import CallerVoice, script_to_turns

        turns = await script_to_turns(voice_turns, CallerVoice(settings))
        hang = CallerTurn(sound=turns[0].sound, hangup=True, hangup_after_ms=1500)
        async with SimulatedCaller(settings.ari.url, settings.ari.username, settings.ari.password, agent.bus) as c:
            call_id = await c.dial()
            await c.run_turns([hang])
            ended = await recorder.wait_for(EventType.CALL_ENDED, call_id, timeout=20)
        assert ended.data["outcome"] == "hangup" and ended.data["hangup_by"] == "caller"
        assert agent.manager is not None and agent.manager.active_calls == 0
        leftovers = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(call_id)]
        assert leftovers == []
    assert await helper_channels_left(settings, call_id) == []


async def test_dtmf_zero_goes_to_the_operator() -> None:
    settings = stack_settings()
    async with running_agent(settings) as (agent, recorder):
        run = await place_call(agent, recorder, {"turns": [{"dtmf": "0"}]})
    line = run.queue_line
    assert line is not None
    assert run.ended.data["handoff_reason"] == "dtmf"
    assert line["reason"] == "dtmf"


@pytest.mark.parametrize("fault", ["gone", "hung"])
async def test_rasa_gone_or_hung_mid_call_apologises_and_hands_off(fault: str) -> None:
    """Rasa crashes (connections refused), or accepts connections and never answers."""
    settings = stack_settings()
    rasa = urlsplit(settings.dialogue.rasa_url)
    relay = TcpRelay(rasa.hostname or "127.0.0.1", rasa.port or 5005)
    await relay.start()
    dialogue = RasaDialogue(
        f"http://127.0.0.1:{relay.port}",
        timeout=settings.dialogue.timeout_seconds,
        auth_token=settings.dialogue.token(),
    )
    try:
        async with running_agent(settings, dialogue=dialogue) as (agent, recorder):
            # Kill the relay once the first reply has been produced: Rasa "crashes" mid-call.
            def on_event(event: Any) -> None:
                if event.type is EventType.DIALOGUE_RESULT:
                    asyncio.get_running_loop().create_task(relay.kill() if fault == "gone" else relay.hang())

            agent.bus.subscribe(on_event)
            run = await place_call(
                agent,
                recorder,
                say("Hello, I need an appointment for a cleaning.", "Next Wednesday at ten in the morning."),
            )
    finally:
        await dialogue.close()
    errors = [e.data["code"] for e in run.of(EventType.ERROR)]
    assert errors and errors[0] in ("dialogue-failed", "dialogue-timeout")
    assert run.ended.data["handoff_reason"] == "error"
    said = [e.data["text"] for e in run.of(EventType.AGENT_TURN)]
    assert "sorry" in said[-1].lower()
    assert run.queue_line is not None and run.queue_line["reason"] == "error"


async def test_ari_websocket_dropped_mid_call_the_call_goes_on_and_new_calls_are_served() -> None:
    settings = stack_settings()
    async with running_agent(settings) as (agent, recorder):
        assert agent.listener is not None
        listener = agent.listener

        def on_event(event: Any) -> None:
            if event.type is EventType.DIALOGUE_RESULT and listener.reconnects == 0:
                asyncio.get_running_loop().create_task(listener.drop())

        unsubscribe = agent.bus.subscribe(on_event)
        run = await place_call(
            agent,
            recorder,
            say("Hello, I need an appointment for a cleaning.", "What are your opening hours?", "Thank you, goodbye."),
        )
        unsubscribe()
        assert listener.reconnects >= 1
        assert len(run.caller_texts()) == 3  # the turns after the drop were heard and answered
        assert run.ended.data["outcome"] in ("answered", "hangup")
        assert run.ended.data["hangup_by"] == "agent"
        # A new call after the reconnect is served.
        second = await place_call(agent, recorder, say("Can I speak to a real person please?"))
        assert second.ended.data["handoff_reason"] == "requested"
    assert second.queue_line is not None


async def test_postgresql_gone_mid_call_every_turn_is_stored_exactly_once_afterwards(tmp_path: Any) -> None:
    base = stack_settings()
    db = urlsplit(base.database.dsn)
    relay = TcpRelay(db.hostname or "127.0.0.1", db.port or 5432)
    await relay.start()
    dsn = base.database.dsn.replace(f"{db.hostname}:{db.port}", f"127.0.0.1:{relay.port}")
    settings = dataclasses.replace(
        base, database=dataclasses.replace(base.database, dsn=dsn, spool_path=str(tmp_path / "spool.jsonl"))
    )
    restarted = asyncio.Event()
    try:
        async with running_agent(settings) as (agent, recorder):

            def on_event(event: Any) -> None:
                # PostgreSQL "crashes" after the first caller turn and is back two turns later.
                results = [e for e in recorder.events if e.type is EventType.DIALOGUE_RESULT]
                if event.type is EventType.DIALOGUE_RESULT and len(results) == 1:
                    asyncio.get_running_loop().create_task(relay.kill())
                elif event.type is EventType.DIALOGUE_RESULT and len(results) == 3 and not restarted.is_set():
                    restarted.set()
                    asyncio.get_running_loop().create_task(relay.start())

            agent.bus.subscribe(on_event)
            run = await place_call(
                agent,
                recorder,
                say(
                    "Hello, I need an appointment for a cleaning.",
                    "What are your opening hours?",
                    "Where are you located?",
                    "Thank you, goodbye.",
                ),
            )
            stats = agent.writer.stats
        # Leaving the agent drained the writer: the spooled turns were replayed once PostgreSQL was back.
    finally:
        await relay.kill()
    assert restarted.is_set()
    assert stats.spooled_ops > 0 and stats.replayed_ops > 0, stats  # the outage really was ridden out
    async with await psycopg.AsyncConnection.connect(base.database.dsn) as conn:
        cur = await conn.execute(
            "select speaker, count(*), count(distinct seq) from turns where call_id = %s group by speaker",
            [run.call_id],
        )
        counts = {speaker: (n, distinct) for speaker, n, distinct in await cur.fetchall()}
    caller_turns = len(run.of(EventType.CALLER_TURN))
    agent_turns = len(run.of(EventType.AGENT_TURN))
    assert counts["caller"] == (caller_turns, caller_turns)
    assert counts["agent"] == (agent_turns, agent_turns)
