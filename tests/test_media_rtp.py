"""RTP wire format, jitter buffer, playout clock and the UDP receiver."""

from __future__ import annotations

import asyncio
import socket
import struct

import numpy as np
import pytest

from ari_agent.media import audio as A
from ari_agent.media.rtp import (
    PT_PCMU,
    PT_SLIN16,
    JitterBuffer,
    RtpError,
    RtpPacket,
    RtpPlayout,
    RtpReceiver,
    build_rtp,
    parse_rtp,
    seq_delta,
)
from tests.audio_fixtures import tone


def _pkt(seq: int, payload: bytes = b"\x00" * 640, pt: int = PT_SLIN16, ssrc: int = 7) -> RtpPacket:
    return RtpPacket(pt, seq & 0xFFFF, (seq * 320) & 0xFFFFFFFF, ssrc, payload)


def test_build_parse_round_trip() -> None:
    packet = RtpPacket(PT_SLIN16, 65535, 0xFFFFFFF0, 0xDEADBEEF, b"abc", marker=True, csrcs=(1, 2))
    wire = build_rtp(packet)
    assert len(wire) == 12 + 8 + 3
    assert wire[0] == 0x82 and wire[1] == 0x80 | 118
    assert parse_rtp(wire) == packet


def test_parse_skips_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10, 0, 5, 160, 9)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x01\x02\x03\x04"
    wire = header + extension + b"payload" + b"\x00\x00\x03"
    packet = parse_rtp(wire)
    assert packet.payload == b"payload"
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (0, 5, 160, 9)


@pytest.mark.parametrize(
    "wire",
    [b"\x80\x00", b"\x40" + b"\x00" * 11, b"\x81" + b"\x00" * 11, struct.pack("!BBHII", 0xA0, 0, 1, 1, 1) + b"\x09"],
)
def test_parse_rejects_malformed(wire: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(wire)


def test_seq_delta_wraps() -> None:
    assert seq_delta(0, 65535) == 1
    assert seq_delta(65535, 0) == -1
    assert seq_delta(10, 5) == 5
    assert seq_delta(5, 10) == -5


def _drain(jb: JitterBuffer) -> list[int | None]:
    out: list[int | None] = []
    while (slot := jb.pop()) is not None:
        out.append(None if slot.packet is None else slot.packet.sequence)
    return out


def test_jitter_buffer_reorders() -> None:
    jb = JitterBuffer(depth=3)
    seen: list[int | None] = []
    for seq in (10, 12, 11, 14, 13, 15):
        jb.put(_pkt(seq))
        seen += _drain(jb)
    assert seen == [10, 11, 12, 13, 14, 15]
    assert jb.lost == 0


def test_jitter_buffer_wraps_around() -> None:
    jb = JitterBuffer(depth=3)
    seen: list[int | None] = []
    for seq in (65533, 65535, 65534, 1, 0, 2):
        jb.put(_pkt(seq))
        seen += _drain(jb)
    assert seen == [65533, 65534, 65535, 0, 1, 2]


def test_jitter_buffer_conceals_loss_and_drops_late_packets() -> None:
    jb = JitterBuffer(depth=3)
    seen: list[int | None] = []
    for seq in (100, 102, 103):
        jb.put(_pkt(seq))
        seen += _drain(jb)
    assert seen == [100]  # 101 may still come: two packets wait behind it
    jb.put(_pkt(104))
    seen += _drain(jb)
    assert seen == [100, None, 102, 103, 104]
    assert jb.lost == 1
    assert jb.put(_pkt(101)) is False and jb.late == 1
    assert jb.put(_pkt(105)) is True and jb.put(_pkt(105)) is False and jb.duplicates == 1


def test_jitter_buffer_force_gives_up_one_missing_packet() -> None:
    jb = JitterBuffer(depth=3)
    jb.put(_pkt(1))
    jb.put(_pkt(3))
    assert _drain(jb) == [1]
    assert jb.head_missing
    slot = jb.pop(force=True)
    assert slot is not None and slot.packet is None
    assert _drain(jb) == [3]


def test_jitter_buffer_resyncs_on_a_sequence_jump() -> None:
    jb = JitterBuffer(depth=3, max_jump=100)
    jb.put(_pkt(1))
    assert _drain(jb) == [1]
    jb.put(_pkt(30000))
    assert _drain(jb) == [30000]
    assert jb.resyncs == 1 and jb.lost == 0


def test_playout_converts_big_endian_slin16() -> None:
    pcm = tone(20, freq=500, dbfs=-10)
    playout = RtpPlayout()
    out = playout.on_packet(_pkt(1, A.swap16(pcm)), now=0.0)
    assert out == [pcm]


def test_playout_decodes_and_upsamples_ulaw() -> None:
    pcm = tone(200, freq=800, dbfs=-10)
    ulaw = A.ulaw_encode(A.downsample_16k_to_8k(pcm))
    playout = RtpPlayout()
    out: list[bytes] = []
    for i in range(10):
        out += playout.on_packet(_pkt(i, ulaw[i * 160 : (i + 1) * 160], pt=PT_PCMU), now=i * 0.02)
    assert [len(f) for f in out] == [640] * 10
    got = A.pcm_to_array(b"".join(out)).astype(np.float64)[31:]  # the upsampler's group delay
    ref = A.pcm_to_array(pcm).astype(np.float64)[: len(got)]
    snr = 10 * np.log10(np.sum(ref[100:] ** 2) / np.sum((ref[100:] - got[100:]) ** 2))
    assert snr > 25


def test_playout_fills_silence_when_no_packet_arrives() -> None:
    playout = RtpPlayout(idle_fill_ms=60)
    playout.start(0.0)
    frames: list[bytes] = []
    for i in range(1, 51):  # one second of ticks and not a single packet (a silent Local channel)
        frames += playout.on_tick(i * 0.02)
    assert len(frames) == 50 - 3  # the clock runs idle_fill_ms behind real time
    assert all(f == b"\x00" * 640 for f in frames)
    assert playout.stats.silence_frames == 47


def test_playout_clock_spans_a_pause_in_the_packet_stream() -> None:
    playout = RtpPlayout(idle_fill_ms=60)
    voice = A.swap16(tone(20, dbfs=-10))
    total = 0
    seq = 0
    for i in range(150):  # 3 s: packets for 1 s, none for 1 s (silence suppression), packets again
        now = i * 0.02
        if i < 50 or i >= 100:
            total += len(playout.on_packet(_pkt(seq, voice), now))
            seq += 1
        total += len(playout.on_tick(now + 0.001))
    assert abs(total - 150) <= 3
    assert 45 <= playout.stats.silence_frames <= 50


def test_playout_conceals_a_lost_packet_after_a_timeout() -> None:
    playout = RtpPlayout(jitter_frames=3, idle_fill_ms=60)
    voice = A.swap16(tone(20, dbfs=-10))
    out = playout.on_packet(_pkt(1, voice), 0.0)
    out += playout.on_packet(_pkt(3, voice), 0.04)  # 2 is lost; only one packet waits behind it
    assert len(out) == 1
    out += playout.on_tick(0.05)
    out += playout.on_tick(0.11)  # waited idle_fill_ms: give 2 up, play 3
    assert len(out) == 3 and out[1] == b"\x00" * 640
    assert playout.stats.concealed_ms == 20


def test_playout_ignores_unknown_payload_types_and_garbage() -> None:
    playout = RtpPlayout()
    assert playout.on_packet(_pkt(1, pt=96), 0.0) == []
    assert playout.on_datagram(b"garbage", 0.0) == []
    assert playout.stats.ignored_packets == 1 and playout.stats.bad_packets == 1


async def test_receiver_delivers_udp_frames_in_order() -> None:
    receiver = RtpReceiver(idle_fill_ms=200)
    await receiver.start()
    try:
        pcm = tone(200, freq=300, dbfs=-12)
        frames = A.frames(pcm)
        order = [0, 2, 1, 3, 4, 6, 5, 7, 8, 9]  # reordered on the way
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in order:
                sock.sendto(build_rtp(_pkt(1000 + i, A.swap16(frames[i]))), ("127.0.0.1", receiver.port))
        got: list[bytes] = []
        async with asyncio.timeout(5):
            async for frame in receiver.frames():
                got.append(frame)
                if len(got) == 10:
                    break
        assert got == frames
        assert receiver.remote is not None and receiver.remote[0] == "127.0.0.1"
    finally:
        await receiver.aclose()


async def test_receiver_keeps_the_clock_going_without_packets() -> None:
    got: list[bytes] = []
    receiver = RtpReceiver(on_frame=got.append, idle_fill_ms=60)
    async with receiver:
        await asyncio.sleep(0.5)
    # 500 ms of wall time, 60 ms held back: about 22 silence frames (timer jitter on a busy machine aside).
    assert 15 <= len(got) <= 24
    assert receiver.stats.silence_frames == len(got)


async def test_receiver_frames_iterator_ends_on_close() -> None:
    receiver = RtpReceiver()
    await receiver.start()
    receiver.close()
    assert [f async for f in receiver.frames()] == []
    await receiver.aclose()


async def test_receiver_plays_only_the_source_that_started_the_stream() -> None:
    got: list[bytes] = []
    receiver = RtpReceiver(on_frame=got.append, idle_fill_ms=10_000)
    await receiver.start()
    try:
        loud = A.swap16(tone(20, freq=300, dbfs=-6))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as asterisk, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as intruder:
            asterisk.sendto(b"not rtp", ("127.0.0.1", receiver.port))  # garbage does not claim the stream
            asterisk.sendto(build_rtp(_pkt(1, b"\x00" * 640)), ("127.0.0.1", receiver.port))
            async with asyncio.timeout(5):
                while receiver.remote is None:
                    await asyncio.sleep(0.005)
            for seq in range(2, 12):
                intruder.sendto(build_rtp(_pkt(seq, loud)), ("127.0.0.1", receiver.port))
            asterisk.sendto(build_rtp(_pkt(2, b"\x00" * 640)), ("127.0.0.1", receiver.port))
            async with asyncio.timeout(5):
                while len(got) < 2 or receiver.stats.foreign_packets < 10:
                    await asyncio.sleep(0.005)
            assert receiver.remote == ("127.0.0.1", asterisk.getsockname()[1])
        assert receiver.stats.foreign_packets == 10 and all(f == b"\x00" * 640 for f in got)
    finally:
        await receiver.aclose()


def test_a_huge_sequence_jump_with_huge_payloads_costs_little() -> None:
    """Four hostile datagrams (sequence jumps just under the old limit, 1,400-byte payloads) made 5,000 frames."""
    playout = RtpPlayout()
    frames: list[bytes] = []
    for i, seq in enumerate((0, 999, 1998, 2997)):
        frames += playout.on_packet(_pkt(seq, b"\x01" * 1400), float(i))
        frames += playout.on_tick(float(i) + 0.5)
    assert len(frames) < 200, len(frames)
    assert playout.jitter.resyncs == 3
