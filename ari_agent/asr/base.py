"""The streaming shape every speech recogniser shares: push audio, finish an utterance, close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AsrResult:
    """The final hypothesis of one utterance."""

    text: str
    confidence: float  # 0..1, mean word confidence; 0 when nothing was recognised
    audio_ms: int  # audio fed for this utterance
    decode_ms: float  # CPU wall time spent decoding it


class AsrStream(Protocol):
    """One recogniser for one call. Methods are async because decoding runs off the event loop."""

    async def push(self, pcm16: bytes) -> str | None:
        """Feed signed 16-bit little-endian mono PCM at the engine's rate; returns a new partial text or None."""
        ...

    async def finish(self) -> AsrResult:
        """End the current utterance and return its final result; the stream is ready for the next one."""
        ...

    def close(self) -> None:
        """Release the recogniser."""
        ...


class AsrEngine(Protocol):
    """A loaded model shared by all calls."""

    sample_rate: int

    def new_stream(self) -> AsrStream:
        """A recogniser for one call."""
        ...
