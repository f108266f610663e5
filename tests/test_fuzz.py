"""Hostile and broken input, generated (Hypothesis): ARI events, RTP datagrams, the settings file, replay cases.

Every parser either returns its typed value or raises its own documented error (AriFormatError, RtpError,
ConfigError, CaseError) that names what is wrong; nothing else escapes, nothing hangs, and one call's bad
input never disturbs another call. `ARI_AGENT_FUZZ_EXAMPLES` sets the examples per property: `make test`
runs the default, `make fuzz` a nightly-size run (see README).
"""

from __future__ import annotations

import asyncio
import json
import os
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ari_agent.ari.client import AriClient, EventListener
from ari_agent.ari.models import AriEvent, AriFormatError, Channel, parse_event
from ari_agent.call.manager import CallManager
from ari_agent.call.session import CallDeps
from ari_agent.config import ConfigError, Settings, load_settings
from ari_agent.events import EventBus
from ari_agent.media.rtp import RtpError, RtpPlayout, parse_rtp
from ari_agent.replay.case import CaseError, load_case
from tests.fakes import FakeAri, FakeAsr, FakeDialogue, FakePrompts

EXAMPLES = int(os.environ.get("ARI_AGENT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

# --- JSON shapes -----------------------------------------------------------------------------------------
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
huge = st.integers(1_000, 200_000).map(lambda n: "x" * n)  # huge strings, built (Hypothesis caps drawn sizes)
json_values = st.recursive(scalars | huge, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
    st.text(max_size=12), kids, max_size=4), max_leaves=12)
EVENT_TYPES = ["StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelHangupRequest", "ChannelDtmfReceived",
               "PlaybackStarted", "PlaybackFinished", "ChannelVarset", "Unknown"]
channel_like = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=30) | json_values, "name": json_values, "state": json_values, "caller": json_values,
    "dialplan": json_values, "channelvars": json_values, "protocol_id": json_values})
events = st.fixed_dictionaries({"type": st.sampled_from(EVENT_TYPES) | json_values}, optional={
    "application": json_values, "channel": channel_like | json_values, "args": json_values, "digit": json_values,
    "playback": st.fixed_dictionaries({}, optional={"id": json_values, "state": json_values,
                                                    "target_uri": st.just("channel:") | json_values}) | json_values,
    "cause": json_values})


@FUZZ
@given(events | json_values)
def test_ari_events_parse_or_raise_their_own_error(data: Any) -> None:
    try:
        event = parse_event(data)
    except AriFormatError as exc:
        assert str(exc)
        return
    assert isinstance(event, AriEvent) and isinstance(event.channel_id, str)
    assert event.cause is None or type(event.cause) is int


@FUZZ
@given(st.lists(st.text(max_size=200) | events.map(json.dumps) | st.just("[" * 100_000), max_size=5))
def test_the_events_reader_survives_any_text(texts: list[str]) -> None:
    got: list[AriEvent] = []

    async def noop(reconnect: bool) -> None:
        return None

    listener = EventListener(AriClient("http://x", "u", "p", "app"), got.append, noop)
    for text in texts:
        listener._handle(text)  # never raises: a bad event is logged and dropped


@FUZZ
@given(st.lists(events, min_size=1, max_size=8))
def test_bad_events_never_touch_a_call_they_do_not_name(raw: list[Any]) -> None:
    """A live call keeps its session whatever arrives for other channels (or for none)."""

    async def scenario() -> None:
        ari = FakeAri()
        deps = CallDeps(settings=Settings(), ari=ari, asr=FakeAsr([]), dialogue=FakeDialogue({}),
                        prompts=FakePrompts(), bus=EventBus())
        manager = CallManager(deps)
        manager._accepting = False  # StasisStart of a stranger goes to the queue, not into a session
        live = Channel(id="live-call", name="PJSIP/x", state="Up")
        seen: list[AriEvent] = []
        fake_session: Any = type("S", (), {"deliver": lambda self, e: seen.append(e)})()
        manager._routes[live.id] = fake_session
        manager.sessions[live.id] = fake_session
        for data in raw:
            try:
                event = parse_event(data)
            except AriFormatError:
                continue
            manager.dispatch(event)
        await asyncio.gather(*manager._tasks, return_exceptions=True)
        assert manager.sessions == {live.id: fake_session}
        assert all(e.channel_id == live.id or e.playback_id for e in seen)

    asyncio.run(scenario())


# --- RTP -------------------------------------------------------------------------------------------------
def _rtp(b0: int, b1: int, seq: int, ts: int, ssrc: int, tail: bytes) -> bytes:
    return bytes([b0, b1]) + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + ssrc.to_bytes(4, "big") + tail


datagrams = st.binary(max_size=64) | st.builds(
    _rtp, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
    st.sampled_from([7, 8, 0xFFFFFFFF]), st.binary(max_size=1500))


@FUZZ
@given(st.lists(st.tuples(datagrams, st.floats(0, 0.2)), max_size=30))
def test_rtp_datagrams_never_crash_or_flood_the_playout(stream: list[tuple[bytes, float]]) -> None:
    playout = RtpPlayout()
    now = 0.0
    frames = 0
    started = time.perf_counter()
    for data, gap in stream:
        try:
            parse_rtp(data)
        except RtpError:
            pass
        now += gap
        frames += len(playout.on_datagram(data, now)) + len(playout.on_tick(now))
    # Whatever arrives, the frames follow the clock (plus what was sent and a bounded concealment).
    sent_ms = sum(len(d) for d, _ in stream) // 16 * 2
    assert frames * 20 <= now * 1000 + sent_ms + 60 * 50 * len(stream) + 200
    assert time.perf_counter() - started < 5


# --- settings file and replay cases ----------------------------------------------------------------------
toml_keys = st.sampled_from(["ari", "call", "media", "database", "dialogue", "asr", "tts", "http", "nope"])
toml_values = st.sampled_from(
    ['"x"', "1", "-5", "1e309", "true", "[1, 2]", "{a = 1}", '""', "0.0", '"' + "a" * 5000 + '"']
)


@FUZZ
@given(st.lists(st.tuples(toml_keys, st.text(string.ascii_lowercase + "_", min_size=1, max_size=24), toml_values),
                max_size=6) | st.text(max_size=300).map(lambda t: [("raw", t, "")]))
def test_a_settings_file_loads_or_says_what_is_wrong(entries: list[tuple[str, str, str]]) -> None:
    if entries and entries[0][0] == "raw":
        text = entries[0][1]
    else:
        text = "\n".join(f"[{section}]\n{key} = {value}" for section, key, value in entries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ari-agent.toml"
        path.write_text(text)
        try:
            loaded = load_settings(path, environ={})
        except ConfigError as exc:
            assert str(exc)
            return
        assert isinstance(loaded, Settings)


case_values = json_values | st.sampled_from(["01.wav", "missing.wav", "2026-12-01T10:00:00", "booked", "handoff"])
cases = st.fixed_dictionaries({}, optional={
    "turns": st.lists(st.fixed_dictionaries({}, optional={"audio": case_values, "text": case_values,
                                                         "say": case_values, "intent": case_values,
                                                         "pause_ms": case_values, "dtmf": case_values}), max_size=3)
    | json_values,
    "expect": st.fixed_dictionaries({}, optional={"outcome": case_values, "handoff_reason": case_values,
                                                   "booking": json_values}) | json_values,
    "now": case_values, "caller": case_values, "setup": json_values, "known_failure": case_values,
    "description": case_values})


@FUZZ
@given(cases | json_values)
def test_a_replay_case_loads_or_names_the_field_at_fault(raw: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "01.wav").write_bytes(b"RIFF")
        try:
            text = json.dumps(raw)  # JSON is YAML
        except (ValueError, TypeError):
            return
        (directory / "call.yaml").write_text(text)
        try:
            load_case(directory)
        except CaseError as exc:
            assert "call.yaml" in str(exc)


@pytest.mark.parametrize("bad", ["[ari]\nurl = 5", "[call]\nmax_concurrent = 'x'", "[nope]\na = 1", "x = = 1"])
def test_known_bad_settings_are_config_errors(bad: str, tmp_path: Path) -> None:
    path = tmp_path / "ari-agent.toml"
    path.write_text(bad)
    with pytest.raises(ConfigError):
        load_settings(path, environ={})
