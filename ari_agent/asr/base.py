"""The streaming shape every speech recogniser shares: push audio, finish an utterance, close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AsrHint:
    """The expectation-constrained decoder's reading of an utterance (see asr.expectations)."""

    kind: str  # what was expected: one of asr.expectations.KINDS (when, yes_no, name, ...)
    text: str  # its words, the ones it was unsure of left out
    complete: bool  # every word of the turn fitted the expected phrases
    # The name decoder's reading, when names were listened for alongside (a read-back that names the caller:
    # "no, it's Helen Smith"); "" otherwise.
    name: str = ""

    def as_dict(self) -> dict[str, object]:
        """The JSON shape events, the transcript store and the dialogue's metadata (`asr_hint`) all use."""
        out: dict[str, object] = {"kind": self.kind, "text": self.text, "complete": self.complete}
        if self.name:
            out["name"] = self.name
        return out


@dataclass(frozen=True, slots=True)
class AsrResult:
    """The final hypothesis of one utterance."""

    text: str
    confidence: float  # 0..1, mean word confidence; 0 when nothing was recognised
    audio_ms: int  # audio fed for this utterance
    decode_ms: float  # CPU wall time spent decoding it
    hint: AsrHint | None = None  # None when no answer was expected
    # Share of the words the recogniser was unsure of (word confidence < UNSURE_WORD): a garbled turn has many,
    # even when its mean confidence looks fine.
    unsure: float = 0.0


UNSURE_WORD = 0.8


class AsrStream(Protocol):
    """One recogniser for one call. Methods are async because decoding runs off the event loop."""

    async def push(self, pcm16: bytes) -> str | None:
        """Feed signed 16-bit little-endian mono PCM at the engine's rate; returns a new partial text or None."""
        ...

    async def finish(self) -> AsrResult:
        """End the current utterance and return its final result; the stream is ready for the next one."""
        ...

    def expect(
        self, kind: str | None, *, with_name: bool = False, refused_names: frozenset[tuple[str, ...]] = frozenset()
    ) -> None:
        """What the next utterance is expected to answer (asr.expectations kinds), or None; may be ignored.
        `with_name`: listen for a name too (AsrHint.name), when the answer may correct one. `refused_names`:
        names (lower-case words; a half name is one word) the caller said were wrong: not heard again if the
        name decoder has another reading."""
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
