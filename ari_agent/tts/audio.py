"""WAV parsing/writing and resampling for synthesised speech (16-bit mono PCM only)."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .base import TtsError

# Taps per polyphase branch: ~-60 dB stop band, cheap enough for prompts of a few seconds.
_TAPS_PER_PHASE = 32
_CHUNK = 8192


def read_wav(data: bytes) -> tuple[bytes, int]:
    """PCM (16-bit little-endian, mono) and sample rate of a WAV file; stereo is mixed down."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TtsError("synthesiser output is not a WAV file")
    # Walk the chunks ourselves: streamed WAVs (espeak-ng --stdout) carry bogus sizes that `wave` rejects.
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (audio_format, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise TtsError("WAV data chunk before fmt chunk")
            audio_format, channels, rate, bits = fmt
            # 0xFFFE is WAVE_FORMAT_EXTENSIBLE; flite/espeak/coqui all write plain PCM (1) at 16 bits.
            if audio_format not in (1, 0xFFFE) or bits != 16:
                raise TtsError(f"unsupported WAV encoding (format {audio_format}, {bits} bits)")
            end = min(len(data), body + size)
            pcm = data[body:end]
            pcm = pcm[: len(pcm) - len(pcm) % (2 * channels)]
            if channels > 1:
                frames = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).astype(np.int32)
                pcm = frames.mean(axis=1).astype("<i2").tobytes()
            return pcm, rate
        pos = body + size + (size & 1)
    raise TtsError("WAV file has no data chunk")


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """A complete 16-bit mono WAV file holding `pcm`."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buf.getvalue()


@lru_cache(maxsize=16)
def _filter(up: int, down: int) -> npt.NDArray[np.float64]:
    """Kaiser-windowed sinc low-pass for rational resampling up/down, laid out as [phase, tap]."""
    cutoff = 0.5 / max(up, down)  # in cycles per sample at the upsampled rate
    n = _TAPS_PER_PHASE * up
    # Centred on tap half*up exactly, so the output carries no fractional-sample delay.
    t = np.arange(n) - (_TAPS_PER_PHASE // 2) * up
    h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 8.0)
    h *= up / h.sum()  # unity gain after zero-stuffing by `up`
    phases: npt.NDArray[np.float64] = np.ascontiguousarray(h.reshape(_TAPS_PER_PHASE, up).T)
    return phases


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample 16-bit mono PCM with a polyphase windowed-sinc filter."""
    if src_rate == dst_rate or not pcm:
        return pcm
    g = math.gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    phases = _filter(up, down)
    n_out = (len(x) * up) // down
    half = _TAPS_PER_PHASE // 2
    padded = np.concatenate([np.zeros(_TAPS_PER_PHASE), x, np.zeros(_TAPS_PER_PHASE)])
    taps = np.arange(_TAPS_PER_PHASE)[None, :]
    y = np.empty(n_out)
    # Chunked so a long prompt never builds an (n_out x taps) matrix of hundreds of MB.
    for start in range(0, n_out, _CHUNK):
        # Output k sits at upsampled position k*down: input index base = pos // up, branch = pos % up.
        pos = np.arange(start, min(n_out, start + _CHUNK), dtype=np.int64) * down
        base = pos // up
        # Tap j of a branch multiplies input base + half - j (the filter's group delay removed).
        idx = base[:, None] + half - taps + _TAPS_PER_PHASE
        y[start : start + len(pos)] = np.einsum("ij,ij->i", padded[idx], phases[pos % up])
    return np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()


def duration_ms(pcm: bytes, sample_rate: int) -> int:
    """Length of 16-bit mono PCM in whole milliseconds."""
    return (len(pcm) // 2) * 1000 // sample_rate
