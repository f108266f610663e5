"""The real Asterisk 22 stack (scripts/asterisk-start.sh): ARI, dialplan contexts, media paths, queues.

These tests talk to Asterisk with plain aiohttp on purpose: they check the PBX and our configuration,
not our ARI client. Each test uses its own Stasis app name, except the ones that must enter through the
`ari-agent-incoming` context: those use ARI_APP and are skipped while another process (a running agent)
holds that app, because connecting would steal its calls.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import os
import struct
import subprocess
import time
import urllib.parse
import uuid
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.e2e import queue_lines

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent
ARI_PORT = int(os.environ.get("ARI_PORT", "18088"))
ARI_USER = os.environ.get("ARI_USER", "ari_agent")
ARI_PASSWORD = os.environ.get("ARI_PASSWORD", "ari_agent_secret")
ARI_APP = os.environ.get("ARI_APP", "ari-agent")
BASE = f"http://127.0.0.1:{ARI_PORT}/ari"


def basic_auth(user: str, password: str) -> dict[str, str]:
    """An Authorization header (aiohttp 3.14 deprecates BasicAuth objects)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic_auth(ARI_USER, ARI_PASSWORD)


def _cache_dir() -> Path:
    """The same cache directory as scripts/lib.sh."""
    if "ARI_AGENT_CACHE" in os.environ:
        return Path(os.environ["ARI_AGENT_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(xdg) / "ari-agent"


ASTERISK_ROOT = Path(os.environ.get("ASTERISK_ROOT", str(_cache_dir() / "asterisk-root")))
SOUNDS_HOST = ASTERISK_ROOT / "var/lib/ari-agent/sounds"
SOUNDS_PBX = "/var/lib/ari-agent/sounds"


# --------------------------------------------------------------------------------------------- helpers


def write_tone_wav(path: Path, rate: int, freq: float, seconds: float, dbfs: float = -12.0) -> None:
    """A mono 16-bit sine WAV: a generated fixture whose frequency the tests can look for."""
    t = np.arange(int(rate * seconds)) / rate
    amp = 32767 * 10 ** (dbfs / 20)
    pcm = (amp * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


@dataclass
class RtpPacket:
    """One received RTP packet."""

    at: float
    payload_type: int
    seq: int
    payload: bytes


class RtpSink(asyncio.DatagramProtocol):
    """Collects RTP packets that Asterisk's externalMedia channel sends us."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Parse the fixed 12-byte RTP header (no CSRCs or extensions from Asterisk)."""
        if len(data) < 12:
            return
        _, m_pt, seq = struct.unpack("!BBH", data[:4])
        self.packets.append(RtpPacket(time.monotonic(), m_pt & 0x7F, seq, data[12:]))

    def samples(self, since: float = 0.0) -> np.ndarray:
        """slin16 payloads (big-endian) received after `since`, as one float array."""
        raw = b"".join(p.payload for p in self.packets if p.at >= since)
        return np.frombuffer(raw, dtype=">i2").astype(np.float64)


@dataclass
class Ari:
    """A minimal ARI session: REST calls plus every event of one app, kept in arrival order."""

    http: aiohttp.ClientSession
    app: str
    events: list[dict[str, Any]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    created_channels: list[str] = field(default_factory=list)
    created_bridges: list[str] = field(default_factory=list)

    async def request(self, method: str, path: str, expect: int | None = None, **params: Any) -> Any:
        """One REST call; query parameters as keywords, `json_body` as the JSON body."""
        body = params.pop("json_body", None)
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        async with self.http.request(method, BASE + path, params=query, json=body) as resp:
            text = await resp.text()
            if expect is not None:
                assert resp.status == expect, f"{method} {path} -> {resp.status} {text}"
            return (await resp.json()) if text and resp.content_type == "application/json" else text

    async def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first event (from index `start`) that matches `pred`, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            i = start
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return self.events[i]
                    i += 1
                self._arrived.clear()
                await self._arrived.wait()

    async def stasis_start(self, channel_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The StasisStart of one channel."""
        return await self.wait_for(lambda e: e["type"] == "StasisStart" and e["channel"]["id"] == channel_id, timeout)

    async def originate(self, **params: Any) -> dict[str, Any]:
        """POST /channels, remembering the channel for clean-up."""
        channel_id = params.setdefault("channelId", f"test-{uuid.uuid4().hex[:12]}")
        self.created_channels.append(channel_id)
        self.created_channels.append(channel_id + ";2")  # Local channels: the other half, if any
        result: dict[str, Any] = await self.request("POST", "/channels", expect=200, **params)
        return result

    async def external_media(self, port: int, fmt: str = "slin16") -> str:
        """An RTP externalMedia channel towards our UDP sink; returns once it is in Stasis."""
        channel_id = f"em-{uuid.uuid4().hex[:12]}"
        self.created_channels.append(channel_id)
        await self.request(
            "POST",
            "/channels/externalMedia",
            expect=200,
            channelId=channel_id,
            app=self.app,
            external_host=f"127.0.0.1:{port}",
            format=fmt,
            encapsulation="rtp",
            transport="udp",
        )
        # Adding it to a bridge before its StasisStart gives 422.
        await self.stasis_start(channel_id)
        return channel_id

    async def snoop(self, channel_id: str, spy: str) -> str:
        """A snoop channel on `channel_id` in our app; returns once it is in Stasis."""
        snoop_id = f"snoop-{uuid.uuid4().hex[:12]}"
        self.created_channels.append(snoop_id)
        await self.request("POST", f"/channels/{channel_id}/snoop", expect=200, app=self.app, spy=spy, snoopId=snoop_id)
        await self.stasis_start(snoop_id)
        return snoop_id

    async def bridge(self, *channel_ids: str) -> str:
        """A mixing bridge holding `channel_ids`."""
        bridge_id = f"br-{uuid.uuid4().hex[:12]}"
        self.created_bridges.append(bridge_id)
        await self.request("POST", "/bridges", expect=200, type="mixing", bridgeId=bridge_id)
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", expect=204, channel=",".join(channel_ids))
        return bridge_id

    async def cleanup(self) -> None:
        """Hang up every channel and destroy every bridge this test created (404s are fine)."""
        for channel_id in reversed(self.created_channels):
            with contextlib.suppress(aiohttp.ClientError):
                await self.request("DELETE", f"/channels/{channel_id}")
        for bridge_id in self.created_bridges:
            with contextlib.suppress(aiohttp.ClientError):
                await self.request("DELETE", f"/bridges/{bridge_id}")


async def _read_events(ws: aiohttp.ClientWebSocketResponse, ari: Ari) -> None:
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            ari.events.append(msg.json())
            ari._arrived.set()


@contextlib.asynccontextmanager
async def ari_app(app: str) -> AsyncIterator[Ari]:
    """An ARI session whose events WebSocket for `app` is connected before anything enters Stasis."""
    async with aiohttp.ClientSession(headers=AUTH, timeout=aiohttp.ClientTimeout(total=15)) as http:
        try:
            async with http.get(f"{BASE}/asterisk/info") as resp:
                assert resp.status == 200, f"ARI answered {resp.status}"
        except aiohttp.ClientConnectionError as exc:
            pytest.fail(f"Asterisk is not running on port {ARI_PORT} (scripts/asterisk-start.sh): {exc}")
        ari = Ari(http, app)
        key = urllib.parse.quote(f"{ARI_USER}:{ARI_PASSWORD}")
        ws_url = f"ws://127.0.0.1:{ARI_PORT}/ari/events?app={app}&api_key={key}&subscribeAll=false"
        async with http.ws_connect(ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            reader = asyncio.create_task(_read_events(ws, ari), name=f"ari-events-{app}")
            try:
                yield ari
            finally:
                await ari.cleanup()
                await ws.close()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader


def own_app() -> str:
    """A Stasis app name nobody else uses."""
    return f"ari-agent-test-{uuid.uuid4().hex[:8]}"


async def require_free_agent_app() -> None:
    """Skip when a running agent holds ARI_APP: connecting to it would take over its calls."""
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.get(f"{BASE}/applications/{ARI_APP}") as resp,
    ):
        if resp.status == 200:
            pytest.skip(f"Stasis app {ARI_APP!r} is in use by another process (a running agent?)")


ToneSound = Callable[..., str]


def wav_extension(rate: int) -> str:
    """Asterisk's format_wav reads `.wav` as 8 kHz only; a 16 kHz WAV must be named `.wav16`."""
    return "wav" if rate == 8000 else "wav16"


@pytest.fixture
def tone_sound() -> Iterator[ToneSound]:
    """Writes tone WAVs into the PBX's sound directory; returns their `sound:` names (no extension)."""
    written: list[Path] = []

    def make(rate: int, freq: float, seconds: float, ext: str | None = None) -> str:
        name = f"test-tone-{rate}-{uuid.uuid4().hex[:8]}"
        path = SOUNDS_HOST / f"{name}.{ext or wav_extension(rate)}"
        write_tone_wav(path, rate, freq, seconds)
        written.append(path)
        return f"{SOUNDS_PBX}/{name}"

    yield make
    for path in written:
        path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def rtp_sink() -> AsyncIterator[tuple[RtpSink, int]]:
    """A UDP socket on loopback collecting RTP; yields the sink and its port."""
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=("127.0.0.1", 0))
    try:
        yield sink, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


# ----------------------------------------------------------------------------------------------- tests


async def test_ari_requires_the_configured_credentials() -> None:
    """ARI answers /asterisk/info with our user and refuses a wrong password with 401."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{BASE}/asterisk/info", headers=AUTH) as resp:
            assert resp.status == 200
            info = await resp.json()
        assert info["system"]["version"].startswith("22.")
        bad = basic_auth(ARI_USER, ARI_PASSWORD + "-wrong")
        async with http.get(f"{BASE}/asterisk/info", headers=bad) as resp:
            assert resp.status == 401
        async with http.get(f"{BASE}/asterisk/info") as resp:
            assert resp.status == 401


async def test_local_call_to_incoming_extension_reaches_the_agent_app() -> None:
    """A simulated caller dialled into ari-agent-incoming,100 enters Stasis(ARI_APP) unanswered, with linkedid."""
    await require_free_agent_app()
    async with ari_app(ARI_APP) as ari:
        caller = await ari.originate(
            endpoint="Local/100@ari-agent-sim",
            context="ari-agent-sim",
            extension="caller",
            priority=1,
            callerId="Sim Caller <5550123>",
            json_body={"variables": {"ARI_AGENT_SIM_HOLD": "5"}},
        )
        start = await ari.wait_for(lambda e: e["type"] == "StasisStart")
        channel = start["channel"]
        assert channel["dialplan"]["context"] == "ari-agent-incoming"
        assert channel["dialplan"]["exten"] == "100"
        assert channel["caller"]["number"] == "5550123"
        # The dialplan must leave answering to the agent.
        assert channel["state"] != "Up"
        # channelvars from ari.conf: linkedid ties both halves (and later the queue leg) to the caller.
        assert channel["channelvars"]["CHANNEL(linkedid)"] == caller["id"]
        assert "CDR(userfield)" in channel["channelvars"]
        await ari.request("POST", f"/channels/{channel['id']}/answer", expect=204)
        await ari.request("DELETE", f"/channels/{channel['id']}", expect=204)
        end = await ari.wait_for(lambda e: e["type"] == "StasisEnd")
        assert end["channel"]["id"] == channel["id"]


async def test_snoop_of_local_caller_streams_its_audio_over_external_media(
    tone_sound: ToneSound,
) -> None:
    """Snoop(spy=in) + externalMedia(slin16) bridged: the caller's 440 Hz tone arrives as RTP frames."""
    sound = tone_sound(8000, 440.0, 3.0)
    app = own_app()
    async with ari_app(app) as ari, rtp_sink() as (sink, port):
        # ";1" enters our app; ";2" runs the caller script that plays the tone after 1 s.
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim",
            app=app,
            json_body={"variables": {"ARI_AGENT_SIM_AUDIO": sound, "ARI_AGENT_SIM_DELAY": "1"}},
        )
        await ari.stasis_start(caller["id"])
        media = await ari.external_media(port)
        snoop = await ari.snoop(caller["id"], spy="in")
        await ari.bridge(snoop, media)
        t0 = time.monotonic()
        await asyncio.sleep(3.5)
        packets = [p for p in sink.packets if p.at >= t0]
        assert len(packets) >= 100, f"only {len(packets)} RTP packets in 3.5 s"
        assert {p.payload_type for p in packets} == {118}  # Asterisk's dynamic PT for slin16
        assert {len(p.payload) for p in packets} == {640}  # 20 ms at 16 kHz, 16-bit
        audio = sink.samples(t0 + 1.5)  # well inside the tone
        assert np.sqrt(np.mean(audio**2)) > 1000
        assert abs(dominant_hz(audio, 16000) - 440.0) < 10


@pytest.mark.parametrize("via_snoop", [True, False])
async def test_silent_local_caller_frames(via_snoop: bool) -> None:
    """A silent Local caller: its snoop sends 50 frames/s of digital silence; the channel itself sends none.

    Measured on Asterisk 22.10: the snoop channel runs its own 20 ms timer and fills gaps with silence, so
    the agent's frame-driven endpointing keeps ticking when it listens through a snoop. A Local channel
    bridged directly with externalMedia sends nothing while its peer is silent.
    """
    app = own_app()
    async with ari_app(app) as ari, rtp_sink() as (sink, port):
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "10"}}
        )
        await ari.stasis_start(caller["id"])
        media = await ari.external_media(port)
        source = await ari.snoop(caller["id"], spy="in") if via_snoop else caller["id"]
        await ari.bridge(source, media)
        t0 = time.monotonic()
        await asyncio.sleep(3.0)
        received = [p for p in sink.packets if p.at >= t0]
        if via_snoop:
            assert 140 <= len(received) <= 160, f"{len(received)} RTP packets in 3 s"
            assert not np.any(sink.samples(t0)), "a silent caller produced non-zero samples"
        else:
            assert received == [], f"{len(received)} RTP packets from a silent Local channel"


@pytest.mark.parametrize(("rate", "ext"), [(8000, "wav"), (16000, "wav16")])
async def test_play_of_our_own_wav_file(rate: int, ext: str, tone_sound: ToneSound) -> None:
    """ARI play of sound:/var/lib/ari-agent/sounds/x (x.wav at 8 kHz, x.wav16 at 16 kHz) reaches the caller."""
    sound = tone_sound(rate, 600.0, 2.0, ext)
    app = own_app()
    async with ari_app(app) as ari, rtp_sink() as (sink, port):
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "10"}}
        )
        await ari.stasis_start(caller["id"])
        # spy=out: what the caller hears, i.e. our playback.
        media = await ari.external_media(port)
        snoop = await ari.snoop(caller["id"], spy="out")
        await ari.bridge(snoop, media)
        playback_id = f"pb-{uuid.uuid4().hex[:8]}"
        mark = len(ari.events)
        t0 = time.monotonic()
        await ari.request(
            "POST", f"/channels/{caller['id']}/play", expect=201, media=f"sound:{sound}", playbackId=playback_id
        )
        done = await ari.wait_for(
            lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == playback_id, start=mark
        )
        elapsed = time.monotonic() - t0
        assert done["playback"]["state"] == "done"
        assert 1.6 < elapsed < 3.5, f"a 2 s file played in {elapsed:.2f} s"
        audio = sink.samples(t0 + 0.5)
        assert len(audio) > 16000  # more than one second of it reached the snoop
        assert abs(dominant_hz(audio, 16000) - 600.0) < 10


async def test_play_of_16khz_file_named_wav_fails(tone_sound: ToneSound) -> None:
    """A 16 kHz WAV named x.wav is refused by format_wav ("frequency mismatch"): the playback fails."""
    sound = tone_sound(16000, 600.0, 1.0, "wav")
    app = own_app()
    async with ari_app(app) as ari:
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "10"}}
        )
        await ari.stasis_start(caller["id"])
        playback_id = f"pb-{uuid.uuid4().hex[:8]}"
        await ari.request(
            "POST", f"/channels/{caller['id']}/play", expect=201, media=f"sound:{sound}", playbackId=playback_id
        )
        done = await ari.wait_for(lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == playback_id)
        assert done["playback"]["state"] == "failed"


async def test_play_of_missing_file_fails_after_201() -> None:
    """A missing file is accepted with 201 and reported as a failed playback: the agent must watch events."""
    app = own_app()
    async with ari_app(app) as ari:
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "10"}}
        )
        await ari.stasis_start(caller["id"])
        playback_id = f"pb-{uuid.uuid4().hex[:8]}"
        await ari.request(
            "POST",
            f"/channels/{caller['id']}/play",
            expect=201,
            media=f"sound:{SOUNDS_PBX}/does-not-exist-{playback_id}",
            playbackId=playback_id,
        )
        done = await ari.wait_for(lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == playback_id)
        assert done["playback"]["state"] == "failed"


async def _wait_queue_line(marker: str, timeout: float = 15.0) -> dict[str, str]:
    async with asyncio.timeout(timeout):
        while not (lines := queue_lines(marker)):
            await asyncio.sleep(0.2)
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("queue", ["reception", "urgent"])
async def test_continue_into_handoff_lands_in_queue_with_context(queue: str, tone_sound: ToneSound) -> None:
    """ARI continue -> ari-agent-handoff,<queue>,1: the member answers and sees the inherited variables."""
    announce = tone_sound(8000, 500.0, 0.5)
    app = own_app()
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    context = {
        "ARI_AGENT_CALL_ID": call_id,
        "ARI_AGENT_REASON": "caller-asked",
        "ARI_AGENT_INTENT": "book_appointment",
        "ARI_AGENT_SUMMARY": 'Wants a check-up on Friday, 10:00; "urgent" & it\'s $(worse) `now`',
        "ARI_AGENT_CALLER": "+1 555 0100",
        "ARI_AGENT_TRANSCRIPT_URL": f"http://127.0.0.1:18080/calls/{call_id}?a=1&b=2",
    }
    async with ari_app(app) as ari:
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "20"}}
        )
        await ari.stasis_start(caller["id"])
        for name, value in context.items():
            # "__": inherited by every channel the queue creates, down to the member.
            await ari.request(
                "POST", f"/channels/{caller['id']}/variable", expect=204, variable=f"__{name}", value=value
            )
        await ari.request(
            "POST", f"/channels/{caller['id']}/variable", expect=204, variable="ARI_AGENT_ANNOUNCE", value=announce
        )
        await ari.request(
            "POST",
            f"/channels/{caller['id']}/continue",
            expect=204,
            context="ari-agent-handoff",
            extension=queue,
            priority=1,
        )
        await ari.wait_for(lambda e: e["type"] == "StasisEnd" and e["channel"]["id"] == caller["id"])
        line = await _wait_queue_line(f"call_id={call_id}")
    assert line["event"] == "member-answered"
    assert line["queue"] == queue
    assert line["call_id"] == call_id
    assert line["reason"] == context["ARI_AGENT_REASON"]
    assert line["intent"] == context["ARI_AGENT_INTENT"]
    assert line["summary"] == context["ARI_AGENT_SUMMARY"]
    assert line["caller"] == context["ARI_AGENT_CALLER"]
    assert line["transcript_url"] == context["ARI_AGENT_TRANSCRIPT_URL"]
    assert line["channel"].startswith("Local/member@ari-agent-queue-member")


async def test_handoff_to_unknown_queue_takes_the_fallback() -> None:
    """A queue that does not exist sends the caller to the polite fallback, not into dead air."""
    app = own_app()
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    async with ari_app(app) as ari:
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "20"}}
        )
        await ari.stasis_start(caller["id"])
        await ari.request(
            "POST", f"/channels/{caller['id']}/variable", expect=204, variable="__ARI_AGENT_CALL_ID", value=call_id
        )
        await ari.request(
            "POST",
            f"/channels/{caller['id']}/continue",
            expect=204,
            context="ari-agent-handoff",
            extension="nosuchqueue",
            priority=1,
        )
        line = await _wait_queue_line(f"call_id={call_id}")
        assert line["event"] == "fallback"
        assert line["queue"] == "nosuchqueue"
        # The caller is now hearing the fallback prompts, still up.
        async with asyncio.timeout(5):
            while True:
                chan = await ari.request("GET", f"/channels/{caller['id']}", expect=200)
                if chan["dialplan"]["app_name"] == "Playback":
                    break
                await asyncio.sleep(0.1)
        assert chan["state"] == "Up"
        assert chan["dialplan"]["context"] == "ari-agent-handoff"


async def test_sip_caller_talks_to_the_agent_app(tmp_path: Path, tone_sound: ToneSound) -> None:
    """scripts/sip-caller.sh: a real SIP call (baresip, PCMU) into 100 reaches Stasis; audio flows both ways."""
    await require_free_agent_app()
    in_wav, out_wav = tmp_path / "in.wav", tmp_path / "out.wav"
    write_tone_wav(in_wav, 8000, 440.0, 6.0)
    prompt = tone_sound(16000, 1000.0, 2.0)
    async with ari_app(ARI_APP) as ari, rtp_sink() as (sink, port):
        proc = await asyncio.create_subprocess_exec(
            str(REPO_ROOT / "scripts/sip-caller.sh"),
            str(in_wav),
            str(out_wav),
            "100",
            "8",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            start = await ari.wait_for(lambda e: e["type"] == "StasisStart", timeout=15)
            channel = start["channel"]
            ari.created_channels.append(channel["id"])
            assert channel["name"].startswith("PJSIP/testcaller-")
            assert channel["dialplan"]["context"] == "ari-agent-incoming"
            await ari.request("POST", f"/channels/{channel['id']}/answer", expect=204)
            media = await ari.external_media(port)
            snoop = await ari.snoop(channel["id"], spy="in")
            await ari.bridge(snoop, media)
            await ari.request("POST", f"/channels/{channel['id']}/play", expect=201, media=f"sound:{prompt}")
            t0 = time.monotonic()
            await asyncio.sleep(3.0)
            audio = sink.samples(t0)
            assert len(audio) > 16000 * 2
            assert abs(dominant_hz(audio, 16000) - 440.0) < 15
            await ari.request("DELETE", f"/channels/{channel['id']}", expect=204)
        finally:
            output, _ = await proc.communicate()
        assert proc.returncode == 0, output.decode()
    with wave.open(str(out_wav), "rb") as w:
        rate = w.getframerate()
        heard = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    assert len(heard) > rate  # more than a second of call audio
    loud = heard[np.abs(heard) > 500]
    assert len(loud) > rate // 2, "the caller heard no prompt"
    assert abs(dominant_hz(heard, rate) - 1000.0) < 15


async def test_cdr_of_a_call_reaches_postgresql() -> None:
    """cdr_pgsql writes the CDR of a finished call into table cdr, with linkedid and userfield set."""
    psycopg = pytest.importorskip("psycopg")
    dsn = (
        f"host={os.environ.get('PG_HOST', '127.0.0.1')} port={os.environ.get('PG_PORT', '5432')} "
        f"dbname={os.environ.get('PG_DB', 'ari_agent')} user={os.environ.get('PG_USER', 'ari_agent')} "
        f"password={os.environ.get('PG_PASSWORD', 'ari_agent')}"
    )
    app = own_app()
    async with ari_app(app) as ari:
        caller = await ari.originate(
            endpoint="Local/caller@ari-agent-sim", app=app, json_body={"variables": {"ARI_AGENT_SIM_HOLD": "10"}}
        )
        await ari.stasis_start(caller["id"])
        await ari.request(
            "POST", f"/channels/{caller['id']}/variable", expect=204, variable="CDR(userfield)", value="test-outcome"
        )
        await ari.request("DELETE", f"/channels/{caller['id']}", expect=204)
        await ari.wait_for(lambda e: e["type"] == "StasisEnd" and e["channel"]["id"] == caller["id"])
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        async with asyncio.timeout(10):
            while True:
                cur = await conn.execute(
                    "SELECT linkedid, userfield, disposition FROM cdr WHERE uniqueid = %s", (caller["id"],)
                )
                row = await cur.fetchone()
                if row is not None:
                    break
                await conn.rollback()
                await asyncio.sleep(0.2)
    assert row == (caller["id"], "test-outcome", "ANSWERED")
