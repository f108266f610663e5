"""Word error rate: word-level edit distance between a reference transcript and what the recogniser heard."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation ("I'd" stays one word, "check-up" becomes two)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, number of reference words)."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one pair; 0 for two empty texts, 1 per inserted word against an empty reference."""
    errors, n = word_errors(reference, hypothesis)
    if n == 0:
        return float(errors)
    return errors / n
