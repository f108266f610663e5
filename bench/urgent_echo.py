"""Offline: how often the menu's constrained reading (kind "task") of an urgent or an out-of-scope opening names a
symptom, and how often the free transcript echoes it (components.cues.hint_urgent). Every voice on the machine,
a line condition drawn per utterance. Needs `make up`'s setup (the Vosk model, the voices), not the stack:

    .venv/bin/python bench/urgent_echo.py [--out bench/results/urgent_echo.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from pathlib import Path

from ari_agent.asr.vosk import VoskEngine, _constrained_words, hint_from_words
from ari_agent.config import load_settings
from ari_agent.sim import voices
from ari_agent.sim.goals import OUT_OF_SCOPE_ASKS, URGENT_PROBLEMS

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "rasa_project"))  # cues imports the shared lexicon as Rasa's process does
# The Rasa side's cue reader, loaded from its file: the package's __init__ needs Rasa, which lives in another venv.
_spec = importlib.util.spec_from_file_location("rasa_cues", ROOT / "rasa_project" / "components" / "cues.py")
assert _spec is not None and _spec.loader is not None
cues = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cues)

# Said differently from the simulator's own openings, so the measure is not only on phrasings it was tuned with.
MORE_URGENT = (
    "I've chipped my front tooth and it really hurts.", "My filling fell out and now it's throbbing.",
    "I think I have an abscess, my cheek is swollen.", "My wisdom tooth is killing me, I can't eat.",
    "I cracked a tooth on a nut and it's very painful.", "My gums are bleeding and swollen.",
)
MORE_OUT_OF_SCOPE = (
    "Can you tell me the train times to London?", "I want to cancel my gym membership.",
    "Do you sell hearing aids?", "Is this the vet? My dog is ill.", "I'd like to book a haircut.",
    "Can I get a prescription for my back pain?", "Where is the nearest pharmacy?",
)
LINES = ("clean-16k", "ulaw", "gsm", "ulaw-white-20", "ulaw-babble-15")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "urgent_echo.json")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    asr = load_settings().asr
    engine = VoskEngine(asr.vosk_model_path, sample_rate=asr.sample_rate, expectation_hints=True,
                        alternatives=asr.alternatives, beam=asr.beam, max_active=asr.max_active)
    rng = random.Random(args.seed)
    groups = {"urgent": (*URGENT_PROBLEMS, *MORE_URGENT), "out_of_scope": (*OUT_OF_SCOPE_ASKS, *MORE_OUT_OF_SCOPE)}
    turns: dict[str, list[dict[str, object]]] = {}
    for group, texts in groups.items():
        turns[group] = []
        for text in texts:
            for voice in voices.available_voices():
                line = rng.choice(LINES)
                pcm = voices.apply_line(voices.synthesise(voice, text), line, 1)
                free = engine.new_recognizer(None)
                free.AcceptWaveform(pcm)
                result = json.loads(free.FinalResult())
                heard = result.get("text") or next(iter(result.get("alternatives") or []), {}).get("text", "")
                task = engine.new_recognizer("task")
                task.AcceptWaveform(pcm)
                hint, complete = hint_from_words(_constrained_words(json.loads(task.FinalResult())))
                turns[group].append({"said": text, "voice": voice, "line": line, "heard": heard, "hint": hint,
                                     "complete": complete})
    summary = {}
    for group, rows in turns.items():
        in_hint = [r for r in rows if set(cues.tokens(str(r["hint"]))) & cues.URGENT_WORDS]
        in_free = [r for r in rows if set(cues.tokens(str(r["heard"]))) & cues.URGENT_WORDS]
        echo_only = [
            r for r in rows
            if r not in in_free
            and cues.hint_urgent({"kind": "task", "text": r["hint"], "complete": r["complete"]}, str(r["heard"]))
        ]
        summary[group] = {"turns": len(rows), "hint_names_symptom": len(in_hint), "free_names_symptom": len(in_free),
                          "added_by_echo": len(echo_only)}
        print(group, summary[group])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "turns": turns}, indent=1) + "\n")


if __name__ == "__main__":
    main()
