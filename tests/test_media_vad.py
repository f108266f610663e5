"""Voice activity on generated audio, and the pre-roll gate in front of the recogniser."""

from __future__ import annotations

import pytest

from ari_agent.media import audio as A
from ari_agent.media.vad import Vad, VadConfig, VadGate
from tests.audio_fixtures import first_active_ms, noise, tone, tts


def test_vad_finds_flite_speech_and_not_silence() -> None:
    vad = Vad()
    speech = tts("Hello, I would like to book a table")
    flags = [vad.is_speech(f) for f in A.frames(speech)]
    assert sum(flags) * 20 > 800  # most of the voiced part
    assert not any(vad.is_speech(f) for f in A.frames(A.silence(1000)))
    assert not any(vad.is_speech(f) for f in A.frames(noise(1000, dbfs=-65)))


def test_energy_floor_rejects_quiet_frames_vad_would_accept() -> None:
    quiet_speech = A.array_to_pcm(A.pcm_to_array(tts("Hello there")) * 0.003)
    permissive = Vad(VadConfig(aggressiveness=0, energy_floor_dbfs=-120))
    floored = Vad(VadConfig(aggressiveness=0, energy_floor_dbfs=-50))
    frames = A.frames(quiet_speech)
    assert any(permissive.is_speech(f) for f in frames)
    assert not any(floored.is_speech(f) for f in frames)


def test_vad_rejects_bad_config_and_frame_size() -> None:
    with pytest.raises(ValueError):
        Vad(VadConfig(aggressiveness=4))
    with pytest.raises(ValueError):
        Vad().classify(b"\x00" * 100)
    frame = Vad().classify(tone(20, dbfs=-20))
    assert abs(frame.energy_dbfs + 20) < 0.5


def test_gate_releases_preroll_before_onset_and_skips_silence() -> None:
    vad = Vad()
    speech = tts("Book an appointment please")
    audio = A.silence(2000) + speech + A.silence(2000)
    gate = VadGate(preroll_ms=300, hangover_ms=400)
    out_index: list[int] = []
    frames = A.frames(audio)
    for i, f in enumerate(frames):
        released = gate.push(f, vad.is_speech(f))
        # Map released frames back to their position in the input.
        out_index += list(range(i - len(released) + 1, i + 1))
    first_out_ms = out_index[0] * 20
    onset_ms = 2000 + first_active_ms(speech)
    assert onset_ms - 320 <= first_out_ms <= onset_ms - 200  # ~300 ms of pre-roll before the onset
    assert out_index == sorted(set(out_index))  # in order, no frame twice
    # Silence before and after is (mostly) not decoded: the gate saves the recogniser that CPU.
    assert gate.frames_out < gate.frames_in - 150
    assert not gate.is_open


def test_gate_reset_forgets_preroll() -> None:
    gate = VadGate(preroll_ms=100)
    for _ in range(5):
        gate.push(b"\x01" * 640, False)
    gate.reset()
    assert gate.push(b"\x02" * 640, True) == [b"\x02" * 640]
