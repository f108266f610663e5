"""Coqui TTS (neural voices such as VITS) behind the TtsEngine shape; needs the optional `coqui` extra."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .audio import resample
from .base import TtsError

_LOGGER = logging.getLogger(__name__)

_INSTALL_HINT = (
    "install the tested set: pip install --require-hashes -r requirements/coqui.lock "
    "(coqui-tts, with torch and torchaudio of the same build; pip install 'ari-agent[coqui]' pins those too)"
)


class CoquiTts:
    """A local Coqui model (checkpoint + config.json) synthesised in a worker thread, resampled to the engine rate."""

    name = "coqui"

    def __init__(
        self,
        model_path: str | Path,
        config_path: str | Path,
        sample_rate: int = 16000,
        voice: str | None = None,
        speaker: str | None = None,
        language: str | None = None,
        threads: int | None = None,
        timeout: float = 30.0,
    ):
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.model_path = Path(model_path)
        self.config_path = Path(config_path)
        self.sample_rate = sample_rate
        self.speaker = speaker
        self.language = language
        self.threads = threads
        self.timeout = timeout
        # The voice is part of the prompt-cache key: default to the model's directory and file names.
        self.voice = voice or f"{self.model_path.parent.name}/{self.model_path.stem}" + (
            f"/{speaker}" if speaker else ""
        )
        self._model: Any = None
        self._load_lock = asyncio.Lock()
        # One worker: a Coqui model is not safe to run from two threads at once, and torch already
        # spreads one synthesis over the cores.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coqui-tts")

    async def load(self) -> None:
        """Import Coqui and load the model (seconds: call it at start-up). Raises TtsError."""
        if self._model is not None:
            return
        async with self._load_lock:
            if self._model is None:
                loop = asyncio.get_running_loop()
                started = time.perf_counter()
                self._model = await loop.run_in_executor(self._executor, self._load_blocking)
                _LOGGER.info("coqui model %s loaded in %.1f s", self.model_path, time.perf_counter() - started)

    def _load_blocking(self) -> Any:
        try:
            # Imported here: torch is large and optional; the agent must start without it.
            from TTS.api import TTS
        except ImportError as exc:
            raise TtsError(f"coqui: cannot import TTS ({exc}): {_INSTALL_HINT}") from exc
        if self.threads:
            # Via importlib: torch ships no stubs for the agent's own venv, where it is not installed.
            importlib.import_module("torch").set_num_threads(self.threads)
        for path in (self.model_path, self.config_path):
            if not path.exists():
                raise TtsError(f"coqui: {path} does not exist")
        try:
            return TTS(model_path=str(self.model_path), config_path=str(self.config_path), progress_bar=False)
        except Exception as exc:
            raise TtsError(f"coqui: cannot load {self.model_path}: {exc}") from exc

    @property
    def model_sample_rate(self) -> int:
        """The rate the model synthesises at (known after load)."""
        if self._model is None:
            raise TtsError("coqui: model not loaded")
        return int(self._model.synthesizer.output_sample_rate)

    async def synthesize(self, text: str) -> bytes:
        """PCM of `text` at `sample_rate`. Raises TtsError."""
        text = text.strip()
        if not text:
            raise TtsError("coqui: nothing to say (empty text)")
        await self.load()
        loop = asyncio.get_running_loop()
        try:
            # A cancelled call stops waiting; the running synthesis itself cannot be interrupted and finishes
            # in its thread (bounded by the text length cap upstream).
            async with asyncio.timeout(self.timeout):
                pcm = await loop.run_in_executor(self._executor, self._synthesize_blocking, text)
        except TimeoutError:
            raise TtsError(f"coqui: no result within {self.timeout:.1f} s") from None
        rate = self.model_sample_rate
        if rate != self.sample_rate:
            pcm = await asyncio.to_thread(resample, pcm, rate, self.sample_rate)
        return pcm

    def _synthesize_blocking(self, text: str) -> bytes:
        kwargs: dict[str, Any] = {}
        if self.speaker:
            kwargs["speaker"] = self.speaker
        if self.language:
            kwargs["language"] = self.language
        try:
            samples = self._model.tts(text=text, **kwargs)
        except Exception as exc:
            raise TtsError(f"coqui: synthesis failed: {exc}") from exc
        wav = np.asarray(samples, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        if peak > 1.0:
            wav = wav / peak  # models may overshoot [-1, 1]; scale instead of clipping
        pcm: bytes = (wav * 32767.0).astype("<i2").tobytes()
        return pcm

    def close(self) -> None:
        """Release the worker thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)
