"""The shape every speech synthesiser shares."""

from __future__ import annotations

from typing import Protocol


class TtsError(RuntimeError):
    """Synthesis failed; the message says why."""


class TtsEngine(Protocol):
    """Turns text into signed 16-bit little-endian mono PCM."""

    name: str  # engine name, part of the prompt-cache key
    voice: str  # voice name, part of the prompt-cache key
    sample_rate: int

    async def synthesize(self, text: str) -> bytes:
        """PCM of `text` at `sample_rate`. Raises TtsError."""
        ...
