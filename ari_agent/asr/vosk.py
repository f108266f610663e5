"""Offline speech recognition with Vosk (Kaldi): one model shared by every call, one recogniser per call.

Decoding runs in a thread pool (Vosk's C calls release the GIL), so the event loop never waits on Kaldi.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import vosk

from ari_agent.asr.base import UNSURE_WORD, AsrHint, AsrResult
from ari_agent.asr.domain_lm import DomainLM, choose, default_lm, without_refused
from ari_agent.asr.expectations import phrases
from ari_agent.config import DEFAULT_CACHE
from ari_agent.media.audio import HighBandFill

_LOGGER = logging.getLogger(__name__)

# Kaldi logs every model load and decoder setting at INFO on stderr; keep only its errors.
vosk.SetLogLevel(-1)


class VoskModelError(RuntimeError):
    """The Vosk model is missing or is not a Vosk model; the message names the path."""


def check_model_dir(model_path: str | os.PathLike[str]) -> Path:
    """Return the model directory, or raise VoskModelError saying what is wrong with it."""
    path = Path(model_path).expanduser()
    if not path.exists():
        raise VoskModelError(f"Vosk model not found at {path} (run scripts/setup-vosk.sh)")
    if not path.is_dir():
        raise VoskModelError(f"Vosk model path {path} is not a directory")
    has_am = (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()
    has_graph = (path / "graph").is_dir() or (path / "HCLG.fst").is_file() or (path / "HCLr.fst").is_file()
    if not (has_am and has_graph):
        raise VoskModelError(f"{path} is not a Vosk model (expected am/final.mdl and graph/)")
    return path


def searched_model(model: Path, root: Path, *, beam: float = 0.0, max_active: int = 0) -> Path:
    """`model` with its decoder's beam and/or max-active replaced (0: the model's own): a directory under `root`
    of links to the model's files with a conf/model.conf of its own. Vosk reads the search settings only from
    there, and an admin's model directory may be read-only or shared.

    Why: the open decoder's search through the look-ahead graph is most of the agent's CPU (the py-spy profile of
    20 calls); a narrower search serves more calls at some cost in recognition (README, Performance)."""
    if not beam and not max_active:
        return model
    conf = model / "conf" / "model.conf"
    try:
        lines = conf.read_text().splitlines()
    except OSError as exc:
        raise VoskModelError(f"{conf} cannot be read ({exc}): [asr] beam and max_active need the model's own "
                             "conf/model.conf; set both to 0 to use the model as it is") from None
    wanted = {"--beam": beam, "--max-active": max_active}
    kept = [line for line in lines if not any(line.startswith(f"{key}=") and value for key, value in wanted.items())]
    kept += [f"{key}={value:g}" for key, value in wanted.items() if value]
    out = root / f"{model.name}-beam{beam:g}-max-active{max_active}"
    (out / "conf").mkdir(parents=True, exist_ok=True)
    for entry in model.iterdir():
        link = out / entry.name
        if entry.name != "conf" and not link.is_symlink():
            link.symlink_to(entry.resolve())
    for entry in (model / "conf").iterdir():
        if entry.name != "model.conf":
            (out / "conf" / entry.name).write_bytes(entry.read_bytes())
    (out / "conf" / "model.conf").write_text("\n".join(kept) + "\n")
    return out


def has_runtime_grammar(model_path: str | os.PathLike[str]) -> bool:
    """Whether the model can decode against a grammar given at run time (a dynamic graph: the small models).

    A static HCLG.fst graph (the large models) silently ignores a grammar, so expectation hints are off there.
    """
    path = Path(model_path)
    return (path / "graph" / "HCLr.fst").is_file() or (path / "HCLr.fst").is_file()


def _words(result: dict[str, Any]) -> list[dict[str, Any]]:
    words = result.get("result") or []
    return [w for w in words if isinstance(w, dict)]


def _constrained_words(
    result: dict[str, Any], refused: frozenset[tuple[str, ...]] = frozenset()
) -> list[dict[str, Any]]:
    """A constrained decoder's words, each rated from its n-best (GRAMMAR_ALTERNATIVES), which knows homophones;
    `refused`: the names the caller said were wrong (the name decoder's)."""
    if "alternatives" in result:
        return choose(without_refused(result["alternatives"], refused), None, grammar=True)
    return _words(result)


# A constrained decoder forces its phrases onto whatever was said; below this word confidence the forced word
# is a guess (measured on the corpus: wrong words scored 0.35-0.55, right ones 0.7-1.0).
HINT_MIN_CONFIDENCE = 0.6
# The constrained decoders' n-best size. Their words' confidences come from it (asr.domain_lm.choose), not from
# Kaldi's: a grammar's homophones ("brian" / "bryan") split Kaldi's confidence between them.
GRAMMAR_ALTERNATIVES = 8
UNKNOWN = "[unk]"


def hint_from_words(words: list[dict[str, Any]]) -> tuple[str, bool]:
    """The words of a constrained decode worth passing on, and whether the whole turn fitted the phrases."""
    kept = [str(w.get("word", "")) for w in words
            if w.get("word") != UNKNOWN and float(w.get("conf", 0.0)) >= HINT_MIN_CONFIDENCE]
    return " ".join(kept), bool(words) and len(kept) == len(words)


# Kaldi dithers its features with random noise (so digital silence has no log(0)); its generator is not
# seeded, so the same audio decoded twice gave other words now and then. With the model's own dither off
# (`--dither=0` in conf/mfcc.conf, written by scripts/setup-vosk.sh) the stream adds the same amount itself
# from a fixed seed: a replayed or simulated call decodes exactly as before.
DITHER_SEED = 20261201


def model_dithers(path: Path) -> bool:
    """Whether the model's feature extraction adds its own (unseeded) dither: the default unless set to 0."""
    conf = path / "conf" / "mfcc.conf"
    text = conf.read_text() if conf.is_file() else ""
    return not re.search(r"^--dither=0(\.0*)?\s*$", text, re.MULTILINE)


class VoskStream:
    """One call's recogniser. Not safe for concurrent use by several tasks: one call, one consumer."""

    def __init__(self, engine: VoskEngine) -> None:
        self._engine = engine
        # A decode still running in the pool and the hand-back of the recognisers at close never overlap.
        self._guard = threading.Lock()
        # Made in a decoding thread at the call's first speech, never on the event loop (making one takes tens
        # of milliseconds of CPU), and never for a call in which nobody speaks.
        self._rec: Any = None
        self._dither = None if engine.dithers else np.random.default_rng(DITHER_SEED)
        level = engine.band_fill_dbfs
        self._fill = HighBandFill(level) if level is not None else None
        self._lock = asyncio.Lock()
        self._segments: list[str] = []
        self._words: list[dict[str, Any]] = []
        self._partial = ""
        self._bytes = 0
        self._decode_s = 0.0
        # The expectation of the next utterance, and the constrained recognisers made so far (one per kind).
        self._next_kind: str | None = None
        self._next_name = False
        self._hint_rec: Any = None
        self._name_rec: Any = None  # the name decoder, when a name is listened for alongside the hint's kind
        self._name_words: list[dict[str, Any]] = []
        self._next_refused: frozenset[tuple[str, ...]] = frozenset()
        self._refused: frozenset[tuple[str, ...]] = frozenset()  # the current utterance's, set at its start
        self._hint_kind = ""
        self._hint_recs: dict[str, Any] = {}
        self._hint_words: list[dict[str, Any]] = []
        self._in_utterance = False
        self.closed = False

    def expect(
        self, kind: str | None, *, with_name: bool = False, refused_names: frozenset[tuple[str, ...]] = frozenset()
    ) -> None:
        """Decode the next utterance a second time against the phrases of `kind` (see asr.expectations), and
        with `with_name` a third time against the names (AsrHint.name); the name decoder passes over
        `refused_names` (domain_lm.without_refused)."""
        self._next_kind = kind if self._engine.grammar_phrases(kind) else None
        self._next_name = bool(with_name and self._next_kind and self._engine.grammar_phrases("name"))
        self._next_refused = refused_names

    def _hint_recognizer(self, kind: str) -> Any:
        rec = self._hint_recs.get(kind)
        if rec is None:
            rec = self._hint_recs[kind] = self._engine.new_recognizer(kind)
        return rec

    def _accept(self, pcm16: bytes) -> str | None:
        with self._guard:
            if self.closed:  # closed while this decode waited for a thread
                return None
            if self._rec is None:
                self._rec = self._engine.new_recognizer(None)
            return self._accept_unguarded(pcm16)

    def _accept_unguarded(self, pcm16: bytes) -> str | None:
        started = time.perf_counter()
        if self._fill is not None:
            pcm16 = self._fill.process(pcm16)
        if self._dither is not None:
            noisy = np.frombuffer(pcm16, dtype=np.int16) + self._dither.standard_normal(len(pcm16) // 2)
            pcm16 = np.clip(np.rint(noisy), -32768, 32767).astype(np.int16).tobytes()
        if not self._in_utterance:  # an expectation set mid-utterance waits for the next one
            self._in_utterance = True
            self._hint_kind = self._next_kind or ""
            self._hint_rec = self._hint_recognizer(self._hint_kind) if self._hint_kind else None
            self._name_rec = self._hint_recognizer("name") if self._next_name else None
            self._refused = self._next_refused
        if self._hint_rec is not None and self._hint_rec.AcceptWaveform(pcm16):
            self._hint_words.extend(_constrained_words(json.loads(self._hint_rec.Result()), self._hint_refused()))
        if self._name_rec is not None and self._name_rec.AcceptWaveform(pcm16):
            self._name_words.extend(_constrained_words(json.loads(self._name_rec.Result()), self._refused))
        if self._rec.AcceptWaveform(pcm16):
            # Vosk's own silence detection closed a segment mid-utterance: keep it, the final joins them all.
            self._take(json.loads(self._rec.Result()))
            partial = " ".join(self._segments)
        else:
            partial = " ".join([*self._segments, json.loads(self._rec.PartialResult()).get("partial", "")])
        self._decode_s += time.perf_counter() - started
        partial = partial.strip()
        if partial == self._partial:
            return None
        self._partial = partial
        return partial

    def _hint_refused(self) -> frozenset[tuple[str, ...]]:
        return self._refused if self._hint_kind == "name" else frozenset()

    def _take(self, result: dict[str, Any]) -> None:
        if "alternatives" in result:  # an n-best result (VoskEngine.alternatives): choose, and rate each word
            words = choose(result["alternatives"], self._engine.lm)
            text = " ".join(str(w.get("word", "")) for w in words).strip()
        else:
            words, text = _words(result), str(result.get("text", "")).strip()
        if text:
            self._segments.append(text)
            self._words.extend(words)

    def _final(self) -> AsrResult:
        with self._guard:
            if self.closed or self._rec is None:  # closed, or nothing was ever heard
                return AsrResult(text="", confidence=0.0, audio_ms=0, decode_ms=0.0)
            return self._final_unguarded()

    def _final_unguarded(self) -> AsrResult:
        started = time.perf_counter()
        # The constrained decoders finish beside the open one, not after it: the caller waits for the slowest of
        # the three final results instead of their sum (each recogniser is separate; Kaldi runs outside the GIL).
        side = [self._engine.finish_beside(rec) for rec in (self._hint_rec, self._name_rec) if rec is not None]
        self._take(json.loads(self._rec.FinalResult()))
        hint = None
        if self._hint_rec is not None:
            self._hint_words.extend(_constrained_words(json.loads(side[0].result()), self._hint_refused()))
            name = ""
            if self._name_rec is not None:
                self._name_words.extend(_constrained_words(json.loads(side[1].result()), self._refused))
                name = hint_from_words(self._name_words)[0]
            hint = AsrHint(self._hint_kind, *hint_from_words(self._hint_words), name=name)
        self._decode_s += time.perf_counter() - started
        confs = [float(w.get("conf", 0.0)) for w in self._words]
        result = AsrResult(
            text=" ".join(self._segments),
            confidence=sum(confs) / len(confs) if confs else 0.0,
            unsure=sum(c < UNSURE_WORD for c in confs) / len(confs) if confs else 0.0,
            audio_ms=self._bytes * 1000 // (2 * self._engine.sample_rate),
            decode_ms=self._decode_s * 1000,
            hint=hint,
        )
        self._hint_rec, self._hint_words, self._in_utterance = None, [], False
        self._name_rec, self._name_words = None, []
        self._segments, self._words, self._partial = [], [], ""
        self._bytes, self._decode_s = 0, 0.0
        return result

    async def push(self, pcm16: bytes) -> str | None:
        """Feed s16le mono PCM at the engine's rate; returns the new partial text when it changed."""
        if self.closed:
            raise RuntimeError("push() on a closed Vosk stream")
        if not pcm16:
            return None
        self._bytes += len(pcm16)
        loop = asyncio.get_running_loop()
        async with self._lock:
            return await loop.run_in_executor(self._engine.executor, self._accept, pcm16)

    async def finish(self) -> AsrResult:
        """End the utterance; returns its text, mean word confidence, audio length and decode time."""
        if self.closed:
            raise RuntimeError("finish() on a closed Vosk stream")
        loop = asyncio.get_running_loop()
        async with self._lock:
            return await loop.run_in_executor(self._engine.executor, self._final)

    def close(self) -> None:
        """Release the recognisers (their decoder memory), in a decoding thread."""
        if self.closed:
            return
        self.closed = True
        recs = [self._rec, *self._hint_recs.values()]
        self._rec = self._hint_rec = self._name_rec = None
        self._hint_recs = {}
        self._engine.release(recs, self._guard)


class VoskEngine:
    """Implements AsrEngine: loads one vosk.Model, hands out a recogniser per call."""

    def __init__(
        self,
        model_path: str,
        sample_rate: int = 16000,
        executor: Executor | None = None,
        *,
        band_fill_dbfs: float | None = None,
        expectation_hints: bool = True,
        alternatives: int = 10,
        lm: DomainLM | None = None,
        beam: float = 0.0,
        max_active: int = 0,
    ) -> None:
        path = searched_model(check_model_dir(model_path), DEFAULT_CACHE / "vosk-searched", beam=beam,
                              max_active=max_active)
        # Opt-in: faint 4-8 kHz noise for telephone-band callers (see media.audio.HighBandFill for numbers).
        self.band_fill_dbfs = band_fill_dbfs
        self.model_path = str(path)
        self.sample_rate = sample_rate
        started = time.perf_counter()
        try:
            self.model: Any = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise VoskModelError(f"Vosk could not load the model at {path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        self._own_executor = executor is None
        # Decoding is CPU-bound native code: more threads than cores only adds contention.
        self.executor: Executor = executor or ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2, thread_name_prefix="vosk"
        )
        # The constrained decoders' final results, run beside the open decoder's (VoskStream._final_unguarded).
        # Their own pool: waiting on the shared one from inside it could wait on itself.
        self.finals = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vosk-final")
        self._closed = threading.Event()
        self.supports_grammar = has_runtime_grammar(path)
        self.dithers = model_dithers(path)
        if self.dithers:
            _LOGGER.info("%s dithers its features unseeded: the same audio may decode differently; add "
                         "--dither=0.0 to its conf/mfcc.conf for reproducible replays", path)
        self.expectation_hints = expectation_hints
        # The open decoder's n-best size; 0: Kaldi's single best reading and its own word confidences. The
        # domain model picks among the alternatives (asr.domain_lm); without one, the recogniser's best.
        self.alternatives = max(0, alternatives)
        self.lm = (lm or default_lm()) if self.alternatives else None
        self._grammars: dict[str, tuple[str, ...]] = {}
        _LOGGER.info("Vosk model %s loaded in %.2f s", path, self.load_seconds)

    def grammar_phrases(self, kind: str | None) -> tuple[str, ...]:
        """The phrases of `kind` whose every word the model knows; () when hints are off for this model."""
        if kind is None or not (self.supports_grammar and self.expectation_hints):
            return ()
        known = self._grammars.get(kind)
        if known is None:
            known = tuple(p for p in phrases(kind) if all(self.model.vosk_model_find_word(w) >= 0 for w in p.split()))
            self._grammars[kind] = known
        return known

    def new_recognizer(self, kind: str | None) -> Any:
        """A recogniser for open speech (kind None) or for the phrases of `kind`.

        Never reused across calls: a recogniser keeps the caches it grew while decoding (Reset() does not drop
        them), and a soak with reused ones grew the agent by 400 MB in 5 minutes where fresh ones stayed flat.
        """
        if kind is None:
            rec = vosk.KaldiRecognizer(self.model, float(self.sample_rate))
            if self.alternatives:
                rec.SetMaxAlternatives(self.alternatives)
        else:
            grammar = json.dumps([*self.grammar_phrases(kind), UNKNOWN])
            rec = vosk.KaldiRecognizer(self.model, float(self.sample_rate), grammar)
            rec.SetMaxAlternatives(GRAMMAR_ALTERNATIVES)
        # Word-level output carries a confidence per word; the turn's confidence is their mean.
        rec.SetWords(True)
        return rec

    def release(self, recs: list[Any], guard: threading.Lock) -> None:
        """Free an ended stream's recognisers in a decoding thread: freeing one takes long enough (py-spy: 4% of
        the agent's CPU at 20 calls) to stall the event loop, and a stalled loop inserts silence into every
        call's audio."""
        if self._closed.is_set():
            return
        try:
            self.executor.submit(self._release, recs, guard)
        except RuntimeError:  # the pool is shutting down: the recognisers go with the process
            pass

    @staticmethod
    def _release(recs: list[Any], guard: threading.Lock) -> None:
        with guard:  # waits for a decode of the ended stream still in a thread
            recs.clear()

    def finish_beside(self, rec: Any) -> Future[str]:
        """A recogniser's FinalResult() started in the finals pool (run here once the engine is closing)."""
        try:
            return self.finals.submit(rec.FinalResult)
        except RuntimeError:  # the pool is shut down: the process is ending
            done: Future[str] = Future()
            done.set_result(rec.FinalResult())
            return done

    def new_stream(self) -> VoskStream:
        """A recogniser for one call."""
        if self._closed.is_set():
            raise RuntimeError("VoskEngine is closed")
        return VoskStream(self)

    def close(self) -> None:
        """Shut down the engine's own thread pool (an executor passed in is left alone)."""
        self._closed.set()
        self.finals.shutdown(wait=False, cancel_futures=True)
        if self._own_executor and isinstance(self.executor, ThreadPoolExecutor):
            self.executor.shutdown(wait=False, cancel_futures=True)
