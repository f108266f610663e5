"""Redaction of sensitive text before it is stored: payment card numbers (Luhn-checked) and configured patterns.

Callers read card numbers aloud, so the recogniser writes them as words ("four one one one ..."): digit words
count as digits here, and a run of digits and digit words is checked as a whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ari_agent import lexicon

_LOGGER = logging.getLogger(__name__)

Redact = Callable[[str], str]

DEFAULT_REPLACEMENT = "[redacted]"
CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19

_DIGIT_WORDS = lexicon.table("digits")  # spoken digits, as the dialogue reads them too
# A token is a group of digits or a digit word; separators between tokens are spaces, dashes, dots, commas.
_TOKEN = re.compile(r"\d+|[A-Za-z]+")
_SEPARATOR = re.compile(r"[\s\-.,/]*")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn check used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digit_runs(text: str) -> list[list[tuple[int, int, str]]]:
    """Maximal runs of digit tokens, each token as (start, end, digits), joined only by separators."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        digits = word if word.isdigit() else _DIGIT_WORDS.get(word.lower())
        joined = bool(current) and _SEPARATOR.fullmatch(text, current[-1][1], match.start()) is not None
        if digits is None:
            if current:
                runs.append(current)
            current = []
            continue
        if current and not joined:
            runs.append(current)
            current = []
        current.append((match.start(), match.end(), digits))
    if current:
        runs.append(current)
    return runs


def find_card_numbers(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that spell a Luhn-valid 13-19 digit card number, in digits or digit words."""
    spans: list[tuple[int, int]] = []
    for run in _digit_runs(text):
        total = sum(len(t[2]) for t in run)
        if total < CARD_MIN_DIGITS:
            continue
        # Longest Luhn-valid window first: a run may hold a card number plus an expiry date or a CVV.
        best: tuple[int, int] | None = None
        best_len = 0
        for i in range(len(run)):
            digits = ""
            for j in range(i, len(run)):
                digits += run[j][2]
                if len(digits) > CARD_MAX_DIGITS:
                    break
                if len(digits) >= CARD_MIN_DIGITS and len(digits) > best_len and luhn_valid(digits):
                    best, best_len = (i, j), len(digits)
        if best is not None:
            spans.append((run[best[0]][0], run[best[1]][1]))
    return spans


class Redactor:
    """`redactor(text) -> text`: masks card numbers and every match of the configured regular expressions."""

    def __init__(
        self,
        patterns: Iterable[str | re.Pattern[str]] = (),
        *,
        cards: bool = True,
        replacement: str = DEFAULT_REPLACEMENT,
    ) -> None:
        # Compiled once at start-up so a bad pattern fails the configuration, not a call.
        self._patterns = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
        self._cards = cards
        self._replacement = replacement

    def __call__(self, text: str) -> str:
        """Return `text` with every sensitive span replaced."""
        return self.redact(text)

    def redact(self, text: str) -> str:
        """Return `text` with every sensitive span replaced (the same as calling the redactor)."""
        if not text:
            return text
        if self._cards:
            for start, end in reversed(find_card_numbers(text)):
                text = text[:start] + self._replacement + text[end:]
        for pattern in self._patterns:
            text = pattern.sub(self._replacement, text)
        return text


def no_redaction(text: str) -> str:
    """The identity redactor, for tests and for operators who opt out explicitly."""
    return text


def redact_value(value: Any, redact: Redact) -> Any:
    """Apply `redact` to every string inside a JSON-like value (dicts, lists, scalars); keys are kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, redact) for v in value]
    return value
