"""RTP from Asterisk's externalMedia channel -> a steady clock of 20 ms frames of 16 kHz s16le PCM.

Three layers, so the wire format and the timing logic are testable without sockets:
- `parse_rtp` / `build_rtp`: the RFC 3550 fixed header (pure, round-trip tested);
- `JitterBuffer` + `RtpPlayout`: reordering, sequence wrap-around, loss concealment and an audio clock that
  keeps ticking when no packet arrives (a silent Local channel sends none at all), driven by a `now` argument;
- `RtpReceiver`: the asyncio UDP endpoint and timer around `RtpPlayout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ari_agent.media.audio import (
    FRAME_MS,
    SAMPLE_RATE,
    Upsampler,
    downsample_16k_to_8k,
    swap16,
    ulaw_decode,
    ulaw_encode,
)

_LOGGER = logging.getLogger(__name__)

RTP_VERSION = 2
PT_PCMU = 0
PT_CN = 13  # comfort noise: carries no audio we can use
PT_SLIN16 = 118  # the dynamic payload type Asterisk uses for slin16 on externalMedia
_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not a valid RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet: the fixed header fields and the payload (padding removed, extension skipped)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse an RTP datagram. Raises RtpError for anything malformed."""
    if len(data) < _HEADER.size:
        raise RtpError(f"datagram of {len(data)} bytes is shorter than an RTP header")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {b0 >> 6}, expected 2")
    has_padding = bool(b0 & 0x20)
    has_extension = bool(b0 & 0x10)
    cc = b0 & 0x0F
    offset = _HEADER.size + 4 * cc
    if len(data) < offset:
        raise RtpError("truncated CSRC list")
    csrcs = struct.unpack_from(f"!{cc}I", data, _HEADER.size) if cc else ()
    if has_extension:
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if len(data) < offset:
            raise RtpError("truncated header extension")
    end = len(data)
    if has_padding:
        pad = data[-1]
        if pad == 0 or offset + pad > end:
            raise RtpError(f"bad padding length {pad}")
        end -= pad
    return RtpPacket(b1 & 0x7F, seq, ts, ssrc, bytes(data[offset:end]), bool(b1 & 0x80), tuple(csrcs))


def build_rtp(packet: RtpPacket) -> bytes:
    """Serialise an RTP packet (no padding, no extension)."""
    if not 0 <= packet.payload_type <= 127:
        raise RtpError(f"payload type {packet.payload_type} out of range")
    if len(packet.csrcs) > 15:
        raise RtpError("at most 15 CSRCs")
    b0 = (RTP_VERSION << 6) | len(packet.csrcs)
    b1 = (0x80 if packet.marker else 0) | packet.payload_type
    header = _HEADER.pack(b0, b1, packet.sequence & 0xFFFF, packet.timestamp & 0xFFFFFFFF, packet.ssrc)
    csrcs = struct.pack(f"!{len(packet.csrcs)}I", *packet.csrcs) if packet.csrcs else b""
    return header + csrcs + packet.payload


def seq_delta(a: int, b: int) -> int:
    """Signed distance a - b between two 16-bit sequence numbers, across wrap-around."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


# --- jitter buffer ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Popped:
    """One slot of the playout sequence: a packet, or a lost one to conceal (packet is None)."""

    seq: int  # extended (unwrapped) sequence number
    packet: RtpPacket | None


class JitterBuffer:
    """Reorders packets by sequence number (unwrapped across 65535 -> 0) and reports losses.

    A missing packet is given up (reported lost) once `depth` later packets are waiting behind it, or when the
    caller forces it (the playout clock decides it has waited long enough).
    """

    # A jump further than this (50 packets, 1 s of 20 ms audio) is a new stream, not loss: concealing every
    # missing slot of a 1,000-packet jump made four datagrams produce 5,000 frames.
    def __init__(self, depth: int = 3, max_jump: int = 50) -> None:
        self.depth = depth
        self.max_jump = max_jump
        self._packets: dict[int, RtpPacket] = {}
        self._next: int | None = None
        self.late = 0
        self.lost = 0
        self.duplicates = 0
        self.resyncs = 0

    def __len__(self) -> int:
        return len(self._packets)

    def _extend(self, seq: int) -> int:
        assert self._next is not None
        return self._next + seq_delta(seq, self._next & 0xFFFF)

    def put(self, packet: RtpPacket) -> bool:
        """Add a packet; False when it came too late (already played or concealed) or twice."""
        if self._next is None:
            self._next = packet.sequence
        ext = self._extend(packet.sequence)
        if ext < self._next:
            self.late += 1
            return False
        if ext - self._next > self.max_jump:
            # The sender restarted its sequence (or jumped): nothing buffered can still be played in order.
            self.resyncs += 1
            self._packets.clear()
            self._next = ext
        if ext in self._packets:
            self.duplicates += 1
            return False
        self._packets[ext] = packet
        return True

    def pop(self, force: bool = False) -> Popped | None:
        """The next slot in sequence order, or None when it is not due yet."""
        if self._next is None or not self._packets:
            return None
        seq = self._next
        packet = self._packets.pop(seq, None)
        if packet is None and not (force or len(self._packets) >= self.depth):
            return None
        self._next = seq + 1
        if packet is None:
            self.lost += 1
        return Popped(seq, packet)

    @property
    def head_missing(self) -> bool:
        """True when packets are waiting behind a gap."""
        return self._next is not None and bool(self._packets) and self._next not in self._packets

    def reset(self) -> None:
        """Forget everything (new stream / new SSRC)."""
        self._packets.clear()
        self._next = None


# --- playout clock ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class RtpStats:
    """Counters of one receiver."""

    packets: int = 0
    bad_packets: int = 0
    ignored_packets: int = 0  # unsupported payload types, comfort noise
    frames: int = 0
    silence_frames: int = 0  # frames the clock filled because no packet came
    concealed_ms: int = 0  # audio of lost packets replaced by silence
    dropped_frames: int = 0  # the consumer was too slow
    foreign_packets: int = 0  # datagrams from an address other than the stream's source: never played
    payload_types: set[int] = field(default_factory=set)


class RtpPlayout:
    """Packets in, evenly spaced 20 ms frames of 16 kHz s16le out; `now` is a monotonic time in seconds.

    Packets are played as soon as they are in order (no added latency on a clean loopback). When nothing has
    arrived for `idle_fill_ms` beyond the audio clock, silence frames keep the clock running, so endpointing
    still sees time pass on a channel that sends no packets during silence.
    """

    def __init__(
        self,
        frame_ms: int = FRAME_MS,
        jitter_frames: int = 3,
        idle_fill_ms: int = 60,
        slin16_payload_types: tuple[int, ...] = (PT_SLIN16,),
    ) -> None:
        self.frame_ms = frame_ms
        self.frame_bytes = SAMPLE_RATE * frame_ms // 1000 * 2
        self.idle_fill_ms = idle_fill_ms
        self.slin16_payload_types = slin16_payload_types
        self.jitter = JitterBuffer(depth=jitter_frames)
        self.stats = RtpStats()
        self._ssrc: int | None = None
        self._upsampler = Upsampler()
        self._pending = b""
        self._last_packet_bytes = self.frame_bytes
        self._t0: float | None = None
        self._gap_since: float | None = None
        self._warned: set[int] = set()

    def start(self, now: float) -> None:
        """Start the audio clock (the first tick otherwise starts it)."""
        if self._t0 is None:
            self._t0 = now

    def on_datagram(self, data: bytes, now: float) -> list[bytes]:
        """One UDP datagram; returns the frames it released."""
        self.start(now)
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.stats.bad_packets += 1
            _LOGGER.debug("dropping datagram: %s", exc)
            return []
        return self.on_packet(packet, now)

    def on_packet(self, packet: RtpPacket, now: float) -> list[bytes]:
        """One parsed packet; returns the frames it released."""
        self.start(now)
        self.stats.packets += 1
        self.stats.payload_types.add(packet.payload_type)
        if packet.payload_type not in self.slin16_payload_types and packet.payload_type != PT_PCMU:
            self.stats.ignored_packets += 1
            if packet.payload_type not in self._warned and packet.payload_type != PT_CN:
                self._warned.add(packet.payload_type)
                _LOGGER.warning("ignoring RTP payload type %d (expected slin16 or ulaw)", packet.payload_type)
            return []
        if packet.ssrc != self._ssrc:
            if self._ssrc is not None:
                _LOGGER.info("RTP source changed from %08x to %08x", self._ssrc, packet.ssrc)
            self._ssrc = packet.ssrc
            self.jitter.reset()
        self.jitter.put(packet)
        return self._drain(now, force=False)

    def on_tick(self, now: float) -> list[bytes]:
        """Advance the clock; returns concealed and silence frames that are due."""
        self.start(now)
        out: list[bytes] = []
        if self.jitter.head_missing:
            if self._gap_since is None:
                self._gap_since = now
            elif (now - self._gap_since) * 1000 >= self.idle_fill_ms:
                out += self._drain(now, force=True)
        assert self._t0 is not None
        due = int((now - self._t0) * 1000 // self.frame_ms) - self.idle_fill_ms // self.frame_ms
        while self.stats.frames < due:
            frame = self._pending + b"\x00" * (self.frame_bytes - len(self._pending))
            self._pending = b""
            self.stats.silence_frames += 1
            out.append(self._emit(frame))
        return out

    def _drain(self, now: float, force: bool) -> list[bytes]:
        out: list[bytes] = []
        while (slot := self.jitter.pop(force=force)) is not None:
            force = False  # force gives up one missing packet; the rest follow the normal rule
            if slot.packet is None:
                # A lost packet is concealed with at most 60 ms: a huge last payload must not multiply.
                pcm = b"\x00" * min(self._last_packet_bytes, 3 * self.frame_bytes)
                self.stats.concealed_ms += len(pcm) // (SAMPLE_RATE // 500)
            else:
                pcm = self._decode(slot.packet)
                self._last_packet_bytes = len(pcm) or self._last_packet_bytes
            self._pending += pcm
            while len(self._pending) >= self.frame_bytes:
                out.append(self._emit(self._pending[: self.frame_bytes]))
                self._pending = self._pending[self.frame_bytes :]
        self._gap_since = now if self.jitter.head_missing else None
        # The clock follows a sender that runs ahead of it, so a later silence is detected on time.
        assert self._t0 is not None
        ahead = self.stats.frames * self.frame_ms / 1000 - (now - self._t0)
        if ahead > 0:
            self._t0 -= ahead
        return out

    def _decode(self, packet: RtpPacket) -> bytes:
        if packet.payload_type == PT_PCMU:
            return self._upsampler.process(ulaw_decode(packet.payload))
        # Asterisk sends slin16 in network (big-endian) byte order.
        return swap16(packet.payload[: len(packet.payload) & ~1])

    def _emit(self, frame: bytes) -> bytes:
        self.stats.frames += 1
        return frame


# --- asyncio receiver ------------------------------------------------------------------------------------
_CLOSED = object()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: RtpReceiver) -> None:
        self._receiver = receiver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._receiver._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        _LOGGER.warning("RTP socket error: %s", exc)


class RtpReceiver:
    """UDP endpoint for Asterisk's externalMedia RTP; delivers 20 ms frames of 16 kHz s16le PCM.

    Frames go to `on_frame` if given, and to the async iterator `frames()` otherwise. Usage:
    `receiver = RtpReceiver(); await receiver.start(); receiver.port; async for f in receiver.frames(): ...`
    """

    def __init__(
        self,
        on_frame: Callable[[bytes], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        frame_ms: int = FRAME_MS,
        jitter_frames: int = 3,
        idle_fill_ms: int = 60,
        max_queued_frames: int = 3000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._on_frame = on_frame
        self._clock = clock
        self.playout = RtpPlayout(frame_ms=frame_ms, jitter_frames=jitter_frames, idle_fill_ms=idle_fill_ms)
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._max_queued = max_queued_frames
        self._transport: asyncio.DatagramTransport | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self.remote: tuple[str, int] | None = None
        self.closed = False

    @property
    def stats(self) -> RtpStats:
        """Packet and frame counters."""
        return self.playout.stats

    @property
    def port(self) -> int:
        """The bound UDP port (valid after start())."""
        if self._transport is None:
            raise RuntimeError("RtpReceiver not started")
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        """Bind the socket and start the audio clock."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, self._requested_port)
        )
        self._transport = transport
        self.playout.start(self._clock())
        self._tick_task = asyncio.create_task(self._tick_loop(), name=f"rtp-clock-{self.port}")
        _LOGGER.debug("RTP receiver on %s:%d", self.host, self.port)

    async def __aenter__(self) -> RtpReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        if self.closed:
            return
        source = (str(addr[0]), int(addr[1]))
        if self.remote is None:
            # The stream's source is the first address that sends a valid RTP packet (Asterisk sends first):
            # a datagram from anywhere else is someone injecting audio the agent would act on.
            try:
                parse_rtp(data)
            except RtpError:
                self.stats.bad_packets += 1
                return
            self.remote = source
        elif source != self.remote:
            self.stats.foreign_packets += 1
            if self.stats.foreign_packets == 1:
                _LOGGER.warning("dropping RTP from %s:%d: this stream comes from %s:%d", *source, *self.remote)
            return
        self._deliver(self.playout.on_datagram(data, self._clock()))

    async def _tick_loop(self) -> None:
        period = self.playout.frame_ms / 1000
        next_at = self._clock()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - self._clock()))
            self._deliver(self.playout.on_tick(self._clock()))

    def _deliver(self, frames: list[bytes]) -> None:
        for frame in frames:
            if self._on_frame is not None:
                self._on_frame(frame)
            elif self._queue.qsize() >= self._max_queued:
                self.stats.dropped_frames += 1
            else:
                self._queue.put_nowait(frame)

    async def frames(self) -> AsyncIterator[bytes]:
        """Frames in audio order until the receiver is closed."""
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            assert isinstance(item, bytes)
            yield item

    @property
    def queued_frames(self) -> int:
        """Frames received and not yet taken by `frames()`."""
        return self._queue.qsize()

    def close(self) -> None:
        """Stop the clock and the socket; `frames()` ends after the frames already queued."""
        if self.closed:
            return
        self.closed = True
        if self._tick_task is not None:
            self._tick_task.cancel()
        if self._transport is not None:
            self._transport.close()
        self._queue.put_nowait(_CLOSED)

    def sender(self) -> RtpSender:
        """An RtpSender that answers the peer from this receiver's own socket (once a packet has arrived)."""
        if self._transport is None or self.remote is None:
            raise RuntimeError("no RTP peer yet: nothing has been received")
        return RtpSender(self._transport, self.remote)

    async def aclose(self) -> None:
        """close(), then wait for the clock task to finish."""
        self.close()
        if self._tick_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task


class RtpSender:
    """Sends 16 kHz s16le PCM to Asterisk as 20 ms ulaw RTP packets (slin16 from the app is dropped)."""

    def __init__(self, transport: asyncio.DatagramTransport, remote: tuple[str, int], ssrc: int = 0x41524941) -> None:
        self._transport = transport
        self._remote = remote
        self._ssrc = ssrc
        self._seq = 0
        self._ts = 0

    def packets(self, pcm16k: bytes) -> list[bytes]:
        """Encode PCM into consecutive RTP packets (160 ulaw samples each), advancing seq and timestamp."""
        payload = ulaw_encode(downsample_16k_to_8k(pcm16k))
        out: list[bytes] = []
        for i in range(0, len(payload), 160):
            chunk = payload[i : i + 160]
            out.append(build_rtp(RtpPacket(PT_PCMU, self._seq & 0xFFFF, self._ts, self._ssrc, chunk)))
            self._seq += 1
            self._ts += len(chunk)
        return out

    async def send(self, pcm16k: bytes) -> None:
        """Send PCM paced in real time (one packet per 20 ms)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, packet in enumerate(self.packets(pcm16k)):
            await asyncio.sleep(max(0.0, start + i * 0.02 - loop.time()))
            self._transport.sendto(packet, self._remote)
