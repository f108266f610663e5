"""Finding a caller's existing booking when the recogniser mangles the name ("Jennifer Wood" -> "Jennifer would").

Pure functions, no database: the actions fetch the scope's bookings and pass them in. A candidate scores its
name similarity (0..1, spelling and sound) plus a bonus when the booking's phone is the number the caller rings
from. A booking is taken only when it is clearly the best (score over a threshold, margin over the runner-up);
the actions then read the stored name and time back before acting, so a wrong match is never acted on silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Generic, Protocol, TypeVar

# Scores are name similarity in 0..1, plus PHONE_BONUS when the caller id matches the booking's phone.
THRESHOLD = 0.75
MARGIN = 0.15
PHONE_BONUS = 0.35
# Two words that sound alike ("wood" / "would") count almost as well as the same spelling.
SAME_SOUND = 0.9
# Phone numbers match on their last digits: "+44 1632 960001" and "01632 960001" are one line.
PHONE_DIGITS = 9

_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
# Spellings whose letters are not all heard: applied before the sound key, so the key follows the sound.
_SILENT = [
    (re.compile(p), r)
    for p, r in [
        (r"^c(?=[eiy])", "s"),
        (r"^c", "k"),
        (r"^kn", "n"),
        (r"^wr", "r"),
        (r"^ps", "s"),
        (r"^wh", "w"),
        (r"ph", "f"),
        (r"(?<=[aeiou])gh", ""),
        (r"ould\b", "ud"),
        (r"alk\b", "ak"),
        (r"mb\b", "m"),
        (r"ck", "k"),
        (r"tch", "ch"),
    ]
]


class BookingLike(Protocol):
    """What the matcher reads from a booking (actions.calendar.Booking has these)."""

    @property
    def name(self) -> str: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def starts_at(self) -> datetime: ...


B = TypeVar("B", bound=BookingLike)


@dataclass(frozen=True)
class Match(Generic[B]):
    """The outcome of a lookup: 'found' (with `booking`), 'ambiguous' or 'none'; `scored` best first."""

    status: str
    booking: B | None
    scored: list[tuple[float, B]]


def name_words(text: str) -> list[str]:
    """Lowercase words without punctuation: "O'Brien-Smith, Mary" -> ['obrien', 'smith', 'mary']."""
    text = text.lower().replace("'", "").replace("’", "")
    return re.findall(r"[a-z]+", text)


def sound_key(word: str) -> str:
    """A Soundex-style key of one word after dropping silent spellings: 'would' and 'wood' -> 'w3'."""
    w = word.lower()
    for pattern, repl in _SILENT:
        w = pattern.sub(repl, w)
    if not w:
        return ""
    key, last = w[0], _SOUNDEX.get(w[0], "")
    for c in w[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            key += code
        if c not in "hw":  # as in Soundex: h and w do not separate two equal codes, vowels do
            last = code
    return key[:4]


def word_similarity(a: str, b: str) -> float:
    """Similarity of two words in 0..1: spelling ratio, or SAME_SOUND when they sound alike."""
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    if sound_key(a) == sound_key(b):
        return max(ratio, SAME_SOUND)
    return ratio


def _coverage(source: list[str], target: list[str]) -> float:
    """Mean over `source` words of their best match in `target`."""
    return sum(max(word_similarity(s, t) for t in target) for s in source) / len(source)


def name_similarity(spoken: str, stored: str) -> float:
    """How well a heard name matches a stored one, 0..1 (word-wise, both directions, and as a whole)."""
    heard, known = name_words(spoken), name_words(stored)
    if not heard or not known:
        return 0.0
    if len(heard) == len(known):
        # Same number of words: first name against first name, surname against surname, so that one
        # person's first name never matches another's surname.
        words = sum(word_similarity(h, k) for h, k in zip(heard, known, strict=True)) / len(known)
    else:
        # Both directions: "wood" alone covers half of "jennifer wood"; a missing word and an extra one
        # ("jennifer wood junior") cost the same.
        words = 0.5 * _coverage(known, heard) + 0.5 * _coverage(heard, known)
    whole = SequenceMatcher(None, " ".join(heard), " ".join(known)).ratio()
    return max(words, whole)


def phone_matches(caller: str | None, booked: str | None) -> bool:
    """True when both numbers are known and end in the same PHONE_DIGITS digits."""
    a, b = re.sub(r"\D", "", caller or ""), re.sub(r"\D", "", booked or "")
    if len(a) < 6 or len(b) < 6:
        return False
    n = min(PHONE_DIGITS, len(a), len(b))
    return a[-n:] == b[-n:]


def match_booking(bookings: Sequence[B], spoken_name: str | None, caller_number: str | None,
                  line_decides: bool = False) -> Match[B]:
    """The one booking clearly meant by this caller among `bookings` (already restricted to the day, if said).

    `line_decides`: the name was heard unsure, so a name far off is no evidence against a booking; the only one
    of `bookings` made from the number the caller rings from is then found (and read back with its stored name
    before anything is changed)."""
    scored = sorted(
        (
            (
                name_similarity(spoken_name or "", b.name)
                + (PHONE_BONUS if phone_matches(caller_number, b.phone) else 0.0),
                b,
            )
            for b in bookings
        ),
        key=lambda pair: (-pair[0], pair[1].starts_at),
    )
    above = [pair for pair in scored if pair[0] >= THRESHOLD]
    if not above:
        own = [b for b in bookings if phone_matches(caller_number, b.phone)]
        if line_decides and len(own) == 1:
            return Match("found", own[0], scored)
        return Match("none", None, scored)
    best = above[0][0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best - runner_up < MARGIN:
        return Match("ambiguous", None, scored)
    return Match("found", above[0][1], scored)
