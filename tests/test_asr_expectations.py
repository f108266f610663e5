"""What the agent expects next, as phrase lists for the constrained second decoder (ari_agent.asr.expectations)."""

from __future__ import annotations

import pytest

from ari_agent.asr.expectations import KINDS, expectation_for, phrases, refused_names


@pytest.mark.parametrize(
    ("requested", "kind"),
    [("date", "when"), ("time", "when"), ("old_date", "when"), ("confirmed", "confirm"), ("phone", "digits"),
     ("service", "service"), ("name", "name"), (None, None)],
)  # fmt: skip
def test_the_bots_question_decides_the_expected_answer(requested: str | None, kind: str | None) -> None:
    assert expectation_for({"requested_slot": requested} if requested else {}) == kind


def test_asked_what_to_change_the_caller_may_name_any_detail() -> None:
    # "What would you like to change?" is asked at the read-back (requested_slot "confirmed") while correcting.
    assert expectation_for({"requested_slot": "confirmed", "correcting": True}) == "service"
    assert {"a filling", "friday", "half past two", "no", "it's for"} <= set(phrases("service"))


def test_every_kind_has_plain_lower_case_phrases_without_repeats() -> None:
    for kind in KINDS:
        found = phrases(kind)
        assert found and len(found) == len(set(found)), kind
        assert all(p == p.lower().strip() and "[" not in p for p in found), kind
    # An offered time is often answered "yes, that's fine": the day/time phrases include the yes/no ones.
    assert set(phrases("yes_no")) <= set(phrases("when")) <= set(phrases("service")) <= set(phrases("confirm"))
    # A read-back is answered yes or no, or with the detail to correct: its reading holds every detail's phrases.
    assert "the eleventh" not in phrases("confirm") and {"eleventh", "at", "three"} <= set(phrases("confirm"))
    assert "half past two" in phrases("when") and "double" in phrases("digits")


def test_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown expectation 'colour'"):
        phrases("colour")


def test_refused_names_and_the_other_half_of_a_refused_name_sharing_the_half_kept() -> None:
    assert refused_names({}) == frozenset()
    assert refused_names({"names_refused": "kevin love"}) == frozenset()  # not a list: nothing, no crash
    slots: dict[str, object] = {"names_refused": ["kevin love", "Devin Hall"], "name_part": None}
    assert refused_names(slots) == {("kevin", "love"), ("devin", "hall")}
    # "I have Kevin. And your surname?": "Love" alone is the refused surname; "Hall" went with another first name.
    slots["name_part"] = "Kevin"
    assert refused_names(slots) == {("kevin", "love"), ("devin", "hall"), ("love",)}
