#!/usr/bin/env python3
"""Writes ari_agent/domain_phrases.txt: the Rasa project's training phrases as the recogniser writes words, the
text of the agent's domain language model (ari_agent/asr/domain_lm.py). Run it after changing
rasa_project/data/nlu.yml; tests/test_domain_lm.py fails while the two differ.

    .venv/bin/python scripts/make-domain-phrases.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ari_agent.asr.domain_lm import PHRASES_PATH, phrases_from_nlu  # noqa: E402

HEADER = "# Written by scripts/make-domain-phrases.py from rasa_project/data/nlu.yml: do not edit.\n"


def render() -> str:
    """The file's content for the NLU data now in the repository."""
    phrases = phrases_from_nlu((ROOT / "rasa_project" / "data" / "nlu.yml").read_text(encoding="utf-8"))
    return HEADER + "".join(f"{p}\n" for p in phrases)


if __name__ == "__main__":
    text = render()
    PHRASES_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {PHRASES_PATH} ({text.count(chr(10)) - 1} phrases)")
