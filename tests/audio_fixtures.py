"""Generated audio for the media and ASR tests: flite speech, tones, noise bursts, frame timelines."""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ari_agent.media.audio import FRAME_BYTES, SAMPLE_RATE, array_to_pcm, frames, read_wav, rms_dbfs

_CACHE = Path(tempfile.gettempdir()) / "ari-agent-test-audio"


@functools.lru_cache(maxsize=64)
def tts(text: str, voice: str = "slt") -> bytes:
    """16 kHz s16le PCM of `text` spoken by flite (espeak-ng when flite is missing)."""
    _CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{voice}:{text}".encode()).hexdigest()[:16]
    wav = _CACHE / f"{key}.wav"
    if not wav.exists():
        tmp = wav.with_suffix(".tmp.wav")
        if shutil.which("flite"):
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(tmp)], check=True)
        elif shutil.which("espeak-ng"):
            subprocess.run(["espeak-ng", "-w", str(tmp), text], check=True)
        else:
            raise RuntimeError("neither flite nor espeak-ng is installed (apt-get install flite)")
        tmp.rename(wav)
    return read_wav(wav)


def tone(ms: int, freq: float = 440.0, dbfs: float = -20.0) -> bytes:
    """A sine tone at a given level."""
    t = np.arange(SAMPLE_RATE * ms // 1000) / SAMPLE_RATE
    amp = 32768 * np.sqrt(2) * 10 ** (dbfs / 20)
    return array_to_pcm(amp * np.sin(2 * np.pi * freq * t))


def noise(ms: int, dbfs: float = -60.0, seed: int = 1) -> bytes:
    """White Gaussian noise at an RMS level."""
    n = np.random.default_rng(seed).standard_normal(SAMPLE_RATE * ms // 1000)
    return array_to_pcm(n * 32768 * 10 ** (dbfs / 20))


def cough(ms: int = 120, dbfs: float = -15.0, seed: int = 2) -> bytes:
    """A cough-like burst: loud, broadband, fast attack and decay."""
    n = np.random.default_rng(seed).standard_normal(SAMPLE_RATE * ms // 1000)
    env = np.exp(-np.linspace(0, 4, len(n)))
    return array_to_pcm(n * env * 32768 * 10 ** (dbfs / 20) * 2)


def scale(pcm: bytes, gain_db: float) -> bytes:
    """Change the level of PCM by `gain_db`."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return array_to_pcm(x * 10 ** (gain_db / 20))


def mix(a: bytes, b: bytes, offset_ms: int = 0) -> bytes:
    """a + b, with b starting `offset_ms` into a; the result is as long as the longer one."""
    xa = np.frombuffer(a, dtype="<i2").astype(np.float64)
    xb = np.frombuffer(b, dtype="<i2").astype(np.float64)
    off = SAMPLE_RATE * offset_ms // 1000
    out = np.zeros(max(len(xa), off + len(xb)))
    out[: len(xa)] += xa
    out[off : off + len(xb)] += xb
    return array_to_pcm(out)


def first_active_ms(pcm: bytes, threshold_dbfs: float = -40.0) -> int:
    """Start (ms) of the first 20 ms frame louder than the threshold: where speech really begins."""
    for i, f in enumerate(frames(pcm)):
        if rms_dbfs(f) > threshold_dbfs:
            return i * 20
    raise ValueError("no active frame")


def frame_list(pcm: bytes) -> list[bytes]:
    """20 ms frames of 16 kHz PCM."""
    return frames(pcm, FRAME_BYTES)
