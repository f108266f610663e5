"""Audio as the agent handles it: 16 kHz signed 16-bit little-endian mono PCM, plus the codecs around it.

Pure functions on bytes / numpy arrays: G.711 mu-law, 8 kHz <-> 16 kHz resampling, WAV files, noise at a
given SNR and a telephone-band (8 kHz mu-law) round trip used to test ASR under phone conditions.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
FRAME_BYTES = FRAME_SAMPLES * 2  # 640

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

# --- G.711 mu-law ---------------------------------------------------------------------------------------
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # 14-bit


def _build_ulaw_decode_table() -> Int16Array:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_ULAW_DECODE = _build_ulaw_decode_table()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law bytes -> signed 16-bit little-endian PCM (same sample rate)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    return _ULAW_DECODE[codes].astype("<i2").tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM -> G.711 mu-law bytes (same sample rate)."""
    # The reference (Sun g711.c) algorithm on 14-bit magnitudes, so codes match other G.711 encoders exactly.
    x = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    # Magnitudes past the top segment saturate at its last code (0x7F before the sign mask).
    mag = np.minimum(np.minimum(np.abs(x), _ULAW_CLIP) + (_ULAW_BIAS >> 2), 0x1FFF)
    segment = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 5, 0, 7)
    code = (segment << 4) | ((mag >> (segment + 1)) & 0x0F)
    return bytes((code ^ mask).astype(np.uint8).tobytes())


# --- PCM <-> arrays -------------------------------------------------------------------------------------
def pcm_to_array(pcm: bytes) -> Int16Array:
    """Little-endian s16 PCM bytes -> int16 array (a copy, native byte order)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


def array_to_pcm(samples: npt.NDArray[np.generic]) -> bytes:
    """Any numeric array -> little-endian s16 PCM bytes, rounded and clipped to the int16 range."""
    x = np.asarray(samples, dtype=np.float64)
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def swap16(data: bytes) -> bytes:
    """Byte-swap 16-bit samples (network-order slin16 from Asterisk -> little-endian)."""
    return np.frombuffer(data, dtype=">i2").astype("<i2").tobytes()


def rms_dbfs(pcm: bytes) -> float:
    """RMS level of s16 PCM in dB relative to full scale; -120 for digital silence."""
    if not pcm:
        return -120.0
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    power = float(np.mean(x * x))
    if power <= 0.0:
        return -120.0
    return max(-120.0, 10.0 * float(np.log10(power / (32768.0 * 32768.0))))


# --- resampling ------------------------------------------------------------------------------------------
def _halfband_lowpass(taps: int = 63) -> FloatArray:
    # Windowed-sinc low-pass at 16 kHz with the cut-off just under 4 kHz: the anti-alias / anti-image filter
    # for the factor-2 conversions. 63 taps gives > 50 dB stop-band, plenty for speech recognition.
    n = np.arange(taps) - (taps - 1) / 2
    cutoff = 3800.0 / SAMPLE_RATE  # normalised to the 16 kHz rate
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
    return np.asarray(h / h.sum(), dtype=np.float64)


_LOWPASS = _halfband_lowpass()
_LOWPASS_DELAY = (len(_LOWPASS) - 1) // 2


def _filter_same(x: FloatArray) -> FloatArray:
    """Zero-phase-delay FIR: the output is aligned with the input (edges see zero padding)."""
    full = np.convolve(x, _LOWPASS)
    return np.asarray(full[_LOWPASS_DELAY : _LOWPASS_DELAY + len(x)], dtype=np.float64)


def upsample_8k_to_16k(pcm8k: bytes) -> bytes:
    """8 kHz s16 PCM -> 16 kHz s16 PCM (zero-stuffing + low-pass), for whole buffers."""
    x = pcm_to_array(pcm8k).astype(np.float64)
    up = np.zeros(len(x) * 2, dtype=np.float64)
    up[::2] = x * 2.0  # gain 2 restores the level lost to zero-stuffing
    return array_to_pcm(_filter_same(up))


def downsample_16k_to_8k(pcm16k: bytes) -> bytes:
    """16 kHz s16 PCM -> 8 kHz s16 PCM (low-pass + decimation), for whole buffers."""
    x = pcm_to_array(pcm16k).astype(np.float64)
    return array_to_pcm(_filter_same(x)[::2])


class Upsampler:
    """8 kHz -> 16 kHz for a stream of packets: keeps filter history so packet edges leave no clicks.

    The output lags the input by the filter's group delay (31 samples at 16 kHz, about 2 ms).
    """

    def __init__(self) -> None:
        self._history = np.zeros(len(_LOWPASS) - 1, dtype=np.float64)

    def process(self, pcm8k: bytes) -> bytes:
        """Upsample one chunk; the output has exactly twice as many samples."""
        x = pcm_to_array(pcm8k).astype(np.float64)
        up = np.zeros(len(x) * 2, dtype=np.float64)
        up[::2] = x * 2.0
        buf = np.concatenate([self._history, up])
        out = np.convolve(buf, _LOWPASS, mode="valid")
        self._history = buf[len(buf) - (len(_LOWPASS) - 1) :]
        return array_to_pcm(out)


# --- WAV files -------------------------------------------------------------------------------------------
def read_wav(path: str | Path) -> bytes:
    """A mono 16-bit WAV at 8 or 16 kHz -> 16 kHz s16le PCM. Raises ValueError for anything else."""
    with wave.open(str(path), "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        data = w.readframes(w.getnframes())
    if channels != 1 or width != 2:
        raise ValueError(f"{path}: need mono 16-bit PCM, got {channels} channel(s) of {width * 8} bit")
    if rate == SAMPLE_RATE:
        return data
    if rate == 8000:
        return upsample_8k_to_16k(data)
    raise ValueError(f"{path}: sample rate {rate} Hz not supported (8000 or 16000)")


def write_wav(path: str | Path, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> None:
    """Write s16le mono PCM as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)


# --- test conditions ------------------------------------------------------------------------------------
def active_power(pcm: bytes, frame_samples: int = FRAME_SAMPLES, range_db: float = 30.0) -> float:
    """Mean power of the frames within `range_db` of the loudest one: speech level without the pauses."""
    x = pcm_to_array(pcm).astype(np.float64)
    n = len(x) // frame_samples
    if n == 0:
        return float(np.mean(x * x)) if len(x) else 0.0
    frames = x[: n * frame_samples].reshape(n, frame_samples)
    powers = np.mean(frames * frames, axis=1)
    peak = float(powers.max())
    if peak <= 0.0:
        return 0.0
    active = powers[powers >= peak * 10 ** (-range_db / 10)]
    return float(active.mean())


def coloured_noise(n: int, colour: str = "white", seed: int = 0) -> FloatArray:
    """Unit-variance Gaussian noise: white (flat), pink (-3 dB/octave, like room noise) or brown (-6 dB/octave)."""
    white = np.random.default_rng(seed).standard_normal(n)
    if colour == "white" or n < 2:
        return np.asarray(white, dtype=np.float64)
    exponent = {"pink": 0.5, "brown": 1.0}.get(colour)
    if exponent is None:
        raise ValueError(f"unknown noise colour {colour!r} (white, pink, brown)")
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]  # no infinite gain at DC
    shaped = np.fft.irfft(spectrum / f**exponent, n)
    return np.asarray(shaped / np.std(shaped), dtype=np.float64)


def mix_noise(pcm: bytes, snr_db: float, seed: int = 0, noise: bytes | None = None, colour: str = "white") -> bytes:
    """Add noise (Gaussian of `colour`, or `noise` looped) at `snr_db` relative to the active speech level."""
    x = pcm_to_array(pcm).astype(np.float64)
    if len(x) == 0:
        return pcm
    if noise is None:
        n = coloured_noise(len(x), colour, seed)
    else:
        base = pcm_to_array(noise).astype(np.float64)
        if len(base) == 0:
            raise ValueError("noise is empty")
        n = np.resize(base, len(x))
    noise_power = float(np.mean(n * n))
    if noise_power <= 0.0:
        return pcm
    target = active_power(pcm) / (10 ** (snr_db / 10))
    return array_to_pcm(x + n * np.sqrt(target / noise_power))


class HighBandFill:
    """Adds faint noise above 4 kHz to telephone-band audio before a wideband (16 kHz) recogniser.

    Audio that crossed an 8 kHz leg has an empty 4-8 kHz band, which a model trained on wideband speech never
    saw, and in noise its accuracy collapses. Filling the band at -50 dBFS brings back statistics it knows.
    Measured on the small English Vosk model (3 flite sentences x 3 seeds, keyword recall), phone line with
    noise added before it at 15 dB SNR: pink 0.20 -> 0.56, white 0.02 -> 0.40; but clean wideband 1.00 -> 0.93
    and a clean phone line 0.89 -> 0.80: use it for noisy narrowband callers only. The noise is one second of
    circular (FFT-shaped) noise, looped seamlessly.
    """

    def __init__(self, level_dbfs: float = -50.0, seed: int = 0) -> None:
        n = SAMPLE_RATE
        spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
        spectrum[np.fft.rfftfreq(n, 1 / SAMPLE_RATE) < 4000] = 0
        shaped = np.fft.irfft(spectrum, n)
        self._noise = shaped / np.std(shaped) * 32768 * 10 ** (level_dbfs / 20)
        self._pos = 0

    def process(self, pcm: bytes) -> bytes:
        """Return `pcm` with the high-band noise added (continuing where the last chunk stopped)."""
        x = pcm_to_array(pcm).astype(np.float64)
        idx = (self._pos + np.arange(len(x))) % len(self._noise)
        self._pos = (self._pos + len(x)) % len(self._noise)
        return array_to_pcm(x + self._noise[idx])


def telephone_roundtrip(pcm16k: bytes) -> bytes:
    """Simulate a phone line: 16 kHz -> 8 kHz -> G.711 mu-law -> 8 kHz -> 16 kHz."""
    return upsample_8k_to_16k(ulaw_decode(ulaw_encode(downsample_16k_to_8k(pcm16k))))


def frames(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """Split PCM into whole frames (20 ms at 16 kHz by default); a short tail is zero-padded."""
    out = [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]
    if out and len(out[-1]) < frame_bytes:
        out[-1] = out[-1] + b"\x00" * (frame_bytes - len(out[-1]))
    return out


def silence(ms: int, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Digital silence of `ms` milliseconds."""
    return b"\x00\x00" * (sample_rate * ms // 1000)
