"""A name spelled after it kept coming through wrong is matched against the name list (rasa_project/actions)."""

from __future__ import annotations

import random

from ari_agent import lexicon
from ari_agent.sim import phrasing
from ari_agent.sim.goals import FIRST_NAMES, LAST_NAMES
from tests.test_dialogue_rasa import spoken


def test_a_spelling_heard_right_or_with_a_sound_alike_letter_is_the_list_name() -> None:
    assert spoken.spelled_name("w a l k e r", "surname") == "Walker"
    assert spoken.spelled_name("y o u n g", "surname") == "Young"
    assert spoken.spelled_name("h i double l", "surname") == "Hill"
    assert spoken.spelled_name("c oh oh k", "surname") == "Cook"
    assert spoken.spelled_name("b ah o w n", "surname") == "Brown"  # R said without its r
    # The "e" set and m/n sound alike on a phone line: one such letter misheard still finds the name.
    assert spoken.spelled_name("w a l k e r", "surname") == spoken.spelled_name("w a l k p r", "surname")
    assert spoken.spelled_name("j e n n i f e r", "given") == "Jennifer"


def test_a_spelling_no_list_name_is_clearly_closest_to_is_no_name() -> None:
    assert spoken.spelled_name("", "surname") is None
    assert spoken.spelled_name("k", "surname") is None  # one letter is no name
    assert spoken.spelled_name("x q z v", "surname") is None
    assert spoken.spelled_name("yes that's right", "surname") is None
    # "c" and "d" sound alike: heard, O'Connell is O'Donnell as well; typed, it is what was meant.
    assert spoken.spelled_name("o c o n n e l l", "surname") is None
    assert spoken.spelled_name("o c o n n e l l", "surname", typed=True) == "Oconnell"


def test_the_simulated_callers_spelling_is_read_back_as_their_name_when_typed() -> None:
    # Typed (text calls), every spelling the simulated caller uses reads as the name it spelled.
    rng = random.Random(4)
    surnames = sorted(n for n in lexicon.names() if n not in lexicon.given_names())
    for name in rng.sample(surnames, 60):
        said = phrasing.spelled_phrase(name, rng)
        assert spoken.spelled_name(said, "surname", typed=True) == name.capitalize(), said


def test_letters_no_list_name_fits_are_read_against_the_names_heard_before() -> None:
    # "K, I, N, G" heard "p i n g" by the open decoder and "k i n" by the letter decoder: no list name is clearly
    # nearest, but of the names heard in the call King is.
    assert spoken.spelled_name("k i n", "surname") is None
    heard = {"it's", "thoughtless", "king", "hartley", "solis", "no", "sorry"}
    assert spoken.spelled_heard_name(["k i n", "p i n g"], "surname", heard) == "King"
    # Only names of the half spelled, and only when one is clearly nearest and near enough.
    assert spoken.spelled_heard_name(["k i n"], "given", heard) is None
    assert spoken.spelled_heard_name(["x q z"], "surname", heard) is None
    # 0.25 and 0.17 from the letters: too close to tell.
    assert spoken.spelled_heard_name(["p a r k e"], "surname", {"park", "parker"}) is None
    assert spoken.spelled_heard_name(["k i n"], "surname", set()) is None


def test_a_name_keyed_in_one_key_per_letter_is_the_list_name_with_those_keys() -> None:
    assert lexicon.keypad_keys("Miller") == "645537" == lexicon.keypad_keys("miller")  # one key per letter
    assert spoken.keyed_name("645537", "surname", set()) == "Miller"
    # Names that share keys: the one heard in the call, else the commonest of the list.
    assert spoken.keyed_name("4455", "surname", set()) == "Hill"
    assert spoken.keyed_name("4455", "surname", {"gill", "helen"}) == "Gill"
    assert spoken.keyed_name("7285", "given", set()) == "Paul"
    # A surname that is also a given name is found among all the names; keys that spell no name are none.
    assert spoken.keyed_name("846627", "surname", set()) == "Thomas"
    assert spoken.keyed_name("9999", "surname", set()) is None


def test_every_simulated_callers_name_keyed_in_is_read_back_as_itself() -> None:
    # The simulated callers' names are list names: keyed in, each comes back as itself, or as a commoner name with
    # the same keys only when the caller's was not heard in the call.
    for role, names in (("given", FIRST_NAMES), ("surname", LAST_NAMES)):
        for name in names:
            assert spoken.keyed_name(lexicon.keypad_keys(name), role, {name.lower()}) == name, name
