"""The recogniser hears the caller through a noise suppressor (media.denoise); everything else hears the line."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import pytest

from ari_agent.call.listener import Listener, ListenerConfig, NoInput, Utterance
from ari_agent.config import ConfigError, load_settings
from ari_agent.media.audio import FRAME_BYTES, frames, mix_noise, rms_dbfs
from ari_agent.media.denoise import NoiseSuppressor, suppressor
from tests.audio_fixtures import tts
from tests.fakes import SILENCE, FakeAsr, FakeAsrStream


def _white(seconds: float, dbfs: float, seed: int = 1) -> bytes:
    noise = np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 32768 * 10 ** (dbfs / 20)
    return noise.astype(np.int16).tobytes()


def _through(ns: NoiseSuppressor, pcm: bytes) -> bytes:
    return b"".join(ns.process(frame) for frame in frames(pcm))


def test_a_steady_noise_is_turned_down_once_learnt() -> None:
    noise = _white(2.0, -35.0)
    out = _through(NoiseSuppressor(2), noise)
    assert len(out) == len(noise)
    assert rms_dbfs(out[32000:]) <= rms_dbfs(noise[32000:]) - 6  # measured: 11.6 dB down


def test_speech_over_the_noise_keeps_its_level() -> None:
    speech = mix_noise(tts("I need an appointment for a cleaning on Monday at ten"), 15.0, seed=1, colour="white")
    out = _through(NoiseSuppressor(2), _white(2.0, -35.0) + speech)
    assert abs(rms_dbfs(out[64000:]) - rms_dbfs(speech)) <= 3  # measured: 1.6 dB


def test_bad_levels_and_frames_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match="expected one of 1, 2, 3, 4"):
        NoiseSuppressor(5)
    with pytest.raises(ValueError, match="10 ms"):
        NoiseSuppressor(2).process(bytes(100))
    assert suppressor(0, 16000) is None
    assert suppressor(2, 8000) is None  # the suppressor takes 16 kHz only
    assert isinstance(suppressor(2, 16000), NoiseSuppressor)


def test_the_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().asr.noise_suppression == 0  # off: README, Call behaviour
    monkeypatch.setenv("ARI_AGENT_ASR_NOISE_SUPPRESSION", "7")
    with pytest.raises(ConfigError, match=r"noise_suppression = 7: must be 0 \(off\) or 1 to 4"):
        load_settings()


@dataclass
class _Capture(FakeAsrStream):
    heard: list[bytes] = field(default_factory=list)

    async def push(self, pcm16: bytes) -> str | None:
        self.heard.append(pcm16)
        return await super().push(pcm16)


async def _turn(level: int, audio: bytes) -> tuple[Utterance, bytes]:
    asr = FakeAsr([])
    asr.stream = _Capture(["i need an appointment"])
    listener = Listener(asr, ListenerConfig(noise_suppression=level), on_barge_in=lambda _ms: None,
                        emit=lambda *a, **k: None)  # fmt: skip
    for frame in [*frames(audio), *[SILENCE] * 150]:
        await listener.feed(frame)
    while True:
        turn = await asyncio.wait_for(listener.next_utterance(), 1)
        if not isinstance(turn, NoInput):
            assert isinstance(asr.stream, _Capture)
            return turn, b"".join(asr.stream.heard)


async def test_only_the_recogniser_hears_the_cleaned_audio() -> None:
    line = _white(1.0, -40.0) + mix_noise(tts("I need an appointment"), 15.0, seed=2, colour="white")
    line = line[: len(line) - len(line) % FRAME_BYTES]
    plain, plain_heard = await _turn(0, line)
    cleaned, cleaned_heard = await _turn(2, line)
    # The turn is found where it was (the VAD hears the line either way) and recorded as the line carried it ...
    assert (cleaned.audio_start_ms, cleaned.audio_end_ms) == (plain.audio_start_ms, plain.audio_end_ms)
    assert cleaned.audio == plain.audio and cleaned.audio[:FRAME_BYTES] in line
    # ... while the recogniser got the same length of audio, cleaned.
    assert len(cleaned_heard) == len(plain_heard) and cleaned_heard != plain_heard
    assert plain_heard in line + SILENCE * 150  # without the suppressor, the line itself
