"""The contract between the agent and its Rasa project: one lexicon, and everything the constrained decoder can
say is understood by the dialogue's readers (rasa_project/components/cues.py, rasa_project/actions/spoken.py).

The constrained decoder once returned "sounds good", "go ahead" and "not quite", which the cue reader did not
know: these tests fail on any phrase the Rasa side cannot read.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from ari_agent import lexicon
from ari_agent.asr.expectations import KINDS, phrases
from tests.test_dialogue_rasa import RASA_PROJECT, cues, spoken

TODAY = date(2026, 11, 26)
# Words that only join the parts of a day/time answer ("on the third of December at ten").
CONNECTORS = {"at", "around", "about", "the", "of", "on"}


def test_both_sides_read_the_same_file() -> None:
    link = RASA_PROJECT / "lexicon.py"  # the Rasa project imports the agent's own module, which finds its data
    assert link.resolve() == Path(lexicon.__file__).resolve()
    assert cues.NO_WORDS == lexicon.words("no_words")
    assert spoken.WEEKDAYS == list(lexicon.ordered("weekdays"))


def test_every_yes_no_phrase_is_read_as_its_answer() -> None:
    groups = lexicon.groups("yes_no_phrases")
    assert set(phrases("yes_no")) == {p for ps in groups.values() for p in ps}
    for kind, expected in (("affirm", "yes"), ("deny", "no")):
        for phrase in groups[kind]:
            assert cues.yes_or_no(phrase) == expected, phrase
            assert cues.hint_intent({"text": phrase, "complete": True}) == kind, phrase


def test_every_day_or_time_phrase_is_understood() -> None:
    yes_no = set(phrases("yes_no"))
    for phrase in phrases("when"):
        if phrase in yes_no or phrase in CONNECTORS:
            continue
        understood = (
            spoken.parse_date(phrase, TODAY) is not None
            or spoken.parse_time(phrase, bare_number_is_hour=True) is not None
            # ordinals, months and the tens of dates are parts of one: "the" + word, "the first of" + month
            or spoken.parse_date(f"the {phrase}", TODAY) is not None
            or spoken.parse_date(f"the first of {phrase}", TODAY) is not None
            or phrase in ("twenty", "thirty")
        )
        assert understood, f"the constrained decoder can say {phrase!r}, the dialogue cannot read it"


def test_every_service_phrase_is_a_service_a_when_or_a_lead_in() -> None:
    when, leads = set(phrases("when")), set(lexicon.ordered("answer_leads"))
    for phrase in phrases("service"):
        assert phrase in when or phrase in leads or spoken.parse_service(phrase) is not None, phrase
    # A lead-in names nothing: the dialogue reads no day, time or service from it alone.
    for phrase in leads:
        assert spoken.parse_service(phrase) is None and spoken.parse_date(phrase, TODAY) is None, phrase


def test_every_digit_phrase_reads_as_digits() -> None:
    runs = [p for p in phrases("digits") if p not in ("double", "triple", "my number is", "it's")]
    for word in runs:
        assert spoken.parse_phone(" ".join([word] * 10)) is not None, word


def test_every_task_phrase_names_its_task_for_the_nlu() -> None:
    # The agent decodes an answer to the opening menu against these phrases; the Rasa side must read each one,
    # wrapped in the fillers people add, as its intent, and each intent must be one the domain knows.
    domain = yaml.safe_load((RASA_PROJECT / "domain.yml").read_text())
    for intent, phrases_of_task in lexicon.groups("tasks").items():
        assert intent in domain["intents"], intent
        for phrase in phrases_of_task:
            for said in (phrase, f"um i'd like to {phrase} please"):
                assert cues.hint_task({"kind": "task", "text": said, "complete": True}) == intent, said
    assert set(phrases("task")) >= set(lexicon.ordered("menu_fillers"))


def test_every_name_the_name_decoder_hears_is_read_as_a_name() -> None:
    # Whatever the name decoder can say before a name (a lead-in, a no, a hesitation), the dialogue reads the list
    # names after it as the name, and only those.
    others = {p for p in phrases("name") if p not in lexicon.names()}
    assert {"it's", "my name is", "no", "not quite", "sorry", "um", "let me see"} <= others
    refused = {w for w in lexicon.names() if spoken.name_in_reading(f"it's {w} smith") != f"{w.capitalize()} Smith"}
    assert not refused, refused
    for said in others:
        assert spoken.name_in_reading(f"{said} mary smith") == "Mary Smith", said
        assert spoken.name_in_reading(f"mary {said} smith") in ("Smith", "Mary Smith"), said
        assert spoken.name_in_reading(said) is None, said
    # A name typed or heard by the open decoder after a lead-in is read as one (a month or "price" mean more).
    refused = {w for w in lexicon.names() if w in phrases("name")
               and (spoken.parse_name(f"it's {w} smith") is None or spoken.parse_name(f"my name is mary {w}") is None)}
    assert refused <= set(lexicon.words("months")) | {"price"}, refused


def test_every_detail_phrase_names_its_detail_and_every_detail_is_a_slot() -> None:
    """What the detail decoder can write ("Which is wrong: the day, the time or the name?") is read as that detail
    by the dialogue; its leads and the yes/no phrases name none."""
    for slot, group in lexicon.groups("details").items():
        assert slot in {"date", "time", "name", "service", "phone"}, slot
        for phrase in group:
            assert slot in spoken.details_named(phrase), (slot, phrase)
    for phrase in phrases("detail"):
        if phrase in lexicon.ordered("detail_leads"):
            assert not spoken.details_named(phrase), phrase
    assert spoken.details_named("the day and the time") == {"date", "time"}


def test_every_kind_has_phrases() -> None:
    for kind in KINDS:
        assert phrases(kind), kind


def test_the_nlu_lookup_knows_every_service_name() -> None:
    """The NLU's training data (its `service` lookup table) names every service word of the lexicon."""
    nlu = yaml.safe_load((RASA_PROJECT / "data" / "nlu.yml").read_text())
    lookup = next(item for item in nlu["nlu"] if item.get("lookup") == "service")
    known = {line.strip("- ").strip() for line in lookup["examples"].splitlines() if line.strip()}
    missing = [p for ps in lexicon.groups("services").values() for p in ps if p not in known]
    assert not missing, f"add to the service lookup in rasa_project/data/nlu.yml: {missing}"


def _examples(intent: str) -> list[str]:
    """An intent's examples in the training and held-out data."""
    examples = []
    for path in (RASA_PROJECT / "data" / "nlu.yml", RASA_PROJECT / "tests" / "heldout_nlu.yml"):
        nlu = yaml.safe_load(path.read_text())
        block = next(item for item in nlu["nlu"] if item.get("intent") == intent)
        examples += [line.strip("- ").strip() for line in block["examples"].splitlines() if line.strip()]
    return examples


def test_every_urgent_word_is_in_an_urgent_example() -> None:
    """The classifier learns a symptom word only from the training data: "I'm in agony, my jaw is swollen", heard
    "i'm in agony my daughter in wales", was a booking (0.92) while no urgent example said "agony" (fresh seed
    11210, asked for a service six times, then a person)."""
    said = {w for e in _examples("report_urgent") for w in cues.tokens(e)}
    missing = sorted(lexicon.words("urgent_words") - said)
    assert not missing, f"add report_urgent examples with these words to rasa_project/data/nlu.yml: {missing}"


def test_every_request_for_a_person_in_the_training_data_is_clear() -> None:
    """A request_human that is not clearly one (cues.asks_for_a_person) is taken for garble and asked again: no
    request of the training or held-out data may read as garble."""
    examples = _examples("request_human")
    unclear = [e for e in examples if not cues.asks_for_a_person(e)]
    assert not unclear, f"add their words to person_words / person_asks in ari_agent/lexicon.yml: {unclear}"
    assert cues.context_intent("an agenda luck please", "request_human", "time") == "nlu_fallback"
    assert cues.context_intent("can i speak to someone please", "request_human", "time") is None


def test_every_frustration_in_the_training_data_says_so() -> None:
    """Frustration is handed over only when its words say it (cues.sounds_frustrated): every frustration example of
    the training and held-out data must."""
    examples = _examples("frustration")
    unsaid = [e for e in examples if not cues.sounds_frustrated(e)]
    assert len(examples) > 100 and not unsaid, f"add their words to frustration_cues in ari_agent/lexicon.yml: {unsaid}"


@pytest.mark.parametrize(
    "heard",
    # Simulated calls: turns the classifier called frustration (0.82-0.98), none of them frustrated.
    ["jamaica working", "while you're driving", "oh lucky me asking", "it's understand get worse",
     "no sorry it's i believe us", "oh you're starting to pick up please"],
)
def test_garble_the_classifier_called_frustration_does_not_say_it(heard: str) -> None:
    assert not cues.sounds_frustrated(heard)


@pytest.mark.parametrize(
    "heard",
    [
        # Simulated calls: a booking, a time, a name and a day misheard, each with one word of asking for a person.
        "i'd like to person examination",
        "i'm only human",
        "amazing person",
        "excuse me a person",
        "someone made a big and",
        "i need to send someone",
        "it's really man person",
        "some real fluffy be as someone please",
        # "me" and "through" apart: "Let me see, that's wrong, it's Ruth Stewart"; "Let me see, my name is Julie
        # Green"; "No, sorry, my name is Ruth Thompson".
        "let me see that through the through to us",
        "let me through the manual on my name is joe agreement",
        "no on monday me through some sense",
        # "Are you open on Saturdays?"; "On Saturday the fifth, at eleven": speaking, with no one named or asked.
        "on talk to them",
        "on talk to me live arcade women",
    ],
)
def test_a_cue_word_in_garble_is_no_request_for_a_person(heard: str) -> None:
    assert not cues.asks_for_a_person(heard)


@pytest.mark.parametrize(
    "heard",
    [
        # Real requests as the recogniser wrote them in simulated calls: misheard words around a clear request.
        "i want to francis human",
        "put me through for redemption clean",
        "put me through everything some please",
        "could you transfer me",
        "i want to talk to you",
        "i'm on the i can't speak to",
        "let me see i'd like to talk to real substance",
        "so can i speak to someone dream",
        "let me say the reception place",
        "i'd like to toss a real person",
        "is there somebody i can't speak to",
        "cannot speak to actually",
        "a human please",
    ],
)
def test_a_request_for_a_person_heard_with_errors_is_still_one(heard: str) -> None:
    assert cues.asks_for_a_person(heard)


def test_a_person_word_alone_is_a_request_only_when_heard_clearly() -> None:
    # "It's Thursday" heard "please person" (0.44), "A filling, please" heard "someone please" (0.41).
    for heard in ("please person", "someone please", "a human please"):
        assert cues.asks_for_a_person(heard) and not cues.asks_for_a_person(heard, unsure=True)
    assert cues.asks_for_a_person("can i speak to someone", unsure=True)  # a word of asking: a request anyway


def test_a_bare_yes_in_the_file_is_an_error(tmp_path: Path) -> None:
    from ari_agent.lexicon import _check_strings

    with pytest.raises(ValueError, match="quote it"):
        _check_strings(yaml.safe_load("words: [yes, maybe]"), "test.yml")


def test_every_spelling_phrase_is_a_letter_or_nothing() -> None:
    # The letter decoder can say any letter, "double", "ah" or "oh": the dialogue reads each letter as itself,
    # "double" as the next letter twice, "oh" as O and "ah" as R.
    letters = set(lexicon.ordered("letters"))
    for phrase in phrases("spelling"):
        expected = phrase if phrase in letters else {"oh": "o", "ah": "r"}.get(phrase, "")
        assert spoken.spelled_letters(phrase) == expected, phrase
    assert spoken.spelled_letters("um it's h i double l") == "hill"
    assert set("".join(lexicon.ordered("letter_sound_groups"))) <= letters


def test_the_keypad_choices_are_the_agents_services_intents_and_operator_key() -> None:
    # The keypad menu and the service keys (rasa_project/actions: KEYPAD_MENU, SERVICE_KEYS_OFFER) are built from
    # these tables; the key for a person is the one the agent itself hands over on (CallSettings.operator_digit).
    from ari_agent.config import CallSettings

    assert set(lexicon.table("service_keys").values()) == set(spoken.SERVICES)
    domain = yaml.safe_load((RASA_PROJECT / "domain.yml").read_text())
    assert set(lexicon.table("menu_keys").values()) <= set(domain["intents"])
    person = [key for key, intent in lexicon.table("menu_keys").items() if intent == "request_human"]
    assert person == [CallSettings().operator_digit]
