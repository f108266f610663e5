"""CallManager start-up and reconnect resync with a fake Asterisk: what a previous run left is taken care of."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

from ari_agent.ari.models import AriEvent, Channel
from ari_agent.call.manager import (
    CLAIM_DELAY_FULL_SECONDS,
    CLAIM_DELAY_MAX_SECONDS,
    CLAIM_DELAY_PER_CALL_SECONDS,
    RESCUE_GRACE_SECONDS,
    CallManager,
)
from ari_agent.call.session import CallDeps
from ari_agent.config import Settings
from ari_agent.events import EventBus, EventRecorder, EventType
from tests.fakes import FakeAri, FakeAsr, FakeDialogue, FakePrompts


class ChannelsAri(FakeAri):
    def __init__(self, channels: list[Channel]) -> None:
        super().__init__()
        self.listed = channels
        self.deliver = lambda event: None  # no session listens: playback events go nowhere

    async def list_channels(self) -> list[Channel]:
        return list(self.listed)


ORPHAN = Channel(id="1700000000.1", name="PJSIP/caller-1", state="Up", app_name="Stasis", app_data="ari-agent")
HELPER = Channel(id="0123456789abcdef-snoop", name="Snoop/x", state="Up", app_name="Stasis", app_data="ari-agent")
ELSEWHERE = Channel(id="1700000000.2", name="PJSIP/agent-7", state="Up", app_name="Queue", app_data="reception")


def manager_for(ari: ChannelsAri, closed: list[set[str]]) -> CallManager:
    deps = CallDeps(settings=Settings(), ari=ari, asr=FakeAsr([]), dialogue=FakeDialogue({}), prompts=FakePrompts(),
                    bus=EventBus())

    async def close_unfinished(alive: set[str]) -> object:
        closed.append(alive)
        return None

    return CallManager(deps, close_unfinished=close_unfinished)


async def test_first_connect_rescues_what_a_previous_run_left() -> None:
    ari = ChannelsAri([ORPHAN, HELPER, ELSEWHERE])
    ari.variables[(ORPHAN.id, "CDR(userfield)")] = "0123456789abcdef"  # the call id the previous run gave it
    closed: list[set[str]] = []
    manager = manager_for(ari, closed)
    await manager.resync(False)
    async with asyncio.timeout(5):
        while not ari.continued:
            await asyncio.sleep(0.01)
    # The caller in the app hears the apology, then goes to the queue; the helper channel is destroyed.
    assert ari.played and ari.continued == [(ORPHAN.id, "ari-agent-handoff", "reception")]
    assert ("hangup", HELPER.id) in ari.calls and ("hangup", ORPHAN.id) not in ari.calls
    # The queue member sees which call it was and why it comes.
    assert ari.variables[(ORPHAN.id, "__ARI_AGENT_CALL_ID")] == "0123456789abcdef"
    assert ari.variables[(ORPHAN.id, "__ARI_AGENT_REASON")] == "error"
    assert ari.variables[(ORPHAN.id, "__ARI_AGENT_TRANSCRIPT_URL")].endswith("/calls/0123456789abcdef")
    # Rows of calls whose channel is gone, or rescued, are closed; a channel another program handles is not.
    assert closed == [{ELSEWHERE.id}]
    assert manager.active_calls == 0


async def test_a_broadcast_call_the_app_still_holds_is_rescued_too() -> None:
    # A call claimed from StasisBroadcast() runs the dialplan application StasisBroadcast, not Stasis(app): only
    # the app's own channel list (GET /applications/{app}) says that it was this agent's.
    claimed = dataclasses.replace(ORPHAN, app_name="StasisBroadcast", app_data="1000,^ari-agent(-.+)?$")
    other_agents = dataclasses.replace(ORPHAN, id="1700000000.3", app_name="StasisBroadcast",
                                       app_data="1000,^ari-agent(-.+)?$")
    ari = ChannelsAri([claimed, other_agents])
    ari.held = {claimed.id}
    manager = manager_for(ari, [])
    await manager.resync(False)
    async with asyncio.timeout(5):
        while not ari.continued:
            await asyncio.sleep(0.01)
    await asyncio.sleep(RESCUE_GRACE_SECONDS)
    assert ari.continued == [(claimed.id, "ari-agent-handoff", "reception")]


async def test_another_agents_calls_and_helpers_on_the_same_asterisk_are_left_alone() -> None:
    # Two agents serve one Asterisk: the one that restarts must not hang up its sibling's snoop and media
    # channels (the sibling's callers would go deaf) nor rescue its callers.
    sibling_helper = dataclasses.replace(HELPER, id="fedcba9876543210-snoop", app_data="ari-agent-2,snoop")
    sibling_caller = dataclasses.replace(ORPHAN, id="1700000000.4", app_data="ari-agent-2")
    ari = ChannelsAri([sibling_helper, sibling_caller])
    closed: list[set[str]] = []
    manager = manager_for(ari, closed)
    await manager.resync(False)
    await asyncio.sleep(RESCUE_GRACE_SECONDS + 0.1)
    assert ari.calls == [] and ari.continued == [] and ari.played == []
    assert closed == [{sibling_helper.id, sibling_caller.id}]  # alive: their rows are not closed either


def broadcast(channel_id: str) -> AriEvent:
    channel = Channel(id=channel_id, name="PJSIP/caller-2", state="Ring", app_name="StasisBroadcast")
    return AriEvent(type="CallBroadcast", application="ari-agent", channel=channel)


async def test_a_broadcast_call_is_claimed_at_once_by_an_idle_agent_last_by_a_full_one_never_when_draining() -> None:
    ari = ChannelsAri([])
    manager = manager_for(ari, [])
    manager.dispatch(broadcast("1700000000.5"))
    await asyncio.sleep(0.05)
    assert ari.claims == ["1700000000.5"]
    # The claim is only a claim: the session starts with the StasisStart that follows a won claim.
    assert manager.active_calls == 0

    full = manager_for(ChannelsAri([]), [])
    full.deps = dataclasses.replace(full.deps, settings=dataclasses.replace(
        Settings(), call=dataclasses.replace(Settings().call, max_concurrent_calls=1)))
    full.sessions["busy"] = SimpleNamespace(audio_backlog_ms=0)  # type: ignore[assignment]
    full.dispatch(broadcast("1700000000.6"))
    await asyncio.sleep(CLAIM_DELAY_MAX_SECONDS + 0.05)
    assert full.deps.ari.claims == []  # type: ignore[attr-defined]  # every agent with room claims before
    await asyncio.sleep(CLAIM_DELAY_FULL_SECONDS)
    assert full.deps.ari.claims == ["1700000000.6"]  # type: ignore[attr-defined]

    draining = manager_for(ChannelsAri([]), [])
    await draining.drain(timeout=0)
    draining.dispatch(broadcast("1700000000.7"))
    await asyncio.sleep(CLAIM_DELAY_FULL_SECONDS + 0.1)
    assert draining.deps.ari.claims == []  # type: ignore[attr-defined]


async def test_a_busier_agent_claims_later() -> None:
    ari = ChannelsAri([])
    manager = manager_for(ari, [])
    for i in range(5):
        manager.sessions[f"busy-{i}"] = SimpleNamespace(audio_backlog_ms=0)  # type: ignore[assignment]
    manager.dispatch(broadcast("1700000000.8"))
    await asyncio.sleep(CLAIM_DELAY_PER_CALL_SECONDS * 5 / 2)
    assert ari.claims == []
    async with asyncio.timeout(5):
        while not ari.claims:
            await asyncio.sleep(0.01)


async def test_a_rescue_asterisk_refuses_hangs_up_rather_than_leaving_silence() -> None:
    ari = ChannelsAri([ORPHAN])
    ari.continue_failures = 1
    manager = manager_for(ari, [])
    await manager.resync(False)
    async with asyncio.timeout(5):
        while ("hangup", ORPHAN.id) not in ari.calls:
            await asyncio.sleep(0.01)
    assert ari.continued == []


async def test_a_reconnect_does_not_close_rows_again() -> None:
    ari = ChannelsAri([ELSEWHERE])
    closed: list[set[str]] = []
    await manager_for(ari, closed).resync(True)
    assert closed == []


async def test_a_call_whose_stasis_start_arrives_during_the_scan_is_not_rescued() -> None:
    ari = ChannelsAri([ORPHAN])
    manager = manager_for(ari, [])
    await manager.resync(False)
    manager._routes[ORPHAN.id] = object()  # type: ignore[assignment]  # its StasisStart made a session
    await asyncio.sleep(1.0)
    assert ari.played == [] and ari.continued == []


async def test_a_call_over_the_limit_hears_a_line_and_goes_to_the_queue() -> None:
    ari = ChannelsAri([])
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    settings = Settings()
    settings = dataclasses.replace(settings, call=dataclasses.replace(settings.call, max_concurrent_calls=1))
    deps = CallDeps(settings=settings, ari=ari, asr=FakeAsr([]), dialogue=FakeDialogue({}), prompts=FakePrompts(),
                    bus=bus)
    manager = CallManager(deps)
    assert manager.full() is None
    manager.sessions["busy"] = object()  # type: ignore[assignment]  # one call in progress
    assert manager.full() == "at capacity: 1 calls of max_concurrent_calls = 1"
    manager.dispatch(AriEvent(type="StasisStart", application="ari-agent", channel=ORPHAN))
    async with asyncio.timeout(5):
        while not ari.continued:
            await asyncio.sleep(0.01)
    await asyncio.gather(*manager._tasks)
    assert ("answer", ORPHAN.id) in ari.calls and ari.played
    assert ari.continued == [(ORPHAN.id, "ari-agent-handoff", "reception")]
    assert ari.variables[(ORPHAN.id, "__ARI_AGENT_REASON")] == "capacity"
    ended = recorder.of(EventType.CALL_ENDED)
    assert [e.data["reason"] for e in recorder.of(EventType.HANDOFF)] == ["capacity"]
    assert ended and ended[0].data["outcome"] == "handoff" and list(manager.sessions) == ["busy"]


class _Behind:
    """A call whose received audio waits `audio_backlog_ms` to be heard."""

    def __init__(self, ms: int) -> None:
        self.audio_backlog_ms = ms


def test_an_agent_behind_its_calls_audio_takes_no_more_until_it_has_caught_up() -> None:
    settings = Settings()
    settings = dataclasses.replace(settings, call=dataclasses.replace(settings.call, overload_backlog_ms=1000))
    deps = CallDeps(settings=settings, ari=ChannelsAri([]), asr=FakeAsr([]), dialogue=FakeDialogue({}),
                    prompts=FakePrompts(), bus=EventBus())  # fmt: skip
    manager = CallManager(deps)
    calls = [_Behind(40), _Behind(100)]
    manager.sessions = {f"c{i}": c for i, c in enumerate(calls)}  # type: ignore[misc]
    assert manager.full() is None and manager.audio_backlog_ms() == 100
    calls[1].audio_backlog_ms = 1200  # the recogniser falls behind one call by 1.2 s
    assert manager.full() == "overloaded: a call's audio waits 1200 ms to be heard (overload_backlog_ms = 1000)"
    calls[1].audio_backlog_ms = 700  # catching up, not yet below half the threshold
    assert manager.full() is not None
    calls[1].audio_backlog_ms = 400
    assert manager.full() is None
    calls[1].audio_backlog_ms = 900  # below the threshold again: taking calls
    assert manager.full() is None


class StubSession:
    def __init__(self, channel: Channel) -> None:
        self.channel, self.emitted, self.delivered = channel, [], []  # type: ignore[var-annotated]
        self.audio_backlog_ms = 0

    def emit(self, type_: EventType, **data: object) -> None:
        self.emitted.append((type_, data.get("code")))

    def deliver(self, event: AriEvent) -> None:
        self.delivered.append(event.type)


async def test_a_call_gone_while_disconnected_is_ended_and_says_so() -> None:
    # Its Asterisk restarted (a node lost) or the caller hung up while the events socket was down: the session
    # ends, and its record says why instead of reading as an ordinary hang-up.
    live = dataclasses.replace(ORPHAN, id="1700000000.9")
    ari = ChannelsAri([live])
    manager = manager_for(ari, [])
    gone, kept = StubSession(dataclasses.replace(ORPHAN, id="1700000000.8")), StubSession(live)
    manager.sessions = {gone.channel.id: gone, live.id: kept}  # type: ignore[dict-item]
    manager._routes = {gone.channel.id: gone, live.id: kept}  # type: ignore[dict-item]
    await manager.resync(True)
    assert (EventType.ERROR, "channel-gone-while-disconnected") in gone.emitted
    assert gone.delivered == ["ChannelDestroyed"] and kept.delivered == []
    assert all(t is EventType.ARI_RECONNECTED for t, _ in kept.emitted)
