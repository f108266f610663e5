"""TTS engines (real flite and espeak-ng binaries), WAV parsing and resampling."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from ari_agent.tts.audio import duration_ms, read_wav, resample, wav_bytes
from ari_agent.tts.base import TtsError
from ari_agent.tts.coqui import CoquiTts
from ari_agent.tts.flite import EspeakTts, FliteTts

SENTENCE = "Thank you for calling. How can I help you today?"


def _tone(freq: float, rate: int, seconds: float, amplitude: float = 10000.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def _dominant_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def _rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


# --- resampling and WAV --------------------------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst"), [(22050, 16000), (8000, 16000), (16000, 8000), (24000, 16000)])
def test_resample_keeps_frequency_amplitude_and_length(src: int, dst: int) -> None:
    pcm = _tone(1000.0, src, 1.0)
    out = resample(pcm, src, dst)
    assert len(out) // 2 == src * dst // src  # one second in, one second out
    assert _dominant_hz(out, dst) == pytest.approx(1000.0, abs=2.0)
    assert _rms(out[400:-400]) == pytest.approx(_rms(pcm[400:-400]), rel=0.01)


def test_resample_down_removes_what_the_new_rate_cannot_carry() -> None:
    # 5 kHz does not exist at 8 kHz: it must be filtered, not folded back to 3 kHz.
    out = resample(_tone(5000.0, 16000, 1.0), 16000, 8000)
    assert _rms(out[400:-400]) < 0.02 * 10000 / np.sqrt(2)


def test_resample_same_rate_and_empty_are_identity() -> None:
    pcm = _tone(440.0, 16000, 0.1)
    assert resample(pcm, 16000, 16000) == pcm
    assert resample(b"", 8000, 16000) == b""


def test_wav_round_trip_and_duration() -> None:
    pcm = _tone(300.0, 16000, 0.25)
    assert read_wav(wav_bytes(pcm, 16000)) == (pcm, 16000)
    assert duration_ms(pcm, 16000) == 250


def test_read_wav_accepts_streamed_header_and_mixes_stereo_down() -> None:
    left = np.full(100, 1000, dtype="<i2")
    right = np.full(100, 3000, dtype="<i2")
    frames = np.stack([left, right], axis=1).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 2, 22050, 22050 * 4, 4, 16)
    # Sizes of 0x7FFFFFFF, as espeak-ng writes when it streams to stdout.
    data = b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    data += b"data" + struct.pack("<I", 0x7FFFFFFF) + frames
    pcm, rate = read_wav(data)
    assert rate == 22050
    assert np.frombuffer(pcm, dtype="<i2").tolist() == [2000] * 100


def test_read_wav_rejects_what_it_cannot_play() -> None:
    with pytest.raises(TtsError):
        read_wav(b"not a wav file at all, just some bytes that are long enough")
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)  # 32-bit float
    data = b"RIFF" + struct.pack("<I", 36) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    data += b"data" + struct.pack("<I", 8) + b"\0" * 8
    with pytest.raises(TtsError, match="unsupported"):
        read_wav(data)


# --- flite -----------------------------------------------------------------------------------------------


async def test_flite_speaks_at_the_engine_rate() -> None:
    engine = FliteTts()
    pcm = await engine.synthesize(SENTENCE)
    seconds = len(pcm) / 2 / 16000
    assert 1.5 < seconds < 6.0  # ten words of speech
    assert _rms(pcm) > 300  # speech, not silence


async def test_flite_resamples_8k_voice_and_8k_engine() -> None:
    """kal is an 8 kHz voice; slt is 16 kHz: both must come out at the engine rate with the same length."""
    kal16k = await FliteTts(voice="kal", sample_rate=16000).synthesize(SENTENCE)
    kal8k = await FliteTts(voice="kal", sample_rate=8000).synthesize(SENTENCE)
    slt8k = await FliteTts(voice="slt", sample_rate=8000).synthesize(SENTENCE)
    assert len(kal16k) == pytest.approx(2 * len(kal8k), abs=4)
    assert _rms(kal16k) > 300 and _rms(slt8k) > 300
    # Resampled speech keeps its energy below 4 kHz: the upsampled copy holds almost nothing above it.
    x = np.frombuffer(kal16k, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    assert spectrum[freqs > 4200].sum() < 0.01 * spectrum.sum()


async def test_flite_unknown_voice_is_an_error_not_a_silent_fallback() -> None:
    with pytest.raises(TtsError, match="not available"):
        await FliteTts(voice="nosuchvoice").synthesize(SENTENCE)


async def test_flite_missing_binary_says_what_to_install() -> None:
    with pytest.raises(TtsError, match="install Debian package flite"):
        await FliteTts(binary="flite-not-installed-here").synthesize(SENTENCE)


async def test_empty_and_oversized_text_are_errors() -> None:
    engine = FliteTts()
    with pytest.raises(TtsError, match="empty"):
        await engine.synthesize("   ")
    with pytest.raises(TtsError, match="exceeds"):
        await engine.synthesize("word " * 1000)


async def test_text_is_passed_verbatim_not_as_options(tmp_path: Path) -> None:
    # Leading dashes and shell characters must be spoken (or ignored), never parsed as flite options.
    marker = tmp_path / "pwned"
    pcm = await FliteTts().synthesize(f"-o {tmp_path}/out.wav; $(touch {marker}) `touch {marker}`")
    assert len(pcm) > 16000
    assert not marker.exists()
    assert not (tmp_path / "out.wav").exists()


def _fake_synth(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-synth"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-lv" ]; then echo "Voices available: slt"; exit 0; fi\n'
        f'echo $$ > "{tmp_path}/pid"\n' + body
    )
    script.chmod(0o755)
    return script


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): read its state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


async def test_hung_synthesiser_is_killed_on_timeout(tmp_path: Path) -> None:
    engine = FliteTts(binary=str(_fake_synth(tmp_path, "exec sleep 30\n")), timeout=0.5)
    with pytest.raises(TtsError, match="no result within"):
        await engine.synthesize(SENTENCE)
    assert not _alive(int((tmp_path / "pid").read_text()))


async def test_cancelled_synthesis_kills_the_process(tmp_path: Path) -> None:
    engine = FliteTts(binary=str(_fake_synth(tmp_path, "exec sleep 30\n")), timeout=30)
    task = asyncio.create_task(engine.synthesize(SENTENCE))
    for _ in range(200):
        if (tmp_path / "pid").exists():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int((tmp_path / "pid").read_text()))


async def test_failing_synthesiser_reports_its_message(tmp_path: Path) -> None:
    engine = FliteTts(binary=str(_fake_synth(tmp_path, 'echo "cannot open lexicon" >&2\nexit 3\n')))
    with pytest.raises(TtsError, match="exited with 3: cannot open lexicon"):
        await engine.synthesize(SENTENCE)


# --- espeak-ng -------------------------------------------------------------------------------------------


async def test_espeak_speaks_at_the_engine_rate_from_its_native_22050() -> None:
    pcm16 = await EspeakTts(sample_rate=16000).synthesize(SENTENCE)
    pcm8 = await EspeakTts(sample_rate=8000).synthesize(SENTENCE)
    assert 1.5 < len(pcm16) / 2 / 16000 < 6.0
    assert len(pcm16) == pytest.approx(2 * len(pcm8), abs=4)
    assert _rms(pcm16) > 300


async def test_espeak_voice_changes_the_audio() -> None:
    us = await EspeakTts(voice="en-us").synthesize(SENTENCE)
    female = await EspeakTts(voice="en-us+f3").synthesize(SENTENCE)
    assert us != female


async def test_espeak_unknown_voice_is_an_error() -> None:
    with pytest.raises(TtsError, match="espeak-ng exited"):
        await EspeakTts(voice="xx-nosuch").synthesize(SENTENCE)


def test_espeak_and_flite_are_installed() -> None:
    """The engines above need the Debian packages; say so plainly rather than in a subprocess error."""
    assert shutil.which("flite"), "install Debian package flite"
    assert shutil.which("espeak-ng"), "install Debian package espeak-ng"


def test_flite_wav_is_what_the_engine_returns(tmp_path: Path) -> None:
    """The same text through the flite command line, read with the wave module, equals the engine's PCM."""
    text_file = tmp_path / "t.txt"
    text_file.write_text(SENTENCE + "\n")
    wav_file = tmp_path / "o.wav"
    subprocess.run(["flite", "-voice", "slt", "-f", str(text_file), "-o", str(wav_file)], check=True)
    with wave.open(str(wav_file)) as wav:
        assert wav.getframerate() == 16000
        direct = wav.readframes(wav.getnframes())
    assert asyncio.run(FliteTts().synthesize(SENTENCE)) == direct


# --- coqui without the extra ------------------------------------------------------------------------------


async def test_coqui_missing_model_is_a_tts_error(tmp_path: Path) -> None:
    """Without the extra the import fails; with it, the model path does: either way a TtsError, no crash."""
    engine = CoquiTts(tmp_path / "none.pth", tmp_path / "none.json")
    try:
        with pytest.raises(TtsError, match="coqui"):
            await engine.synthesize(SENTENCE)
    finally:
        engine.close()
