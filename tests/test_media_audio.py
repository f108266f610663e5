"""Codecs, resampling, WAV helpers and test conditions of ari_agent.media.audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ari_agent.media import audio as A
from tests.audio_fixtures import noise, tone, tts


def _snr_db(ref: bytes, test: bytes, trim: int = 200) -> float:
    a = A.pcm_to_array(ref).astype(np.float64)[trim:-trim]
    b = A.pcm_to_array(test).astype(np.float64)[trim:-trim]
    return float(10 * np.log10(np.sum(a * a) / np.sum((a - b) ** 2)))


def test_ulaw_decode_table_known_values() -> None:
    # G.711: 0xFF and 0x7F are the two zeros, 0x00 / 0x80 the extremes.
    assert A.pcm_to_array(A.ulaw_decode(bytes([0xFF, 0x7F, 0x00, 0x80]))).tolist() == [0, 0, -32124, 32124]


def test_ulaw_encode_inverts_decode_for_every_code() -> None:
    codes = bytes(c for c in range(256) if c != 0x7F)  # 0x7F (-0) re-encodes as 0xFF (+0)
    assert A.ulaw_encode(A.ulaw_decode(codes)) == codes


def test_ulaw_round_trip_error_is_logarithmic() -> None:
    x = np.arange(-32768, 32768, 7, dtype=np.int64)
    y = A.pcm_to_array(A.ulaw_decode(A.ulaw_encode(A.array_to_pcm(x)))).astype(np.int64)
    # Quantisation step grows with the segment: error stays within ~3.2 % of the magnitude (plus the bias).
    assert np.all(np.abs(y - x) <= np.abs(x) * 0.032 + 16)
    assert np.all(np.sign(y[np.abs(x) > 16]) == np.sign(x[np.abs(x) > 16]))


def test_ulaw_round_trip_snr_on_speech() -> None:
    speech = tts("Testing the telephone codec")
    assert _snr_db(speech, A.ulaw_decode(A.ulaw_encode(speech))) > 30


def test_resample_keeps_in_band_tone() -> None:
    pcm = tone(1000, freq=1234.5, dbfs=-12)
    down = A.downsample_16k_to_8k(pcm)
    assert len(down) * 2 == len(pcm)
    up = A.upsample_8k_to_16k(down)
    assert len(up) == len(pcm)
    assert _snr_db(pcm, up) > 40
    assert abs(A.rms_dbfs(up) - A.rms_dbfs(pcm)) < 0.2


def test_downsample_removes_out_of_band_tone() -> None:
    pcm = tone(1000, freq=6000, dbfs=-12)
    assert A.rms_dbfs(A.downsample_16k_to_8k(pcm)) < -12 - 40


def test_streaming_upsampler_equals_batch_upsampling_shifted_by_group_delay() -> None:
    pcm8k = A.downsample_16k_to_8k(tone(400, freq=700, dbfs=-10))
    upsampler = A.Upsampler()
    streamed = b"".join(upsampler.process(pcm8k[i : i + 320]) for i in range(0, len(pcm8k), 320))
    batch = A.pcm_to_array(A.upsample_8k_to_16k(pcm8k))
    s = A.pcm_to_array(streamed)
    assert len(s) == len(batch)
    assert np.max(np.abs(s[31:].astype(int) - batch[:-31].astype(int))) <= 1


def test_swap16_converts_network_order() -> None:
    assert A.swap16(b"\x01\x02\xff\xfe") == b"\x02\x01\xfe\xff"
    assert A.pcm_to_array(A.swap16((1000).to_bytes(2, "big", signed=True))).tolist() == [1000]


def test_wav_round_trip_and_8k_input(tmp_path: Path) -> None:
    pcm = tone(300, dbfs=-10)
    A.write_wav(tmp_path / "a.wav", pcm)
    assert A.read_wav(tmp_path / "a.wav") == pcm
    A.write_wav(tmp_path / "b.wav", A.downsample_16k_to_8k(pcm), sample_rate=8000)
    assert len(A.read_wav(tmp_path / "b.wav")) == len(pcm)
    A.write_wav(tmp_path / "c.wav", pcm, sample_rate=22050)
    with pytest.raises(ValueError, match="22050"):
        A.read_wav(tmp_path / "c.wav")


def test_mix_noise_hits_requested_snr() -> None:
    clean = tone(1000, dbfs=-20)
    for snr in (0.0, 15.0, 30.0):
        noisy = A.mix_noise(clean, snr, seed=3)
        residual = A.array_to_pcm(A.pcm_to_array(noisy).astype(np.float64) - A.pcm_to_array(clean))
        measured = A.rms_dbfs(clean) - A.rms_dbfs(residual)
        assert abs(measured - snr) < 0.3, (snr, measured)


def test_active_power_ignores_pauses() -> None:
    speech_like = tone(500, dbfs=-20) + A.silence(1500)
    assert abs(10 * np.log10(A.active_power(speech_like) / 32768**2) - (-20)) < 0.3


def test_telephone_roundtrip_keeps_speech_band() -> None:
    speech = tts("Telephone band simulation")
    out = A.telephone_roundtrip(speech)
    assert len(out) == len(speech)
    assert abs(A.rms_dbfs(out) - A.rms_dbfs(speech)) < 3
    assert A.rms_dbfs(A.telephone_roundtrip(tone(500, freq=7000, dbfs=-10))) < -45


def test_frames_pad_the_tail_and_rms_of_silence() -> None:
    fr = A.frames(noise(50))
    assert [len(f) for f in fr] == [640, 640, 640]
    assert A.rms_dbfs(A.silence(20)) == -120.0
