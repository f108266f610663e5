"""Unit tests of the Rasa wire translation (no network) and of the spoken date/time parsing."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import ModuleType

import pytest

from ari_agent.asr.expectations import phrases
from ari_agent.dialogue.base import CallContext, DialogueError, DialogueResult, Handoff
from ari_agent.dialogue.rasa import (
    RasaDialogue,
    context_events,
    handoff_summary,
    result_from_rasa,
    result_to_rasa,
)

RASA_PROJECT = Path(__file__).parent.parent / "rasa_project"
# The pure modules import the project's shared `lexicon` module the way Rasa's process does (project on the path).
if str(RASA_PROJECT) not in sys.path:
    sys.path.append(str(RASA_PROJECT))


def _load(relative: str, name: str) -> ModuleType:
    """A pure module of the Rasa project (no Rasa imports), loaded from its file: Rasa lives in another venv."""
    path = RASA_PROJECT / relative
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


spoken = _load("actions/spoken.py", "rasa_spoken")
cues = _load("components/cues.py", "rasa_cues")
matching = _load("actions/matching.py", "rasa_matching")
TODAY = date(2026, 11, 26)  # a Thursday


def test_round_trip_full_result() -> None:
    result = DialogueResult(
        replies=["You're booked in.", "Anything else?"],
        intent="affirm",
        intent_confidence=0.94,
        entities=[{"entity": "date", "value": "friday", "start": 0, "end": 6, "extractor": "RegexEntityExtractor"}],
        slots={"task": "book", "service": "cleaning", "name": "Jennifer Wood"},
        handoff=Handoff(reason="urgent", queue="urgent", summary="task book; service cleaning; name Jennifer Wood"),
        outcome="booked",
        booking_ref="AB123",
        end_call=True,
    )
    replies, tracker = result_to_rasa(result)
    assert result_from_rasa(replies, tracker) == result


def test_round_trip_plain_reply() -> None:
    result = DialogueResult(replies=["Which day suits you?"], intent="book_appointment", intent_confidence=0.9)
    assert result_from_rasa(*result_to_rasa(result)) == result


def test_last_user_event_wins_over_stale_latest_message() -> None:
    tracker = {
        "slots": {"requested_slot": "time", "call_now": "2026-11-26T10:00:00"},
        "latest_message": {"intent": {"name": "inform", "confidence": 0.8}},
        "events": [
            {"event": "user", "parse_data": {"intent": {"name": "inform", "confidence": 0.8}}},
            {"event": "user", "parse_data": {"intent": {"name": "affirm", "confidence": 0.93}, "entities": []}},
            {"event": "action", "name": "action_listen"},
        ],
    }
    result = result_from_rasa([{"recipient_id": "x", "text": "Done."}], tracker)
    assert (result.intent, result.intent_confidence) == ("affirm", 0.93)
    assert result.slots == {"requested_slot": "time"}  # the agent's own context slots are not echoed


def test_handoff_payload_without_queue_and_unknown_reason() -> None:
    result = result_from_rasa([{"custom": {"handoff": {"reason": "something-new"}}}], {"slots": {}})
    assert result.handoff == Handoff(reason="something-new", queue=None, summary="")
    assert result.replies == []


def test_context_events_carry_now_caller_and_scope() -> None:
    ctx = CallContext(now=datetime(2026, 11, 26, 10, 5), caller_number="+4412345", call_id="c-1")
    events = context_events(ctx, "replay-7")
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {
        "call_now": "2026-11-26T10:05:00",
        "caller_number": "+4412345",
        "call_id": "c-1",
        "booking_scope": "replay-7",
    }
    assert events[0]["name"] == "action_session_start" and events[-1]["name"] == "action_listen"


def test_handoff_summary_lists_what_the_caller_gave() -> None:
    assert (
        handoff_summary({"task": "book", "service": "filling", "date": "2026-11-27"})
        == "task book; service filling; date 2026-11-27"
    )


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("tomorrow", date(2026, 11, 27)),
        ("next tuesday", date(2026, 12, 1)),
        ("on the 3rd", date(2026, 12, 3)),
        ("the twenty first", date(2026, 12, 21)),
        ("december the first", date(2026, 12, 1)),
        ("thursday", date(2026, 12, 3)),  # said on a Thursday: next week's
        ("the first one", None),
        ("i'd like to book", None),
        # A day of the month heard without its ordinal ending, where a date stands.
        ("and it's december eleven", date(2026, 12, 11)),
        ("fifteen of december", date(2026, 12, 15)),
        ("it's on the fifteen", date(2026, 12, 15)),
        ("friday the eleven", date(2026, 12, 11)),
        # ... and not where a time or an offer stands.
        ("friday ten thirty", date(2026, 11, 27)),
        ("on the one at nine", None),
        ("on the two o'clock", None),
        ("december at ten", None),
        # A weekday said with a month is that weekday in the month; "next" and this month keep the nearest.
        ("a saturday in december", date(2026, 12, 5)),
        ("december on saturday the says", date(2026, 12, 5)),
        ("saturday in november", date(2026, 11, 28)),
        ("next saturday december", date(2026, 11, 28)),
        ("the first monday in january", date(2027, 1, 4)),
        # A day number apart from its weekday counts where the two agree (the 15th is a Tuesday; the 16th is not).
        ("no i'll read on tuesday in the fifteenth a healthy mm", date(2026, 12, 15)),
        ("tuesday in the sixteenth", date(2026, 12, 1)),
    ],
)
def test_parse_date(said: str, expected: date | None) -> None:
    assert spoken.parse_date(said, TODAY) == expected


@pytest.mark.parametrize(
    ("said", "lost"),
    [
        ("on saturday the says", True),
        ("saturdays the fuss nine thirty", True),
        ("on thursday the favorite team", True),
        ("saturday the fifth", False),
        ("saturday the twenty eight", False),
        ("saturday the morning", False),
        ("friday the one at ten", False),
        ("friday the ten thirty", False),
        ("friday the free thirty", False),  # "three": an hour's sound-alike
        ("on saturday the", False),
        ("the fifth of december", False),
    ],
)
def test_a_weekday_whose_day_number_was_lost(said: str, lost: bool) -> None:
    assert spoken.weekday_number_lost(said) is lost


def test_a_choice_of_week_is_made_by_the_month_too() -> None:
    options = [date(2026, 11, 28), date(2026, 12, 5)]
    assert spoken.option_by_day_number("the one in december", options) == date(2026, 12, 5)
    assert spoken.option_by_day_number("saturday the fifth", options) == date(2026, 12, 5)
    assert spoken.option_by_day_number("saturday", options) is None
    assert spoken.option_by_day_number("the second one please", options) == date(2026, 12, 5)
    assert spoken.option_by_day_number("um the earlier one", options) == date(2026, 11, 28)


@pytest.mark.parametrize(
    ("day", "weekday", "expected"),
    [
        (date(2026, 11, 28), True, date(2026, 12, 5)),  # "saturday the says", asked for a day in December
        (date(2026, 11, 28), False, date(2026, 12, 28)),  # "the twenty eighth", asked the same
        (date(2026, 12, 8), True, date(2026, 12, 8)),  # already in December
    ],
)
def test_a_day_is_read_in_the_month_asked_about(day: date, weekday: bool, expected: date) -> None:
    assert spoken.day_in_month(day, "december", TODAY, weekday) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("nine", date(2026, 12, 9)),  # "the ninth" without its ending: asked back, not taken
        ("a the ten", date(2026, 12, 10)),
        ("thirty", date(2026, 11, 30)),
        ("eleven please", date(2026, 12, 11)),
        ("one", None),  # "the one at nine" picks an offer
        ("nine thirty", None),  # a time
        ("monday", None),
        ("nine and ten", None),
        ("forty", None),
    ],
)
def test_a_day_answer_of_one_number_alone(heard: str, expected: date | None) -> None:
    assert spoken.lone_day_number(heard, TODAY) == expected
    assert spoken.day_number_guess(heard, TODAY) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("on tuesday that fifteen at all at half past while in the afternoon", date(2026, 12, 15)),  # seed 8282
        ("on tuesday the eighth", date(2026, 12, 8)),
        ("on tuesday at eight", None),  # an hour, not the eighth
        ("on tuesday eight", date(2026, 12, 8)),  # seed 8484: "on friday four" for Friday the fourth
        ("tuesday eight thirty", None),
        ("tuesday", None),  # both options are Tuesdays
        ("the twentieth", None),  # neither option
    ],
)
def test_a_choice_between_two_weeks_is_made_by_the_day_number(heard: str, expected: date | None) -> None:
    assert spoken.option_by_day_number(heard, [date(2026, 12, 8), date(2026, 12, 15)]) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [("930", time(9, 30)), ("230#", time(14, 30)), ("1415", time(14, 15)), ("9", time(9, 0)), ("1200", time(12, 0)),
     ("975", None), ("2500", None), ("12345", None)],
)
def test_a_time_keyed_in_is_read_on_the_clinics_clock(keys: str, expected: time | None) -> None:
    at = spoken.keyed_time(keys)
    assert (at.at if at else None) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [("9", date(2026, 12, 9)), ("30#", date(2026, 11, 30)), ("1", date(2026, 12, 1)), ("32", None), ("0", None),
     ("12a", None)],
)
def test_a_day_of_the_month_keyed_in_is_its_next_such_day(keys: str, expected: date | None) -> None:
    assert spoken.keyed_day(keys, TODAY) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        # Seed 4040: "Thursday the twenty sixth, one o'clock" heard so: no hour is 26, so it is a day to ask back.
        ("her name of twenty six one of lot", date(2026, 11, 26)),
        ("on the nineteen at nine", date(2026, 12, 19)),
        ("at two thirty", None),  # minutes, not a day
        ("two fifteen in the afternoon", None),
        ("the nineteen or the twenty one", None),  # two days: no guess
        ("at ten in the morning", None),
        # Seed 1919: "the tenth, at one thirty in the afternoon" read "around to ten at one thirty ...".
        ("around to ten at one thirty in the afternoon", date(2026, 12, 10)),
        ("the ten at one", date(2026, 12, 10)),
        ("half past ten at two", None),  # "ten" belongs to a time
        ("at ten at two", None),
        # Seed 1919: "Could I do the tenth, one thirty?" heard "can i do the ten one thirty".
        ("can i do the ten one thirty", date(2026, 12, 10)),
        ("the ten one forty five", date(2026, 12, 10)),
        ("ten one thirty", None),  # no "the": "ten" may be the hour said twice
        ("the ten thirty", None),  # a time
        ("at the ten one", None),
    ],
)
def test_a_day_answer_with_one_number_only_a_day_can_be(heard: str, expected: date | None) -> None:
    assert spoken.day_number_guess(heard, TODAY) == expected


@pytest.mark.parametrize(
    ("said", "bare", "expected"),
    [
        ("half past two", False, time(14, 30)),
        ("around four", False, time(16, 0)),
        ("quarter to five", False, time(16, 45)),
        ("at 10", False, time(10, 0)),
        ("10:30", False, time(10, 30)),
        ("actually make it four", False, time(16, 0)),
        ("at eleven in the morning", False, time(11, 0)),
        ("friday eleven in the morning", False, time(11, 0)),  # the part of day makes the number an hour
        ("two in the afternoon", False, time(14, 0)),
        ("on the 3rd in the morning", False, None),  # a day of the month, not an hour
        ("ten is fine", False, None),
        ("ten is fine", True, time(10, 0)),
        # A day heard without its "th" before the time is no phone number (simulated, seed 4242: the correction
        # was lost and the wrong time read back again).
        ("no sorry i said on tuesday the eight eleven thirty", False, time(11, 30)),
        ("my number is oh seven seven nine two thirty", False, None),  # a run of digits is
        # British "half two" is half past two; fresh seed 9191's "half past twelve", read "half twelve", was noon.
        ("at half two", False, time(14, 30)),
        ("on tuesday at half twelve in the afternoon", False, time(12, 30)),
        ("half nine in the morning", True, time(9, 30)),
        ("half an hour", True, None),
    ],
)
def test_parse_time(said: str, bare: bool, expected: time | None) -> None:
    heard = spoken.parse_time(said, bare_number_is_hour=bare)
    assert (heard.at if heard else None) == expected


def test_parse_time_period() -> None:
    assert spoken.parse_time("in the morning").period == "morning"


@pytest.mark.parametrize(
    ("said", "period", "unclear"),
    [
        ("in the morning", "morning", False),
        ("friday in the morning", "morning", False),
        ("sometime this afternoon", "afternoon", False),
        ("first thing in the morning", "morning", False),
        ("a cleaning on monday morning", "morning", False),
        # a word where the time would be, but no time understood: the caller said one, it was garbled
        ("next monday at in the morning", "morning", True),
        ("on friday a tan in the morning", "morning", True),
        ("tuesday at half past blue in the afternoons", "afternoon", True),
    ],
)
def test_parse_time_period_with_a_garbled_time(said: str, period: str, unclear: bool) -> None:
    heard = spoken.parse_time(said)
    assert heard is not None and heard.at is None
    assert (heard.period, heard.unclear) == (period, unclear)


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("yes", "yes"),
        ("yea yea", "yes"),  # how the recogniser writes a quick "yes, yes" (fresh seed 10907: put through)
        ("this please", "yes"),  # "yes" lost, the polite word kept
        ("uh sure", "yes"),
        ("that's fine thanks", "yes"),
        ("nope", "no"),
        ("no thanks", "no"),
        ("not really", "no"),
        ("hmm", None),  # a hesitation is not consent
        ("um er", None),
        ("please", "yes"),
        ("yes but not on friday", None),  # a negation inside: the classifier and the form judge it
        ("cleaning please", None),  # content beyond yes/no
        ("thank you", None),
        ("actually wait please", None),
    ],
)
def test_yes_or_no_from_cue_words(said: str, answer: str | None) -> None:
    assert cues.yes_or_no(said) == answer


@pytest.mark.parametrize(
    ("said", "closing"),
    [
        ("thank you goodbye", True),
        ("thanks a lot good buy", True),
        ("cheers by", True),
        ("thank you won't bye", True),
        ("thank you", False),
        ("can i drop by", False),  # no thanks: a visit, not a goodbye
        ("thanks for booking me in on friday i will come by", False),  # long turns: the classifier judges
    ],
)
def test_closing_from_cue_words(said: str, closing: bool) -> None:
    assert cues.is_closing(said) == closing


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I'm Jennifer Wood", "Jennifer Wood"),
        ("jennifer wood please", "Jennifer Wood"),
        ("my name is tom smith", "Tom Smith"),
        ("i want to book", None),
        ("friday", None),
        # Words a recogniser inserts into a garbled name are dropped; a "name" made only of them is no name.
        ("maria your garcia", "Maria Garcia"),
        ("jennifer it would", "Jennifer Would"),  # "would" sounds like Wood: kept, for the read-back to check
        ("i was gonna", None),
        ("for that ten", None),
        ("tom um smith", "Tom Smith"),  # a hesitation inside the name is dropped
        ("the named steven parker", "Steven Parker"),  # "the name's" as the small model hears it
        ("hmm of yes it's james stewart", "James Stewart"),  # garble before the lead-in
        ("well i think it's on friday", None),
        ("will hope", "Will Hope"),  # words that can be names stay names
        ("do you fail concert tickets", None),  # four bare words: a garbled sentence, not a name
        ("my name is mary ann de souza", "Mary Ann De Souza"),  # four words introduced as a name
        ("um hi it's mary ann de souza", "Mary Ann De Souza"),
        ("well so for me for it's reception place", None),  # a desk is no name (seed 8787: "I have Reception")
        ("yeah that's right", None),  # yes-words before a yes phrase: "Right Miller" was read back (session 30)
        ("yep that's right", None),
        ("yes it's john smith", "John Smith"),
        ("quite town", "Town"),  # "not quite, it's David Hill" heard so: "quite" is never a name (half of it asked)
        ("found mavis", "Mavis"),
        ("maybe all this", None),
    ],
)
def test_parse_name(said: str, expected: str | None) -> None:
    assert spoken.parse_name(said) == expected


def test_spoken_output_is_for_the_ear() -> None:
    assert spoken.say_time(time(15, 30)) == "half past three"
    assert spoken.say_time(time(9, 0)) == "nine o'clock"
    assert spoken.say_time(time(16, 45)) == "quarter to five"
    assert spoken.say_date(date(2026, 12, 1)) == "Tuesday the first of December"
    assert spoken.say_date(date(2026, 11, 27), TODAY) == "tomorrow, Friday the twenty-seventh of November"
    assert spoken.say_datetime(datetime(2026, 12, 1, 15, 30)) == "Tuesday the first of December at half past three"


@dataclass(frozen=True)
class _Booking:
    name: str
    phone: str | None = None
    starts_at: datetime = datetime(2026, 12, 4, 9, 30)


def _match(bookings: list[_Booking], heard: str, caller: str | None = None) -> tuple[str, str | None]:
    m = matching.match_booking(bookings, heard, caller)
    return m.status, m.booking.name if m.booking else None


# Made-up names with the kinds of garbling a small recogniser produces (a word heard as a like-sounding
# word, a dropped or changed letter, a lost first name); none of them are the replay corpus' strings.
@pytest.mark.parametrize(
    ("heard", "stored"),
    [
        ("Marcus O'Neill", "Marcus ONeill"),
        ("marcus oneal", "Marcus O'Neill"),
        ("priya knight", "Priya Night"),
        ("oliver could", "Oliver Good"),
        ("sandra philips", "Sandra Phillips"),
        ("sandra", "Sandra Phillips"),
        ("gregory hall please", "Gregory Hall"),
    ],
)
def test_a_near_miss_finds_the_only_similar_booking(heard: str, stored: str) -> None:
    others = [_Booking("Derek Chu"), _Booking("Lucy Armstrong")]
    assert _match([*others, _Booking(stored)], heard) == ("found", stored)


def test_an_exact_name_is_found_among_others() -> None:
    bookings = [_Booking("Amal Haddad"), _Booking("Ruth Ellison"), _Booking("Pete Kowalski")]
    assert _match(bookings, "ruth ellison") == ("found", "Ruth Ellison")


def test_two_similar_names_are_ambiguous() -> None:
    bookings = [_Booking("Carl Jensen"), _Booking("Karl Jenson"), _Booking("Lucy Armstrong")]
    assert _match(bookings, "carl jensen")[0] == "ambiguous"


def test_an_unrelated_name_finds_nothing() -> None:
    bookings = [_Booking("Amal Haddad"), _Booking("Ruth Ellison")]
    assert _match(bookings, "victor stavros") == ("none", None)
    assert _match([], "victor stavros") == ("none", None)


def test_the_callers_number_decides_between_similar_names() -> None:
    bookings = [_Booking("Carl Jensen", "+44 1632 960111"), _Booking("Karl Jenson", "01632 960222")]
    assert _match(bookings, "carl jensen", "+441632960222") == ("found", "Karl Jenson")


def test_the_callers_number_rescues_a_badly_garbled_name() -> None:
    bookings = [_Booking("Beatrice Okafor", "+1 555 010 4477"), _Booking("Amal Haddad", "+1 555 010 9000")]
    assert _match(bookings, "bee tricks oh kafka") == ("none", None)  # too far off on its own
    assert _match(bookings, "bee tricks oh kafka", "5550104477") == ("found", "Beatrice Okafor")


def test_the_callers_number_alone_does_not_override_a_different_name() -> None:
    bookings = [_Booking("Amal Haddad", "+1 555 010 4477")]
    assert _match(bookings, "victor stavros", "+15550104477") == ("none", None)


def test_the_callers_number_decides_when_the_name_was_heard_unsure() -> None:
    mine, other = _Booking("Amal Haddad", "+1 555 010 4477"), _Booking("Ruth Ellison", "+1 555 010 9000")
    found = matching.match_booking([mine, other], "lonnie langley", "+15550104477", line_decides=True)
    assert (found.status, found.booking) == ("found", mine)
    # ... only the one booking from that number: two of them, or none, and the name must tell.
    twice = matching.match_booking([mine, _Booking("Sam Haddad", "+1 555 010 4477")], "lonnie langley",
                                   "+15550104477", line_decides=True)
    assert twice.status == "none"
    assert matching.match_booking([other], "lonnie langley", "+15550104477", line_decides=True).status == "none"


def test_sound_key_follows_the_sound_not_the_spelling() -> None:
    assert matching.sound_key("knight") == matching.sound_key("night")
    assert matching.sound_key("would") == matching.sound_key("wood")
    assert matching.sound_key("phillips") == matching.sound_key("filips")
    assert matching.sound_key("baker") != matching.sound_key("walker")


def test_phone_numbers_match_on_their_last_digits() -> None:
    assert matching.phone_matches("+44 1632 960001", "01632960001")
    assert not matching.phone_matches("+44 1632 960001", "+44 1632 960002")
    assert not matching.phone_matches(None, "01632960001")
    assert not matching.phone_matches("anonymous", "")


def hint(text: str, kind: str = "when", complete: bool = False) -> dict[str, object]:
    return {"kind": kind, "text": text, "complete": complete}


def test_the_hint_fills_only_what_the_transcript_lacks() -> None:
    heard = "next tuesday at half past due in the afternoon"  # the free transcript of a noisy line
    found = {"day": spoken.parse_date(heard, TODAY), "spoken_time": spoken.parse_time(heard)}
    reading = hint("next tuesday at half past two in the afternoon")
    extra = spoken.hinted_details(reading, "date", found, TODAY, heard)
    assert extra == {"spoken_time": spoken.SpokenTime(at=time(14, 30))}
    # An exact time in the transcript wins; a hint naming another day is not about these words at all.
    exact = {"spoken_time": spoken.parse_time("at three")}
    assert spoken.hinted_details(hint("half past two"), "time", exact, TODAY, "at three") == {}
    other_day = {"day": date(2026, 11, 27)}
    assert spoken.hinted_details(hint("monday at two p m"), "date", other_day, TODAY, "friday at two pm") == {}
    assert spoken.hinted_details(hint("on friday"), "date", {}, TODAY, "it's fun for i do") == {
        "day": date(2026, 11, 27)
    }


def test_the_hint_dates_a_weekday_the_transcript_heard_without_its_date() -> None:
    # "Monday the seventh" heard "monday the seventies": the transcript has only the nearest Monday (the 30th);
    # the constrained reading has Monday the 7th of December. TODAY is Thursday the 26th of November.
    heard = "on monday the seventies"
    found = {"day": spoken.parse_date(heard, TODAY)}
    assert found["day"] == date(2026, 11, 30)
    extra = spoken.hinted_details(hint("monday the seventh"), "date", found, TODAY, heard)
    assert extra == {"day": date(2026, 12, 7)}
    # Numbers after it are the time, not a date: "monday the family at one".
    heard = "don't i do monday the family at one"
    found = {"day": spoken.parse_date(heard, TODAY)}
    assert spoken.hinted_details(hint("monday the seventh at one"), "date", found, TODAY, heard)["day"] == date(
        2026, 12, 7)
    # The transcript's own date wins: another date is a contradiction, the hint is ignored whole.
    heard = "monday the fourteenth"
    found = {"day": spoken.parse_date(heard, TODAY)}
    assert spoken.hinted_details(hint("monday the seventh"), "date", found, TODAY, heard) == {}
    # Another weekday is a contradiction too.
    heard = "on monday"
    found = {"day": spoken.parse_date(heard, TODAY)}
    assert spoken.hinted_details(hint("tuesday the eighth"), "date", found, TODAY, heard) == {}


def test_a_service_reading_gives_no_day_or_time_the_transcript_lacks() -> None:
    # Seed 11109 call 86: "Um, that's it, yes" at "Sorry, was that a filling?", heard "i'm not see the a", read
    # "not the the eighth": the agent went on to "What time suits you on Tuesday the eighth?".
    assert "day" not in spoken.hinted_details(hint("not the the eighth", "service", True), "service", {}, TODAY,
                                              "i'm not see the a")
    assert spoken.hinted_details(hint("a noon filling", "service", True), "service", {}, TODAY,
                                 "the new filling") == {"service": "filling"}
    # Asked for the time, a day only the reading has is not taken either (seed 11109 call 98).
    assert spoken.hinted_details(hint("monday the morning", "when", True), "time", {}, TODAY,
                                 "i believe in the morning") == {"spoken_time": spoken.parse_time("the morning")}
    # A day the transcript has a word of is still the caller's: "a cleaning on friday", heard "a clean on friday".
    assert spoken.hinted_details(hint("a cleaning on friday", "service", True), "service", {}, TODAY,
                                 "a clean on friday")["day"] == date(2026, 11, 27)


def test_a_service_stem_is_the_service_only_when_the_transcript_echoes_it() -> None:
    assert spoken.hinted_details(hint("i need a fill m", "service"), "service", {}, TODAY,
                                 "i need to feel i'm done") == {"service": "filling"}
    assert cues.stem_echoed("a fill on please", "so don't feel i'm done please") == "filling"
    # "So my name is Donna Smith" heard "so my name is not of my", read "fill my": no word of that sound.
    assert cues.stem_echoed("fill my", "so my name is not of my") is None
    # Asked for another detail, a stem is no service.
    assert spoken.hinted_details(hint("fill my", "service"), None, {}, TODAY, "feel my") == {}


def test_a_hint_is_ignored_when_the_transcript_names_another_day_of_the_month() -> None:
    # Seed 1212 call 26: "the twenty eighth" heard "the twenty eight", the day decoder read "wednesday eight";
    # the agent asked for a time "on Wednesday the second of December".
    assert spoken.hinted_details(hint("wednesday eight"), "date", {}, TODAY, "the twenty eight") == {}
    # At a read-back: "no, November the twenty eighth" heard "no no member a twenty eight", read "november eight".
    assert spoken.hinted_details(hint("november eight", "confirm"), "confirmed", {}, TODAY,
                                 "no no member a twenty eight") == {}
    # The same day in both readings, or a number that may be the time's minutes, is no contradiction.
    assert spoken.hinted_details(hint("saturday the twenty eighth"), "date", {}, TODAY, "the twenty eight") == {
        "day": date(2026, 11, 28)}
    assert spoken.hinted_details(hint("friday ten thirty"), "date", {}, TODAY, "and ten thirty")["day"] == date(
        2026, 11, 27)
    assert spoken.hinted_details(hint("monday the seventh"), "date", {}, TODAY, "my first visit the seventh") == {
        "day": date(2026, 12, 7)}


def test_a_reading_that_names_a_value_the_transcript_echoes() -> None:
    # Seed 4040: "Just a new filling please" heard "oh you're you're feeling claim" (classed frustration, 0.98),
    # read "filling clean" by the service decoder: an answer.
    assert cues.hint_echoes_a_value(hint("filling clean", "service"), "oh you're you're feeling claim")
    assert not cues.hint_echoes_a_value(hint("monday", "when"), "this is ridiculous i told you three times")
    assert not cues.hint_echoes_a_value(hint("three", "when"), "i told you three times")  # a number names nothing
    assert not cues.hint_echoes_a_value(None, "feeling")


def test_a_turn_speaks_of_a_day_or_a_time_by_its_words_or_its_reading() -> None:
    assert spoken.speaks_of("date", "no on the famine seen of one thirty", "", TODAY) is False
    assert spoken.speaks_of("time", "no on the famine seen of one thirty", "", TODAY)  # "thirty"
    assert spoken.speaks_of("time", "on wednesday my second best for you", "on wednesday my second three", TODAY)
    assert spoken.speaks_of("date", "i said on friday", "", TODAY)
    assert spoken.speaks_of("date", "the land", "on the eighth", TODAY)
    assert not spoken.speaks_of("time", "the tenth", "the tenth", TODAY)


def test_the_reading_adds_the_minutes_it_says_to_the_hour_heard() -> None:
    # "At half past one" heard "one" (1.00), read "a half past one" (whole): booked at one o'clock.
    found = {"spoken_time": spoken.parse_time("one", bare_number_is_hour=True)}
    extra = spoken.hinted_details(hint("a half past one", complete=True), "time", found, TODAY, "one")
    assert extra["spoken_time"].at == time(13, 30)
    found = {"spoken_time": spoken.parse_time("ten in the morning")}
    extra = spoken.hinted_details(hint("quarter past ten"), "time", found, TODAY, "ten in the morning")
    assert extra["spoken_time"].at == time(10, 15)
    # "At four" read "half four": no minute word but "half", and not taken; nor another hour's minutes.
    found = {"spoken_time": spoken.parse_time("at four")}
    assert "spoken_time" not in spoken.hinted_details(hint("december half four"), "time", found, TODAY, "at four")
    assert "spoken_time" not in spoken.hinted_details(hint("half past two"), "time", found, TODAY, "at four")


def test_a_day_the_reading_says_not_to_is_no_day_given() -> None:
    # "Yes, that's right" at "Sorry, was that a filling?", heard "yeah not right", read "yeah not friday" (whole).
    assert "day" not in spoken.hinted_details(hint("yeah not friday", "service", complete=True), "service", {},
                                              TODAY, "yeah not right")
    assert "day" not in spoken.hinted_details(hint("the not today go ahead", "confirm"), "confirmed", {}, TODAY,
                                              "the a not today go ahead")
    # A day after "no" or "not on" is a correction ("That's wrong, on Friday" heard "not ... on friday").
    assert spoken.hinted_details(hint("not on friday the afternoon", "confirm"), "confirmed", {}, TODAY,
                                 "not fly your on friday i wailed dott")["day"] == date(2026, 11, 27)
    assert spoken.hinted_details(hint("no friday", complete=True), "date", {}, TODAY, "no friday")["day"] == date(
        2026, 11, 27)


def test_a_hint_never_invents_a_value_nobody_spoke_of() -> None:
    # Offered two times, the caller gave a name; the constrained decoder forced "monday" onto it.
    heard = "my name is jennifer it would"
    assert spoken.hinted_details(hint("monday"), "time", {}, TODAY, heard) == {}
    # Even "complete": one phrase fitted out of a six-word sentence is not a reading of it.
    assert spoken.hinted_details(hint("monday", complete=True), "time", {}, TODAY, heard) == {}
    # The transcript itself speaking of a time lets the hint's time in, whatever was asked.
    assert spoken.hinted_details(hint("friday eleven in the morning"), "date", {}, TODAY, "friday at the lamb and "
                                 "in the morning") == {"day": date(2026, 11, 27), "spoken_time": spoken.SpokenTime(
                                     at=time(11, 0))}


def test_the_name_decoders_reading_replaces_a_garbled_name_and_never_a_good_one() -> None:
    # The free transcript turned the name into common words; the name decoder heard names from its list.
    heard = "it fundamentally louis"
    found = {"name": spoken.parse_name(heard)}
    reading = hint("it's betty lewis", "name")
    assert spoken.hinted_details(reading, "name", found, TODAY, heard) == {"name": "Betty Lewis"}
    # No free reading at all: the decoder's name fills it.
    assert spoken.hinted_details(hint("my name is paul cook", "name"), "name", {}, TODAY, "") == {"name": "Paul Cook"}
    # The free reading is a name and holds every word the decoder was sure of: it stays.
    found = {"name": "Robert Anderson"}
    assert spoken.hinted_details(hint("anderson", "name"), "name", found, TODAY, "robert anderson") == {}
    # Two whole names that disagree: the open decoder's is kept (simulated seed 5151: right 7 times in 12, the
    # name decoder's 0); a free reading that is not all list names gives way (the read-back still asks).
    found = {"name": "Mary Lewis"}
    assert spoken.hinted_details(hint("betty lewis", "name"), "name", found, TODAY, "mary lewis") == {}
    found = {"name": "Mary Lewd"}
    assert spoken.hinted_details(hint("betty lewis", "name"), "name", found, TODAY, "mary lewd") == {
        "name": "Betty Lewis"}
    # Only lead-ins heard (the name itself was [unk]): nothing to take.
    assert spoken.hinted_details(hint("my name is", "name"), "name", {}, TODAY, "my name is oil around") == {}
    # Not asked for a name: the hint is not about a name.
    assert spoken.hinted_details(hint("betty lewis", "name"), "time", {}, TODAY, "betty lewis") == {}


def test_a_read_back_answer_corrects_the_name_only_after_a_name_lead_in() -> None:
    reading = {"kind": "yes_no", "text": "no", "complete": False, "name": "my name is ellen smith"}
    heard = "no my name is alan smythe"
    found = {"name": spoken.correction_name(heard)}
    assert spoken.hinted_details(reading, "confirmed", found, TODAY, heard) == {"name": "Ellen Smith"}
    assert spoken.hinted_details(reading, "confirmed", {}, TODAY, "no it's at three") == {}
    # The lead-in heard only by the name decoder ("no, it's Emma Lewis" read "no it ama louis" by the open one).
    reading = {"kind": "yes_no", "text": "no", "complete": False, "name": "it's emma lewis"}
    assert spoken.hinted_details(reading, "confirmed", {}, TODAY, "no it ama louis") == {"name": "Emma Lewis"}
    # ... but never over a day, a time, a number or a service the open decoder heard, nor without a lead-in.
    for said in ("no it's on tuesday", "no it's at three", "not the twelfth", "no a filling"):
        assert spoken.hinted_details(reading, "confirmed", {}, TODAY, said) == {}, said
    bare = {"kind": "yes_no", "text": "no", "complete": False, "name": "emma lewis"}
    assert spoken.hinted_details(bare, "confirmed", {}, TODAY, "no it ama louis") == {}
    # Asked what to change, the name said again needs no lead-in (fresh seed 3131: "it's Julie Walker" heard "put
    # simply walk", read "julie walker"), still never over another detail.
    walker = {"kind": "service", "text": "", "complete": False, "name": "julie walker"}
    assert spoken.hinted_details(walker, "confirmed", {}, TODAY, "put simply walk", what_to_change=True) == {
        "name": "Julie Walker"}
    assert spoken.hinted_details(walker, "confirmed", {}, TODAY, "put simply walk") == {}
    assert spoken.hinted_details(walker, "confirmed", {}, TODAY, "walk on friday", what_to_change=True) == {}
    # ... nor when the open decoder heard nothing like the name (seed 2026: "not quite, it's for a filling").
    forced = {"kind": "yes_no", "text": "no", "complete": False, "name": "it's wyatt timothy"}
    assert spoken.hinted_details(forced, "confirmed", {}, TODAY, "why it's appealing") == {}
    for said in ("no it's silent smith", "no my name is alan smith", "that's wrong the name is kevin pumps and"):
        assert spoken.corrects_the_name(said), said
    for said in ("no it's at ten", "no it's wrong", "yes that's right", "no the twelfth", "no it's a filling",
                 "no it's on friday"):
        assert not spoken.corrects_the_name(said), said


def test_a_garbled_detail_correction_at_a_read_back_is_no_name() -> None:
    service = {"kind": "confirm", "text": "not quite it's for a check up", "complete": True}
    assert spoken.reading_corrects_a_detail(service, "Mechanic Up")
    assert not spoken.reading_corrects_a_detail(service, "Harry King")  # list names: a name after all
    assert not spoken.reading_corrects_a_detail({**service, "complete": False}, "Mechanic Up")  # half a reading
    assert not spoken.reading_corrects_a_detail({"kind": "confirm", "text": "no", "complete": True}, "Mechanic Up")
    assert not spoken.reading_corrects_a_detail(None, "Mechanic Up")


def test_asked_for_a_day_an_ordinal_alone_is_the_date() -> None:
    # Simulated seed 5353: "Could I do the eighteenth at midday?" read "to nine eighteenth midday" by the day
    # decoder (its "the" lost) and not taken; asked three times, then a person.
    assert spoken.parse_date("eighteenth", TODAY) is None
    assert spoken.parse_date("to nine eighteenth midday", TODAY, bare_ordinal=True) == date(2026, 12, 18)
    for said in ("first thing", "the second one", "my first name", "just a second", "hang on one second"):
        assert spoken.parse_date(said, TODAY, bare_ordinal=True) is None, said
    reading = {"kind": "when", "text": "to nine eighteenth midday", "complete": False}
    assert spoken.hinted_details(reading, "date", {}, TODAY, "i don't i do anything at mid may")["day"] == date(
        2026, 12, 18)
    assert "day" not in spoken.hinted_details(reading, "name", {}, TODAY, "i don't i do anything at mid may")


def test_a_read_backs_reading_dates_a_correction_when_the_transcript_has_its_day_number() -> None:
    # Simulated seed 7575: "That's wrong, December the seventeenth at half past two in the afternoon" heard "not
    # long the hamburger seventeen at half past two ...", read whole by the read-back's decoder.
    reading = {"kind": "confirm", "text": "that's wrong december seventeenth at half past two in the afternoon",
               "complete": True}
    heard = "not long the hamburger seventeen at half past two in the afternoon"
    assert spoken.hinted_details(reading, "confirmed", {}, TODAY, heard)["day"] == date(2026, 12, 17)
    # A small number is as likely the hour: "second" is not read from "at two thirty".
    reading = {"kind": "confirm", "text": "no december second at two thirty", "complete": True}
    assert "day" not in spoken.hinted_details(reading, "confirmed", {}, TODAY, "no the member at two thirty")


def test_a_bare_weekday_and_a_month_without_its_day() -> None:
    for said in ("not wrong i've been on monday in the family", "monday at four", "no, monday"):
        assert spoken.weekday_only(said, TODAY), said
    for said in ("monday the seventh", "next monday", "monday december the 7th", "at four", "tomorrow"):
        assert not spoken.weekday_only(said, TODAY), said
    assert spoken.month_named("on december the") == "december"
    assert spoken.month_named("may i book for tuesday") is None  # "may" is far more often the verb
    assert spoken.month_named("the eighth at ten") is None


def test_a_whole_list_name_after_lead_ins_is_a_name_said_again() -> None:
    # Simulated seed 5353: "Tom Edwards", heard with confidence 1.0 as the answer to "What would you like to
    # change?", was asked for three times; "that's wrong, it's Tom Edwards" was heard "that's wrong that's ...".
    for said, name in (("tom edwards", "Tom Edwards"), ("that's wrong that's tom edwards", "Tom Edwards"),
                       ("no sorry the name is linda wood", "Linda Wood"), ("um no it's mary jones", "Mary Jones")):
        assert spoken.listed_name(said) == name, said
    # A single list name, a surname first, other words before the names, or a detail: not a name said again.
    for said in ("no it's on monday", "no fitzgerald", "no my name is abrams bass", "mark my words",
                 "well no it's service", "yes that's right", "i'd like to come on friday james smith",
                 "no at ten"):
        assert spoken.listed_name(said) is None, said


def test_the_name_decoder_listens_for_common_names_and_their_lead_ins() -> None:
    names = set(phrases("name"))
    assert {"my name is", "it's", "under the name"} <= names
    assert {"smith", "jones", "mary", "robert", "lewis"} <= names
    assert all(w == w.lower() for w in names)


def test_a_bare_number_in_the_hint_is_an_hour_only_when_the_whole_turn_fitted() -> None:
    assert spoken.hinted_details(hint("two"), "time", {}, TODAY, "do") == {}
    assert spoken.hinted_details(hint("two", complete=True), "time", {}, TODAY, "do") == {
        "spoken_time": spoken.SpokenTime(at=time(14, 0))
    }
    assert spoken.hinted_details(hint("two", complete=True), "date", {}, TODAY, "do") == {}


def test_spoken_phone_numbers_and_their_hint() -> None:
    assert spoken.parse_phone("my number is five five five double one oh two") == "5551102"
    assert spoken.parse_phone("it's 0 7 7 0 0 9 triple zero") == "077009000"
    assert spoken.parse_phone("fifty five") is None and spoken.parse_phone("two three") is None
    # A digit's homophone inside a run of digits is that digit; outside one it is a word.
    assert spoken.parse_phone("zero seven nine two three five one five eight to five") == "07923515825"
    assert spoken.parse_phone("i want to book for five") is None
    # ... and so is one ending the run, the turn's last word (seed 5858: "... six three two" heard "six three do").
    assert spoken.parse_phone("no my number zero seven two zero two zero five seven six three do") == "07202057632"
    assert spoken.parse_phone("zero seven two zero two five to book") == "072025"  # not its last word: a word
    digits = hint("five five five one two three four", kind="digits")
    assert spoken.hinted_details(digits, "phone", {}, TODAY) == {"phone": "5551234"}
    assert spoken.hinted_details(digits, "name", {}, TODAY) == {}
    assert spoken.hinted_details(None, "phone", {}, TODAY) == {}
    # The free reading lost digits to words ("to one for free"); the digit decoder heard all ten, and only digits.
    heard = "five five five to one for free eight nine nine"
    whole = hint("five five five two one four three eight nine nine", kind="digits", complete=True)
    found = {"phone": spoken.parse_phone(heard)}
    assert found["phone"] == "5552143899"  # homophones next to each other inside the run count too
    found = {"phone": "55521899"}
    assert spoken.hinted_details(whole, "phone", found, TODAY, heard) == {"phone": "5552143899"}
    # A partial reading (some of it did not fit) does not overrule the transcript.
    partial = hint("five five five two one four three eight nine nine", kind="digits")
    assert spoken.hinted_details(partial, "phone", found, TODAY, heard) == {}


@pytest.mark.parametrize(
    ("reading", "intent"),
    [
        (hint("yes please", "yes_no", complete=True), "affirm"),
        (hint("no thanks", "when", complete=True), "deny"),
        (hint("yes please", "yes_no", complete=False), None),  # other words were said too: not a clear yes
        (hint("half past two", "when"), "inform"),
        (hint("a cleaning", "service"), "inform"),
        (hint("five five five one two three", "digits"), "inform"),
        (hint("at the", "when"), None),  # filler only
        (hint("thirty nope", "service"), None),  # a stray number read from gibberish
        (hint("two", "when", complete=True), "inform"),  # the whole answer to "what time?"
        (hint("on friday", "when"), "inform"),
        (hint("double five one two three four", "digits"), "inform"),
        (hint("", "when"), None),
        (None, None),
        ({"kind": "when"}, None),
    ],
)
def test_a_fallen_back_turn_is_read_from_the_constrained_reading(reading: object, intent: str | None) -> None:
    assert cues.hint_intent(reading) == intent


@pytest.mark.parametrize(
    ("reading", "intent"),
    [
        ("i'd like to cancel please", "cancel_appointment"),
        ("um i need to change my appointment", "reschedule_appointment"),
        ("book", "book_appointment"),
        ("the prices", "ask_price"),
        ("cancel book", None),  # two tasks heard: not guessed
        ("i'd like to please", None),  # fillers only
        ("a cleaning", None),  # a service is a detail, read by hint_intent as inform
    ],
)
def test_an_answer_to_the_opening_menu_is_read_from_its_constrained_reading(reading: str, intent: str | None) -> None:
    assert cues.hint_task({"kind": "task", "text": reading, "complete": True}) == intent
    assert cues.hint_task({"kind": "task", "text": reading, "complete": False}) is None  # part of it was not
    assert cues.hint_task({"kind": "when", "text": reading, "complete": True}) is None  # another question's reading


@pytest.mark.parametrize(
    ("reading", "heard", "intent"),
    [
        # A reading of which part did not fit counts when the free transcript echoes its task phrase (simulated,
        # seed 5151: both handed over as misunderstood at the opening).
        ("make an appointment", "let me the make you know i'm event", "book_appointment"),
        ("make i booking", "jamaica working on", "book_appointment"),
        # ... never on its own: the decoder forces its phrases onto anything.
        ("cancel", "do you fail concert tickets", None),
        ("i need the i about", "i the not talk seat at the airport", None),
    ],
)
def test_a_partial_menu_reading_counts_when_the_free_transcript_echoes_it(
    reading: str, heard: str, intent: str | None
) -> None:
    assert cues.hint_task({"kind": "task", "text": reading, "complete": False}, heard) == intent


def test_a_whole_menu_reading_needs_the_echo_when_asked_for() -> None:
    # A request classed surely as another business's (short_answers): "a cancel check abscess" fitted whole onto
    # "is this the council tax office" (fresh seed 10301) is no cancel, while an echoed one still is.
    whole = {"kind": "task", "text": "a cancel check abscess", "complete": True}
    assert cues.hint_task(whole, "is this the council tax office") == "cancel_appointment"
    assert cues.hint_task(whole, "is this the council tax office", echoed=True) is None
    assert cues.hint_task({"kind": "task", "text": "cancel please", "complete": True}, "cancel police",
                          echoed=True) == "cancel_appointment"
    # A menu answer and nothing else needs no echo: "i want to cancel" heard "eye want two can sell".
    assert cues.hint_task({"kind": "task", "text": "i want to cancel", "complete": True}, "eye want two can sell",
                          echoed=True) == "cancel_appointment"


@pytest.mark.parametrize(
    ("reading", "complete", "heard", "urgent"),
    [
        # The symptom said again at the menu, garbled by the open decoder (simulated, seed 9191: told the line
        # can't help): the constrained reading names it and the free transcript echoes it.
        ("my tooth bleeding a lot", False, "i know to vote links l index fleeting a lot", True),
        ("it's throbbing", False, "it's lobbying", True),
        # A whole-fitting reading is not enough: the decoder forces its phrases onto any sentence.
        ("painful book an i'd", True, "can i book a table for two tonight", False),
        # A mouth word alone is no symptom ("fill my tooth" is a filling).
        ("my tooth", False, "my truth", False),
        ("bleeding", False, "bleeding", True),
        # ... or where the transcript says where it hurts (seed 6868: "my face is all swollen").
        ("i'd and my face exam swollen", False, "i've got terrible to such and my face is also one", True),
        ("i'd and my face exam", False, "i've got terrible to such and my face is also one", False),
        ("swollen", False, "can you fix my washing machine", False),
        # ... or where the reading itself names both (bench/urgent_echo.py: 57 urgent turns, no out-of-scope one).
        ("agony my jaw swollen an bleed", False, "the now going to my job and slowly and can sleep", True),
    ],
)
def test_a_symptom_in_the_menus_reading_counts_when_the_free_transcript_echoes_it(
    reading: str, complete: bool, heard: str, urgent: bool
) -> None:
    assert cues.hint_urgent({"kind": "task", "text": reading, "complete": complete}, heard) is urgent
    assert cues.hint_urgent({"kind": "when", "text": reading, "complete": complete}, heard) is False  # not the menu's


def test_the_bots_expectation_for_the_next_turn_comes_through() -> None:
    replies = [{"recipient_id": "c", "text": "Are you calling to book?"},
               {"recipient_id": "c", "custom": {"expect": "task"}}]  # fmt: skip
    result = result_from_rasa(replies, {"slots": {}, "latest_message": {}})
    assert result.expect == "task" and result.replies == ["Are you calling to book?"]


def test_a_question_one_key_answers_comes_through() -> None:
    replies = [{"recipient_id": "c", "text": "Shall I book it? Press 1 for yes, or 2 for no."},
               {"recipient_id": "c", "custom": {"keys": 1}}]  # fmt: skip
    assert result_from_rasa(replies, {"slots": {}, "latest_message": {}}).entry_keys == 1
    assert result_from_rasa(replies[:1], {"slots": {}, "latest_message": {}}).entry_keys == 0


def test_the_read_back_and_the_change_question_are_read_against_the_details() -> None:
    from ari_agent.asr.expectations import expectation_for

    # The tracker's `correcting` reaches the agent (it was left out, and "What would you like to change?" was
    # decoded against the yes/no phrases only, in every simulated call).
    asked = {"requested_slot": "confirmed", "correcting": True, "name": "Tom Baker"}
    result = result_from_rasa([{"recipient_id": "c", "text": "What would you like to change?"}],
                              {"slots": asked, "latest_message": {}})  # fmt: skip
    assert expectation_for(result.slots) == "service"
    read_back = result_from_rasa([{"recipient_id": "c", "text": "Shall I book it?"}],
                                 {"slots": {**asked, "correcting": None}, "latest_message": {}})  # fmt: skip
    assert expectation_for(read_back.slots) == "confirm"
    # A correction read by the read-back's decoder is taken like an answer (and read back again).
    reading = {"kind": "confirm", "text": "that's wrong i said the eleventh at three", "complete": True}
    heard = "what's wrong i said eleven fat free"
    got = spoken.hinted_details(reading, "confirmed", {}, TODAY, heard)
    assert got.get("day") == date(2026, 12, 11) and got["spoken_time"].at == time(15, 0), got
    # ... where the transcript has a word of the value ("eleven", "free"): that reading fits nearly anything
    # (corpus correction-time), so a value nothing in the transcript backs is not a change.
    forced = {"kind": "confirm", "text": "sunday can week make it eleven instead", "complete": True}
    assert "day" not in spoken.hinted_details(forced, "confirmed", {}, TODAY, "sorry can we make it eleven instead")
    # Seed 5656 call 33: "That's it, yes" heard "not the us", read "not the the eighth"; "Yes please, go ahead and
    # book it" heard "you claim gonna it i'm forty", read "the clean go ahead on forty". Neither is a change.
    assert spoken.hinted_details({"kind": "confirm", "text": "not the the eighth", "complete": True}, "confirmed",
                                 {}, TODAY, "not the us") == {}
    assert spoken.hinted_details({"kind": "confirm", "text": "the clean go ahead on forty", "complete": True},
                                 "confirmed", {}, TODAY, "you claim gonna it i'm forty") == {}



@pytest.mark.parametrize(
    ("said", "service"),
    [
        ("i need an appointment for a cleaning", "cleaning"),
        ("hello i need an appointment for at leaning", "cleaning"),  # one sound lost at the word's edge
        ("hello i need an appointment for a gleaming", "cleaning"),  # g/c and m/n: each pair one sound
        ("i'm willing to wait", None),
        ("that's the meaning", None),
        ("my fillings hurt", "filling"),
        ("i have a billing question", None),  # two letters off: not a service
        ("i'm feeling unwell", None),
        ("it's a clearing", None),
        ("what does it mean", None),
    ],
)
def test_services_are_heard_even_one_sound_off(said: str, service: str | None) -> None:
    assert spoken.parse_service(said) == service


@pytest.mark.parametrize(
    ("said", "service"),
    [
        ("a filling clean", "filling"),  # "A filling, please": the service decoder's word for the "please"
        ("examination clean", "check-up"),
        ("i need a cleaning not a filling", "cleaning"),
        ("not a cleaning a filling", "filling"),  # a no leads the first
        ("no not the check up it's a filling", "filling"),
        ("i do feel clean", None),  # "A tooth filled, please": a "clean" without its "a" is the "please"
        ("just a clean please", "cleaning"),
    ],
)
def test_of_two_services_named_the_first_is_taken_unless_a_no_leads_it(said: str, service: str | None) -> None:
    assert spoken.parse_service(said) == service


def test_the_service_hint_fills_the_service_and_the_details_given_with_it() -> None:
    heard = "a clean in next tuesday at half past do"
    reading = hint("a cleaning next tuesday at half past two", "service")
    found = {"day": date(2026, 12, 1)}
    extra = spoken.hinted_details(reading, "service", found, TODAY, heard)
    assert extra == {"service": "cleaning", "spoken_time": spoken.SpokenTime(at=time(14, 30))}
    assert "service" not in spoken.hinted_details(reading, "service", {"service": "filling"}, TODAY, heard)
    # Not asked for, a service only comes from a hint that read the whole turn.
    assert "service" not in spoken.hinted_details(reading, "time", found, TODAY, heard)


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("hi this is tom baker i'd like to cancel", "Tom Baker"),
        ("my name is jennifer wood and i need a cleaning", "Jennifer Wood"),
        ("it's fun for i do", None),  # "it's on Friday" garbled: not a name volunteered
        ("it's on friday", None),
    ],
)
def test_names_volunteered_out_of_order_need_an_explicit_form(said: str, name: str | None) -> None:
    assert spoken.find_name_statement(said) == name


# --- the question just asked decides what a turn is (cues.context_intent), and what a yes must say ----------
@pytest.mark.parametrize(
    ("text", "intent", "requested", "expected"),
    [
        ("Yes, cancel it.", "cancel_appointment", "confirmed", "affirm"),
        ("that's right, go ahead", "affirm", "confirmed", "affirm"),
        ("i'm correct", "deny", "confirmed", "affirm"),  # "Um, correct.": the small model writes "um" as "i'm"
        ("i'm not sure", "deny", "confirmed", None),
        ("let me see er that's it yes", "goodbye", "confirmed", "affirm"),  # typed seed 81: hung up on
        ("that's it thanks bye", "goodbye", None, None),  # with no question open, still a goodbye
        ("so that's wrong it's thomas carter", "out_of_scope", "confirmed", "deny"),
        ("no i said the second at half past nine", "book_appointment", "confirmed", "inform"),
        ("mary mitchell thanks", "goodbye", "name", "inform"),
        ("no thanks", "goodbye", "name", None),
        ("is there somebody i can speak to", "out_of_scope", "name", "request_human"),
        ("sorry could you say that again", "frustration", "date", "repeat"),
        ("can i move my appointment from friday to monday at nine", "book_appointment", None, "reschedule_appointment"),
        ("i'd like to book a table for two", "out_of_scope", None, None),
        ("i need a tooth filled", "report_urgent", "service", "inform"),
        ("i've got terrible toothache", "report_urgent", None, None),
        ("nothing else thank you", "nlu_fallback", None, "goodbye"),
        ("could i do the fifth of december at half past twelve", "out_of_scope", "date", "inform"),
        # A day named in a turn classed out of scope is this line's business, misheard: never "can't help".
        ("i said on friday the floor that news", "out_of_scope", "confirmed", "inform"),
        ("do you sell concert tickets", "out_of_scope", None, None),
        # At a read-back of the caller's own booking, "out of scope" is garble: asked again (seed 9292).
        ("that frog my number with my unmarried zero family leo", "out_of_scope", "confirmed", "nlu_fallback"),
        # A service named without a word about money answers the question asked (corpus book-out-of-order).
        ("it is there a check up", "ask_price", "service", "inform"),
        ("is there a charge for a check up", "ask_price", "service", None),
        ("is there a check up", "ask_price", None, None),
        # A name given mid-task is an answer, however garbled ("brian white" heard "brian why"; simulated, seed 3030).
        ("let me see why my name is brian why it", "out_of_scope", "confirmed", "inform"),
        ("oh my name is brian why", "out_of_scope", "name", "inform"),
        ("why is my name is wrong", "out_of_scope", None, None),  # no question open: classified as it is
        ("what's the weather going to be like tomorrow", "out_of_scope", None, None),
        ("i will know i need to feel i'm done on tuesday to thirty pm", "out_of_scope", None, "book_appointment"),
        ("i don't care about you second my face is all swollen", "out_of_scope", None, "report_urgent"),
        ("i'd like to book a table for two on friday", "out_of_scope", None, None),
        # ... but a move or a cancel by its verb is that task (typed seed 2468: read as a booking).
        ("hi i need to reschedule from the eleventh to december the fifteenth at five p m", "out_of_scope", None,
         "reschedule_appointment"),
        # ... and so is an opening the classifier could not place (simulated, seed 5151).
        ("hi can i grew up scale and polish for next wednesday", "nlu_fallback", None, "book_appointment"),
        ("i knocked a devout flames of model and it's weight loss", "nlu_fallback", None, "report_urgent"),
        ("i the not talk seat at the airport", "nlu_fallback", None, None),
        # A request for a person names one; garble classed as one is asked again.
        ("an agenda luck please", "request_human", "time", "nlu_fallback"),
        ("put me through to reception", "request_human", None, None),
        # Words that sound like "cancel" before "my appointment" cancel (fresh seed 11816).
        ("hi my leave the can feel my appointment", "reschedule_appointment", None, "cancel_appointment"),
        ("hi i need the canfield my appointment on wednesday", "book_appointment", None, "cancel_appointment"),
        ("i can't make my appointment", "inform", None, None),
        # "How much" asks a price, whatever else was heard (fresh seed 11816).
        ("how much earlier flight time filling", "inform", None, "ask_price"),
        ("how much you got your time you", "ask_opening_hours", None, "ask_price"),
        ("oh before now how much you're not gonna go up", "inform", "date", "ask_price"),
    ],
)
def test_the_question_asked_decides_what_a_turn_is(text: str, intent: str, requested: str | None,
                                                   expected: str | None) -> None:
    assert cues.context_intent(text, intent, requested) == expected


@pytest.mark.parametrize(
    ("text", "intent", "requested", "task", "expected"),
    [
        # Mid-task, another task needs that task's verb; a guess at garble is an answer or a misunderstanding
        # (simulated, seed 4242: a reschedule turned into an offer to cancel the caller's booking).
        ("it's not going on december", "cancel_appointment", "old_date", "reschedule", "inform"),
        ("it's on the same but if off", "cancel_appointment", "old_date", "reschedule", "nlu_fallback"),
        ("no i want to cancel it instead", "cancel_appointment", "old_date", "reschedule", None),
        ("actually can i just book a new one", "book_appointment", "date", "reschedule", None),
        ("can i move my appointment from to have been a good", "book_appointment", "confirmed", "reschedule",
         "nlu_fallback"),
        ("i need to change my appointment", "reschedule_appointment", "service", "book", None),
        ("i'd like to book a cleaning", "book_appointment", "service", "book", None),  # the task in hand
        ("i'd like to cancel my appointment", "cancel_appointment", None, "book", None),  # no question open
        # A value said again with some heat is the correction, not a reason to hand over (seed 4242).
        ("that wrong i said on the fifth at ten", "frustration", "confirmed", "book", "inform"),
        ("this is useless", "frustration", "date", "book", None),
        ("no sorry it's them again", "repeat", "confirmed", "book", "deny"),
    ],
)
def test_mid_task_the_task_in_hand_decides_what_another_tasks_intent_is(
    text: str, intent: str, requested: str | None, task: str, expected: str | None
) -> None:
    assert cues.context_intent(text, intent, requested, task) == expected


@pytest.mark.parametrize(
    ("text", "leading", "expected"),
    [
        ("yes cancel it", False, True),
        ("yea yea", False, True),
        ("hmm that's it yes", False, True),
        ("yes bukit", False, True),  # one stray word is the recogniser
        ("that's right that solace martin", False, False),  # a misheard "that's wrong, it's Alice Martin"
        ("it's right", True, False),  # after "what would you like to change?"
        ("please general would", True, False),  # a correction misheard as the name already read back
        ("yes that's fine go ahead", True, True),  # changed their mind: nothing to change
        ("i laugh bastard", False, False),
        ("yes but make it friday", False, False),
    ],
)
def test_a_booking_needs_a_yes_that_was_heard(text: str, leading: bool, expected: bool) -> None:
    assert cues.says_yes(text, leading=leading) is expected


def test_heard_unsure_by_confidence_or_by_its_unsure_words() -> None:
    assert cues.asr_unsure(0.8, 0.0) and cues.asr_unsure(0.95, 0.3)
    assert not cues.asr_unsure(0.95, 0.1) and not cues.asr_unsure(None, None)


def test_parsing_what_callers_say_when_they_correct_or_move() -> None:
    assert spoken.date_conflict("saturday the first", date(2026, 11, 30)) == (date(2026, 12, 5), date(2026, 12, 1))
    assert spoken.date_conflict("tuesday the first", date(2026, 11, 30)) is None
    old, new_words = spoken.moved_from_to("move it from friday to monday at nine", TODAY)
    assert old == date(2026, 11, 27) and spoken.parse_date(new_words, TODAY) == date(2026, 11, 30)
    head, tail = spoken.self_corrected("the eleventh, no sorry, the twelfth")
    assert spoken.parse_date(head, TODAY) == date(2026, 12, 11)
    assert spoken.parse_date(tail, TODAY) == date(2026, 12, 12)
    assert spoken.parse_time(spoken.self_corrected("sorry can we make it eleven instead")[1]).at == time(11, 0)
    assert spoken.correction_name("that's wrong it's sandra green") == "Sandra Green"
    assert spoken.correction_name("no it's the twelfth") is None and spoken.correction_name("no it's at four") is None
    assert spoken.parse_time("half past do").at == time(14, 30)
    assert spoken.parse_time("i need to do it") is None
    assert spoken.parse_name("Well, it's under Emma Jackson.") == "Emma Jackson"


async def test_every_request_carries_the_auth_token() -> None:
    """Rasa started with --auth-token refuses tracker and status requests without it (401)."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    seen: list[str | None] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.query.get("token"))
        if request.query.get("token") != "tok":
            return web.json_response({"message": "unauthorized"}, status=401)
        if request.path.endswith("/webhook"):
            return web.json_response([{"text": "Hello"}])
        return web.json_response({"slots": {}, "events": [], "latest_message": {}, "model_file": "m"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = TestServer(app)
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        good = RasaDialogue(url, auth_token="tok")
        context = CallContext(now=datetime(2026, 12, 1, 10, 0), caller_number="+1", caller_name="", call_id="c")
        await good.start("c", context)
        assert (await good.send("c", "hello")).replies == ["Hello"]
        await good.close()
        assert seen and all(t == "tok" for t in seen)
        bad = RasaDialogue(url)
        with pytest.raises(DialogueError, match="auth_token"):
            await bad.start("c", context)
        await bad.close()
    finally:
        await server.close()



def test_a_yes_sound_alike_is_a_yes_only_beside_a_yes_read_by_the_constrained_decoder() -> None:
    # Simulated calls: "yes" heard "us" on 16 of 319 yes-turns ("us please cancel it"); asked again and again, a
    # caller who had said yes three times went to a person.
    yes = {"kind": "yes_no", "text": "yes please", "complete": False}
    assert cues.heard_yes("us please cancel it", yes) == "yes please cancel it"
    assert cues.says_yes(cues.heard_yes("us", {"kind": "yes_no", "text": "yes", "complete": True}))
    assert cues.heard_yes("us please cancel it", None) == "us please cancel it"  # alone it is no yes
    assert cues.heard_yes("us please", {"kind": "yes_no", "text": "no", "complete": True}) == "us please"
    assert cues.heard_yes("us please", {"kind": "when", "text": "yes", "complete": True}) == "us please"


def test_a_yes_to_the_scope_question_is_read_from_both_readings_and_no_word_of_the_clinic() -> None:
    yes = {"kind": "yes_no", "text": "yes", "complete": False}
    assert cues.yes_to_the_scope_question("yes whatsoever going to be like tomorrow", yes)
    assert cues.yes_to_the_scope_question("um well yes it is", yes)
    assert cues.yes_to_the_scope_question("us i want a taxi", yes)  # a sound-alike beside the reading's yes
    assert not cues.yes_to_the_scope_question("yes i'd like to book a cleaning", yes)  # about the clinic
    assert not cues.yes_to_the_scope_question("yes i want to book an appointment", yes)
    assert cues.yes_to_the_scope_question("yes can i book a table for two", yes)  # a verb alone is no clinic
    assert not cues.yes_to_the_scope_question("yes it's about my tooth", yes)
    assert not cues.yes_to_the_scope_question("yes no it is not", yes)
    assert not cues.yes_to_the_scope_question("what's the weather yes", yes)  # no yes first
    assert not cues.yes_to_the_scope_question("yes it is", {"kind": "yes_no", "text": "no", "complete": False})
    assert not cues.yes_to_the_scope_question("yes it is", {"kind": "confirm", "text": "yes", "complete": False})
    assert not cues.yes_to_the_scope_question("yes it is", None)


def test_a_short_no_ending_in_thanks_declines_whatever_the_garble_between() -> None:
    for said in ("no maps all thank you", "no thanks", "nope that's it thanks", "um no thank you"):
        assert cues.declines_with_thanks(said), said
    for said in ("thank you", "no i'd like to book a cleaning on friday thanks", "yes thank you", "no"):
        assert not cues.declines_with_thanks(said), said


def test_half_a_name_is_kept_until_its_other_half_is_heard() -> None:
    assert spoken.name_with_parts("Anna Edwards", None, None) == ("Anna Edwards", None)
    assert spoken.name_with_parts("Edwards", None, None) == (None, "Edwards")
    # The next word is the half asked for: the first name before a surname kept, the surname after a given name.
    assert spoken.name_with_parts("Anna", "Edwards", None) == ("Anna Edwards", None)
    assert spoken.name_with_parts("Edwards", "Anna", None) == ("Anna Edwards", None)
    assert spoken.name_with_parts("Richards", "Jackson", None) == ("Richards Jackson", None)  # not Jackson Richards
    # The same half again: asked once already, it is taken as it is.
    assert spoken.name_with_parts("Edwards", "Edwards", None) == ("Edwards", None)
    # At a read-back of Ruth Murphy: "Murphy" alone says the first name was wrong; "Harry" replaces "Ruth".
    assert spoken.name_with_parts("Murphy", None, "Ruth Murphy") == (None, "Murphy")
    assert spoken.name_with_parts("Harry", None, "Ruth Murphy") == ("Harry Murphy", None)
    assert spoken.name_with_parts("Harris", None, "Ruth Murphy") == ("Ruth Harris", None)
    assert spoken.is_given_name("Thomas") and not spoken.is_given_name("Taylor")


def test_the_name_decoders_reading_is_its_last_run_of_list_names() -> None:
    assert spoken.name_in_reading("not quite it's thomas collins") == "Thomas Collins"
    assert spoken.name_in_reading("no sorry my name is kevin white please") == "Kevin White"
    assert spoken.name_in_reading("tom um smith") == "Tom Smith"
    assert spoken.name_in_reading("lott lacy frank hill") == "Frank Hill"  # a sound forced into a name, then two
    assert spoken.name_in_reading("no sorry") is None


def test_a_reading_that_is_a_yes_phrase_of_the_lexicon_says_yes() -> None:
    assert cues.reading_says_yes(hint("sounds good", "confirm"))
    assert cues.reading_says_yes(hint("go ahead", "confirm"))
    assert cues.reading_says_yes(hint("yeah monday", "confirm"))
    assert not cues.reading_says_yes(hint("not quite sounds good", "confirm"))
    assert not cues.reading_says_yes(hint("monday good", "confirm"))
