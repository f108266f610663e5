"""Frame-level voice activity: WebRTC's VAD behind an energy floor, plus the pre-roll gate in front of ASR."""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass

import webrtcvad

from ari_agent.media.audio import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, rms_dbfs

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Voice-activity settings."""

    aggressiveness: int = 2  # webrtcvad mode 0 (permissive) .. 3 (strict)
    # WebRTC's VAD flags low-level hiss and comfort noise as speech; nothing quieter than this is speech.
    energy_floor_dbfs: float = -50.0
    sample_rate: int = SAMPLE_RATE
    frame_ms: int = FRAME_MS


@dataclass(frozen=True, slots=True)
class VadFrame:
    """One classified frame."""

    is_speech: bool
    energy_dbfs: float


class Vad:
    """Classifies 10/20/30 ms frames of s16le PCM as speech or not."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        if not 0 <= self.config.aggressiveness <= 3:
            raise ValueError(f"VAD aggressiveness must be 0..3, got {self.config.aggressiveness}")
        if self.config.frame_ms not in (10, 20, 30):
            raise ValueError(f"VAD frames must be 10, 20 or 30 ms, got {self.config.frame_ms}")
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self.frame_bytes = self.config.sample_rate * self.config.frame_ms // 1000 * 2

    def classify(self, frame: bytes) -> VadFrame:
        """Speech decision and level of one frame."""
        if len(frame) != self.frame_bytes:
            raise ValueError(f"VAD frame must be {self.frame_bytes} bytes, got {len(frame)}")
        energy = rms_dbfs(frame)
        if energy < self.config.energy_floor_dbfs:
            return VadFrame(False, energy)
        return VadFrame(bool(self._vad.is_speech(frame, self.config.sample_rate)), energy)

    def is_speech(self, frame: bytes) -> bool:
        """True when the frame holds speech."""
        return self.classify(frame).is_speech


class VadGate:
    """Passes only speech (plus padding) on to the recogniser, so Vosk does not burn CPU decoding silence.

    While closed it keeps the last `preroll_ms` of audio; the first speech frame opens it and releases that
    pre-roll first (onsets are quiet and the VAD flags them late). It closes after `hangover_ms` of non-speech.
    """

    def __init__(self, preroll_ms: int = 300, hangover_ms: int = 400, frame_ms: int = FRAME_MS) -> None:
        self.frame_ms = frame_ms
        self._preroll: collections.deque[bytes] = collections.deque(maxlen=max(1, preroll_ms // frame_ms))
        self._hangover_frames = max(1, hangover_ms // frame_ms)
        self._silent_frames = 0
        self.is_open = False
        self.frames_in = 0
        self.frames_out = 0

    def push(self, frame: bytes, is_speech: bool) -> list[bytes]:
        """Feed one frame; returns the frames to decode now (possibly none)."""
        self.frames_in += 1
        out: list[bytes]
        if self.is_open:
            out = [frame]
            self._silent_frames = 0 if is_speech else self._silent_frames + 1
            if self._silent_frames >= self._hangover_frames:
                self.is_open = False
                self._preroll.clear()
        elif is_speech:
            out = [*self._preroll, frame]
            self._preroll.clear()
            self.is_open = True
            self._silent_frames = 0
        else:
            self._preroll.append(frame)
            out = []
        self.frames_out += len(out)
        return out

    def reset(self) -> None:
        """Close the gate and forget the pre-roll (a new utterance starts from scratch)."""
        self._preroll.clear()
        self.is_open = False
        self._silent_frames = 0


__all__ = ["FRAME_BYTES", "Vad", "VadConfig", "VadFrame", "VadGate"]
