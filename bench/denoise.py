"""Offline: does a noise suppressor in front of the recogniser lower its word error on phone lines?

Sentences drawn from the simulated callers' phrasings (bench, not tuned here), said by every voice on the
machine, each over every line condition; decoded by the open Vosk recogniser alone (its best reading, in 100 ms
chunks as the agent feeds it), with each suppressor in front. Needs `make up`'s setup (model, voices), not the stack:

    .venv/bin/python bench/denoise.py [--sentences 8] [--voices 3] [--out bench/results/denoise.json]

WebRTC's suppressor is the agent's own (media.denoise); Speex's is compared only when `pyspeex-noise` is installed.
bench/results/denoise.json: the run README quotes.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import random
import time as clock
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from ari_agent.asr.vosk import VoskEngine
from ari_agent.config import load_settings
from ari_agent.media.audio import HighBandFill
from ari_agent.media.denoise import NoiseSuppressor
from ari_agent.replay.wer import word_errors
from ari_agent.sim import phrasing, voices

ROOT = Path(__file__).resolve().parents[1]
LINES = ("clean-16k", "ulaw", "gsm", "ulaw-white-20", "ulaw-pink-15", "ulaw-babble-15", "ulaw-quiet")
NAMES = ("Laura Hughes", "Kevin Price", "Anna Edwards", "Harry Moore", "Sophie Turner", "Daniel Reed")
SERVICES = ("check-up", "cleaning", "filling")
Processor = Callable[[bytes], bytes]


def sentences(n: int, seed: int) -> list[str]:
    """Caller sentences of every kind the agent hears: openings with details, days and times, names, yes/no."""
    rng = random.Random(seed)
    today = date(2026, 12, 1)
    out: list[str] = []
    while len(out) < n:
        day = phrasing.day_phrase(today + timedelta(days=rng.randint(1, 20)), today, rng)
        at = phrasing.time_phrase(time(rng.randint(9, 16), rng.choice((0, 30))), rng)
        name = rng.choice(NAMES)
        kind = len(out) % 5
        if kind == 0:
            out.append(phrasing.book_everything(rng.choice(SERVICES), day, at, name, rng))
        elif kind == 1:
            out.append(phrasing.when_phrase(day, at, rng))
        elif kind == 2:
            out.append(phrasing.name_phrase(name, rng))
        elif kind == 3:
            out.append(phrasing.book_with_service(rng.choice(SERVICES), rng))
        else:
            out.append(phrasing.question(rng.choice(("hours", "address", "price")), rng))
    return [s.replace("|", " ") for s in out]


def _in_10ms(step: Callable[[bytes], bytes]) -> Processor:
    def run(pcm: bytes) -> bytes:
        size = 320  # 10 ms at 16 kHz, 16-bit
        body = len(pcm) - len(pcm) % size
        return b"".join(step(pcm[i : i + size]) for i in range(0, body, size)) + pcm[body:]

    return run


def _webrtc(level: int) -> Processor:
    return _in_10ms(NoiseSuppressor(level).process)  # the agent's own, 10 ms at a time (an utterance's tail kept)


def _speex(db: int) -> Processor:
    from pyspeex_noise import AudioProcessor

    return _in_10ms(AudioProcessor(0, db).process_10ms)


def processors() -> dict[str, Callable[[], Processor]]:
    """Each makes a fresh suppressor per utterance (a call's state starts empty)."""
    made: dict[str, Callable[[], Processor]] = {"none": lambda: (lambda pcm: pcm)}
    made |= {f"webrtc-ns{level}": functools.partial(_webrtc, level) for level in (1, 2, 3)}
    if importlib.util.find_spec("pyspeex_noise") is not None:  # not in the lock: pip install pyspeex-noise==2.0.1
        made |= {f"speex{db}": functools.partial(_speex, db) for db in (-15, -30)}
    made["highband-fill"] = lambda: HighBandFill().process
    return made


def decode(engine: VoskEngine, pcm: bytes) -> str:
    rec = engine.new_recognizer(None)
    for i in range(0, len(pcm), 3200):
        rec.AcceptWaveform(pcm[i : i + 3200])
    result: dict[str, Any] = json.loads(rec.FinalResult())
    return str(result.get("text", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=10)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--voices", type=int, default=0, help="use every Nth voice only (0: all)")
    ap.add_argument("--lines", default=",".join(LINES), help="comma-separated line conditions")
    ap.add_argument("--procs", default="", help="comma-separated suppressors (default: all installed)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "denoise.json")
    args = ap.parse_args()
    asr = load_settings().asr
    engine = VoskEngine(asr.vosk_model_path, sample_rate=asr.sample_rate, expectation_hints=False, alternatives=0,
                        beam=asr.beam, max_active=asr.max_active)
    texts = sentences(args.sentences, args.seed)
    every = voices.available_voices()
    if args.voices > 1:
        every = every[:: args.voices]
    procs = processors()
    if args.procs:
        procs = {name: procs[name] for name in args.procs.split(",")}
    lines = tuple(args.lines.split(","))
    errors = {p: {line: [0, 0] for line in lines} for p in procs}
    cpu = dict.fromkeys(procs, 0.0)
    rows = []
    for t, text in enumerate(texts):
        for v, voice in enumerate(every):
            spoken = voices.synthesise(voice, text)
            for line in lines:
                pcm = voices.apply_line(spoken, line, t * 100 + v)
                for name, make in procs.items():
                    start = clock.process_time()
                    clean = make()(pcm)
                    cpu[name] += clock.process_time() - start
                    heard = decode(engine, clean)
                    wrong, total = word_errors(text, heard)
                    errors[name][line][0] += wrong
                    errors[name][line][1] += total
                    rows.append({"said": text, "voice": voice, "line": line, "proc": name, "heard": heard})
        print(f"{t + 1}/{len(texts)} sentences", flush=True)
    summary = {
        name: {
            "wer_all": round(sum(e for e, _ in per.values()) / max(1, sum(n for _, n in per.values())), 4),
            "wer_per_line": {line: round(e / max(1, n), 4) for line, (e, n) in per.items()},
            "cpu_s": round(cpu[name], 2),
        }
        for name, per in errors.items()
    }
    for name, s in summary.items():
        print(name, s["wer_all"], s["wer_per_line"], s["cpu_s"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sentences": texts, "voices": every, "summary": summary,
                                    "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
