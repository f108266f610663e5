"""A small language model of what callers of this line say, to choose among the recogniser's alternatives.

Why: the small Vosk model's own language model is general English, so on a noisy line or an unusual voice its
best guess is often a common phrase ("what kind do you to los") while the right reading ("what time do you
...") is among its next few alternatives. A trigram model of the Rasa project's training phrases
(domain_phrases.txt, written from rasa_project/data/nlu.yml by scripts/make-domain-phrases.py) prefers the
alternative that sounds like a call to this line. On 400 simulated utterances through every voice and line
condition (10 alternatives), the set the two weights were chosen on, word error fell from 47% to 42.5% (the
best of the ten each time would give 37%); on 200 simulated calls of a fresh seed (3030) from 46% to 41%, and
task success rose from 67.5% to 70.5%, no wrong value written either way.

Each word's confidence comes from the alternatives too (`choose`): the share of the alternatives' probability
that puts the same word at the same place (Vosk gives no word confidences with alternatives). On 200 of those
utterances it agreed with Kaldi's own word confidences on 93.5% of the words as to "unsure" (< 0.8), with a
correlation of 0.92.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ari_agent import lexicon

PHRASES_PATH = lexicon.PHRASES_PATH
ORDER = 3
# Chosen on one simulated set (seed 5, 400 utterances) and checked on 200 simulated calls of a fresh seed (3030):
# how much the domain model's log probability counts against the recogniser's score, and a bonus per word,
# without which the model's preference for short sentences dropped words ("at twelve" -> "twelve").
LM_WEIGHT = 0.5
WORD_BONUS = 1.0
# Words the training phrases never use get a flat floor: callers' names, garbled words.
_UNSEEN = 1e-5
# How far a word may sit from the chosen alternative's to count as the same word there (seconds).
_SLACK_S = 0.05
# Scores closer than this are a tie: the same sounds, the same grammar weight (the tied ones agree to 4 decimals).
_TIE = 1e-3


class DomainLM:
    """An interpolated Witten-Bell trigram model over lower-case words."""

    def __init__(self, sentences: Iterable[Sequence[str]]) -> None:
        self._counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(ORDER + 1)]
        followers: list[defaultdict[tuple[str, ...], set[str]]] = [defaultdict(set) for _ in range(ORDER + 1)]
        for sentence in sentences:
            tokens = ["<s>"] * (ORDER - 1) + list(sentence) + ["</s>"]
            for i in range(ORDER - 1, len(tokens)):
                for k in range(1, ORDER + 1):
                    gram = tuple(tokens[i - k + 1 : i + 1])
                    self._counts[k][gram] += 1
                    followers[k][gram[:-1]].add(tokens[i])
        self._context: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(ORDER + 1)]
        for k in range(1, ORDER + 1):
            for gram, n in self._counts[k].items():
                self._context[k][gram[:-1]] += n
        self._types = [{ctx: len(words) for ctx, words in f.items()} for f in followers]
        self._total = max(1, self._context[1][()])

    def _prob(self, history: list[str], word: str) -> float:
        unigram = self._counts[1][(word,)] / self._total
        p = 0.5 * unigram + 0.5 * _UNSEEN if unigram else 0.5 * _UNSEEN
        for k in range(2, ORDER + 1):
            ctx = tuple(history[-(k - 1) :])
            seen = self._context[k][ctx]
            if not seen:
                continue
            known = seen / (seen + self._types[k][ctx])
            p = known * self._counts[k][(*ctx, word)] / seen + (1 - known) * p
        return p

    def logprob(self, words: Sequence[str]) -> float:
        """Natural-log probability of the whole sentence, its end included."""
        history = ["<s>"] * (ORDER - 1)
        total = 0.0
        for word in [*words, "</s>"]:
            total += math.log(self._prob(history, word))
            history.append(word)
        return total


_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # "[friday](date)" -> "friday"


def phrases_from_nlu(nlu_yaml: str) -> list[str]:
    """The training examples of a Rasa NLU file as a recogniser would write them: lower case, entity markup
    and punctuation gone, "check-up" as "check up". Examples with digits ("the 3rd") are left out: the
    recogniser writes numbers as words."""
    data = yaml.safe_load(nlu_yaml) or {}
    out: list[str] = []
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            text = line.strip().removeprefix("- ")
            text = _ANNOTATION.sub(r"\1", text).lower().replace("-", " ")
            if not text or any(c.isdigit() for c in text):
                continue
            words = re.sub(r"[^a-z' ]", " ", text).split()
            if words:
                out.append(" ".join(words))
    return list(dict.fromkeys(out))


def read_phrases(path: Path = PHRASES_PATH) -> list[list[str]]:
    """The training sentences, one per line (# comments and blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


@cache
def default_lm() -> DomainLM:
    """The model of the shipped phrases (built once per process: ~3,400 sentences, a few milliseconds)."""
    return DomainLM(read_phrases())


_POLARITY = lexicon.words("yes_cues") | lexicon.words("no_words")


def _polarity(words: list[dict[str, Any]]) -> list[str]:
    return [str(w.get("word")) for w in words if w.get("word") in _POLARITY]


def choose(
    alternatives: list[dict[str, Any]], lm: DomainLM | None, *, grammar: bool = False
) -> list[dict[str, Any]]:
    """The words of the best alternative (Vosk's n-best result), each with a confidence.

    The recogniser's score of an alternative is a log likelihood; their softmax is a probability for each.
    With `lm`, the alternative chosen maximises score + LM_WEIGHT * domain log probability + WORD_BONUS * words
    among those that say yes or no as the recogniser's best does; without, the recogniser's best. A word's
    confidence is the probability of the alternatives that have it, or a word that sounds the same, at the same
    place. With `grammar` (a constrained decoder's n-best) words tied in score count as the same sound
    (`_same_sounds`).
    """
    options = [a for a in alternatives if isinstance(a, dict)]
    if not options:
        return []
    scores = [float(a.get("confidence", 0.0)) for a in options]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    norm = sum(weights)
    probs = [w / norm for w in weights]
    words = [[w for w in (a.get("result") or []) if isinstance(w, dict)] for a in options]

    def rank(i: int) -> float:
        if lm is None:
            return scores[i]
        said = [str(w.get("word", "")) for w in words[i]]
        return scores[i] + LM_WEIGHT * lm.logprob(said) + WORD_BONUS * len(said)

    # The model may mend what was said but never whether it was a yes or a no: only alternatives with the
    # recogniser's own yes/no words (in order) compete. Unguarded, it added or dropped 33 of them on 400
    # utterances, 11 wrongly (a yes-word never said added, "yes, move it" -> "move it").
    polarity = _polarity(words[scores.index(top)])
    fair = [i for i in range(len(options)) if _polarity(words[i]) == polarity]
    best = max(fair, key=rank)
    sounds = _same_sounds(scores, words) if grammar else {}
    chosen = []
    for w in words[best]:
        mid = (float(w.get("start", 0.0)) + float(w.get("end", 0.0))) / 2
        alike = sounds.get(str(w.get("word")), {str(w.get("word"))})
        conf = sum(
            p for p, ws in zip(probs, words, strict=True)
            if any(v.get("word") in alike and float(v.get("start", 0.0)) - _SLACK_S <= mid
                   <= float(v.get("end", 0.0)) + _SLACK_S for v in ws)
        )  # fmt: skip
        chosen.append({**w, "word": _spelling(str(w.get("word")), alike), "conf": min(1.0, conf)})
    return chosen


def _spelling(word: str, alike: set[str]) -> str:
    """A list name as the commonest of the list names that sound the same ("michael", not "micheal")."""
    rank = lexicon.name_rank()
    if word not in rank:
        return word
    return min((w for w in alike | {word} if w in rank), key=rank.__getitem__)


def _same_sounds(scores: Sequence[float], words: Sequence[Sequence[dict[str, Any]]]) -> dict[str, set[str]]:
    """Words the recogniser cannot tell apart: two alternatives with the same score that differ in one word only.

    A grammar gives its words equal weight, so homophones tie exactly ("brian adams" and "bryan adams", "carol"
    and "carroll"), and each gets half the probability: Kaldi's own word confidence of "bryan" was 0.45 where the
    sound was heard clearly, and the name decoder dropped it as unsure. The tie, not a spelling rule, says they
    are the same sound. On 150 simulated name answers (every voice and line) the whole name came through right
    38 times before, 59 with the tied words' probability joined (40 wrong whole names against 32).
    """
    alike: dict[str, set[str]] = defaultdict(set)
    for i, j in itertools.combinations(range(len(words)), 2):
        if abs(scores[i] - scores[j]) > _TIE or len(words[i]) != len(words[j]):
            continue
        differ = [(a.get("word"), b.get("word")) for a, b in zip(words[i], words[j], strict=True)
                  if a.get("word") != b.get("word")]  # fmt: skip
        if len(differ) == 1:
            a, b = (str(x) for x in differ[0])
            alike[a] |= {a, b}
            alike[b] |= {a, b}
    # Closed under "sounds like" ("bryan" ~ "brian" ~ "brien" when only pairs tied in the n-best).
    for word in list(alike):
        for other in list(alike[word]):
            alike[word] |= alike[other]
    return alike


def without_refused(alternatives: list[dict[str, Any]], refused: frozenset[tuple[str, ...]]) -> list[dict[str, Any]]:
    """The name decoder's n-best without the readings whose list names are a name the caller refused (or sound
    the same: `_same_sounds`); all of it when every reading is refused, so the dialogue still hears what it heard.

    A caller who said no to "Kevin Love" does not say "Kevin Love" next, but the recogniser hears the same
    voice the same way: simulated callers had the refused name read back to them three times over, then asked
    for a person. With it struck, the next reading the recogniser had is taken; its word confidences are then
    shares of the readings left (the caller ruled the others out), so a second choice is not dropped as unsure.
    """
    options = [a for a in alternatives if isinstance(a, dict)]
    if not refused or not options:
        return options
    scores = [float(a.get("confidence", 0.0)) for a in options]
    words = [[w for w in (a.get("result") or []) if isinstance(w, dict)] for a in options]
    sounds = _same_sounds(scores, words)
    names = lexicon.names()

    def is_refused(ws: list[dict[str, Any]]) -> bool:
        said = [str(w.get("word")) for w in ws if w.get("word") in names]
        return any(
            len(said) == len(name) and all(s == n or n in sounds.get(s, ()) for s, n in zip(said, name, strict=True))
            for name in refused
        )

    kept = [a for a, ws in zip(options, words, strict=True) if not is_refused(ws)]
    return kept or options
