"""The shared lexicon (lexicon.yml): yes/no words, days, numbers, services, read once.

The Rasa project imports this very module (rasa_project/lexicon.py is a link to it), so the agent's constrained
decoder, its end-of-turn cues and the dialogue's parsers can never drift apart again. It runs in both venvs
(Python 3.11 and Rasa's 3.10) and needs nothing but PyYAML; the data file is found next to the real module.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).resolve().parent / "lexicon.yml"
# Common given names and surnames (scripts/make-names.py): what the name decoder listens for.
NAMES_PATH = Path(__file__).resolve().parent / "names.txt"


@cache
def _data() -> dict[str, Any]:
    loaded = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{PATH}: expected a mapping at the top level")
    _check_strings(loaded, str(PATH))
    return loaded


def _check_strings(data: Any, where: str) -> None:
    """Every word is text: YAML reads a bare yes/no/on/off as a boolean, which would silently drop the word."""
    for key, value in data.items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for name, entry in items:
            for word in [name, *(entry if isinstance(entry, list) else [entry])]:
                if isinstance(word, bool):
                    raise ValueError(f"{where}: {key}: a bare yes/no/on/off is read as a boolean; quote it")


def words(key: str) -> frozenset[str]:
    """A word list of the lexicon as a set ("weekdays", "no_words", ...)."""
    return frozenset(str(w) for w in _data()[key])


def phrase_pattern(key: str) -> re.Pattern[str]:
    """A pattern matching any phrase of a list as whole words ("that's it" in "no that's it thanks")."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, ordered(key))) + r")\b")


def ordered(key: str) -> tuple[str, ...]:
    """A word list in the file's order (weekdays Monday first, months January first)."""
    return tuple(str(w) for w in _data()[key])


def numbers(key: str) -> dict[str, int]:
    """A word -> number table ("numbers", "ordinals")."""
    return {str(k): int(v) for k, v in _data()[key].items()}


def table(key: str) -> dict[str, str]:
    """A word -> text table ("digits")."""
    return {str(k): str(v) for k, v in _data()[key].items()}


def groups(key: str) -> dict[str, tuple[str, ...]]:
    """A name -> phrases table ("services", "yes_no_phrases")."""
    return {str(k): tuple(str(p) for p in v) for k, v in _data()[key].items()}


def service_of_stem(reading: list[str], heard: list[str]) -> str | None:
    """The service of a stem (`service_stems`: "fill") among the constrained decoder's words `reading` whose sound
    begins a word of the free transcript `heard`: its first consonant, vowels, then its next consonant ("feel",
    "film" for "fill"). Two decoders agreeing on a word too short to name a service alone. None if none."""
    for stem, service in table("service_stems").items():
        sound = re.compile(rf"{stem[0]}[aeiou]+{re.sub('[aeiou]', '', stem[1:])[:1]}")
        if stem in reading and any(sound.match(w) for w in heard):
            return service
    return None


@cache
def _key_of_letter() -> dict[str, str]:
    return {letter: key for key, letters in table("keypad_letters").items() for letter in letters}


def keypad_keys(word: str) -> str:
    """`word` keyed in on a phone's keypad, one key per letter ("Miller" -> "645537"; lexicon `keypad_letters`)."""
    keys = _key_of_letter()
    return "".join(keys.get(c, "") for c in word.lower())


@cache
def names() -> frozenset[str]:
    """Common given names and surnames, lower case (names.txt; comment lines start with "#")."""
    return frozenset(name_rank())


@cache
def _name_lines() -> tuple[tuple[str, str], ...]:
    lines = NAMES_PATH.read_text(encoding="utf-8").splitlines()
    rows = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    return tuple((row[0], row[1] if len(row) > 1 else "surname") for row in rows)


@cache
def name_rank() -> dict[str, int]:
    """Each list name's place in names.txt, the commonest first (0)."""
    return {w: i for i, (w, _) in enumerate(_name_lines())}


@cache
def given_names() -> frozenset[str]:
    """The list names commoner as a given name than as a surname ("thomas", not "taylor")."""
    return frozenset(w for w, role in _name_lines() if role == "given")


# The training phrases of the Rasa project, one per line (scripts/make-domain-phrases.py).
PHRASES_PATH = Path(__file__).resolve().parent / "domain_phrases.txt"


@cache
def sentence_words() -> frozenset[str]:
    """The words callers of this line use in their sentences (the training phrases) that are not list names:
    "phone", "quite", "name's". At the edge of a name reading they are the sentence around it, misheard."""
    lines = PHRASES_PATH.read_text(encoding="utf-8").splitlines()
    words = {w for line in lines if line.strip() and not line.startswith("#") for w in line.split()}
    return frozenset(words) - names()
