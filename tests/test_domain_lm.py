"""The domain language model that picks among the recogniser's alternatives (ari_agent.asr.domain_lm)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest

from ari_agent.asr.domain_lm import PHRASES_PATH, DomainLM, choose, default_lm, phrases_from_nlu, without_refused

ROOT = Path(__file__).resolve().parent.parent


def alternative(score: float, *words: tuple[str, float, float]) -> dict[str, Any]:
    """One entry of Vosk's n-best result: its score and its words with their times."""
    return {
        "confidence": score,
        "text": " ".join(w for w, _, _ in words),
        "result": [{"word": w, "start": s, "end": e} for w, s, e in words],
    }


def test_the_shipped_phrases_are_the_rasa_projects_training_phrases() -> None:
    # The agent's venv cannot read the Rasa model: it reads this file, which must follow nlu.yml.
    spec = importlib.util.spec_from_file_location("make_domain_phrases", ROOT / "scripts" / "make-domain-phrases.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert PHRASES_PATH.read_text(encoding="utf-8") == script.render(), (
        "ari_agent/domain_phrases.txt is out of date: run .venv/bin/python scripts/make-domain-phrases.py"
    )


def test_training_examples_are_written_as_the_recogniser_writes_words() -> None:
    nlu = """
nlu:
- intent: inform
  examples: |
    - a [check-up](service) on [friday](date), please
    - [the 3rd](date)
    - It's Tom's
- lookup: service
  examples: |
    - filling
"""
    assert phrases_from_nlu(nlu) == ["a check up on friday please", "it's tom's"]


def test_a_call_to_this_line_is_likelier_than_the_same_sounds_in_other_words() -> None:
    lm = default_lm()
    assert lm.logprob("what time do you close".split()) > lm.logprob("what kind do you to los".split())
    assert lm.logprob("i'd like to book a cleaning".split()) > lm.logprob("i'd like to bike a cleaning".split())


def test_the_model_interpolates_what_it_has_not_seen_whole() -> None:
    lm = DomainLM([["book", "a", "cleaning"], ["book", "a", "filling"], ["cancel", "a", "filling"]])
    seen, unseen = lm.logprob(["cancel", "a", "cleaning"]), lm.logprob(["cancel", "a", "zebra"])
    assert unseen < seen < 0


def test_the_domain_model_picks_the_alternative_and_rates_each_word_by_the_alternatives() -> None:
    alternatives = [
        alternative(95.8, ("what", 0.0, 0.2), ("kind", 0.2, 0.5), ("do", 0.5, 0.6), ("you", 0.6, 0.7),
                    ("to", 0.7, 0.8), ("los", 0.8, 1.2)),
        alternative(95.8, ("what", 0.0, 0.2), ("time", 0.2, 0.5), ("do", 0.5, 0.6), ("you", 0.6, 0.7),
                    ("to", 0.7, 0.8), ("los", 0.8, 1.2)),
    ]  # fmt: skip
    words = choose(alternatives, default_lm())
    assert [w["word"] for w in words] == ["what", "time", "do", "you", "to", "los"]
    conf = {w["word"]: w["conf"] for w in words}
    # Both alternatives (equally likely to the recogniser) agree on "what": sure; only one says "time".
    assert conf["what"] == pytest.approx(1.0) and conf["time"] == pytest.approx(0.5, abs=0.01)
    # Without the model, the recogniser's best stands.
    assert [w["word"] for w in choose(alternatives, None)][1] == "kind"


def test_a_constrained_decoders_homophones_share_their_probability() -> None:
    # A grammar weighs its words equally, so "brian" and "bryan" tie and Kaldi gave each half: dropped as unsure.
    alternatives = [
        alternative(275.34, ("the", 0.5, 0.8), ("name's", 0.8, 1.1), ("brian", 1.1, 1.5), ("adams", 1.5, 2.1)),
        alternative(275.34, ("the", 0.5, 0.8), ("name's", 0.8, 1.1), ("bryan", 1.1, 1.5), ("adams", 1.5, 2.1)),
        alternative(273.88, ("the", 0.5, 0.8), ("name's", 0.8, 1.1), ("bryant", 1.1, 1.5), ("adams", 1.5, 2.1)),
    ]
    conf = {w["word"]: w["conf"] for w in choose(alternatives[::-1], None, grammar=True)}
    assert conf["brian"] == pytest.approx(2 / (2 + math.exp(-1.46)), abs=0.01)  # bryant sounds different
    assert conf["adams"] == pytest.approx(1.0)
    # The open decoder's alternatives tie only by chance (its language model weighs every word): no merging.
    conf = {w["word"]: w["conf"] for w in choose(alternatives, None)}
    assert conf["brian"] == pytest.approx(1 / (2 + math.exp(-1.46)), abs=0.01)


def test_a_name_the_recogniser_cannot_tell_from_another_is_written_the_commoner_way() -> None:
    tied = [alternative(215.37, ("carroll", 0.5, 0.9), ("baker", 0.9, 1.4)),
            alternative(215.37, ("carol", 0.5, 0.9), ("baker", 0.9, 1.4))]  # fmt: skip
    assert [w["word"] for w in choose(tied, None, grammar=True)] == ["carol", "baker"]
    # A word that is no list name keeps its own spelling, whatever name it ties with.
    tied = [alternative(80.0, ("well", 0.5, 0.9)), alternative(80.0, ("will", 0.5, 0.9))]
    assert [w["word"] for w in choose(tied, None, grammar=True)] == ["well"]


def test_a_refused_name_gives_way_to_the_next_reading_which_keeps_its_confidence() -> None:
    # "No, it's Kevin Hall" heard "kevin love" again after the caller refused "Kevin Love".
    n_best = [
        alternative(96.0, ("no", 0.2, 0.4), ("it's", 0.4, 0.6), ("kevin", 0.6, 1.0), ("love", 1.0, 1.4)),
        alternative(96.0, ("no", 0.2, 0.4), ("it's", 0.4, 0.6), ("kevin", 0.6, 1.0), ("lowe", 1.0, 1.4)),
        alternative(94.9, ("no", 0.2, 0.4), ("it's", 0.4, 0.6), ("kevin", 0.6, 1.0), ("hall", 1.0, 1.4)),
        alternative(93.0, ("no", 0.2, 0.4), ("it's", 0.4, 0.6), ("devin", 0.6, 1.0), ("love", 1.0, 1.4)),
    ]
    # The tie is written the commoner way ("lowe"); the caller refused it as read back, "Kevin Love".
    assert [w["word"] for w in choose(n_best, None, grammar=True)][-2:] == ["kevin", "lowe"]
    refused = frozenset({("kevin", "love")})
    words = choose(without_refused(n_best, refused), None, grammar=True)
    # "lowe" sounds the same as the refused "love" here (tied): struck too. The caller ruled the refused readings out,
    # so "hall" is rated among the readings left, not dropped as unsure beside them.
    assert [w["word"] for w in words] == ["no", "it's", "kevin", "hall"]
    assert {w["word"]: w["conf"] for w in words}["hall"] > 0.6
    # A half refused (the surname asked for after "I have Kevin"): only readings of that one word are struck.
    halves = [alternative(50.0, ("love", 0.2, 0.6)), alternative(49.0, ("hall", 0.2, 0.6))]
    assert [w["word"] for w in choose(without_refused(halves, frozenset({("love",)})), None, grammar=True)] == ["hall"]
    # Every reading refused: the recogniser's own best stays (the dialogue decides what to do with it).
    assert without_refused(n_best[:2], refused) == n_best[:2]
    assert without_refused(n_best, frozenset()) == n_best


def test_the_domain_model_never_adds_or_drops_a_yes_or_a_no() -> None:
    # The training phrases say "yes" and "move it" apart, never together: the model alone preferred "move it".
    alternatives = [
        alternative(60.0, ("yes", 0.0, 0.3), ("move", 0.4, 0.7), ("it", 0.7, 0.9)),
        alternative(59.0, ("move", 0.4, 0.7), ("it", 0.7, 0.9)),
    ]
    assert [w["word"] for w in choose(alternatives, default_lm())] == ["yes", "move", "it"]
    alternatives = [alternative(40.0, ("the", 0.0, 0.2), ("block", 0.2, 0.6)),
                    alternative(39.5, ("no", 0.0, 0.2), ("clock", 0.2, 0.6))]  # fmt: skip
    assert [w["word"] for w in choose(alternatives, default_lm())] == ["the", "block"]


def test_an_empty_or_malformed_n_best_result_is_no_words() -> None:
    assert choose([], default_lm()) == []
    assert choose([{"confidence": 1.0, "text": ""}], default_lm()) == []
    assert choose(["garbage"], default_lm()) == []  # type: ignore[list-item]
