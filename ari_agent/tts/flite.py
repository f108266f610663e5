"""Offline synthesis by the flite and espeak-ng command-line programs, run as asyncio subprocesses."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .audio import read_wav, resample
from .base import TtsError

_LOGGER = logging.getLogger(__name__)

# Prompts longer than this are a bug upstream (a whole transcript passed as a reply), not speech.
MAX_TEXT_CHARS = 2000


class _CommandTts:
    """Runs one synthesiser process per utterance: text file in, WAV file out, PCM at the engine rate."""

    name = "command"
    debian_package = ""

    def __init__(self, voice: str, sample_rate: int, binary: str, timeout: float, extra_args: Sequence[str]):
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.voice = voice
        self.sample_rate = sample_rate
        self.binary = binary
        self.timeout = timeout
        self.extra_args = tuple(extra_args)
        self._checked = False
        self._check_lock = asyncio.Lock()

    def _command(self, text_file: Path, wav_file: Path) -> list[str]:
        raise NotImplementedError

    async def _check_voice(self, binary: str) -> None:
        """Raise TtsError when the configured voice is not installed."""

    async def check(self) -> None:
        """Verify once that the program and the voice are installed; raises TtsError with the fix."""
        if self._checked:
            return
        async with self._check_lock:
            if self._checked:
                return
            binary = shutil.which(self.binary)
            if binary is None:
                raise TtsError(
                    f"{self.name}: program {self.binary!r} not found: install Debian package {self.debian_package}"
                )
            await self._check_voice(binary)
            self._checked = True

    async def synthesize(self, text: str) -> bytes:
        """PCM of `text` at `sample_rate`. Raises TtsError."""
        text = text.strip()
        if not text:
            raise TtsError(f"{self.name}: nothing to say (empty text)")
        if len(text) > MAX_TEXT_CHARS:
            raise TtsError(f"{self.name}: text of {len(text)} characters exceeds {MAX_TEXT_CHARS}")
        await self.check()
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ari-agent-tts-") as tmp:
            text_file = Path(tmp) / "text.txt"
            wav_file = Path(tmp) / "out.wav"
            # A file, not argv: text starting with "-" or holding shell-ish characters is passed verbatim.
            await asyncio.to_thread(text_file.write_text, text + "\n", "utf-8")
            await _run(self._command(text_file, wav_file), self.timeout, self.name)
            try:
                data = await asyncio.to_thread(wav_file.read_bytes)
            except FileNotFoundError:
                raise TtsError(f"{self.name}: produced no audio file") from None
        pcm, rate = read_wav(data)
        if rate != self.sample_rate:
            pcm = await asyncio.to_thread(resample, pcm, rate, self.sample_rate)
        _LOGGER.debug(
            "%s synthesised %d chars in %.0f ms", self.name, len(text), (time.perf_counter() - started) * 1000
        )
        return pcm


async def _run(argv: list[str], timeout: float, name: str) -> bytes:
    """Run a synthesiser to completion; kills it on timeout or cancellation; returns its stdout."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        raise TtsError(f"{name}: program {argv[0]!r} not found") from None
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        raise TtsError(f"{name}: no result within {timeout:.1f} s") from None
    finally:
        # Also on cancellation (caller hung up): never leave a synthesiser running.
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise TtsError(f"{name} exited with {proc.returncode}: {message[-1] if message else 'no message'}")
    return out


class FliteTts(_CommandTts):
    """Festival-lite voices (slt, kal16, rms, awb, or a path to a .flitevox file)."""

    name = "flite"
    debian_package = "flite"

    def __init__(
        self,
        voice: str = "slt",
        sample_rate: int = 16000,
        binary: str = "flite",
        timeout: float = 10.0,
        extra_args: Sequence[str] = (),
    ):
        super().__init__(voice, sample_rate, binary, timeout, extra_args)

    async def _check_voice(self, binary: str) -> None:
        """Raise TtsError for an unknown voice: flite itself silently falls back to its default voice."""
        if "/" in self.voice:
            if not await asyncio.to_thread(Path(self.voice).is_file):
                raise TtsError(f"flite: voice file {self.voice} does not exist")
            return
        out = await _run([binary, "-lv"], self.timeout, self.name)
        # Output: "Voices available: kal awb_time kal16 awb rms slt "
        voices = out.decode(errors="replace").split(":", 1)[-1].split()
        if self.voice not in voices:
            raise TtsError(f"flite: voice {self.voice!r} not available (have: {', '.join(voices)})")

    def _command(self, text_file: Path, wav_file: Path) -> list[str]:
        return [self.binary, "-voice", self.voice, *self.extra_args, "-f", str(text_file), "-o", str(wav_file)]


class EspeakTts(_CommandTts):
    """espeak-ng voices (e.g. en-us, en-gb, en-us+f3): robotic but distinct, handy for test callers."""

    name = "espeak-ng"
    debian_package = "espeak-ng"

    def __init__(
        self,
        voice: str = "en-us",
        sample_rate: int = 16000,
        binary: str = "espeak-ng",
        timeout: float = 10.0,
        extra_args: Sequence[str] = (),
        words_per_minute: int = 160,
    ):
        super().__init__(voice, sample_rate, binary, timeout, extra_args)
        self.words_per_minute = words_per_minute

    async def _check_voice(self, binary: str) -> None:
        """espeak-ng reports an unknown voice itself with a clear message: nothing to pre-check."""

    def _command(self, text_file: Path, wav_file: Path) -> list[str]:
        return [
            self.binary,
            "-v",
            self.voice,
            "-s",
            str(self.words_per_minute),
            *self.extra_args,
            "-f",
            str(text_file),
            "-w",
            str(wav_file),
        ]
