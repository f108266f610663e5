"""Prompt cache: synthesised speech as WAV files that Asterisk can play, keyed by engine, voice, rate and text."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .audio import duration_ms, wav_bytes
from .base import TtsEngine, TtsError

_LOGGER = logging.getLogger(__name__)

# Asterisk may run as another user (or inside a chroot owned by root): prompts must be world-readable.
_FILE_MODE = 0o644
_DIR_MODE = 0o755


_SUFFIXES = {8000: ".wav", 16000: ".wav16"}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One synthesised prompt on disk."""

    text: str
    path: Path  # the WAV on this host
    uri: str  # media URI for ARI play, as Asterisk sees the file: sound:<dir>/<name without .wav>
    duration_ms: int
    cached: bool  # True when the audio was ready on disk when it was asked for
    tts_ms: float  # wall time this request waited for synthesis (0 for a hit)


def prompt_key(engine: TtsEngine, text: str) -> str:
    """The cache key of `text` spoken by `engine`: 20 hex digits of a SHA-256."""
    material = "\0".join((engine.name, engine.voice, str(engine.sample_rate), text))
    return hashlib.sha256(material.encode()).hexdigest()[:20]


class PromptCache:
    """Synthesises each distinct prompt once, stores it atomically, and serves it by path and sound URI."""

    def __init__(self, engine: TtsEngine, directory: Path, asterisk_dir: str | None = None):
        self.engine = engine
        self.directory = Path(directory)
        # Asterisk may see the same files under another path (chroot, container volume).
        self.asterisk_dir = (asterisk_dir if asterisk_dir is not None else str(self.directory)).rstrip("/")
        self.hits = 0
        self.misses = 0
        self.syntheses = 0  # engine calls; fewer than misses when concurrent requests share one synthesis
        self._durations: dict[str, int] = {}  # key -> duration of a file known to be complete on disk
        self._inflight: dict[str, asyncio.Task[int]] = {}
        self._dir_ready = False
        # Asterisk picks the format by extension and refuses a 16 kHz file named .wav ("frequency mismatch":
        # ARI answers 201, then the playback fails); 16 kHz WAVs must be named .wav16.
        if engine.sample_rate not in _SUFFIXES:
            raise TtsError(f"{engine.name}: prompts must be 8000 or 16000 Hz for Asterisk, not {engine.sample_rate}")
        self._suffix = _SUFFIXES[engine.sample_rate]

    def path_for(self, text: str) -> Path:
        """Where the WAV of `text` lives (whether or not it exists yet)."""
        return self.directory / f"{prompt_key(self.engine, text)}{self._suffix}"

    def uri_for(self, text: str) -> str:
        """The sound URI Asterisk plays for `text`."""
        return f"sound:{self.asterisk_dir}/{prompt_key(self.engine, text)}"

    async def get(self, text: str) -> Prompt:
        """The prompt for `text`, synthesising it on a miss. Raises TtsError."""
        text = text.strip()
        key = prompt_key(self.engine, text)
        path = self.directory / f"{key}{self._suffix}"
        started = time.perf_counter()
        known = self._durations.get(key)
        if known is None and key not in self._inflight:
            known = await asyncio.to_thread(_read_duration, path, self.engine.sample_rate)
            if known is not None:
                self._durations[key] = known
        if known is not None:
            self.hits += 1
            return Prompt(text, path, self._uri(key), known, True, 0.0)
        self.misses += 1
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._render(key, text, path), name=f"tts-render-{key}")
            self._inflight[key] = task
            task.add_done_callback(self._render_done)
        # Shielded: a caller who hangs up must not cancel a synthesis other callers are waiting for.
        duration = await asyncio.shield(task)
        return Prompt(text, path, self._uri(key), duration, False, (time.perf_counter() - started) * 1000)

    async def prerender(self, texts: Iterable[str], concurrency: int = 2) -> list[Prompt]:
        """Synthesise fixed prompts (greeting, apologies...) at start-up; returns them in order."""
        limit = asyncio.Semaphore(concurrency)

        async def one(text: str) -> Prompt:
            async with limit:
                return await self.get(text)

        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(t), name="tts-prerender") for t in texts]
        prompts = [t.result() for t in tasks]
        _LOGGER.info(
            "prerendered %d prompts (%d synthesised) in %.0f ms",
            len(prompts),
            sum(not p.cached for p in prompts),
            (time.perf_counter() - started) * 1000,
        )
        return prompts

    async def aclose(self) -> None:
        """Cancel syntheses nobody waits for any more (shutdown)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _render_done(self, task: asyncio.Task[int]) -> None:
        # Keyed by the task name's suffix would be fragile: find the entry by identity.
        for key, running in list(self._inflight.items()):
            if running is task:
                del self._inflight[key]
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here so a failure whose waiters all hung up is logged once, not as "never retrieved".
            _LOGGER.warning("prompt synthesis failed: %s", task.exception())

    def _uri(self, key: str) -> str:
        return f"sound:{self.asterisk_dir}/{key}"

    async def _render(self, key: str, text: str, path: Path) -> int:
        """Synthesise `text` and store it at `path` atomically; returns its duration in ms."""
        self.syntheses += 1
        pcm = await self.engine.synthesize(text)
        if not pcm:
            raise TtsError(f"{self.engine.name}: synthesised no audio for {text[:40]!r}")
        data = wav_bytes(pcm, self.engine.sample_rate)
        await asyncio.to_thread(self._write_atomic, path, data)
        duration = duration_ms(pcm, self.engine.sample_rate)
        self._durations[key] = duration
        return duration

    def _write_atomic(self, path: Path, data: bytes) -> None:
        """Temp file in the same directory + rename: Asterisk never sees a half-written prompt."""
        if not self._dir_ready:
            if not self.directory.is_dir():
                self.directory.mkdir(parents=True, exist_ok=True)
                # mkdir's mode is cut by the umask; an admin's own directory is left as they made it.
                os.chmod(self.directory, _DIR_MODE)
            self._dir_ready = True
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _read_duration(path: Path, sample_rate: int) -> int | None:
    """Duration of a prompt already on disk (from an earlier run), or None if absent or unusable."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getframerate() != sample_rate or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                return None
            return wav.getnframes() * 1000 // sample_rate
    except FileNotFoundError:
        return None
    except (wave.Error, EOFError, OSError) as exc:
        _LOGGER.warning("ignoring unreadable cached prompt %s: %s", path, exc)
        return None
