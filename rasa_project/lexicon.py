"""The shared lexicon (lexicon.yml, a link to the agent's ari_agent/lexicon.yml), read once.

Pure, no Rasa imports: the NLU components, the actions and the agent's tests import it. The agent reads the
same file, so the words its constrained decoder can output are the words these rules know.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Tuple

import yaml

PATH = Path(__file__).resolve().parent / "lexicon.yml"


@lru_cache(maxsize=1)
def _data() -> Dict[str, Any]:
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


def words(key: str) -> FrozenSet[str]:
    """A word list as a set."""
    return frozenset(str(w) for w in _data()[key])


def ordered(key: str) -> Tuple[str, ...]:
    """A word list in the file's order."""
    return tuple(str(w) for w in _data()[key])


def numbers(key: str) -> Dict[str, int]:
    """A word -> number table."""
    return {str(k): int(v) for k, v in _data()[key].items()}


def table(key: str) -> Dict[str, str]:
    """A word -> text table."""
    return {str(k): str(v) for k, v in _data()[key].items()}


def groups(key: str) -> Dict[str, Tuple[str, ...]]:
    """A name -> phrases table."""
    return {str(k): tuple(str(p) for p in v) for k, v in _data()[key].items()}
