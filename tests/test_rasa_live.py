"""Real multi-turn conversations through RasaDialogue against the started Rasa server, action server and
PostgreSQL (scripts/rasa-start.sh; DSN from ARI_AGENT_DB_DSN). Each test books in its own scope."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import aiohttp
import psycopg
import pytest

from ari_agent.asr.base import AsrHint
from ari_agent.config import DialogueSettings
from ari_agent.dialogue.base import CallContext, DialogueResult
from ari_agent.dialogue.rasa import RasaDialogue

pytestmark = pytest.mark.integration

RASA_URL = f"http://127.0.0.1:{os.environ.get('RASA_PORT', '15005')}"
TOKEN = DialogueSettings().token()  # the local stack's (scripts/rasa-start.sh)
AUTH = {"token": TOKEN} if TOKEN else {}
DSN = os.environ.get("ARI_AGENT_DB_DSN", "postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent")
NOW = datetime(2026, 11, 26, 10, 0)  # a Thursday morning


class Call:
    """One conversation: says lines, keeps every result."""

    def __init__(self, dialogue: RasaDialogue, scope: str) -> None:
        self.dialogue, self.scope, self.id = dialogue, scope, f"test-{uuid.uuid4().hex}"
        self.results: list[DialogueResult] = []

    async def start(self, caller: str = "+441632960001") -> None:
        await self.dialogue.start(
            self.id, CallContext(now=NOW, caller_number=caller, call_id=self.id), scope=self.scope
        )

    async def say(self, text: str, hint: AsrHint | None = None, confidence: float = 1.0) -> DialogueResult:
        result = await self.dialogue.send(self.id, text, confidence, hint=hint)
        self.results.append(result)
        return result


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(f"{RASA_URL}/status", params=AUTH, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                resp.raise_for_status()
        except aiohttp.ClientError as exc:
            pytest.skip(f"Rasa is not running at {RASA_URL} (scripts/rasa-start.sh): {exc}")
        dialogue = RasaDialogue(RASA_URL, timeout=10.0, session=session, auth_token=TOKEN)
        scope = f"test-{uuid.uuid4().hex[:12]}"
        c = Call(dialogue, scope)
        await c.start()
        yield c
        await dialogue.end(c.id)
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("DELETE FROM bookings WHERE scope = %s", (scope,))


def _spoken(result: DialogueResult) -> str:
    return " ".join(result.replies)


async def _keypad_menu_then(call: Call, r: DialogueResult, then: str = "flibbertigibbet") -> DialogueResult:
    """A caller not understood outside a task is offered the tasks on the keypad first, the last try; `then`,
    no key, is said to it."""
    assert r.handoff is None and "press 1 to book an appointment" in _spoken(r), _spoken(r)
    assert r.entry_keys == 1 and r.expect == "task", r
    return await call.say(then)


async def _keypad_last_try_then(call: Call, r: DialogueResult, then: str = "flibbertigibbet") -> DialogueResult:
    """A caller not understood inside a task, at a question the keypad can answer, is asked it once more to be
    answered on the keypad only, the last try; `then`, no key, is said to it."""
    assert r.handoff is None and "Let's use your phone's keypad." in _spoken(r), _spoken(r)
    assert r.entry_keys, r
    return await call.say(then)


async def test_booking_with_partial_info_and_a_correction(call: Call) -> None:
    r = await call.say("i'd like to book a cleaning on friday")
    assert r.slots["service"] == "cleaning" and r.slots["date"] == "2026-11-27"
    assert "what time" in _spoken(r).lower()  # service and day were given: neither is asked again
    r = await call.say("half past two")
    assert r.slots["time"] == "14:30" and "name" in _spoken(r).lower()
    r = await call.say("I'm Jennifer Wood")
    assert r.slots["name"] == "Jennifer Wood"
    assert "tomorrow, Friday the twenty-seventh of November, at half past two" in _spoken(r)
    r = await call.say("no, wednesday")
    assert r.slots["date"] == "2026-12-02" and r.slots["time"] == "14:30"
    assert "Wednesday the second of December at half past two" in _spoken(r) and r.outcome is None
    r = await call.say("yes")
    assert r.outcome == "booked" and r.booking_ref
    with psycopg.connect(DSN) as conn:
        row = conn.execute(
            "SELECT name, service, starts_at, duration_minutes, phone, status FROM bookings "
            "WHERE scope = %s AND reference = %s",
            (call.scope, r.booking_ref),
        ).fetchone()
    assert row == ("Jennifer Wood", "cleaning", datetime(2026, 12, 2, 14, 30), 45, "+441632960001", "booked")
    r = await call.say("no thanks")
    assert r.end_call
    asked = [reply for res in call.results for reply in res.replies]
    assert sum("What time" in a for a in asked) == 1 and sum("your name" in a for a in asked) == 1


async def test_a_correction_heard_as_the_same_wrong_name_is_no_go_ahead(call: Call) -> None:
    # Simulated call (seed 71): "it's Carol Wood" heard as "please general would", the name already read back;
    # the "please" made it a yes and the wrong name was booked.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("it's general would")
    assert "General Would" in _spoken(r)
    r = await call.say("no is carol would")  # "no, it's Carol Wood": no name read from it
    assert "What would you like to change?" in _spoken(r)
    r = await call.say("please general would")
    assert r.outcome is None and not r.booking_ref, _spoken(r)
    assert _spoken(r) == "Sorry, I didn't catch the change. Which is wrong: the day, the time, the name or the service?"
    r = await call.say("it's general would")  # the same mishearing, given as a name: no go-ahead, and spelled
    assert r.outcome is None and "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)


async def test_letters_heard_as_a_symptom_at_the_spelling_question_are_letters(call: Call) -> None:
    # Fresh seed 4545: "It's S, M, I, T, H" heard "it hurts i d h" (report_urgent at 0.96), read "m i d h": put
    # through to the urgent line.
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("it's under silent smith", hint=AsrHint("name", "it's under helen smith", complete=True))
    await call.say("no my name is alan smythe", hint=AsrHint("yes_no", "no", complete=False,
                                                             name="my name is ellen smith"))
    r = await call.say("no it ama louis", hint=AsrHint("yes_no", "no", complete=False, name="it's emma lewis"))
    assert "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)
    r = await call.say("it hurts i d h", hint=AsrHint("spelling", "m i d h", complete=False))
    assert r.handoff is None, _spoken(r)


async def test_the_name_decoders_readings_replace_garbled_names_and_are_read_back(call: Call) -> None:
    # Simulated call (seed 91): "It's under Helen Smith" heard as "it's under silent smith"; the agent's name
    # decoder heard "helen smith". Then the read-back corrected: the yes/no reading carries a name reading.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("it's under silent smith", hint=AsrHint("name", "it's under helen smith", complete=True))
    assert r.slots["name"] == "Helen Smith" and "for Helen Smith" in _spoken(r), _spoken(r)
    r = await call.say("no my name is alan smythe", hint=AsrHint("yes_no", "no", complete=False,
                                                                  name="my name is ellen smith"))
    assert r.outcome is None and r.slots["name"] == "Ellen Smith" and "for Ellen Smith" in _spoken(r), _spoken(r)
    # The lead-in heard by the name decoder only (simulated call, seed 91: "No, it's Emma Lewis"). A second
    # correction of the name: the surname, heard another way each time, is spelled instead of guessed again.
    r = await call.say("no it ama louis", hint=AsrHint("yes_no", "no", complete=False, name="it's emma lewis"))
    assert r.outcome is None and "name" not in r.slots, (_spoken(r), r.slots)
    assert "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)
    r = await call.say("what is", hint=AsrHint("spelling", "l e w i s", complete=True))
    assert r.slots["name"] == "Emma Lewis" and "for Emma Lewis" in _spoken(r), _spoken(r)
    # A correction of the time is not a name, whatever the name decoder forced onto it.
    r = await call.say("no it's at three", hint=AsrHint("yes_no", "no", complete=False, name="it's tate"))
    assert r.slots["name"] == "Emma Lewis" and r.slots.get("time") == "15:00", (_spoken(r), r.slots)
    r = await call.say("yes please")
    assert r.outcome == "booked"


async def test_a_refused_name_is_remembered_and_never_beats_the_name_decoders_reading(call: Call) -> None:
    # Simulated seed 9494: "Kevin Hall" heard "Kevin Love" three times over and read back each time. The names the
    # caller refuses are kept (the agent's name decoder passes over them), and a free reading that is one of them
    # no longer beats the name decoder's other reading.
    r = await call.say("i'd like a check up on monday at ten my name is kevin love")
    assert r.slots.get("requested_slot") == "confirmed" and not r.slots.get("names_refused")
    r = await call.say("no it's kevin")  # half of it: the other half was wrong
    assert "I have Kevin. And your surname?" in _spoken(r) and r.slots["names_refused"] == ["kevin love"], r.slots
    r = await call.say("it's kevin love", hint=AsrHint("name", "it's kevin hall", complete=True))
    assert r.slots["name"] == "Kevin Hall" and "for Kevin Hall" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say("no it's devin hall")
    assert r.slots["names_refused"] == ["kevin love", "kevin hall"], r.slots


async def test_a_refused_name_heard_again_at_the_name_question_is_spelled(call: Call) -> None:
    await call.say("i'd like a check up on monday at ten my name is kevin love")
    r = await call.say("no it's kevin")
    assert "I have Kevin. And your surname?" in _spoken(r), _spoken(r)
    r = await call.say("it's kevin love")  # nothing else heard: not read back a second time
    assert "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)
    assert "for Kevin Love" not in _spoken(r)


async def test_a_name_corrected_twice_is_spelled_keyed_then_asked_in_words_if_nothing_fits(call: Call) -> None:
    # Simulated seed 4242: "Robert Walker" read back as Robert Mata, Robert Water, Roberta Mata, Robert Walter,
    # then the caller asked for a person. The surname is spelled after the second correction; the first name,
    # heard the same way both times, is kept. Letters that fit no name: the keypad next; keys that spell no name:
    # the half in words.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("robert mata")
    assert "for Robert Mata" in _spoken(r)
    r = await call.say("that's wrong my name is robert water")
    assert "for Robert Water" in _spoken(r)
    r = await call.say("not quite it's robert walter")
    assert "name" not in r.slots and r.slots["requested_slot"] == "name", r.slots
    assert _spoken(r) == ("Sorry, I keep getting your name wrong. Could you spell your surname for me, letter by "
                          "letter? You can also key it in, one key for each letter, then the hash key.")
    assert r.expect == "spelling"
    r = await call.say("which a", hint=AsrHint("spelling", "x q z", complete=True))  # no name is near those
    assert _spoken(r) == ("Sorry, I didn't get all the letters. Please key in your surname, one key for each letter, "
                          "then the hash key."), _spoken(r)
    r = await call.say("9999#")  # keys that spell no list name
    assert _spoken(r) == "Sorry, I didn't find that name. I have Robert. And your surname?", _spoken(r)
    assert r.expect != "spelling" and "name" not in r.slots
    r = await call.say("walker")
    assert r.slots["name"] == "Robert Walker" and "for Robert Walker" in _spoken(r), _spoken(r)
    r = await call.say("no it's robert water")  # spelled once: never asked again, the reading is read back
    assert "for Robert Water" in _spoken(r) and "spell" not in _spoken(r)


async def test_a_name_keyed_in_at_the_spelling_question_is_the_list_name_with_those_keys(call: Call) -> None:
    # Spoken letters are lost on synthetic voices ("P, A, R, K, E, R" heard "e"); keys are exact. 4455 is Hill or
    # Gill: the one heard earlier in the call is taken. The keys are no phone number and no day.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("my name is helen gill")
    assert "for Helen Gill" in _spoken(r)
    r = await call.say("no sorry the name is helen gill")
    assert "Could you spell your surname" in _spoken(r) and "key it in" in _spoken(r), _spoken(r)
    r = await call.say("4455#")
    # Gill, heard before, and not Hill. Helen Gill was refused: the first name is spelled too.
    assert r.slots["name_part"] == "Gill" and "spell your first name" in _spoken(r), _spoken(r)
    assert r.slots.get("phone") is None and r.slots["date"] is not None
    r = await call.say("43536#")  # both halves spelled: what the caller keyed is read back
    assert r.slots["name"] == "Helen Gill" and "for Helen Gill" in _spoken(r), _spoken(r)


async def test_a_keyed_name_unheard_in_the_call_is_the_commonest_with_those_keys(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("my name is helen still")
    r = await call.say("no sorry the name is helen still")
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    r = await call.say("which a", hint=AsrHint("spelling", "x q z", complete=True))
    assert "key in your surname" in _spoken(r), _spoken(r)
    r = await call.say("4455")
    assert r.slots["name"] == "Helen Hill" and "for Helen Hill" in _spoken(r), _spoken(r)


async def test_a_spelled_surname_beside_a_first_name_no_list_has_spells_the_first_name_too(call: Call) -> None:
    # Six 200-call reports: spelled halves read back beside words the open decoder made of the other half ("Roof
    # Nelson", "Meat Mccall", "Kevin Network"), each refused. A kept half that is no list name is spelled too.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("my name is roof nelsen")
    assert "for Roof Nelsen" in _spoken(r), _spoken(r)
    r = await call.say("no sorry the name is roof nelsen")
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    r = await call.say("what is", hint=AsrHint("spelling", "n e l s o n", complete=True))
    assert _spoken(r) == ("And could you spell your first name for me too? You can also key it in, one key for each "
                          "letter, then the hash key."), _spoken(r)
    assert r.expect == "spelling" and "name" not in r.slots
    r = await call.say("7285#")
    assert r.slots["name"] == "Paul Nelson" and "for Paul Nelson" in _spoken(r), _spoken(r)


async def test_a_name_with_a_spelled_half_corrected_spells_the_other_half(call: Call) -> None:
    # "Calvin Johnson" read back after J, O, H, N, S, O, N for John Johnson: the half heard is the wrong one.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("my name is calvin johnsen")
    r = await call.say("no sorry the name is calvin johnsen")
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    r = await call.say("what is", hint=AsrHint("spelling", "j o h n s o n", complete=True))
    assert "for Calvin Johnson" in _spoken(r), _spoken(r)
    r = await call.say("no it's calvin johnson")
    assert "And could you spell your first name for me too?" in _spoken(r), _spoken(r)
    r = await call.say("5646#")
    assert r.slots["name"] == "John Johnson" and "for John Johnson" in _spoken(r), _spoken(r)
    r = await call.say("no it's calvin johnson")  # both halves spelled: never asked again, the reading is read back
    assert "spell" not in _spoken(r), _spoken(r)


async def test_the_half_asked_for_answered_with_the_half_kept_spells_the_missing_half(call: Call) -> None:
    # Fresh seed 10806: "George Smith" heard "george for me", then "george me" at "I have George. And your
    # surname?"; "George" alone was read back, and the caller went to a person.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("george for me", hint=AsrHint("name", "george", complete=False))
    assert "I have George. And your surname?" in _spoken(r), _spoken(r)
    r = await call.say("george me", hint=AsrHint("name", "george", complete=False))
    assert "Could you spell your surname" in _spoken(r) and "for George," not in _spoken(r), _spoken(r)
    r = await call.say("76484#")
    assert r.slots["name"] == "George Smith" and "for George Smith" in _spoken(r), _spoken(r)


async def test_the_name_not_understood_twice_is_keyed_in_as_the_last_try(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("mm hmm")
    r = await call.say("mm hmm")
    assert "Let's use your phone's keypad. Please key in your surname, one key for each letter" in _spoken(r), \
        _spoken(r)
    r = await call.say("76484#")  # the surname alone: the first name is asked for next, spelled or keyed
    assert r.slots["name_part"] == "Smith" and "spell your first name" in _spoken(r), _spoken(r)
    r = await call.say("436743#")
    assert r.slots["name"] == "George Smith" and "for George Smith" in _spoken(r), _spoken(r)


async def test_a_name_heard_again_just_as_read_back_is_spelled_at_once(call: Call) -> None:
    # Simulated seed 5353: "No, sorry, the name is Harry Moore" heard "... harry there" twice; the same name was
    # read back again each time, until the caller asked for a person (seed 6161 #37 likewise, "long meade").
    # Heard the same wrong way twice, it would be heard that way a third time: the surname is spelled instead.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("my name is harry there")
    assert "for Harry There" in _spoken(r)
    r = await call.say("no sorry the name is harry there")
    assert "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)
    r = await call.say("what is", hint=AsrHint("spelling", "m o o r e", complete=True))
    assert r.slots["name"] == "Harry Moore" and "for Harry Moore" in _spoken(r), _spoken(r)


async def test_letters_no_list_name_fits_are_read_against_the_names_heard_in_the_call(call: Call) -> None:
    # Simulated seed 4040: "Alice King" read back "Hartley King" and refused, then spelled "K, I, N, G": heard
    # "p i n g", read "k i n" by the letter decoder. No list name is clearly nearest to those letters; of the names
    # heard in the call, King is.
    await call.say("i'd like a check up on monday at ten")
    r = await call.say("it's alas king", hint=AsrHint("name", "it is hartley king", complete=True))
    assert "for Hartley King" in _spoken(r), _spoken(r)
    r = await call.say("no sorry it alas lisa", hint=AsrHint("yes_no", "no", complete=False,
                                                                     name="no sorry it is hartley lisa"))
    r = await call.say("no sorry it alas lisa", hint=AsrHint("yes_no", "no", complete=False,
                                                                     name="no sorry it is hartley lisa"))
    assert "Could you spell your surname" in _spoken(r) and r.expect == "spelling", _spoken(r)
    r = await call.say("p i n g", hint=AsrHint("spelling", "k i n", complete=False))
    # King, and Hartley King was refused: the first name is spelled too.
    assert r.slots["name_part"] == "King" and "spell your first name" in _spoken(r), _spoken(r)
    r = await call.say("a l i c e", hint=AsrHint("spelling", "a l i c e", complete=True))
    assert r.slots["name"] == "Alice King" and "for Alice King" in _spoken(r), _spoken(r)


async def test_a_read_back_corrected_by_a_month_without_its_day_asks_for_the_day(call: Call) -> None:
    # Simulated seed 6161 (#30): "No, the eighth of December at one p m" heard "no spaces december at one pm".
    # The same details were read back again (the part of day, unchanged, counted as a correction), twice, and
    # the caller asked for a person. Only the day is missing: it is asked for in that month.
    await call.say("i'd like to book a cleaning on monday at one pm")
    r = await call.say("my name is jennifer wood")
    assert "Monday the thirtieth of November" in _spoken(r) and "Shall I book it?" in _spoken(r), _spoken(r)
    r = await call.say("no spaces december at one pm")
    assert _spoken(r) == "Sorry, I didn't catch the day. Which day in December?", _spoken(r)
    # "The eighth, one o'clock" with the day lost: the constrained reading hears the hour in the bare "one".
    r = await call.say("one floss", hint=AsrHint("when", "one o'clock", complete=True))
    assert "Which day in December?" in _spoken(r) and "first" not in _spoken(r), _spoken(r)
    r = await call.say("the eighth")
    assert "Tuesday the eighth of December at one o'clock" in _spoken(r) and "Shall I book it?" in _spoken(r)


async def test_a_weekday_answering_which_day_in_a_month_is_in_that_month(call: Call) -> None:
    # Fresh seed 8787: asked "Which day in December?", "Saturday the fifth" heard "on saturday the says" was read
    # back as Saturday the twenty-eighth of November (the nearest Saturday), three times, then a person.
    await call.say("i'd like to book a cleaning on monday at one pm")
    await call.say("my name is jennifer wood")
    r = await call.say("no spaces december at one pm")
    assert "Which day in December?" in _spoken(r), _spoken(r)
    r = await call.say("on saturday the says", hint=AsrHint("when", "saturday this", complete=True), confidence=0.87)
    assert r.slots.get("date") == "2026-12-05", (r.slots.get("date"), _spoken(r))


async def test_a_weekday_whose_day_number_was_lost_asks_which_week(call: Call) -> None:
    # Fresh seed 8787: "Saturday the fifth" heard "saturdays assess" / "saturday the says": the nearest Saturday
    # (the twenty-eighth of November) was read back, and the corrections went round until a person.
    await call.say("i'd like to book a cleaning")
    r = await call.say("on saturday the says at ten", confidence=0.87)
    assert not r.slots.get("date") and _spoken(r) == (
        "Sorry, was that Saturday the twenty-eighth of November or Saturday the fifth of December?"), _spoken(r)
    r = await call.say("the one in december")
    assert r.slots.get("date") == "2026-12-05" and r.slots.get("time") == "10:00", (r.slots, _spoken(r))


async def test_a_choice_of_week_missed_again_offers_the_keypad(call: Call) -> None:
    # Seed 8686: the choice asked three times, the day number lost each time, then a person.
    await call.say("i'd like to book a cleaning")
    await call.say("on saturday the says at ten", confidence=0.87)
    r = await call.say("saturday the fuss", confidence=0.67)
    assert "or Saturday the fifth of December?" in _spoken(r) and "key in the day of the month" in _spoken(r), \
        _spoken(r)
    assert r.entry_keys == 2, r
    r = await call.say("5")
    assert r.slots.get("date") == "2026-12-05", (r.slots, _spoken(r))


async def test_the_same_hours_asked_again_outside_opening_hours_ask_for_another_day(call: Call) -> None:
    # Fresh seeds 8787, 8888: a Saturday misheard for the day, half past one asked for; the caller turned the
    # offers down and asked for half past one again, and was offered the same two times until asking for a person.
    r = await call.say("i need a filling on saturday the twelfth of december at one thirty pm")
    assert "outside our opening hours" in _spoken(r) and "The nearest I can offer" in _spoken(r), _spoken(r)
    r = await call.say("neither i asked for one thirty")
    assert _spoken(r) == ("Half past one is outside our opening hours on Saturday the twelfth of December. "
                          "Which day suits you?"), _spoken(r)
    assert r.slots.get("time") == "13:30" and not r.slots.get("date"), r.slots
    r = await call.say("monday the fourteenth")
    assert r.slots.get("date") == "2026-12-14" and r.slots.get("time") == "13:30", (r.slots, _spoken(r))


async def test_a_name_heard_unsure_does_not_move_a_day_given_clearly(call: Call) -> None:
    # Fresh seed 8787: "It's Ruth Wright" heard "it through friday" (0.56) moved the booking from the Tuesday
    # given clearly to Friday; the read-back carried the wrong day and the caller only corrected the name.
    await call.say("i'd like to book a cleaning")
    r = await call.say("next tuesday at one in the afternoon", confidence=0.96)
    assert r.slots.get("date") == "2026-12-01" and r.slots.get("time") == "13:00", r.slots
    r = await call.say("it through friday", hint=AsrHint("name", "alfred", complete=False), confidence=0.56)
    assert r.slots.get("date") == "2026-12-01", (r.slots.get("date"), _spoken(r))
    r = await call.say("actually make it friday at one please", confidence=0.95)  # said clearly, it is a change
    assert r.slots.get("date") == "2026-11-27", (r.slots.get("date"), _spoken(r))


async def test_a_yes_heard_with_a_service_word_changes_nothing(call: Call) -> None:
    # Fresh seed 8787: "Yes please" heard "yeah clean" (both readings) turned the filling read back into a cleaning,
    # read back again, twice in one call. Agreement without a word of a change is a yes.
    await call.say("i'd like to book a filling on monday at one pm")
    r = await call.say("my name is jennifer wood")
    assert "a filling on Monday" in _spoken(r) and "Shall I book it?" in _spoken(r), _spoken(r)
    r = await call.say("yeah clean", hint=AsrHint("yes_no", "yeah clean", complete=True))
    assert r.outcome == "booked" and r.booking_ref, _spoken(r)
    with psycopg.connect(DSN) as conn:
        row = conn.execute("SELECT service FROM bookings WHERE reference = %s", (r.booking_ref,)).fetchone()
    assert row == ("filling",)


async def test_a_yes_with_a_word_of_change_still_corrects(call: Call) -> None:
    await call.say("i'd like to book a filling on monday at one pm")
    await call.say("my name is jennifer wood")
    r = await call.say("yes but actually make it a cleaning")
    assert r.outcome is None and r.slots.get("service") == "cleaning" and "a cleaning on Monday" in _spoken(r), \
        _spoken(r)


async def test_a_no_that_restates_the_time_read_back_asks_what_to_change(call: Call) -> None:
    # The time said again as read back is no correction: the caller is asked what to change, not read the same
    # details again.
    await call.say("i'd like to book a cleaning on monday at one pm")
    await call.say("my name is jennifer wood")
    r = await call.say("no that's not right one pm")
    assert "What would you like to change?" in _spoken(r), (_spoken(r), r.intent)


async def test_typed_letters_are_taken_as_typed(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("i'm ann connor")
    await call.say("no, it's ann oconnor")
    r = await call.say("no, my name is ann oconner")
    assert "spell your surname" in _spoken(r)
    r = await call.say("O, C, O, N, N, E, L, L.")  # typed: O'Connell, though c and d sound alike
    assert r.slots["name"] == "Ann Oconnell", (_spoken(r), r.slots)


async def test_a_whole_name_of_list_names_heard_by_the_open_decoder_is_kept(call: Call) -> None:
    # Simulated calls (seed 5151): where both readings were whole names and differed, the open decoder's was right
    # 7 times in 12 and the name decoder's never ("that's wrong my name is lisa anderson" read "lee sanderson").
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("it's under lee sanderson")
    r = await call.say("that's wrong my name is lisa anderson", hint=AsrHint("yes_no", "", complete=False,
                                                                              name="my name is lee sanderson"))
    assert r.slots["name"] == "Lisa Anderson" and "for Lisa Anderson" in _spoken(r), _spoken(r)


async def test_sentence_words_at_a_names_edges_are_no_part_of_it(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("it's under lee sanderson")
    r = await call.say("no the name is brian taylor phone")
    assert r.slots["name"] == "Brian Taylor" and "for Brian Taylor" in _spoken(r), _spoken(r)


async def test_a_garbled_name_is_asked_again_with_a_repair_question(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("i was gonna")  # a name garbled into words that are never a name
    assert not r.slots.get("name") and "didn't catch your name" in _spoken(r)
    r = await call.say("jennifer wood")
    assert r.slots["name"] == "Jennifer Wood" and "Jennifer Wood" in _spoken(r)


async def test_half_a_name_is_said_back_and_the_other_half_asked_for(call: Call) -> None:
    # Simulated call (seed 9292): "Anna Edwards" heard as "edwards" at every try, each read back and refused.
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("it's under edwards", hint=AsrHint("name", "it's under edwards", complete=True))
    assert not r.slots.get("name") and _spoken(r).endswith("I have Edwards. And your first name?"), _spoken(r)
    r = await call.say("anna", hint=AsrHint("name", "anna", complete=True))
    assert r.slots["name"] == "Anna Edwards" and "for Anna Edwards" in _spoken(r), _spoken(r)
    # At the read-back, one word that is part of the name read back: the other part was wrong.
    r = await call.say("no my name is edwards", hint=AsrHint("confirm", "no", complete=False,
                                                              name="no my name is edwards"))
    assert not r.slots.get("name") and _spoken(r).endswith("I have Edwards. And your first name?"), _spoken(r)
    r = await call.say("it's hannah edwards")
    assert r.slots["name"] == "Hannah Edwards" and "for Hannah Edwards" in _spoken(r), _spoken(r)
    r = await call.say("yes please")
    assert r.outcome == "booked"


async def test_a_yes_to_the_half_of_a_name_said_back_takes_it_as_the_name(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    r = await call.say("it's jennifer")
    assert _spoken(r).endswith("I have Jennifer. And your surname?"), _spoken(r)
    r = await call.say("yes that's right")  # never "Jennifer Right"
    assert r.slots["name"] == "Jennifer" and "for Jennifer," in _spoken(r), _spoken(r)


async def test_say_that_again_in_a_cancel_repeats_its_own_question(call: Call) -> None:
    # Simulated seed 9494 (#90): "Sharon King" heard "come again" while the first name was asked in a cancel;
    # the agent asked the booking's "What would you like to come in for?" instead of its own question.
    await call.say("i want to cancel my appointment")
    r = await call.say("my name is king")
    assert "I have King. And your first name?" in _spoken(r), _spoken(r)
    r = await call.say("could you say that again")
    assert _spoken(r) == "I have King. And your first name?", _spoken(r)
    assert r.slots.get("requested_slot") == "name"


async def test_an_unusable_answer_in_a_reschedule_asks_the_same_question_again(call: Call) -> None:
    await call.say("i have to rearrange my appointment")
    await call.say("it's james stewart")
    r = await call.say("a clean please")  # an answer to another question: the day of the booking is still open
    assert r.slots.get("requested_slot") == "old_date" and "Which day is your appointment on?" in _spoken(r)
    assert "come in for" not in _spoken(r)  # never the booking's service question in a reschedule


async def _at_the_number_question(call: Call) -> None:
    """A booking from a caller without caller id, every detail but the number given: the number is asked next."""
    await call.start(caller="")  # no caller id: the number is asked, and read back
    await call.say("can i book a cleaning on friday at half past two")
    await call.say("jennifer wood")


async def test_a_phone_number_is_corrected_at_the_read_back_or_keyed_in(call: Call) -> None:
    await _at_the_number_question(call)
    r = await call.say("zero seven nine two three five one five eight five")  # one digit lost on the line
    assert r.slots["phone"] == "0792351585" and "0 7 9 2 3 5 1 5 8 5" in _spoken(r)
    r = await call.say("no sorry my number is zero seven nine two three five one five eight to five")
    assert r.slots["phone"] == "07923515825" and "0 7 9 2 3 5 1 5 8 2 5" in _spoken(r)  # corrected, read back
    r = await call.say("no my number is zero seven nine two three five one five eight to five")
    assert "again" in _spoken(r) and "keypad" in _spoken(r)  # the same number heard again: the keypad offered
    # A number garbled into words names no time (simulated seed 9292: "seven for eight" moved it to eight).
    r = await call.say("no my number is near of him and seven for eight one zero me and of heaven")
    assert r.slots["time"] == "14:30" and "eight" not in _spoken(r), (r.slots, _spoken(r))
    r = await call.say("07923515826")  # keyed in
    assert r.slots["phone"] == "07923515826" and not r.end_call


async def test_a_number_corrected_with_digits_lost_asks_the_number_question_again(call: Call) -> None:
    # Fresh seed 3131: "Not quite, my number is zero seven four three four eight four six nine two zero" heard "not
    # quite my number zero seven for free flow rate floor six nine to zero": asked what to change three times.
    await _at_the_number_question(call)
    r = await call.say("zero seven four six nine two zero")
    assert r.slots["phone"] == "0746920" and "Shall I book it?" in _spoken(r), _spoken(r)
    r = await call.say("not quite my number zero seven for free flow rate floor six nine to zero")
    assert "Sorry, I didn't get the whole number." in _spoken(r) and r.slots.get("requested_slot") == "phone", (
        _spoken(r), r.slots)
    r = await call.say("zero seven four three four eight four six nine two zero")
    assert r.slots["phone"] == "07434846920" and "Shall I book it?" in _spoken(r), _spoken(r)


async def test_a_number_not_caught_is_asked_again_with_the_keypad_offered(call: Call) -> None:
    # Simulated seeds 2727, 3131, 5858: "zero seven five three ..." heard "near my family i'm free ..." on every try.
    await _at_the_number_question(call)
    r = await call.say("it's near my family i'm freaked me out free to famine")
    assert "keypad" in _spoken(r) and r.slots.get("requested_slot") == "phone", (_spoken(r), r.slots)
    r = await call.say("07530327703")  # keyed in
    assert r.slots["phone"] == "07530327703" and "Shall I book it?" in _spoken(r), _spoken(r)


async def test_an_answer_to_the_number_question_names_no_time(call: Call) -> None:
    # Simulated seed 9292: "... zero four eight five seven five ..." heard "for eight five am": moved to five am.
    await _at_the_number_question(call)
    r = await call.say("it's we're okay i'm a little for eight five am and five zero zero eight")
    assert r.slots.get("time") == "14:30" and "opening hours" not in _spoken(r), (r.slots, _spoken(r))


async def test_garble_classed_as_details_starts_no_booking_and_is_counted(call: Call) -> None:
    r = await call.say("you elephant under the stairs")  # "inform", with no task in hand and no detail in it
    assert not r.slots.get("task") and "book, change or cancel" in _spoken(r) and "come in for" not in _spoken(r)
    await call.say("purple sam and banana window")
    r = await call.say("breen lamp over there")  # the third turn the agent could not use, however each was read
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood"


async def test_a_bye_heard_unsure_in_the_middle_of_a_task_does_not_hang_up(call: Call) -> None:
    # Fresh seed 4545: "It's the fourth", heard "bye" at 0.27 when asked for the day, was hung up on.
    await call.say("hi can i book a cleaning")
    r = await call.say("bye", confidence=0.27)
    assert not r.end_call and "Which day suits you?" in _spoken(r), _spoken(r)
    r = await call.say("bye")  # heard clearly, a bye is a bye
    assert r.end_call, _spoken(r)


async def test_thanks_and_a_bye_heard_unsure_in_the_middle_of_a_task_is_a_goodbye(call: Call) -> None:
    # The end-to-end test of a dropped ARI WebSocket: "Thank you, goodbye." heard "send you a good bye", mid-task.
    await call.say("hi can i book a cleaning")
    r = await call.say("send you a good bye", confidence=0.7)
    assert r.end_call, _spoken(r)


async def test_garble_read_as_goodbye_does_not_hang_up(call: Call) -> None:
    await call.say("hi can i book a cleaning")
    r = await call.say("he off even meet all")  # classed as a goodbye, but no word of leaving was heard
    assert not r.end_call and "Which day suits you?" in _spoken(r)
    r = await call.say("ok that's all, bye")
    assert r.end_call


async def test_a_bye_sound_inside_a_correction_does_not_hang_up(call: Call) -> None:
    # Simulated seed 5353: "no, sorry, December the second half past three" at the read-back, heard "let me see
    # law sorry be seen by the second half breed", classed goodbye: the caller was hung up on.
    r = await call.say("i'd like a check up on monday at ten my name is jack johnson")
    assert r.slots.get("requested_slot") == "confirmed"
    r = await call.say("let me see law sorry be seen by the second half breed")
    assert not r.end_call and r.outcome is None, _spoken(r)
    r = await call.say("goodbye")
    assert r.end_call


async def test_a_bare_name_is_the_change_asked_for(call: Call) -> None:
    # Simulated seed 5353: "That's wrong, it's Tom Edwards" heard "that's wrong that's tom edwards", then "Tom
    # Edwards" twice at "What would you like to change?": asked for again each time, then a person.
    await call.say("i'd like a filling on thursday at half past twelve")
    r = await call.say("it's slaughter woods")
    assert "for Slaughter Woods" in _spoken(r)
    r = await call.say("that's wrong that's tom edwards")
    assert r.slots["name"] == "Tom Edwards" and "for Tom Edwards" in _spoken(r), _spoken(r)
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r)
    # The name as read back, said when asked what to change: heard the same way again, it is spelled (in twelve
    # 200-call reports, 18 of 19 names so restated and read back again were wrong).
    r = await call.say("tom edwards")
    assert "Could you spell your" in _spoken(r) and r.expect == "spelling" and r.outcome is None, _spoken(r)


async def test_a_service_heard_nearly_is_asked_back_once(call: Call) -> None:
    # Simulated seed 5353: "Just a new filling please" heard "just a new film plays", "a fill m" by the service
    # decoder, three times over, then a person.
    r = await call.say("i'd like to book an appointment")
    assert "come in for" in _spoken(r)
    r = await call.say("just a new film plays", hint=AsrHint("service", "afternoon please", complete=True))
    assert _spoken(r) == "Sorry, was that a filling?" and not r.slots.get("service")
    r = await call.say("yes")
    assert r.slots["service"] == "filling" and "Which day suits you?" in _spoken(r), _spoken(r)


async def test_a_service_stem_both_decoders_heard_is_the_service(call: Call) -> None:
    # Fresh seed 12321: "I need a filling done" heard "i need to feel i'm done" and read "i need a fill m" by the
    # service decoder, three times, then a person. The reading's "fill" with "feel" in the transcript is a filling.
    await call.say("i'd like to book an appointment")
    r = await call.say("i need to feel i'm done", hint=AsrHint("service", "i need a fill m", complete=False),
                       confidence=0.75)
    assert r.slots.get("service") == "filling" and "Which day suits you?" in _spoken(r), (_spoken(r), r.slots)


async def test_a_yes_heard_with_a_no_after_it_is_asked_again(call: Call) -> None:
    # Fresh seed 11917: "Yes, that's right" heard "yeah not right" (read "yeah not friday") to "Sorry, was that a
    # filling?": the guess was dropped (and the booking moved to Friday); the call ended with a person.
    await call.say("i'd like to book an appointment")
    r = await call.say("the new film")
    assert _spoken(r) == "Sorry, was that a filling?"
    r = await call.say("yeah not right", hint=AsrHint("service", "yeah not friday", complete=True), confidence=0.77)
    assert "was that a filling?" in _spoken(r) and not r.slots.get("date"), (_spoken(r), r.slots)
    r = await call.say("yes")
    assert r.slots["service"] == "filling" and "Which day suits you?" in _spoken(r), _spoken(r)
    # At the read-back: asked again, never taken as a no.
    await call.say("on monday at ten, my name is jack wood")
    r = await call.say("yeah not correct", hint=AsrHint("confirm", "not correct", complete=True), confidence=0.75)
    assert _spoken(r).startswith("Sorry, was that a yes?") and not r.slots.get("correcting"), _spoken(r)


async def test_a_question_read_whole_as_one_name_at_the_name_question_is_the_name(call: Call) -> None:
    # Fresh seed 12018: "It's under Sandra Edwards" heard "it's understand where where" (an address question to the
    # classifier), read "it's under sandra edwards": the address was said four times, then the call ended.
    r = await call.say("i'd like a check up on wednesday at four")
    assert "Can I take your name" in _spoken(r), _spoken(r)
    r = await call.say("it's understand where where", hint=AsrHint("name", "it's under sandra edwards", complete=True),
                       confidence=0.54)
    assert r.intent == "inform" and "River Street" not in _spoken(r), (r.intent, _spoken(r))
    assert "for Sandra Edwards" in _spoken(r) or "I didn't catch your name" in _spoken(r), _spoken(r)
    # A question said at the name question is still answered: its whole reading is no one name.
    r = await call.say("oh before that how do i find you", hint=AsrHint("name", "mccord howe dubois thank you",
                                                                        complete=True), confidence=0.97)
    assert r.intent == "ask_address" and "River Street" in _spoken(r), (r.intent, _spoken(r))


async def test_a_frustration_word_in_a_day_read_whole_is_the_day(call: Call) -> None:
    # Fresh seed 12018: "It's the nineteenth" heard "it's annoying things", read "nineteenth": put through as
    # frustrated in the middle of a cancel.
    await call.say("i'd like a check up at ten o'clock, my name is harry jackson")
    r = await call.say("it's annoying things", hint=AsrHint("when", "nineteenth", complete=True), confidence=0.9)
    assert r.handoff is None and r.intent == "inform" and "nineteenth" in _spoken(r), (r.intent, _spoken(r))
    r = await call.say("this is ridiculous, you are useless")
    assert r.handoff is not None and r.handoff.reason == "frustration", _spoken(r)


async def test_the_name_asked_again_after_an_aside_is_still_asked_again(call: Call) -> None:
    # Fresh seed 12018: "It's Sandra Edwards" heard "it and where where" (the address question): the address, then
    # "So, sorry, I didn't catch your name." The name heard next ("it's under sandra edwards" whole) was asked for
    # again as if the name had been asked once.
    await call.say("i'd like a check up on wednesday at four")
    r = await call.say("where are you", confidence=0.72)
    assert "River Street" in _spoken(r) and "So, sorry, I didn't catch your name" in _spoken(r), _spoken(r)
    r = await call.say("it's understand where where", hint=AsrHint("name", "it's under sandra edwards", complete=True),
                       confidence=0.54)
    assert "for Sandra Edwards" in _spoken(r), _spoken(r)


async def test_a_service_asked_back_and_refused_is_asked_for_again(call: Call) -> None:
    await call.say("i'd like to book an appointment")
    r = await call.say("the new film")
    assert _spoken(r) == "Sorry, was that a filling?"
    r = await call.say("no")
    assert "What would you like to come in for?" in _spoken(r) and not r.slots.get("service")
    r = await call.say("the new film")  # asked back once per task: now a plain miss
    assert "was that a filling" not in _spoken(r) and not r.slots.get("service")
    r = await call.say("a cleaning please")
    assert r.slots["service"] == "cleaning"


async def test_a_lone_number_for_the_day_is_asked_back_once(call: Call) -> None:
    # Simulated seed 1212: "It's on the ninth" heard "nine" three times at the day question, then a person.
    await call.say("i'd like a check up")
    r = await call.say("nine")
    assert "Sorry, was that Wednesday the ninth of December?" in _spoken(r) and not r.slots.get("date"), _spoken(r)
    r = await call.say("yes")
    assert r.slots["date"] == "2026-12-09" and "What time suits you" in _spoken(r), (_spoken(r), r.slots)


async def test_a_day_guess_answered_with_its_weekday_takes_the_day_asked_back(call: Call) -> None:
    # Simulated seed 4040: "I think it's Wednesday the ninth" heard "i think it's wednesday that eyes" took the
    # nearest Wednesday (the 2nd), not the Wednesday the ninth just asked back.
    await call.say("i'd like a check up")
    r = await call.say("nine")
    assert "Sorry, was that Wednesday the ninth of December?" in _spoken(r), _spoken(r)
    r = await call.say("i think it's wednesday that eyes")
    assert r.slots["date"] == "2026-12-09", (_spoken(r), r.slots)


async def test_a_day_guess_answered_with_another_weekday_takes_that_day(call: Call) -> None:
    await call.say("i'd like a check up")
    await call.say("nine")
    r = await call.say("no on thursday")
    assert r.slots["date"] == "2026-12-03", (_spoken(r), r.slots)


async def test_a_day_further_ahead_than_the_policy_allows_is_asked_again(call: Call) -> None:
    # Simulated seed 7171: "November the twenty fifth" heard "november the twenty ..." became the 20th of next
    # November, read back and offered times on.
    await call.say("i'd like a check up")
    r = await call.say("november the twentieth")
    assert not r.slots.get("date") and "Which day" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say("december the eighteenth")
    assert r.slots["date"] == "2026-12-18", (_spoken(r), r.slots)


async def test_a_day_guess_refused_asks_the_day_and_is_not_guessed_again(call: Call) -> None:
    await call.say("i'd like a check up")
    r = await call.say("it's on the", hint=AsrHint("when", "the nine", complete=True))  # the day decoder's number
    assert "Sorry, was that Wednesday the ninth of December?" in _spoken(r), _spoken(r)
    r = await call.say("no")
    assert "Which day suits you?" in _spoken(r) and not r.slots.get("date"), _spoken(r)
    r = await call.say("eight")
    assert "was that" not in _spoken(r) and not r.slots.get("date"), _spoken(r)
    r = await call.say("the eighth")
    assert r.slots["date"] == "2026-12-08", (_spoken(r), r.slots)


async def test_question_mid_flow_then_resume(call: Call) -> None:
    await call.say("i need a check up")
    r = await call.say("what are your opening hours")
    assert r.intent == "ask_opening_hours"
    assert "Monday to Friday" in r.replies[0] and r.replies[-1] == "So, which day suits you?"
    r = await call.say("monday")
    assert r.slots["date"] == "2026-11-30" and r.slots["service"] == "check-up"


async def test_a_no_after_a_question_answered_outside_a_task_ends_the_call(call: Call) -> None:
    # Simulated seeds 6161 and 9494: "No, that's all, thank you. Bye" after the hours, heard "no", was answered
    # with the menu ("Sorry, I'm not sure what you mean"), and callers were talked over or handed to a person.
    r = await call.say("what are your opening hours")
    assert "Monday to Friday" in r.replies[0] and r.replies[-1] == "Is there anything else I can help with?"
    r = await call.say("no")
    assert r.end_call and r.handoff is None and "book, change or cancel" not in _spoken(r), _spoken(r)


async def test_a_yes_after_a_question_answered_asks_what_else(call: Call) -> None:
    r = await call.say("where are you")
    assert r.replies[-1] == "Is there anything else I can help with?"
    r = await call.say("yes please")
    assert not r.end_call and "What else can I do for you?" in _spoken(r)
    r = await call.say("i'd like to book a cleaning")
    assert r.slots.get("service") == "cleaning" and r.slots.get("task") == "book"


async def test_a_question_at_the_read_back_resumes_it_once(call: Call) -> None:
    r = await call.say("i'd like a check up on monday at ten my name is jack johnson")
    assert r.slots.get("requested_slot") == "confirmed"
    r = await call.say("what are your opening hours")
    assert "Monday to Friday" in r.replies[0] and r.replies[-1].startswith("So that's a check-up on Monday")


async def test_taken_slot_offers_nearest_free_times(call: Call) -> None:
    _insert(call.scope, "Someone Else", "2026-11-30 10:00", service="filling", minutes=60)
    r = await call.say("can i book a check up on monday at ten")
    text = _spoken(r)
    assert "Ten o'clock is already taken" in text and "nine o'clock or half past nine" in text
    assert "time" not in r.slots  # 09:00 and 11:00 are equally near: the earlier wins
    r = await call.say("the second one")
    assert r.slots["time"] == "09:30" and r.slots["date"] == "2026-11-30"


async def test_frustration_read_from_an_answer_the_service_decoder_heard_is_an_answer(call: Call) -> None:
    # Simulated seed 4040: "Just a new filling please" heard "oh you're you're feeling claim" was classed
    # frustration (0.98) and put through to a person at the service question.
    await call.say("i'd like to book an appointment")
    r = await call.say("oh you're you're feeling claim", hint=AsrHint("service", "filling clean", complete=False))
    # Both readings are unsure which service ("feeling claim", "filling clean"): whichever is taken is read back.
    assert r.handoff is None and r.slots.get("task") == "book" and r.slots.get("service"), (_spoken(r), r.slots)


async def test_frustration_read_from_a_name_or_letters_the_decoders_heard_is_an_answer(call: Call) -> None:
    # Simulated seed 1919: "Julie Walker" heard "you're late walk up" (read "yoder walker") was classed frustration
    # at 0.87, and "C, O, O, K" heard "seriously oh kiss" (read "c oh k") at 0.99: both put through to a person.
    await call.say("i'd like a check up on monday at ten")
    r = await call.say("you're late walk up", hint=AsrHint("name", "yoder walker", complete=True), confidence=0.93)
    assert r.handoff is None and "Walker" in _spoken(r), _spoken(r)


async def test_frustration_read_from_letters_is_an_answer(call: Call) -> None:
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("my name is harry there")
    r = await call.say("no sorry the name is harry there")
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    r = await call.say("seriously oh kiss", hint=AsrHint("spelling", "c oh k", complete=True))
    assert r.handoff is None, _spoken(r)


async def test_a_request_for_a_person_read_by_the_menu_decoder_is_put_through(call: Call) -> None:
    # Simulated seed 5858: "Can I speak to a receptionist?" heard "can i speak to me that should it" twice; the menu
    # decoder had no phrase for a person, and the caller was put through as not understood.
    await call.say("the money i can see", confidence=0.6)
    r = await call.say("can i speak to me that should it", hint=AsrHint("task", "speak to a person",
                                                                         complete=False), confidence=0.7)
    assert r.handoff is not None and r.handoff.reason == "requested", _spoken(r)


async def _nothing_booked(call: Call, opening: str) -> None:
    """A move or a cancel by a caller with no booking at all: the lookup of Friday finds nothing."""
    await call.say(opening)
    await call.say("tyler cook")
    r = await call.say("friday")
    assert "Would you like to make a new appointment instead?" in _spoken(r), _spoken(r)


async def test_a_move_with_nothing_booked_from_the_number_offers_a_new_appointment(call: Call) -> None:
    # Simulated seed 7171: booking callers heard as moving a booking ("make a booking" heard "make rebook") gave the
    # day they wanted as the booking's day, found nothing twice and were put through to reception.
    await _nothing_booked(call, "i'd like to reschedule my appointment")
    r = await call.say("yes please")
    assert r.slots.get("task") == "book" and r.slots.get("date") == "2026-11-27", (_spoken(r), r.slots)
    assert "come in for" in _spoken(r), _spoken(r)


async def test_a_new_appointment_offered_and_refused_carries_on_with_the_lookup(call: Call) -> None:
    await _nothing_booked(call, "i want to cancel my appointment")
    r = await call.say("no")
    assert r.slots.get("task") == "cancel" and "Which day is your appointment on?" in _spoken(r), _spoken(r)


async def test_offers_turned_down_are_dropped_and_the_time_asked_again(call: Call) -> None:
    _insert(call.scope, "Someone Else", "2026-11-30 10:00", service="filling", minutes=60)
    await call.say("can i book a check up on monday at ten")
    # Simulated seed 4040: "Neither, I asked for ten" heard "neuer i asked for the name"; the time decoder forced
    # an offered time onto it, and that time was booked.
    r = await call.say("neuer i asked for the name", hint=AsrHint("when", "neither i nine o'clock", complete=False))
    assert "time" not in r.slots and "Would" not in _spoken(r) and "What time" in _spoken(r), _spoken(r)
    r = await call.say("half past eleven")
    assert r.slots["time"] == "11:30", _spoken(r)


async def test_out_of_scope_twice_hands_off(call: Call) -> None:
    # The first is asked back (a request this line cannot serve is more often a misheard one), with what the
    # line does; the second has the caller asked whether it is about something else, and their yes is told
    # honestly and put through.
    r = await call.say("can you recommend a good toothpaste")
    assert r.intent == "out_of_scope" and r.handoff is None and "can't help" not in _spoken(r)
    assert "misheard" in _spoken(r) and "book, change or cancel" in _spoken(r) and r.expect == "task"
    r = await call.say("what antibiotics should i take")
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("yes")
    assert r.handoff is not None and (r.handoff.reason, r.handoff.queue) == ("out_of_scope", "reception")
    assert "can't help with that" in _spoken(r)


async def test_an_urgent_caller_heard_out_of_scope_twice_is_never_told_the_line_cannot_help(call: Call) -> None:
    # Simulated seed 1919: "There's a lot of swelling and pain around my back tooth" heard "there's a lot of soil and
    # i'm paying for on my back to" at 0.93, twice, classed out of scope at 0.97 both times.
    heard = "there's a lot of soil and i'm paying for on my back to"
    await call.say(heard, confidence=0.93)
    r = await call.say(heard, hint=AsrHint("task", "my to", complete=False), confidence=0.91)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say(f"no {heard}", hint=AsrHint("yes_no", "no", complete=False), confidence=0.9)
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason != "out_of_scope" and "can't help" not in _spoken(r)


async def test_out_of_scope_inside_a_task_repeats_the_question(call: Call) -> None:
    await call.say("i'd like to book a cleaning")
    r = await call.say("do you sell concert tickets")
    assert r.intent == "out_of_scope" and "misheard" in _spoken(r) and "can't help" not in _spoken(r)
    assert "which day" in _spoken(r).lower() and r.handoff is None
    # A second one while the question is open is a caller not understood, never "this line can't help".
    r = await call.say("can you recommend a good toothpaste")
    assert r.intent == "out_of_scope" and r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)
    assert "can't help" not in _spoken(r)


async def test_explicit_request_hands_off(call: Call) -> None:
    await call.say("i'd like to book a cleaning")
    r = await call.say("can i speak to a person")
    assert r.handoff is not None and (r.handoff.reason, r.handoff.queue) == ("requested", "reception")
    assert r.handoff.summary == "task book; service cleaning"


async def test_urgent_symptom_hands_off_to_urgent_queue(call: Call) -> None:
    r = await call.say("my gums are bleeding")
    assert r.handoff is not None and (r.handoff.reason, r.handoff.queue) == ("urgent", "urgent")


async def test_a_symptom_said_again_at_the_menu_is_heard_through_its_constrained_reading(call: Call) -> None:
    # Simulated, seed 9191: "My tooth is bleeding a lot" was garbled twice by the open decoder and classed out of
    # scope; the caller was told the line can't help. The menu's reading named the symptom, echoed by "fleeting".
    r = await call.say("i know to vote links l index fleeting a lot")
    assert r.handoff is None and r.expect == "task", _spoken(r)
    r = await call.say("i know to vote links l index fleeting a lot",
                       hint=AsrHint("task", "my tooth bleeding a lot", complete=False))
    assert r.handoff is not None and (r.handoff.reason, r.handoff.queue) == ("urgent", "urgent"), _spoken(r)
    assert "can't help" not in _spoken(r)


async def test_a_symptom_forced_onto_a_whole_sentence_is_not_taken(call: Call) -> None:
    r = await call.say("can i book a table for two tonight",
                       hint=AsrHint("task", "painful book an i'd", complete=True))
    assert r.handoff is None or r.handoff.queue != "urgent", _spoken(r)


async def test_cancel_an_existing_booking(call: Call) -> None:
    ref = _insert(call.scope, "Jennifer Wood", "2026-11-27 14:30")
    await call.say("i need to cancel my appointment")
    r = await call.say("my name is jennifer wood")
    assert "Which day" in _spoken(r)
    r = await call.say("it's on friday")
    assert "cleaning for Jennifer Wood tomorrow, Friday the twenty-seventh of November, at half past two" in _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)
    with psycopg.connect(DSN) as conn:
        status = conn.execute("SELECT status FROM bookings WHERE reference = %s", (ref,)).fetchone()
    assert status == ("cancelled",)


async def test_a_name_heard_unsure_does_not_hide_the_one_booking_that_day_from_the_callers_number(
    call: Call,
) -> None:
    # Fresh seed 4545: "I still can't find a booking for Lonnie Langley on Tuesday the eighth", the day and the
    # caller's number right, the name garbled: 4 of 28 cancels ended so, with a person.
    ref = _insert(call.scope, "Lisa Davis", "2026-11-27 14:30", phone="+441632960001")
    _insert(call.scope, "Other Person", "2026-11-27 10:00", phone="+441632960999")
    await call.say("i need to cancel my appointment")
    await call.say("my name is lonnie langley", confidence=0.6)
    r = await call.say("it's on friday")
    assert "cleaning for Lisa Davis tomorrow" in _spoken(r) and "Shall I cancel it?" in _spoken(r), _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)


async def test_a_name_heard_clearly_is_not_overridden_by_the_callers_number(call: Call) -> None:
    _insert(call.scope, "Lisa Davis", "2026-11-27 14:30", phone="+441632960001")
    await call.say("i need to cancel my appointment")
    await call.say("my name is victor stavros")
    r = await call.say("it's on friday")
    assert "Lisa Davis" not in _spoken(r) and "can't find" in _spoken(r), _spoken(r)


async def test_a_misheard_no_at_a_cancel_is_read_back_again_and_a_new_task_starts_clean(call: Call) -> None:
    # Simulated call (seed 71, 157): "That's right" heard as "not right"; the caller then said it all again.
    _insert(call.scope, "Brian Young", "2026-11-30 09:00")
    await call.say("i want to cancel my appointment")
    await call.say("it's brian young")
    r = await call.say("it's november thirtieth")
    assert "Shall I cancel it?" in _spoken(r)
    r = await call.say("not right")
    assert "What would you like to change?" in _spoken(r)
    r = await call.say("hello this is brian young i have to cancel my appointment on monday")
    assert "I still have the same details" in _spoken(r) and "Shall I cancel it?" in _spoken(r), _spoken(r)
    # Then heard as a new task while correcting: the booking's questions, never a read-back of nothing.
    r = await call.say("hi i'd like to book an appointment")
    assert r.slots.get("task") == "book" and "come in for" in _spoken(r), _spoken(r)
    r = await call.say("no i need to cancel my appointment")
    assert r.slots.get("task") == "cancel" and r.handoff is None, _spoken(r)


async def test_two_misunderstandings_hand_off(call: Call) -> None:
    r = await call.say("blue the hum of the")
    assert r.handoff is None and "book, change or cancel" in _spoken(r) and r.expect == "task"
    r = await call.say("flibbertigibbet")
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood"
    assert "something other than" not in _spoken(r), _spoken(r)


async def test_a_fallback_turn_the_form_used_is_no_misunderstanding(call: Call) -> None:
    # Fresh seed 8787: the name turn, classed nlu_fallback, gave the name; one garbled answer to the day question
    # after it was counted as the second misunderstanding in a row and the caller was put through.
    await call.say("hi i need to change my appointment")
    r = await call.say("the name's france brown", AsrHint("name", "the name's brown", complete=False), 0.77)
    assert "I have Brown" in _spoken(r), _spoken(r)
    r = await call.say("let me see and it's frank friend brown",
                       AsrHint("name", "let me see um gates frank french brown", complete=True), 0.79)
    assert r.intent == "nlu_fallback" and r.slots.get("name") and "Which day" in _spoken(r), (r.intent, _spoken(r))
    r = await call.say("it's a service", AsrHint("when", "", complete=False), 0.59)
    assert r.handoff is None and r.slots.get("requested_slot") == "old_date", _spoken(r)


async def test_two_misunderstandings_after_one_classed_out_of_scope_ask_whether_it_is_something_else(
    call: Call,
) -> None:
    r = await call.say("purple monkey dishwasher")  # a fallback, out of scope at 0.76 below it
    assert r.handoff is None and "book, change or cancel" in _spoken(r) and r.expect == "task"
    r = await call.say("flibbertigibbet")
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r) and r.expect == "yes_no"
    r = await call.say("no")
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)


async def test_a_garbled_answer_to_the_opening_menu_is_read_from_the_constrained_reading(call: Call) -> None:
    # Misheard twice, but the second time the agent had asked a closed question and decoded the answer against
    # its phrases: "i want to cancel" there is the task, whatever the free transcript made of it.
    r = await call.say("purple monkey dishwasher")
    assert r.expect == "task"
    r = await call.say("eye want two can sell", hint=AsrHint("task", "i want to cancel", complete=True), confidence=0.6)
    assert r.handoff is None and r.slots.get("task") == "cancel", _spoken(r)
    assert r.expect is None


async def test_a_yes_at_the_menu_takes_the_task_its_reading_names(call: Call) -> None:
    # Simulated seed 9494: "Reschedule, please" at the menu heard "please" (affirm), its reading "reschedule please".
    r = await call.say("purple monkey dishwasher")
    assert r.expect == "task"
    r = await call.say("please", hint=AsrHint("task", "reschedule please", complete=True))
    assert r.handoff is None and r.slots.get("task") == "reschedule", _spoken(r)


async def test_a_detail_at_the_menu_takes_the_task_its_reading_names(call: Call) -> None:
    # Simulated seed 5656: "Opening times" at the menu heard "oh by the time" (inform), its reading "opening time".
    await call.say("purple monkey dishwasher")
    r = await call.say("oh by the time", hint=AsrHint("task", "opening time", complete=True))
    assert r.handoff is None and "Monday to Friday" in _spoken(r), _spoken(r)


async def test_a_yes_at_the_menu_with_no_task_read_asks_again(call: Call) -> None:
    await call.say("purple monkey dishwasher")
    r = await call.say("please", hint=AsrHint("task", "please", complete=True))
    assert r.handoff is None and not r.slots.get("task") and r.expect == "task", _spoken(r)


async def test_a_menu_reading_with_two_tasks_in_it_is_not_guessed(call: Call) -> None:
    await call.say("blue the hum of the")
    r = await call.say("flibbertigibbet", hint=AsrHint("task", "cancel book", complete=True))
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood"


async def _parse(text: str) -> tuple[str, float]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{RASA_URL}/model/parse", json={"text": text}, params=AUTH, timeout=aiohttp.ClientTimeout(total=5)
        ) as resp,
    ):
        resp.raise_for_status()
        intent = (await resp.json())["intent"]
    return str(intent["name"]), float(intent["confidence"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("nah", "deny"),
        ("operator", "request_human"),
        ("goodbye", "goodbye"),
        ("nope", "deny"),
        ("cheers bye", "goodbye"),
        ("two thirty", "inform"),
        ("the second one", "inform"),
    ],
)
async def test_short_turns_are_understood(call: Call, text: str, intent: str) -> None:
    assert (await _parse(text))[0] == intent


@pytest.mark.parametrize("text", ["blorp fizz", "hmm", "um er", "the of and", "qwerty uiop", "zork"])
async def test_gibberish_is_not_understood(call: Call, text: str) -> None:
    assert (await _parse(text))[0] == "nlu_fallback"


async def test_a_hesitation_at_the_confirmation_books_nothing(call: Call) -> None:
    await call.say("i'd like a check up on monday at half past two")
    r = await call.say("my name is tom baker")
    assert "Shall I book it?" in _spoken(r)
    r = await call.say("hmm")
    assert r.intent == "nlu_fallback" and r.outcome is None and r.handoff is None
    r = await call.say("yes")
    assert r.outcome == "booked"


@pytest.mark.parametrize("answer", ["this please", "uh sure", "that's fine thanks"])
async def test_a_garbled_yes_at_the_confirmation_books(call: Call, answer: str) -> None:
    # The yes word is lost or replaced by the ASR; the polite rest of the turn still says yes.
    await call.say("i'd like a check up on monday at half past two")
    r = await call.say("my name is tom baker")
    assert "Shall I book it?" in _spoken(r)
    r = await call.say(answer)
    assert r.outcome == "booked" and r.booking_ref


async def test_a_garbled_no_at_the_confirmation_asks_what_to_change(call: Call) -> None:
    await call.say("i'd like a check up on monday at half past two")
    await call.say("my name is tom baker")
    r = await call.say("nope thanks")
    assert r.outcome is None and "What would you like to change?" in _spoken(r)


async def test_a_garbled_change_is_read_from_the_constrained_reading_of_any_detail(call: Call) -> None:
    # Simulated call (seed 2026): "It's for a filling" at "What would you like to change?" was heard "well it's a
    # feeling", read as out of scope, and the booking caller was told the line can't help. Asked what to change,
    # the agent decodes against the service, day and time phrases.
    await call.say("i'd like a check up on monday at half past two")
    await call.say("my name is tom baker")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r)
    r = await call.say("well it's a feeling", hint=AsrHint("service", "it's a filling", complete=True))
    assert r.slots["service"] == "filling" and "a filling" in _spoken(r) and r.outcome is None, _spoken(r)
    assert "can't help" not in _spoken(r)
    r = await call.say("no")
    r = await call.say("make it friday", hint=AsrHint("service", "make it friday", complete=True))
    assert r.slots["date"] == "2026-11-27" and r.slots["time"] == "14:30" and r.outcome is None, _spoken(r)


@pytest.mark.parametrize("text", ["thanks a lot good buy", "thank you won't by", "cheers then bi"])
async def test_a_garbled_closing_is_a_goodbye(call: Call, text: str) -> None:
    await call.say("what is your address")
    r = await call.say(text)
    assert r.intent == "goodbye" and r.end_call


async def test_a_part_of_day_with_a_garbled_time_asks_for_the_time(call: Call) -> None:
    r = await call.say("i'd like a check up on monday at blah in the morning")
    assert r.slots.get("time") is None and "What time in the morning suits you?" in _spoken(r)
    r = await call.say("ten")
    assert r.slots["time"] == "10:00" and "name" in _spoken(r).lower()


async def test_a_garbled_time_not_repeated_takes_the_earliest_and_says_so(call: Call) -> None:
    await call.say("i'd like a check up on monday at blah in the morning")
    r = await call.say("my name is tom baker")
    assert r.slots["time"] == "08:00" and "I didn't get a time" in _spoken(r) and "Shall I book it?" in _spoken(r)


async def test_a_plain_part_of_day_takes_the_earliest(call: Call) -> None:
    r = await call.say("i'd like a check up on monday morning")
    assert r.slots["time"] == "08:00" and "The earliest I have that morning is eight o'clock" in _spoken(r)


def _insert(
    scope: str, name: str, starts_at: str, phone: str | None = None, service: str = "cleaning", minutes: int = 45
) -> str:
    ref = f"M{uuid.uuid4().hex[:8]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO bookings (reference, scope, name, phone, service, starts_at, duration_minutes) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (ref, scope, name, phone, service, starts_at, minutes),
        )
    return ref


def _status(ref: str) -> str:
    with psycopg.connect(DSN) as conn:
        row = conn.execute("SELECT status FROM bookings WHERE reference = %s", (ref,)).fetchone()
    assert row is not None
    return str(row[0])


async def test_a_misheard_name_finds_the_booking_and_reads_the_stored_name_back(call: Call) -> None:
    ref = _insert(call.scope, "Harriet Moss", "2026-11-27 09:30")
    _insert(call.scope, "Gordon Pike", "2026-11-27 11:00")
    await call.say("i need to cancel my appointment")
    await call.say("harriet most")
    r = await call.say("it's on friday")
    assert "cleaning for Harriet Moss tomorrow" in _spoken(r) and "Shall I cancel it?" in _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)
    assert _status(ref) == "cancelled"


async def test_a_first_name_not_caught_at_a_cancel_looks_the_booking_up_by_the_surname(call: Call) -> None:
    # Fresh seed 8787: "Anna White" heard "and white", then "Anna" heard "mm" twice: put through as not understood.
    ref = _insert(call.scope, "Anna White", "2026-11-27 09:30", phone="+441632960777")
    _insert(call.scope, "Gordon Pike", "2026-11-27 11:00")
    await call.say("hello i'd like to cancel a booking")
    r = await call.say("and white", hint=AsrHint("name", "white", complete=False), confidence=0.98)
    assert _spoken(r) == "I have White. And your first name?", _spoken(r)
    r = await call.say("mm", hint=AsrHint("name", "", complete=False), confidence=0.3)
    assert r.handoff is None and "Which day" in _spoken(r), _spoken(r)
    r = await call.say("it's on friday")
    assert "cleaning for Anna White tomorrow" in _spoken(r) and "Shall I cancel it?" in _spoken(r), _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)


async def _cancel_jack_johnson_on_a_misheard_monday(call: Call) -> DialogueResult:
    """A cancel whose day is heard as "monday the seventies": the nearest Monday, the 30th of November."""
    await call.say("i need to cancel my appointment")
    await call.say("jack johnson")
    return await call.say("on monday the seventies")


async def test_a_misheard_day_finds_the_callers_own_booking_on_another_day(call: Call) -> None:
    # Simulated call (seed 91): "Monday the seventh" heard "monday the seventies", so the nearest Monday; the
    # booking is on the 7th. The caller's own booking (same line) on another day is offered and read back;
    # somebody else's booking under a similar name is never told (the next test).
    ref = _insert(call.scope, "Jack Johnson", "2026-12-07 10:00", phone="01632 960001")  # the caller's line
    r = await _cancel_jack_johnson_on_a_misheard_monday(call)
    assert "There's nothing on Monday the thirtieth of November. I have a cleaning for Jack Johnson on " \
           "Monday the seventh of December at ten o'clock" in _spoken(r), _spoken(r)
    assert "Shall I cancel it?" in _spoken(r) and r.outcome is None
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)


async def test_a_booking_on_another_day_from_another_line_is_not_told(call: Call) -> None:
    ref = _insert(call.scope, "Jack Johnson", "2026-12-07 10:00", phone="+441632960999")  # not the caller's
    r = await _cancel_jack_johnson_on_a_misheard_monday(call)
    assert "I can't find a booking for Jack Johnson on Monday the thirtieth of November" in _spoken(r), _spoken(r)
    assert "seventh" not in _spoken(r) and _status(ref) == "booked"


async def test_the_callers_number_finds_a_badly_misheard_name(call: Call) -> None:
    ref = _insert(call.scope, "Oscar Lindqvist", "2026-11-27 15:00", phone="01632 960001")  # the caller's line
    _insert(call.scope, "Amal Haddad", "2026-11-27 16:00", phone="+441632960999")
    await call.say("i need to cancel my appointment")
    await call.say("oscar lint quest")
    r = await call.say("friday")
    assert "for Oscar Lindqvist" in _spoken(r)
    r = await call.say("no")
    assert r.outcome is None and _status(ref) == "booked"  # a wrong match is never acted on silently


async def test_two_similar_names_on_the_day_ask_for_the_name_again(call: Call) -> None:
    first = _insert(call.scope, "Carl Jensen", "2026-11-27 09:00")
    _insert(call.scope, "Karl Jenson", "2026-11-27 10:00")
    await call.say("i need to cancel my appointment")
    await call.say("carl jensen")
    r = await call.say("friday")
    assert "more than one booking" in _spoken(r) and "What name" in _spoken(r)
    assert r.outcome is None and _status(first) == "booked"


async def test_an_unrelated_name_is_not_found(call: Call) -> None:
    _insert(call.scope, "Harriet Moss", "2026-11-27 09:30")
    await call.say("i need to cancel my appointment")
    await call.say("victor stavros")
    r = await call.say("friday")
    assert "can't find a booking for Victor Stavros" in _spoken(r)


async def test_a_lookup_that_fails_asks_again_for_the_detail_heard_less_surely(call: Call) -> None:
    # Simulated seed 5858: "Carol Young" heard "i went on" at 0.48 was looked up as Galloway Leon; the day, heard at
    # 1.0, was asked for again, said the same way, and the caller went to reception.
    ref = _insert(call.scope, "Harriet Moss", "2026-11-27 09:30")
    # A booking from the caller's line on another day: no new appointment is offered instead.
    _insert(call.scope, "Tom Baker", "2026-12-10 10:00", phone="01632 960001")
    await call.say("i need to cancel my appointment")
    await call.say("galloway leon", confidence=0.48)
    r = await call.say("friday")
    assert "can't find a booking for Galloway Leon" in _spoken(r) and "What name" in _spoken(r), _spoken(r)
    assert r.slots.get("old_date") == "2026-11-27" and "galloway leon" in r.slots["names_refused"], r.slots
    r = await call.say("harriet moss")
    assert "for Harriet Moss" in _spoken(r) and "Shall I cancel it?" in _spoken(r), _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref)


async def test_a_lookup_that_fails_asks_again_for_the_day_when_it_was_heard_less_surely(call: Call) -> None:
    _insert(call.scope, "Harriet Moss", "2026-11-27 09:30")
    _insert(call.scope, "Tom Baker", "2026-12-10 10:00", phone="01632 960001")
    await call.say("i need to cancel my appointment")
    await call.say("harriet moss")
    r = await call.say("monday", confidence=0.5)
    assert "can't find a booking for Harriet Moss" in _spoken(r) and "Which day" in _spoken(r), _spoken(r)


async def test_a_lookup_that_fails_asks_again_for_a_name_with_no_list_name_in_it(call: Call) -> None:
    # Fresh seed 11311: "the name is Lisa Allen" heard "the name is releasing islands" (0.94): the day was asked
    # again, then a person.
    _insert(call.scope, "Lisa Allen", "2026-11-27 09:30")
    _insert(call.scope, "Tom Baker", "2026-12-10 10:00", phone="01632 960001")
    await call.say("i need to cancel my appointment")
    r = await call.say("the name is releasing islands", confidence=0.94)
    assert "Sorry, I didn't catch your name." in _spoken(r), _spoken(r)  # no list name: asked again once
    await call.say("the name is releasing islands", confidence=0.94)
    r = await call.say("monday", confidence=0.5)
    assert "can't find a booking for Releasing Islands" in _spoken(r) and "What name" in _spoken(r), _spoken(r)


async def test_reschedule_says_the_found_booking_at_once(call: Call) -> None:
    ref = _insert(call.scope, "Harriet Moss", "2026-11-27 09:30", service="check-up")
    await call.say("i need to move my appointment")
    await call.say("harriet mass")
    r = await call.say("friday")
    assert "check-up for Harriet Moss tomorrow" in _spoken(r) and "Which day would you like to move it to?" in _spoken(
        r
    )
    await call.say("next tuesday")
    r = await call.say("half past two")
    assert "move the check-up for Harriet Moss from" in _spoken(r)
    r = await call.say("yes")
    assert (r.outcome, r.booking_ref) == ("rescheduled", ref)


async def test_two_callers_confirming_one_slot_at_once_get_one_booking_and_one_offer(call: Call) -> None:
    # Two calls (on two nodes, in production) confirm the same time at the same moment: the database's exclusion
    # constraint lets one booking through; the other caller is offered the nearest free times, keeps everything
    # else, and books one of them.
    other = Call(call.dialogue, call.scope)
    await other.start("+441632960002")
    try:
        for c, name in ((call, "Jennifer Wood"), (other, "Oliver Hughes")):
            await c.say("i'd like to book a check-up on friday at ten")
            r = await c.say(f"it's {name}")
            assert "ten" in _spoken(r) and r.outcome is None
        first, second = await asyncio.gather(call.say("yes"), other.say("yes"))
        outcomes = sorted(str(r.outcome) for r in (first, second))
        assert outcomes == ["None", "booked"], (_spoken(first), _spoken(second))
        loser = other if first.outcome == "booked" else call
        offer = loser.results[-1]
        # Which check refuses the loser depends on how the two turns interleave in Rasa: the database's constraint
        # ("has just been taken") when both got past the free-slot check, the free-slot check ("already taken") when
        # the winner's booking landed first. Either way: no second booking, an offer, no handoff.
        assert any(s in _spoken(offer) for s in ("has just been taken", "already taken")), _spoken(offer)
        assert offer.handoff is None
        assert offer.slots.get("time") is None and offer.slots["name"]
        r = await loser.say("the first one")
        assert r.outcome is None and r.slots["time"] and r.slots["time"] != "10:00"
        r = await loser.say("yes")
        assert r.outcome == "booked"
        with psycopg.connect(DSN, autocommit=True) as conn:
            starts = [row[0] for row in conn.execute(
                "SELECT starts_at FROM bookings WHERE scope = %s AND status = 'booked' ORDER BY starts_at",
                (call.scope,))]
        assert len(starts) == 2 and starts[0] != starts[1]
    finally:
        await call.dialogue.end(other.id)


async def test_garble_classed_as_another_task_mid_reschedule_keeps_the_reschedule(call: Call) -> None:
    # Simulated call (seed 4242): asked which day the booking is on, "it's the third of December" was heard "it's
    # not going on december" and classed as a cancel; the agent then offered to cancel the caller's booking.
    ref = _insert(call.scope, "Harriet Moss", "2026-11-27 09:30", service="check-up")
    await call.say("i need to move my appointment")
    await call.say("harriet moss")
    r = await call.say("it's not going on december")
    assert r.slots["task"] == "reschedule" and r.slots["requested_slot"] == "old_date", _spoken(r)
    assert "cancel" not in _spoken(r).lower()
    r = await call.say("friday")
    assert "Which day would you like to move it to?" in _spoken(r)
    # The task's own verb still changes the task.
    r = await call.say("actually i'd rather cancel it")
    assert r.slots["task"] == "cancel" and "Shall I cancel it?" in _spoken(r), _spoken(r)
    assert _status(ref) == "booked"


async def test_a_no_again_to_what_would_you_like_to_change_is_counted(call: Call) -> None:
    # Simulated call (seed 4242): "it's George Hill" heard "it's not a deal" (a no) after "What would you like to
    # change?" got the same question ten times over.
    await call.say("i'd like a check up on monday at half past two")
    await call.say("my name is tom baker")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r)
    r = await call.say("it's not a deal")
    assert "Sorry, I didn't catch the change." in _spoken(r) and r.handoff is None, _spoken(r)
    r = await call.say("it's not a deal")
    assert r.handoff is None, _spoken(r)
    r = await call.say("it's not a deal")
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)


async def test_a_yes_to_what_would_you_like_to_change_reads_the_details_back(call: Call) -> None:
    # Simulated seed 6161: "It's Jack Young" at "What would you like to change?" heard "exactly and" (a yes) booked
    # the misheard name read back just before. A yes there names no change: the details are read back again.
    await call.say("i'd like a check up on monday at half past two")
    await call.say("my name is jackie young")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r)
    r = await call.say("exactly and", confidence=0.84)
    assert r.outcome is None and not r.booking_ref, _spoken(r)
    assert "Sorry, I didn't catch the change." in _spoken(r) and "Shall I book it?" in _spoken(r), _spoken(r)
    r = await call.say("yes please")
    assert r.outcome == "booked", _spoken(r)


async def test_frustration_is_handed_over_only_when_clearly_said(call: Call) -> None:
    # Simulated calls: the classifier called 11 turns frustration in 800 calls, none frustrated; "are you up and
    # on saturdays" (0.52) handed a caller who asked about opening hours to a person at once.
    r = await call.say("are you up and on saturdays")
    assert r.handoff is None, _spoken(r)
    # Fresh seed 11210: "To make a booking" heard "jamaica working", classed frustration at 0.82, went to a person.
    # No word of it says frustration: it is a turn not understood, read by the menu's decoder.
    r = await call.say("jamaica working", hint=AsrHint("task", "i booking", complete=False))
    assert r.handoff is None, _spoken(r)
    r = await call.say("this is ridiculous")
    assert r.handoff is not None and r.handoff.reason == "frustration"


async def test_a_no_at_the_read_back_is_never_frustration(call: Call) -> None:
    # Simulated call (seed 6262): "No, the name is Susan Green" heard "no i believe is susan price", classed as
    # frustration, and handed over.
    await call.say("i'd like to book a cleaning on friday at half past two")
    await call.say("it's under susan green")
    r = await call.say("no i believe is susan price")
    assert r.handoff is None and "What would you like to change?" in _spoken(r), _spoken(r)


async def test_mid_task_only_a_bye_ends_the_call(call: Call) -> None:
    # Simulated call (seed 6262): "I need a filling done" heard "i need to feel i'm done", classed as a goodbye,
    # and the caller was hung up on in the middle of the booking.
    await call.say("i'd like to book an appointment")
    r = await call.say("i need to feel i'm done")
    assert not r.end_call and "come in for" in _spoken(r), _spoken(r)
    r = await call.say("no thanks bye")
    assert r.end_call


async def test_a_yes_heard_as_us_beside_a_constrained_yes_confirms(call: Call) -> None:
    # Simulated call (seed 7373): "Yes please, cancel it" heard "us please cancel it" (the yes/no reader: "yes
    # please") after two other yeses heard "that said us" and "us"; the caller went to a person.
    ref = _insert(call.scope, "Harriet Moss", "2026-11-27 09:30")
    await call.say("i need to cancel my appointment")
    await call.say("harriet moss")
    r = await call.say("it's on friday")
    assert "Shall I cancel it?" in _spoken(r)
    r = await call.say("us please cancel it")  # alone, no yes
    assert r.outcome is None, _spoken(r)
    r = await call.say("us please cancel it", hint=AsrHint("yes_no", "yes please", complete=False))
    assert (r.outcome, r.booking_ref) == ("cancelled", ref), _spoken(r)


async def test_a_month_heard_without_its_day_asks_for_the_day_only(call: Call) -> None:
    # Simulated seed 6464: "on December the eighth" heard "i'm the same for the a", read "on december the" by the
    # day decoder; "Which day suits you?" three times, then a person.
    await call.say("i'd like a cleaning please")
    r = await call.say("i'm the same for the a", hint=AsrHint("when", "on december the", complete=False))
    assert "Which day in December?" in _spoken(r) and not r.slots.get("date"), _spoken(r)
    r = await call.say("eleven")  # the day alone, said as a number: the eleventh of the month named
    assert r.slots["date"].endswith("-12-11") and not r.slots.get("date_month"), (_spoken(r), r.slots)


async def test_a_month_heard_without_its_day_for_the_booking_to_cancel(call: Call) -> None:
    await call.say("i need to cancel my appointment, the name is mary jones")
    r = await call.say("it's in december")
    assert "Which day in December is your appointment on?" in _spoken(r), _spoken(r)


async def test_a_day_corrected_by_its_own_weekday_asks_which_week(call: Call) -> None:
    # Simulated seed 6464: "Monday the seventh" heard "monday a family" gave the nearest Monday; "That's wrong, I
    # said Monday the seventh" heard "not wrong i've been on monday in the family", and the same Monday was read
    # back again until the caller asked for a person.
    r = await call.say("i'd like a cleaning on monday at half past four, my name is lisa hill")
    monday = date.fromisoformat(r.slots["date"])
    r = await call.say("not wrong i've been on monday in the family at four thirty in the afternoon")
    later = monday + timedelta(days=7)
    assert not r.slots.get("date") and "Sorry, was that Monday" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say("monday")  # no choice between two Mondays: asked again
    assert not r.slots.get("date") and "Sorry, was that Monday" in _spoken(r), _spoken(r)
    r = await call.say(f"the {later.day}th")
    assert r.slots.get("date") == later.isoformat(), (r.slots, _spoken(r))


async def test_two_different_unsure_out_of_scope_turns_are_not_understood(call: Call) -> None:
    # Garble classed out of scope twice, not alike: not understood, never "this line can't help".
    # The caller is asked whether it is about something else, and a no is a caller not understood.
    await call.say("do you sell concert tickets", confidence=0.6)
    r = await call.say("can i book a table for two tonight", confidence=0.6)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("no no", hint=AsrHint("yes_no", "no no", complete=True))
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)


async def test_a_request_classed_out_of_scope_twice_that_the_menu_decoder_heard_nothing_of_cannot_be_helped(
    call: Call,
) -> None:
    # Simulated seed 4040: "Is this the council tax office?" heard alike twice, each turn a little unsure, was
    # asked again, then put through as not understood, never told the line can't help.
    r = await call.say("is this the council tax office", confidence=0.7)
    assert r.handoff is None and "can't help" not in _spoken(r), _spoken(r)
    r = await call.say("is this the council tax office", hint=AsrHint("task", "", complete=False), confidence=0.7)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("yes", hint=AsrHint("yes_no", "yes", complete=True))
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)
    assert "can't help with that" in _spoken(r)


async def test_a_garbled_symptom_classed_out_of_scope_twice_is_not_told_the_line_cannot_help(call: Call) -> None:
    # Simulated seed 5858: "There's a lot of swelling and pain around my back tooth", heard unsure twice and classed
    # out of scope beneath the fallback each time, was told the line can't help.
    await call.say("a lot of wailing and pay them i read my posts", confidence=0.69)
    r = await call.say("i'm a lot of wailing and pay them a we might knock out",
                       hint=AsrHint("task", "", complete=False), confidence=0.85)
    assert "can't help" not in _spoken(r), _spoken(r)


async def test_out_of_scope_twice_is_not_enough_where_the_menu_decoder_heard_a_symptom(call: Call) -> None:
    await call.say("never lot of well in unpaid around my map to", confidence=0.7)
    r = await call.say("never lot of well in unpaid around my map to",
                       hint=AsrHint("task", "swelling and pain around my tooth", complete=False), confidence=0.7)
    assert r.handoff is None or r.handoff.reason != "out_of_scope", _spoken(r)
    assert "can't help" not in _spoken(r)


async def test_out_of_scope_heard_clearly_twice_is_not_understood_where_the_menu_decoder_heard_a_symptom(
    call: Call,
) -> None:
    # Simulated seed 7171: "I've got terrible toothache and my face is all swollen" heard "i'm not able to fake and
    # my baby malls wales and", classed out of scope (0.98) twice; the menu decoder read "to make an swollen".
    # Now the caller is asked whether the call is about something else, and their no is a caller not understood.
    menu = AsrHint("task", "to make an swollen", complete=False)
    await call.say("i'm not able to fake and my baby malls wales and", hint=menu)
    r = await call.say("i'm not able to fake and my baby malls wales and", hint=menu)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("no i'm not able to fake and my baby malls wales", hint=AsrHint("yes_no", "no", complete=False))
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)
    assert "can't help" not in _spoken(r)


async def test_a_request_heard_out_of_scope_then_not_understood_is_asked_whether_it_is_about_something_else(
    call: Call,
) -> None:
    # Simulated seed 5858: "Is this the council tax office?" heard right twice, classed out of scope at 0.997, but
    # the menu decoder read "it visit cancel"; put through as not understood. The caller can say which it is.
    menu = AsrHint("task", "it visit cancel", complete=False)
    await call.say("is this the council tax office")
    r = await call.say("is this the council tax office", hint=menu)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("yes it is", hint=AsrHint("yes_no", "yes", complete=True))
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)
    assert "can't help with that" in _spoken(r)


async def test_a_yes_about_the_clinic_to_the_scope_question_is_not_understood(call: Call) -> None:
    menu = AsrHint("task", "it visit cancel", complete=False)
    await call.say("is this the council tax office")
    await call.say("is this the council tax office", hint=menu)
    r = await call.say("yes it's about my tooth", hint=AsrHint("yes_no", "yes", complete=False))
    assert r.handoff is not None and r.handoff.reason != "out_of_scope", _spoken(r)  # urgent, as it happens
    assert "can't help" not in _spoken(r)


async def test_a_symptom_read_by_the_menu_decoder_where_the_transcript_says_where_it_hurts_is_urgent(
    call: Call,
) -> None:
    # Simulated seed 6868: "I've got terrible toothache and my face is all swollen", heard "... and my face is also
    # one" (inform) twice, read "i'd and my face exam swollen" at the menu: put through as not understood.
    await call.say("i've got terrible to such and my face is also one")
    r = await call.say("i've got terrible to such and my face is also one",
                       hint=AsrHint("task", "i'd and my face exam swollen", complete=False))
    assert r.handoff is not None and r.handoff.reason == "urgent", _spoken(r)


async def test_out_of_scope_twice_is_not_enough_with_a_word_of_the_clinic(call: Call) -> None:
    # "My gum won't stop bleeding" heard "my gum won't stop lead them since the smaller number" (seed 9494).
    await call.say("my gum won't stop lead them since the smaller number", confidence=0.6)
    r = await call.say("my gum won't stop lead them since the smaller number",
                       hint=AsrHint("task", "my", complete=False), confidence=0.6)
    assert "can't help" not in _spoken(r), _spoken(r)


async def test_a_handoff_reached_from_a_turn_that_was_no_task_is_said_once(call: Call) -> None:
    # Simulated seed 6464: garble classed inform at the opening, the third turn not understood: the handoff line
    # was said nine times over (action_start_task's follow-up ran again after each handoff).
    await call.say("why someone is going to be a nice smile", confidence=0.73)
    menu = AsrHint("task", "my fill my", complete=False)
    # Classed out of scope surely, the menu's reading ("fill") is no answer: the scope question comes next.
    r = await call.say("what's the weather going to be my smile", hint=menu, confidence=0.76)
    assert r.handoff is None and "something other than the dental clinic" in _spoken(r), r.replies
    r = await call.say("no", hint=AsrHint("yes_no", "no", complete=True))
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and len(r.replies) == 1, r.replies


async def test_the_same_garble_classed_out_of_scope_twice_is_not_understood(call: Call) -> None:
    # Simulated seed 8282: "There's a lot of swelling and pain around my back tooth" heard twice alike ("... a lot
    # of well in unpaid around my map to"), classed out of scope at 0.9 and more both times. A rule that took the
    # same request read twice as understood told two urgent callers the line can't help (reverted): the recogniser
    # garbles the same speech the same way, so a repetition proves nothing.
    await call.say("never lot of well in unpaid around my map to", confidence=0.80)
    r = await call.say("oh and then a lot of well in unpaid a moment my map to", confidence=0.78)
    assert r.handoff is None or r.handoff.reason != "out_of_scope", _spoken(r)


async def test_a_go_ahead_on_a_lead_word_alone_is_asked_again_when_the_reading_heard_no_yes(call: Call) -> None:
    # Simulated seed 4040: "Uh, hmm no, on the twelfth at ten" heard "oh and go on that wales", read "a m on the
    # twelve" by the read-back's decoder, moved a booking to a day nobody asked for.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("oh and go on that wales", hint=AsrHint("confirm", "a m on the twelve", complete=False),
                       confidence=0.64)
    assert r.outcome is None and "Sorry, was that a yes?" in _spoken(r), _spoken(r)
    # A yes-word heard is a yes, whatever the reading made of it ("Yes." heard "yeah", read "the eight").
    r = await call.say("yeah", hint=AsrHint("confirm", "the eight", complete=True))
    assert r.outcome == "booked", _spoken(r)


async def test_a_go_ahead_the_reading_heard_too_is_taken(call: Call) -> None:
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("go ahead", hint=AsrHint("confirm", "go ahead", complete=True))
    assert r.outcome == "booked", _spoken(r)


async def test_a_lone_yes_heard_unsure_at_a_read_back_is_asked_again(call: Call) -> None:
    # Simulated seed 8282: "Um, er, no, my name is Julie Young" was cut after the hesitations and heard "yeah" at
    # 0.40: the misheard name was booked.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("yeah", confidence=0.4)
    assert r.outcome is None and "Sorry, was that a yes?" in _spoken(r), _spoken(r)
    r = await call.say("yes please", confidence=0.5)  # the yes to "was that a yes?": taken, unsure or not
    assert r.outcome == "booked", _spoken(r)


async def test_a_yes_and_a_stray_word_heard_unsure_at_a_read_back_is_asked_again(call: Call) -> None:
    # Fresh seed 2727: "Er, so, no, sorry, the name is Frank Young" was cut at its pause and heard "yeah down" at
    # 0.45: the misheard name was booked.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("yeah down", hint=AsrHint("confirm", "m", complete=True), confidence=0.45)
    assert r.outcome is None and "Sorry, was that a yes?" in _spoken(r), _spoken(r)
    r = await call.say("no sorry the name is sandy on", confidence=0.78)
    assert r.outcome is None, _spoken(r)


async def test_an_answer_to_a_read_back_not_understood_is_asked_as_a_yes_or_no(call: Call) -> None:
    # Simulated seed 5858: "Yes, that's right, go ahead" heard "you asked not fly to go ahead" twice; the whole
    # read-back was said again in between and the caller went to a person. A short repair question instead.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("blue the hum of the", confidence=0.5)
    assert r.outcome is None and _spoken(r) == "Sorry, was that a yes? Shall I book it?", _spoken(r)
    r = await call.say("yes")
    assert r.outcome == "booked", _spoken(r)


async def test_a_no_the_read_backs_reading_heard_first_is_a_no(call: Call) -> None:
    # Fresh seed 8282: "That's wrong, on December the fifteenth at half past one", heard "not fly on be a matter
    # between about half past one", read "wrong on monday fifteen up half past one", was asked "was that a yes?".
    await call.say("i'd like a filling on wednesday at half past one, my name is julie leon")
    r = await call.say("not fly on be a matter between about half past one",
                       hint=AsrHint("confirm", "wrong on monday fifteen up half past one", complete=False))
    assert r.outcome is None and "was that a yes" not in _spoken(r), _spoken(r)
    assert r.slots.get("correcting") or "change" in _spoken(r) or "Sorry, was that" in _spoken(r), _spoken(r)


async def test_a_yes_in_the_words_against_a_reading_that_opens_with_a_no_is_asked_again(call: Call) -> None:
    # Such a yes was a yes twice (seeds 3131, "so sounds good" read "no sounds good") and a no six times in nine
    # 200-call reports ("No, it's Lisa Hall" heard "yeah it's really bizarre", read "no actually on"): asked again.
    await call.say("i'd like a filling on wednesday at half past one, my name is julie leon")
    r = await call.say("so sounds good", hint=AsrHint("confirm", "no sounds good", complete=False))
    assert r.outcome is None and "was that a yes?" in _spoken(r), _spoken(r)
    r = await call.say("yes", hint=AsrHint("confirm", "yes", complete=True))
    assert r.outcome == "booked", _spoken(r)


async def test_a_yes_against_a_reading_with_a_no_after_one_stray_word_is_asked_again(call: Call) -> None:
    # Fresh seed 10907: "Hmm, um no, it's Nancy Wright" heard "on know it sounds right", read "on no exam p right",
    # classed a yes and booked the misheard name.
    await call.say("i'd like a filling on wednesday at half past one, my name is julie leon")
    r = await call.say("on know it sounds right", hint=AsrHint("confirm", "on no exam p right", complete=True))
    assert r.outcome is None and "was that a yes?" in _spoken(r), _spoken(r)


async def _keypad_offered(call: Call, opening: str, asked: str, heard: str, hint: AsrHint, confidence: float,
                          offer: str, keys: int) -> None:
    """`opening` is asked `asked` with no keypad; `heard` (its question missed) is offered it: `offer`, `keys` keys."""
    r = await call.say(opening)
    assert asked in _spoken(r) and not r.entry_keys, _spoken(r)
    r = await call.say(heard, hint=hint, confidence=confidence)
    assert _spoken(r).endswith(offer), _spoken(r)
    assert r.entry_keys == keys


async def test_a_day_question_missed_offers_the_keypad_for_the_day_of_the_month(call: Call) -> None:
    # Fresh seed 8282: "It's on Thursday" heard "the dog", twice, put a caller through to a person.
    await _keypad_offered(call, "i'd like to book a filling", "Which day", "the dog",
                          AsrHint("when", "on", complete=True), 0.96,
                          "Which day suits you? You can also key in the day of the month.", 2)
    r = await call.say("15")
    assert "the fifteenth of" in _spoken(r) and r.slots.get("date", "").endswith("-15"), (_spoken(r), r.slots)


async def test_a_choice_of_two_weeks_is_made_by_the_day_number(call: Call) -> None:
    # Fresh seed 8282: "Sorry, was that Tuesday the eighth of December or Tuesday the fifteenth of December?" - "On
    # Tuesday the fifteenth ... at half past one", heard "on tuesday that fifteen ...": asked again, twice.
    await call.say("i'd like a filling on tuesday at half past one, my name is julie leon")
    r = await call.say("no tuesday the family")
    assert "Tuesday the first of December or Tuesday the eighth of December" in _spoken(r), _spoken(r)
    r = await call.say("on tuesday that eighth at all at half past while in the afternoon")
    assert r.slots.get("date") == "2026-12-08" and "or Tuesday" not in _spoken(r), (_spoken(r), r.slots)


WHICH = "Which is wrong: the day, the time, the name or the service?"


async def test_a_correction_not_caught_asks_which_detail_is_wrong(call: Call) -> None:
    # Fresh seed 8282: "It's Kevin Harris" to "What would you like to change?" heard "that's eleven heroes" three
    # times, then a person.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is calvin harris")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("that's eleven heroes", hint=AsrHint("detail", "that's eleven", complete=False), confidence=0.41)
    which = "Which is wrong: the day, the time, the name or the service?"
    assert _spoken(r).endswith(which) and "another way" not in _spoken(r), _spoken(r)
    assert r.expect == "detail"
    r = await call.say("the name")
    assert "Could you spell your surname" in _spoken(r) and not r.slots.get("name"), (_spoken(r), r.slots)


async def _spell_both_halves(call: Call, surname: str, given: str) -> None:
    """The surname spelled when asked, then the first name asked for and spelled: the whole name is read back."""
    letters = " ".join(surname)
    r = await call.say(letters, hint=AsrHint("spelling", letters, complete=True))
    assert "spell your first name" in _spoken(r), _spoken(r)
    letters = " ".join(given)
    r = await call.say(letters, hint=AsrHint("spelling", letters, complete=True))
    assert f"for {given.capitalize()} {surname.capitalize()}" in _spoken(r), _spoken(r)


async def test_a_name_named_wrong_is_refused(call: Call) -> None:
    # Fresh seed 11917: "Kevin Allen" read back "Kirby Hartley"; "Which is wrong?" - "The name": asked again, heard
    # "kirby hartley" again, and read back a second time.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is kirby hartley")
    await call.say("no")
    r = await call.say("blue the hum of the", confidence=0.4)
    assert _spoken(r).endswith(WHICH), _spoken(r)
    r = await call.say("the name")  # asked again in words, a name named wrong came back wrong 76 times in 99
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    assert "kirby hartley" in r.slots.get("names_refused", []) and not r.slots.get("name"), r.slots
    await _spell_both_halves(call, "allen", "kevin")


async def test_the_name_named_when_asked_what_to_change_is_refused(call: Call) -> None:
    # Fresh seed 12321: "The name is Julie Thompson" to "What would you like to change?", heard "the name in uniform
    # cancer": the caller was asked "Which is wrong?" first, one more turn of the eighteen they would give.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is kirby hartley")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("the name in uniform cancer", confidence=0.67)
    assert "Could you spell your surname" in _spoken(r) and "kirby hartley" in r.slots.get("names_refused", []), (
        _spoken(r), r.slots)
    assert WHICH not in _spoken(r) and r.slots.get("date") and r.slots.get("time"), (_spoken(r), r.slots)


async def test_a_name_stated_at_the_read_back_and_not_caught_is_spelled(call: Call) -> None:
    # Fresh seed 12321: "That's wrong, my name is Laura Mitchell" heard "my name is line is so" at the read-back of
    # "Wise Esparza": asked "Sorry, was that a yes?", then "What would you like to change?", then a person.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is wise esparza")
    r = await call.say("my name is line is so", hint=AsrHint("confirm", "", complete=False, name="my name is lyons so"),
                       confidence=0.95)
    assert "Could you spell your surname" in _spoken(r) and "was that a yes" not in _spoken(r), _spoken(r)
    assert "wise esparza" in r.slots.get("names_refused", []) and not r.slots.get("name"), r.slots
    await _spell_both_halves(call, "mitchell", "laura")


async def test_a_spelled_half_stays_when_the_name_is_named_wrong(call: Call) -> None:
    # Fresh seed 11917: "Emma" keyed in, "Emma Long" read back and refused, then "Which is wrong?" - "The name":
    # asked again in words, the keyed Emma was lost ("Raymond Long"). The half spelled stays; the other is spelled.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is kirby hartley")
    r = await call.say("no sorry the name is kirby hartley")
    assert "Could you spell your surname" in _spoken(r), _spoken(r)
    r = await call.say("a l l e n", hint=AsrHint("spelling", "a l l e n", complete=True))
    assert "for Kirby Allen" in _spoken(r), _spoken(r)
    await call.say("no", confidence=0.9)
    r = await call.say("blue the hum of the", confidence=0.4)
    assert _spoken(r).endswith(WHICH), _spoken(r)
    r = await call.say("the name")
    assert "spell your first name" in _spoken(r) and r.slots.get("name_part") == "Allen", (_spoken(r), r.slots)
    r = await call.say("k e v i n", hint=AsrHint("spelling", "k e v i n", complete=True))
    assert r.slots.get("name") == "Kevin Allen" and "for Kevin Allen" in _spoken(r), (_spoken(r), r.slots)


async def test_the_day_and_the_time_named_wrong_are_asked_for_again(call: Call) -> None:
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    await call.say("no")
    await call.say("blue the hum of the", confidence=0.4)
    r = await call.say("the day and the time")
    assert "Which day" in _spoken(r) and not r.slots.get("date") and not r.slots.get("time"), (_spoken(r), r.slots)


async def test_a_number_alone_at_which_is_wrong_is_no_hour(call: Call) -> None:
    # Seed 11109: "The name." heard "the nine" (0.45), read "the name": the time was changed to nine o'clock and the
    # wrong name read back again.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is kathy viola")
    await call.say("no")
    r = await call.say("blue the hum of the", confidence=0.4)
    assert _spoken(r).endswith(WHICH), _spoken(r)
    r = await call.say("the nine", hint=AsrHint("detail", "the name", complete=True), confidence=0.45)
    assert r.slots.get("time") == "10:00" and "spell your surname" in _spoken(r), (_spoken(r), r.slots)


async def test_the_detail_the_free_reading_names_is_the_one_asked_again(call: Call) -> None:
    # Fresh seed 11109: "The time, on the seventh of December at ten a m", heard "the time on the family something",
    # read "the time the name my number" by the detail decoder: the right name was cleared and asked again.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    await call.say("no")
    await call.say("blue the hum of the", confidence=0.4)
    r = await call.say("the time on the family something",
                       hint=AsrHint("detail", "the time the name my number", complete=False))
    assert "What time" in _spoken(r) and r.slots.get("name") == "Julie Leon" and not r.slots.get("time"), \
        (_spoken(r), r.slots)


async def test_a_name_the_open_decoder_did_not_hear_does_not_replace_the_name_asked_what_to_change(call: Call) -> None:
    # Fresh seed 11210: "December the sixteenth, half past two", heard "the been of the things off moscow" and read
    # "bender singh philip acevedo" by the name decoder ("bender" ~ "been"), replaced Emma Walker by Philip Acevedo.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is emma walker")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("the been of the things off moscow",
                       hint=AsrHint("service", "", complete=False, name="bender singh philip acevedo"))
    assert r.slots.get("name") == "Emma Walker", (_spoken(r), r.slots)
    # A name it did hear still comes through: "it's emma walsh" read "it's emma welch".
    r = await call.say("it's emma walsh", hint=AsrHint("service", "", complete=False, name="it's emma welch"))
    assert r.slots.get("name") in ("Emma Welch", "Emma Walsh"), (_spoken(r), r.slots)


async def test_a_name_only_the_name_decoder_heard_is_asked_again_once(call: Call) -> None:
    # Fresh seed 11109: "So, my name is Ruth Stewart" heard "oh my navy blue ceo", read "oh my palacios": "I have
    # Palacios" was said back, refused, and the call went round corrections.
    r = await call.say("i'd like a filling on wednesday at ten o'clock")
    assert "Can I take your name" in _spoken(r), _spoken(r)
    r = await call.say("oh my navy blue ceo", hint=AsrHint("name", "oh my palacios", complete=False),
                       confidence=0.9)
    assert "Sorry, I didn't catch your name." in _spoken(r) and not r.slots.get("name") \
        and not r.slots.get("name_part"), (_spoken(r), r.slots)
    # Asked again, the answer is taken as heard: the read-back checks it.
    r = await call.say("oh my navy blue stewart", hint=AsrHint("name", "oh my lucille stewart", complete=False),
                       confidence=0.9)
    assert "for Lucille Stewart" in _spoken(r), (_spoken(r), r.slots)


async def test_a_name_heard_as_a_symptom_is_the_name(call: Call) -> None:
    # Fresh seed 11311: "It's under Anna Murphy" heard "it's under an emergency", went to the urgent line.
    await call.say("i'd like a filling on wednesday at ten o'clock")
    r = await call.say("it's under an emergency", hint=AsrHint("name", "it's under anna murphy", complete=True),
                       confidence=0.57)
    assert r.handoff is None and "for Anna Murphy" in _spoken(r), (_spoken(r), r.slots)


async def test_a_menu_reading_with_a_symptom_and_a_request_for_a_person_goes_to_reception(call: Call) -> None:
    r = await call.say("and i'd like to sorcery a person", confidence=0.75)
    assert r.handoff is None, _spoken(r)
    r = await call.say("someone says", hint=AsrHint("task", "pain speak to someone face", complete=False),
                       confidence=0.93)
    assert r.handoff is not None and r.handoff.reason == "requested", _spoken(r)


async def test_a_menu_reading_with_a_symptom_and_talk_to_but_no_person_is_urgent(call: Call) -> None:
    # Seed 11311: "I knocked a tooth out playing football and it's bleeding a lot", read "i knocked talk to filled
    # bleeding", is urgent: no person is asked for.
    heard = "i got to felt playing football and it's leading a lot"
    r = await call.say(heard, confidence=0.95)
    assert r.handoff is None, _spoken(r)
    r = await call.say(heard, hint=AsrHint("task", "i knocked talk to filled bleeding", complete=False),
                       confidence=0.95)
    assert r.handoff is not None and r.handoff.reason == "urgent", _spoken(r)


async def _surname_keyed_after_an_unheard_half(call: Call, given: str, keys: str, surname: str) -> None:
    """A booking whose caller gives `given` alone, then a surname only the name decoder heard ("worley" for
    "damningly"): the surname is asked to be spelled, and keyed in as `keys`; `given surname` is read back."""
    await call.say("i'd like a filling on wednesday at ten o'clock")
    r = await call.say(f"my name is {given}", hint=AsrHint("name", f"my name is {given}", complete=True),
                       confidence=0.9)
    assert f"I have {given.title()}. And your surname?" in _spoken(r), _spoken(r)
    r = await call.say("damningly", hint=AsrHint("name", f"{given} worley", complete=True), confidence=0.15)
    assert "spell your surname" in _spoken(r) and "key it in" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say(keys)
    assert f"for {given.title()} {surname}" in _spoken(r), (_spoken(r), r.slots)


async def test_a_half_name_only_the_name_decoder_heard_is_spelled(call: Call) -> None:
    # Fresh seed 11109: "I have Daniel. And your surname?" - "Daniel Wood" heard "damningly", read "daniel
    # worley", was read back as Daniel Worley, refused, and went round corrections.
    await _surname_keyed_after_an_unheard_half(call, "daniel", "9663#", "Wood")


async def test_a_symptom_word_inside_an_answer_mid_task_is_the_answer_misheard(call: Call) -> None:
    # Fresh seeds 11109 and 11412: callers booking were put through to the urgent line on one garbled word.
    r = await call.say("i'd like a filling please")
    assert "Which day" in _spoken(r), _spoken(r)
    r = await call.say("the pain by the thief that half past the dream",
                       hint=AsrHint("when", "half past please", complete=False), confidence=0.69)
    assert r.handoff is None, _spoken(r)
    r = await call.say("my name is an urgent", hint=AsrHint("when", "nine a m", complete=True), confidence=0.97)
    assert r.handoff is None, _spoken(r)
    # A symptom with where it hurts is urgent at any question.
    r = await call.say("i'm in agony my jaw is swollen", hint=AsrHint("when", "", complete=False), confidence=0.9)
    assert r.handoff is not None and r.handoff.reason == "urgent", _spoken(r)


async def test_a_keyed_half_stays_when_the_name_is_heard_again_in_words(call: Call) -> None:
    # Fresh seed 11513: Young keyed in, "Leon Young" read back and refused, then "rita leon" heard: the keyed
    # surname was lost.
    await _surname_keyed_after_an_unheard_half(call, "leon", "96864#", "Young")
    r = await call.say("no it's rita leon", hint=AsrHint("yes_no", "no", complete=False, name="no it's rita leon"),
                       confidence=0.8)
    assert "Leon Young" not in _spoken(r) and r.slots.get("name") in (None, "Rita Young"), (_spoken(r), r.slots)


async def test_a_no_at_the_read_back_heard_with_again_is_a_no(call: Call) -> None:
    # Fresh seed 11513: "Er, no, sorry, it's Emma King" heard "no sorry it's them again" (repeat, 0.84): the
    # read-back was said again unchanged.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is emma king")
    r = await call.say("no sorry it's them again", confidence=0.74)
    assert "What would you like to change?" in _spoken(r), _spoken(r)


async def test_a_name_both_decoders_heard_is_taken_at_once(call: Call) -> None:
    await call.say("i'd like a filling on wednesday at ten o'clock")
    r = await call.say("it's roots thompson", hint=AsrHint("name", "ruth thompson", complete=False), confidence=0.8)
    assert "for Ruth Thompson" in _spoken(r), (_spoken(r), r.slots)


async def test_the_detail_only_the_detail_decoder_names_is_asked_again(call: Call) -> None:
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    await call.say("no")
    await call.say("blue the hum of the", confidence=0.4)
    r = await call.say("then aim", hint=AsrHint("detail", "the name", complete=True))
    assert _spoken(r).startswith("Sorry, I got your name wrong. Could you spell your surname"), _spoken(r)
    assert not r.slots.get("name"), r.slots


async def test_an_answer_heard_as_a_goodbye_the_decoder_read_whole_is_the_answer(call: Call) -> None:
    # Fresh seed 8383: "A filling done" heard "i'm going down" (goodbye at 0.83), read "a filling" whole by the
    # service decoder, was asked again, then put through.
    await call.say("i need to book an appointment")
    r = await call.say("i'm going down", hint=AsrHint("service", "a filling", complete=True), confidence=0.55)
    assert r.slots.get("service") == "filling" and not r.end_call, (_spoken(r), r.slots)
    # A goodbye with a word of leaving is still one.
    r = await call.say("thanks bye", hint=AsrHint("when", "tomorrow", complete=True))
    assert r.end_call, _spoken(r)


async def test_a_time_question_missed_offers_the_keypad_for_the_time(call: Call) -> None:
    # Fresh seed 8383: "at ten" heard "updated", then "i've been", then a person.
    await _keypad_offered(call, "i'd like a filling on wednesday", "What time", "updated",
                          AsrHint("when", "", complete=False), 0.86,
                          "You can also key in the time, like 9 3 0 for half past nine.", 4)
    r = await call.say("230")
    assert r.slots.get("time") == "14:30", (_spoken(r), r.slots)


async def _read_back_misheard_twice(call: Call) -> DialogueResult:
    # Fresh seed 8282: "Yes, move it" heard "the apes movies", then "Yes please" heard "you sleep" (0.07) twice;
    # the caller went to a person with the details read back right.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("the apes movies", hint=AsrHint("confirm", "the", complete=False))
    assert r.outcome is None and "Sorry, was that a yes?" in _spoken(r), _spoken(r)
    r = await call.say("you sleep", hint=AsrHint("confirm", "the clean", complete=True), confidence=0.07)
    assert _spoken(r) == "Sorry, I still didn't catch that. Shall I book it? Press 1 for yes, or 2 for no.", _spoken(r)
    assert r.entry_keys == 1 and r.outcome is None and r.handoff is None
    return r


async def test_a_read_back_misheard_twice_offers_the_keypad_and_1_is_yes(call: Call) -> None:
    await _read_back_misheard_twice(call)
    r = await call.say("1")
    assert r.outcome == "booked" and not r.entry_keys, _spoken(r)


async def test_a_read_back_misheard_twice_offers_the_keypad_and_2_is_no(call: Call) -> None:
    await _read_back_misheard_twice(call)
    r = await call.say("2")
    assert r.outcome is None and "What would you like to change?" in _spoken(r), _spoken(r)


async def test_a_read_back_missed_until_a_person_has_the_keypad_as_last_try(call: Call) -> None:
    # Fresh seed 12321: a cancel read back right, "Um, so that's right" missed, "Yes, that's correct" heard "you can
    # make", "Yes please" heard "the green": put through, never offered the keys.
    ref = _insert(call.scope, "Carol Walker", "2026-11-27 14:30")
    await call.say("i need to cancel my appointment")
    await call.say("my name is carol walker")
    r = await call.say("it's on friday")
    assert "Shall I cancel it?" in _spoken(r), _spoken(r)
    r = await call.say("you can make", hint=AsrHint("confirm", "on yes that's correct", complete=True,
                                                     name="um pierre"), confidence=0.76)
    assert r.handoff is None and r.outcome is None, _spoken(r)
    r = await call.say("the green", hint=AsrHint("confirm", "the a clean", complete=True, name="green"),
                       confidence=0.71)
    assert r.handoff is None and r.outcome is None, _spoken(r)
    r = await call.say("the a dream", hint=AsrHint("confirm", "the a clean", complete=True, name="yates"),
                       confidence=0.85)
    assert r.handoff is None and "Let's use your phone's keypad" in _spoken(r), _spoken(r)
    assert _spoken(r).endswith("Shall I cancel it? Press 1 for yes, or 2 for no.") and r.entry_keys == 1, _spoken(r)
    r = await call.say("1")
    assert (r.outcome, r.booking_ref) == ("cancelled", ref), _spoken(r)


async def test_an_answer_to_a_read_back_with_nothing_in_it_is_asked_as_a_yes_or_no(call: Call) -> None:
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("you are", hint=AsrHint("confirm", "july", complete=True), confidence=0.13)
    assert r.outcome is None and _spoken(r).endswith("Sorry, was that a yes? Shall I book it?"), _spoken(r)


async def test_a_read_back_answer_led_by_a_no_whose_details_were_lost_asks_what_to_change(call: Call) -> None:
    # Simulated seed 1919: "Not quite, I said Saturday so eleven thirty a m" heard "not quite i said day so eleven to
    # your am" (inform, no detail) was asked "was that a yes?" again and again.
    await call.say("i'd like a filling on monday at half past eleven, my name is julie leon")
    r = await call.say("not quite i said day so eleven to your am",
                       hint=AsrHint("confirm", "not quite i have day eleven thirty m", complete=False))
    assert r.outcome is None and "What would you like to change?" in _spoken(r), _spoken(r)


async def test_a_yes_heard_as_a_sound_alike_answers_the_scope_question_with_the_yes_reading(call: Call) -> None:
    # Simulated seed 1919: "Yes." heard "us" (0.43), read "yes" by the yes/no decoder.
    r = await _answer_the_scope_question(call, "can you give me a lot for car insurance", "us",
                                         AsrHint("yes_no", "yes", complete=True), confidence=0.43)
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_yes_to_the_scope_question_is_an_answer_whatever_the_classifier_made_of_the_rest(
    call: Call,
) -> None:
    # Fresh seed 3131: "Yes. What's the weather going to be like tomorrow?" heard "yes whatsoever going to be like
    # tomorrow", classed a booking request at 0.55: the caller was asked what to come in for, three times.
    r = await _answer_the_scope_question(call, "what's the weather going to be like tomorrow",
                                         "yes whatsoever going to be like tomorrow",
                                         AsrHint("yes_no", "yes", complete=False), confidence=0.95)
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_yes_and_a_clinic_request_to_the_scope_question_is_no_yes_to_it(call: Call) -> None:
    r = await _answer_the_scope_question(call, "what's the weather going to be like tomorrow",
                                         "yes i'd like to book a cleaning", AsrHint("yes_no", "yes", complete=False))
    assert (r.handoff is None or r.handoff.reason != "out_of_scope") and "can't help" not in _spoken(r), _spoken(r)


async def test_a_garbled_service_correction_at_the_read_back_is_not_taken_for_a_name(call: Call) -> None:
    # Simulated seed 6868: "Not quite, it's for a checkup" heard "why it's for mechanic up", read "not quite it's for
    # a check up": read back "for Mechanic Up".
    await call.say("i'd like a cleaning on wednesday at ten o'clock, my name is harry king")
    r = await call.say("why it's for mechanic up", hint=AsrHint("confirm", "not quite it's for a check up",
                                                               complete=True), confidence=0.78)
    assert "Mechanic" not in _spoken(r) and r.slots.get("name") == "Harry King", (_spoken(r), r.slots)


async def test_a_yes_only_the_yes_no_reading_heard_before_a_request_out_of_scope_cannot_be_helped(call: Call) -> None:
    # Fresh seed 8383: "Er, yes. Can you give me a quote for car insurance?" heard "the us can you give me a quote
    # for car insurance", read "yes": put through as not understood.
    r = await _answer_the_scope_question(call, "can you give me a quote for car insurance",
                                         "the us can you give me a quote for car insurance",
                                         hint=AsrHint("yes_no", "yes", complete=False), confidence=0.93)
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_no_the_yes_no_reading_heard_is_never_told_the_line_cannot_help(call: Call) -> None:
    r = await _answer_the_scope_question(call, "can you give me a quote for car insurance",
                                         "the us can you give me a quote for car insurance",
                                         hint=AsrHint("yes_no", "no", complete=False), confidence=0.93)
    r = await _keypad_menu_then(call, r)
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)


async def test_a_yes_and_a_request_to_book_something_else_cannot_be_helped(call: Call) -> None:
    # Typed seed 5432: "Yes. Can I book a table for two tonight?" went to a person as not understood ("book").
    r = await _answer_the_scope_question(call, "can i book a table for two tonight",
                                         "yes can i book a table for two tonight")
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_name_heard_unsure_as_a_request_for_a_person_is_the_name(call: Call) -> None:
    # Fresh seed 4545: "It's William Anderson" heard "it's really man person" at 0.44, read "william anderson" by the
    # name decoder, was put through to reception as a request for a person.
    await call.say("can i book a new filling for saturday at eleven thirty")
    r = await call.say("it's really man person", hint=AsrHint("name", "william anderson", complete=True),
                       confidence=0.44)
    assert r.handoff is None and r.slots.get("name") == "William Anderson", (_spoken(r), r.slots)


async def test_a_request_for_a_person_heard_clearly_at_the_name_question_is_one(call: Call) -> None:
    await call.say("can i book a new filling for saturday at eleven thirty")
    r = await call.say("can i speak to a person", hint=AsrHint("name", "candice peterson", complete=True))
    assert r.handoff is not None and r.handoff.reason == "requested", _spoken(r)


async def test_a_booking_misheard_with_a_word_for_a_person_is_no_request_for_one(call: Call) -> None:
    # Fresh seed 8282: "Hello, I'd like to book an examination", heard "i'd like to person examination", was put
    # through to reception at the first turn.
    r = await call.say("i'd like to person examination", confidence=0.86)
    assert r.handoff is None and r.slots.get("service") == "check-up", (_spoken(r), r.slots)


async def test_a_day_misheard_with_a_word_for_a_person_is_the_day(call: Call) -> None:
    # Seed 3131: "Er, it's Tuesday the first", heard "excuse me a person" and read "tuesday first" by the day
    # decoder, put a caller cancelling through to reception.
    await call.say("i need to cancel my appointment")
    await call.say("jack johnson")
    r = await call.say("excuse me a person", hint=AsrHint("when", "tuesday first", complete=True), confidence=0.63)
    assert r.handoff is None, _spoken(r)


async def test_a_day_asked_back_and_said_again_by_its_number_is_a_yes(call: Call) -> None:
    # Simulated seed 1919: "Sorry, was that Saturday the twenty-eighth of November?" - "the twenty eighth", heard
    # "the twenty eight", was asked twice more, then a person.
    await call.say("i'd like to book a cleaning")
    r = await call.say("twenty eight")
    assert "Sorry, was that" in _spoken(r) and "twenty-eighth" in _spoken(r), _spoken(r)
    r = await call.say("the twenty eight")
    assert r.slots.get("date") == "2026-11-28" and "Sorry, was that" not in _spoken(r), (_spoken(r), r.slots)


async def test_a_day_asked_back_and_read_again_by_the_day_decoder_is_a_yes(call: Call) -> None:
    # Fresh seed 4545: "the twelfth" heard "well", read "twelve" by the day decoder, after "Sorry, was that
    # Saturday the twelfth of December?": a person.
    await call.say("i'd like to book a cleaning")
    r = await call.say("twelve")
    assert "Sorry, was that" in _spoken(r) and "twelfth" in _spoken(r), _spoken(r)
    r = await call.say("well", hint=AsrHint("when", "twelve", complete=True))
    assert r.slots.get("date") == "2026-12-12" and "Sorry, was that" not in _spoken(r), (_spoken(r), r.slots)


async def test_a_garbled_no_thank_you_after_an_answer_ends_the_call(call: Call) -> None:
    # Simulated seed 1919: "No, that's all, thank you. Bye." heard "no maps all thank you" was asked the menu.
    r = await call.say("what are your opening hours")
    assert "anything else" in _spoken(r), _spoken(r)
    r = await call.say("no maps all thank you")
    assert r.end_call and r.handoff is None, _spoken(r)


async def test_a_number_just_before_a_time_is_asked_back_as_the_day(call: Call) -> None:
    # Simulated seed 1919: "the tenth, at one thirty in the afternoon" heard "well so again at one thirty in the
    # afternoon", read "around to ten at one thirty in the afternoon": the day was asked three times, then a person.
    await call.say("i'd like to book a cleaning")
    r = await call.say("well so again at one thirty in the afternoon",
                       hint=AsrHint("when", "around to ten at one thirty in the afternoon", complete=True))
    assert "Sorry, was that Thursday the tenth of December?" in _spoken(r), _spoken(r)
    r = await call.say("yes")
    assert r.slots.get("date") == "2026-12-10" and r.slots.get("time") == "13:30", (_spoken(r), r.slots)


async def test_a_yes_heard_unsure_is_taken_when_the_read_backs_reading_heard_a_yes_too(call: Call) -> None:
    # Corpus book-pauses: "Yes, book it." heard "yes book it" below 0.6, read "yes week it": two readings agree.
    await call.say("i'd like a filling on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("yes book it", hint=AsrHint("confirm", "yes week it", complete=True), confidence=0.5)
    assert r.outcome == "booked", _spoken(r)


async def test_a_clear_yes_to_the_scope_question_is_not_undone_by_its_reading(call: Call) -> None:
    # Simulated seed 3131: "Well, yeah, that's right." heard at 1.0, read "wrong that's right" by the yes/no decoder.
    r = await _answer_the_scope_question(call, "can you give me a lot for car insurance", "well yeah that's right",
                                         AsrHint("yes_no", "wrong that's right", complete=False))
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_yes_to_the_scope_question_classed_goodbye_is_still_its_answer(call: Call) -> None:
    # Typed seed 2468: "So, let me see yes, it is." was classed goodbye (0.62), answered with the menu, and the
    # caller's next request was then taken as the answer to the question.
    r = await _answer_the_scope_question(call, "is this the council tax office", "so let me see yes it is")
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_yes_to_the_scope_question_after_a_hesitation_phrase_is_a_yes(call: Call) -> None:
    # Typed seed 4711: "Let me see, yes. I'd like to order a pizza." was read as no yes ("let" came first).
    r = await _answer_the_scope_question(call, "i'd like to order a pizza", "let me see yes i'd like to order a pizza")
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def _answer_the_scope_question(
    call: Call, request: str, answer: str, hint: AsrHint | None = None, confidence: float = 1.0
) -> DialogueResult:
    """The same request the line can't serve twice (the second read by the menu decoder as nothing), asked
    "Is your call about something other than the dental clinic?", then `answer`."""
    await call.say(request)
    r = await call.say(request, hint=AsrHint("task", "", complete=False))
    assert "something other than the dental clinic" in _spoken(r), _spoken(r)
    return await call.say(answer, hint=hint, confidence=confidence)


async def test_a_caller_not_understood_picks_the_task_and_the_service_on_the_keypad(call: Call) -> None:
    # Fresh seed 9191: openers garbled, then the menu question too ("Booking, please" heard "please", then "bergen
    # please"); the callers said no to "something other than the dental clinic?" and went to a person. "A check-up"
    # heard "let me pay it off" twice at the service question went to a person too.
    await call.say("purple monkey dishwasher")
    r = await call.say("flibbertigibbet")
    assert "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("no", hint=AsrHint("yes_no", "no", complete=True))
    assert r.handoff is None and _spoken(r).endswith(
        "press 1 to book an appointment, 2 to change one, 3 to cancel one, 4 for our opening hours, 5 for our "
        "address, 6 for our prices, 8 if it's about something else, 9 if you're in pain or it's urgent, or 0 to "
        "speak to someone."), _spoken(r)
    r = await call.say("1")
    assert r.slots.get("task") == "book" and "come in for" in _spoken(r) and not r.entry_keys, _spoken(r)
    r = await call.say("let me pay it off", hint=AsrHint("service", "midday o'clock", complete=True), confidence=0.44)
    assert _spoken(r).endswith("press 1 for a check-up, 2 for a cleaning, or 3 for a filling."), _spoken(r)
    assert r.entry_keys == 1
    r = await call.say("3")
    assert r.slots.get("service") == "filling" and "Which day" in _spoken(r), (r.slots, _spoken(r))


async def _keypad_menu_key(call: Call, key: str) -> tuple[Call, DialogueResult]:
    """A new call in the same scope, not understood twice at its opening, then `key` pressed at the keypad menu."""
    c = Call(call.dialogue, call.scope)
    await c.start()
    await c.say("blue the hum of the")
    r = await c.say("flibbertigibbet", hint=AsrHint("task", "cancel book", complete=True))
    assert "press 1 to book" in _spoken(r) and "9 if you're in pain" in _spoken(r), _spoken(r)
    return c, await c.say(key)


async def test_the_keypad_menu_puts_the_caller_through_on_0_and_changes_a_booking_on_2(call: Call) -> None:
    for key, task in (("0", None), ("2", "reschedule")):
        c, r = await _keypad_menu_key(call, key)
        if task is None:
            assert r.handoff is not None and r.handoff.reason == "requested", _spoken(r)
        else:
            assert r.handoff is None and r.slots.get("task") == task, (r.slots, _spoken(r))
        await c.dialogue.end(c.id)


async def test_a_bare_weekday_said_again_at_the_read_back_keeps_the_week_held(call: Call) -> None:
    # Fresh seed 9191: "That's wrong, I said Thursday the third at half past four", heard "not as long as i said
    # thursday that or not half past four", moved Thursday the third of December to the nearest Thursday.
    r = await call.say("i'd like a filling on thursday the tenth of december at noon, my name is brian smith")
    assert "Thursday the tenth of December at noon" in _spoken(r), _spoken(r)
    r = await call.say("not as long as i said thursday that or not half past four", confidence=0.89,
                       hint=AsrHint("confirm", "that's wrong i need thursday the not half past four", complete=False))
    assert (r.slots.get("date"), r.slots.get("time")) == ("2026-12-10", "16:30"), (r.slots, _spoken(r))


async def test_the_name_read_at_a_read_back_counts_when_the_yes_no_reading_is_empty(call: Call) -> None:
    # Fresh seed 9191: "That's wrong, the name is Sarah Mitchell", heard "... sarah image awful", the yes/no reading
    # empty and the name decoder's "that's wrong name is sarah mitchell": read back as Sarah Image.
    await call.say("can i book in for a cleaning appointment")
    await call.say("on tuesday at half twelve in the afternoon", confidence=0.86,
                   hint=AsrHint("when", "on tuesday at half twelve in the afternoon", complete=False))
    r = await call.say("yeah sure and mitchell", confidence=0.47,
                       hint=AsrHint("name", "sharon mitchell", complete=True))
    assert "at half past twelve, for Sharon Mitchell" in _spoken(r), _spoken(r)
    r = await call.say("that is wrong in the name is sarah image awful", confidence=0.82,
                       hint=AsrHint("confirm", "", complete=False, name="that's wrong name is sarah mitchell"))
    assert r.slots.get("name") == "Sarah Mitchell", (r.slots, _spoken(r))


async def test_a_new_name_both_decoders_heard_is_read_back_not_spelled(call: Call) -> None:
    # Fresh seed 9191: after two names refused, "it's Helen Green" heard "it's helen green" (0.38) and read "helen
    # green" by the name decoder was asked to be spelled (and the letters were lost); its service reading "a
    # fillings" made the cleaning a filling.
    await call.say("i would like a cleaning on tuesday the first of december at half past one")
    await call.say("my name is ellen green", confidence=0.78, hint=AsrHint("name", "my name is helen freeman", True))
    r = await call.say("no my name is how many brainer", confidence=0.91,
                       hint=AsrHint("confirm", "no my nine seven clean", complete=False, name="no my name is kramer"))
    assert r.slots.get("name") == "Ellen Kramer", r.slots
    r = await call.say("not quite challenging", confidence=0.46,
                       hint=AsrHint("confirm", "not quite", complete=False, name="not quite helen green"))
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("it's helen green", confidence=0.38,
                       hint=AsrHint("service", "a fillings", complete=True, name="helen green"))
    assert (r.slots.get("name"), r.slots.get("service")) == ("Helen Green", "cleaning"), (r.slots, _spoken(r))
    assert "spell" not in _spoken(r), _spoken(r)


async def test_a_weekday_only_the_day_decoder_heard_on_an_unsure_turn_is_asked_back(call: Call) -> None:
    # Fresh seed 9191: "December the fourth" heard "between men at all" (0.57), read "p monday on": Monday the
    # thirtieth was taken and read back with the rest.
    await call.say("i'd like to book a check-up")
    r = await call.say("between men at all", confidence=0.57, hint=AsrHint("when", "p monday on", complete=True))
    assert not r.slots.get("date") and _spoken(r) == "Sorry, was that Monday the thirtieth of November?", \
        (r.slots, _spoken(r))
    r = await call.say("no december the fourth")
    assert r.slots.get("date") == "2026-12-04", (r.slots, _spoken(r))


async def test_a_day_asked_back_and_answered_with_neither_yes_nor_the_day_is_not_asked_back_again(call: Call) -> None:
    # Fresh seed 10301: "Sorry, was that Monday the thirtieth of November?" asked three times of a caller saying "on
    # the fifth at half past eleven" in other words ("i don't i do on my face at half past eleven"), then a person.
    await call.say("i'd like to book a check-up")
    r = await call.say("between men at all", confidence=0.57, hint=AsrHint("when", "p monday on", complete=True))
    assert _spoken(r) == "Sorry, was that Monday the thirtieth of November?", (r.slots, _spoken(r))
    r = await call.say("i don't i do on my face at half past eleven", confidence=0.71,
                       hint=AsrHint("when", "half past eleven", complete=False))
    assert "Monday the thirtieth" not in _spoken(r) and "key in the day of the month" in _spoken(r), \
        (r.slots, _spoken(r))
    assert not r.slots.get("date"), r.slots
    r = await call.say("5#")
    assert r.slots.get("date") == "2026-12-05", (r.slots, _spoken(r))


async def test_a_weekday_in_the_words_of_an_unsure_turn_is_taken(call: Call) -> None:
    await call.say("i'd like to book a cleaning")
    r = await call.say("on monday", confidence=0.57, hint=AsrHint("when", "on monday", complete=True))
    assert r.slots.get("date") == "2026-11-30", (r.slots, _spoken(r))


async def test_a_request_heard_clearly_out_of_scope_is_not_the_menu_decoders_forced_task(call: Call) -> None:
    # Fresh seed 9191: "Can you fix my washing machine?" heard so at 1.0, twice; the second fitted whole by the menu
    # decoder as "cancel my wanted much teeth" started a cancel, and the caller went round it to a person.
    await call.say("can you fix my washing machine")
    r = await call.say("can you fix my washing machine",
                       hint=AsrHint("task", "cancel my wanted much teeth", complete=True))
    assert not r.slots.get("task") and "something other than the dental clinic" in _spoken(r), (r.slots, _spoken(r))


async def test_a_request_classed_out_of_scope_heard_unsure_is_not_the_menu_decoders_forced_task(call: Call) -> None:
    # Fresh seed 10301: "Is this the council tax office?" heard word for word but unsure (0.72), classed out of scope
    # at 1.0, fitted whole by the menu decoder as "a cancel check abscess": a cancel started, its name was "Campos
    # Hess" and its day "the second", and the caller was put through as not understood.
    await call.say("the council tax office", confidence=0.7)
    r = await call.say("is this the council tax office", confidence=0.72,
                       hint=AsrHint("task", "a cancel check abscess", complete=True))
    assert not r.slots.get("task") and "something other than the dental clinic" in _spoken(r), (r.slots, _spoken(r))


async def test_a_yes_against_a_reading_that_opens_with_a_no_is_asked_again(call: Call) -> None:
    # Fresh seed 9292: "That's wrong, the name is Ruth Allen", heard "that sounds" (0.76) and classed a yes, read
    # "that's wrong a sounds": the misheard name was booked.
    r = await call.say("i'd like a filling on tuesday the first of december at half past ten, my name is sally allen")
    assert "Shall I book it?" in _spoken(r), _spoken(r)
    r = await call.say("that sounds", confidence=0.76,
                       hint=AsrHint("confirm", "that's wrong a sounds", complete=True, name="wrong name is allen"))
    assert r.outcome is None and "was that a yes?" in _spoken(r), _spoken(r)


async def test_what_to_change_read_by_the_decoder_alone_moves_no_day(call: Call) -> None:
    # Fresh seed 9292: asked what to change, "It's Harry Davis" heard "every day with" (0.47), read "saturday this"
    # by the service decoder and "harry davis" by the name decoder: the booking moved to Saturday.
    await call.say("i'd like a cleaning on wednesday the second of december at two o'clock, my name is very davis")
    r = await call.say("that's wrong", hint=AsrHint("confirm", "that's wrong", complete=True))
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("every day with", confidence=0.47,
                       hint=AsrHint("service", "saturday this", complete=True, name="harry davis"))
    assert r.slots.get("date") == "2026-12-02", (r.slots, _spoken(r))


async def test_a_greeting_with_other_words_in_it_is_not_a_greeting(call: Call) -> None:
    # Thirty-seven 200-call reports: 79 turns classed a greeting had a word no greeting has, and none was one; each
    # was answered "Hello, you're through to Riverside Dental Clinic. How can I help?", the question in hand dropped.
    r = await call.say("hello")
    assert "How can I help" in _spoken(r), _spoken(r)  # a greeting alone still is one
    r = await call.say("hello i'm calling tobacco new filling", confidence=0.85)
    assert "through to Riverside" not in _spoken(r) and r.slots.get("task") == "book", (_spoken(r), r.slots)
    await call.say("on wednesday at ten o'clock, my name is julie leon")
    r = await call.say("well how good", hint=AsrHint("confirm", "sounds good", complete=True), confidence=0.8)
    # "Sounds good": both readings have its "good", and no word of a no.
    assert "through to Riverside" not in _spoken(r) and r.outcome == "booked", _spoken(r)


async def test_broken_alone_is_a_booking_misheard_not_an_emergency(call: Call) -> None:
    # Fresh seeds 11917, 12220: "Can I make a booking?" heard "can i make a broken" went to the urgent line.
    r = await call.say("so hi can i make a broken", confidence=0.68)
    assert r.handoff is None or r.handoff.reason != "urgent", _spoken(r)


async def test_a_broken_tooth_is_still_urgent(call: Call) -> None:
    r = await call.say("i broke my tooth and it really hurts")
    assert r.handoff is not None and r.handoff.reason == "urgent", _spoken(r)


async def test_an_opening_that_changes_my_something_is_a_reschedule(call: Call) -> None:
    # Fresh seeds 9191, 9292: "I'd like to change my appointment ..." heard "... change my flight ..." was taken
    # for a booking (and once for an answer to nothing).
    r = await call.say("well hello i'd like to change my flight month december the nicer wednesday at half past "
                       "eleven is seats are nelson", confidence=0.91)
    assert r.slots.get("task") == "reschedule", (r.slots, _spoken(r))


async def test_a_booking_read_back_answered_with_a_move_asks_whether_an_appointment_is_to_be_moved(call: Call) -> None:
    # Fresh seeds 9191, 9292: "I need to change my appointment" heard "i need to tell you this one appointment" became
    # a booking; at its read-back, "No, sorry, I'd like to change my appointment ... to December the seventh one
    # o'clock" went round the booking's read-back to a person.
    _insert(call.scope, "Mark White", "2026-12-03 11:00", service="filling", minutes=60)
    await call.say("i'd like a filling on monday the seventh of december at one p m, my name is mark white")
    r = await call.say(GARBLED_MOVE, confidence=0.71, hint=AsrHint("confirm", GARBLED_MOVE_READ, complete=False))
    assert _spoken(r) == "Sorry, do you want to move an appointment you already have?", (r.intent, _spoken(r))
    r = await call.say("yes")
    assert r.slots.get("task") == "reschedule" and (r.slots.get("date"), r.slots.get("time")) == (
        "2026-12-07", "13:00"), (r.slots, _spoken(r))
    r = await call.say("it's on thursday")
    assert "So I'll move the filling for Mark White" in _spoken(r) and "to Monday the seventh of December at one" \
        in _spoken(r), _spoken(r)


GARBLED_MOVE = ("not long below i'd like to change my appointment from nato defender of a month one o'clock it's mark "
                "white")
GARBLED_MOVE_READ = "not wrong o'clock i'd like change a fill my one o'clock quite"


async def test_a_no_to_moving_an_appointment_goes_on_with_the_booking(call: Call) -> None:
    await call.say("i'd like a filling on monday the seventh of december at one p m, my name is mark white")
    r = await call.say(GARBLED_MOVE, confidence=0.71, hint=AsrHint("confirm", GARBLED_MOVE_READ, complete=False))
    assert "move an appointment you already have" in _spoken(r), _spoken(r)
    r = await call.say("no, make it two o'clock")
    assert r.slots.get("task") == "book" and r.slots.get("time") == "14:00" and "Shall I book it?" in _spoken(r), \
        (r.slots, _spoken(r))


async def test_a_yes_to_the_scope_question_heard_clearly_is_not_vetoed_by_its_readings_other_words(call: Call) -> None:
    # Fresh seed 9595: "So, yes. I need a taxi to the airport" heard so at 1.0, read "yes fine neither": the reading's
    # stray "neither" made it a no, and the caller was sent to the keypad menu.
    await call.say("i need a taxi to the airport")
    r = await call.say("i need a taxi to the airport", hint=AsrHint("task", "i need a times a to the polish",
                                                                     complete=False))
    assert "something other than the dental clinic" in _spoken(r), _spoken(r)
    r = await call.say("so yes i need a taxi to the airport", hint=AsrHint("yes_no", "yes fine neither",
                                                                           complete=False))
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)


async def test_a_task_half_guessed_at_the_menu_gives_way_to_a_person_its_reading_heard(call: Call) -> None:
    # Fresh seed 9595: "I'd like to talk to a real person" heard "i'd like to bring a person with" was a booking
    # at 0.52; the menu decoder's reading was "i'd like to real person".
    await call.say("can i request")
    r = await call.say("i'd like to bring a person with", confidence=0.71,
                       hint=AsrHint("task", "i'd like to real person", complete=False))
    assert r.handoff is not None and r.handoff.reason == "requested", (r.intent, _spoken(r))


async def test_a_task_half_guessed_at_the_menu_gives_way_to_a_symptom_both_readings_hear(call: Call) -> None:
    # Fresh seed 9595: "I knocked a tooth out playing football and it's bleeding a lot", garbled, was a booking at
    # 0.61 while the menu's reading was "mouth i'm bleeding lost".
    await call.say("a lot of coffee i believe in football on the sleeve and lot", confidence=0.61)
    r = await call.say("i like a copy i believe in football on the sleep and lot", confidence=0.85,
                       hint=AsrHint("task", "mouth i'm bleeding lost", complete=False))
    assert r.handoff is not None and r.handoff.queue == "urgent", (r.intent, _spoken(r))


async def test_the_bookings_own_weekday_read_by_the_day_decoder_alone_on_an_unsure_turn_is_asked_back(
        call: Call) -> None:
    # Fresh seed 9595: "It's the eighth" heard "it's me" (0.46), read "sunday": the booking was looked up on Sunday.
    await call.say("i want to cancel my appointment please")
    await call.say("mark moore")
    r = await call.say("it's me", confidence=0.46, hint=AsrHint("when", "sunday", complete=False))
    assert "old_date" not in r.slots and _spoken(r).startswith("Sorry, was that Sunday"), (r.slots, _spoken(r))


async def test_a_month_gone_is_not_asked_about(call: Call) -> None:
    # Fresh seed 9595: "December the fifth" heard "well the number of him", read "wednesday november", had the caller
    # asked which day in November, a month gone, three times. Here NOW is in November: October is the month gone;
    # December, still to come, is asked about.
    await call.say("i'd like a check up")
    r = await call.say("well the number of him", confidence=0.55, hint=AsrHint("when", "wednesday october",
                                                                              complete=True))
    assert "October" not in _spoken(r), _spoken(r)
    r = await call.say("the december", confidence=0.55, hint=AsrHint("when", "december", complete=True))
    assert "December" in _spoken(r), _spoken(r)


async def test_a_yes_to_moving_an_appointment_heard_in_both_readings_is_taken(call: Call) -> None:
    # Fresh seed 9595: "Let me see, yes please" heard "let me be yes please" (read "eleven p yes please") was no yes
    # to the cue reader, and the new booking was read back instead of the one to move.
    _insert(call.scope, "Mark White", "2026-12-03 11:00", service="filling", minutes=60)
    await call.say("i'd like a filling on monday the seventh of december at one p m, my name is mark white")
    await call.say(GARBLED_MOVE, confidence=0.71, hint=AsrHint("confirm", GARBLED_MOVE_READ, complete=False))
    r = await call.say("let me be yes please", hint=AsrHint("confirm", "eleven p yes please", complete=True))
    assert r.slots.get("task") == "reschedule", (r.slots, _spoken(r))


async def test_a_no_heard_against_a_plain_yes_reading_is_asked_again(call: Call) -> None:
    # Fresh seed 9595: "Yes, that's correct" heard "yeah not correct", read "yeah correct": asked what to change.
    await call.say("i'd like a filling on tuesday the first of december at half past ten, my name is sally allen")
    r = await call.say("yeah not correct", confidence=0.88, hint=AsrHint("confirm", "yeah correct", complete=True))
    assert "was that a yes?" in _spoken(r) and not r.slots.get("correcting"), _spoken(r)
    r = await call.say("yes")
    assert r.outcome == "booked", _spoken(r)


async def test_the_weekday_asked_back_said_again_with_other_words_is_a_yes(call: Call) -> None:
    # Fresh seed 9595: asked "Sorry, was that Wednesday the second of December?" (the new day of a move), the caller
    # said Wednesday again six times over ("Could I do on Wednesday at five in the evening?" heard "michael on
    # wednesday i believe in") and was asked the same question each time.
    _insert(call.scope, "Tom Martin", "2026-12-03 09:00", service="filling", minutes=60)
    await call.say("i need to move my appointment")
    await call.say("tom martin")
    r = await call.say("thursday the third of december")
    assert "Which day would you like to move it to?" in _spoken(r), _spoken(r)
    r = await call.say("but it when it i'm a lot", confidence=0.76,
                       hint=AsrHint("when", "please wednesday half five o'clock", complete=True))
    assert _spoken(r).startswith("Sorry, was that Wednesday the second"), (r.slots, _spoken(r))
    r = await call.say("michael on wednesday i believe in", confidence=0.84,
                       hint=AsrHint("when", "july on wednesday half five in the evening", complete=False))
    assert r.slots.get("date") == "2026-12-02", (r.slots, _spoken(r))


async def test_a_day_asked_back_and_missed_offers_the_keypad(call: Call) -> None:
    # Fresh seed 9595: "Sorry, was that Thursday the seventeenth of December?" answered five times in garble, with
    # no keypad offered, then a person.
    await call.say("i'd like a filling")
    r = await call.say("people magazine and seems", confidence=0.78,
                       hint=AsrHint("when", "p m monday seventeenth", complete=True))
    assert _spoken(r).startswith("Sorry, was that"), _spoken(r)
    r = await call.say("i don't i go on the same and seems obvious i am", confidence=0.8,
                       hint=AsrHint("when", "", complete=False))
    # Neither a yes nor the day: the day question again, never the same guess, with the keypad.
    assert _spoken(r) == "Which day suits you? You can also key in the day of the month.", _spoken(r)
    r = await call.say("17")
    assert r.slots.get("date") == "2026-12-17", (r.slots, _spoken(r))


async def test_part_of_a_number_is_said_back_as_part_and_asked_again(call: Call) -> None:
    # Fresh seed 9595: "It's zero seven seven nine seven nine nine four seven eight four", half lost, was read back
    # as the number "0 9 9 4 8 4".
    await _at_the_number_question(call)
    r = await call.say("it's nero family family i am and i i'm for and with eight four", confidence=0.76,
                       hint=AsrHint("digits", "it's zero nine nine four eight four", complete=False))
    assert "phone" not in r.slots and "Sorry, I only got 0 9 9 4 8 4." in _spoken(r) \
        and "key it in" in _spoken(r), (r.slots, _spoken(r))
    r = await call.say("07797994784")
    assert r.slots.get("phone") == "07797994784", (r.slots, _spoken(r))


async def test_offers_turned_down_by_asking_again_are_dropped(call: Call) -> None:
    # Fresh seed 9595: "Neither, I asked for at ten o'clock" heard "the i i asked for a lot", read "nine o'clock four
    # o'clock": nine o'clock, an offered time, was read back.
    _insert(call.scope, "Someone Else", "2026-11-30 10:00", service="filling", minutes=60)
    await call.say("can i book a check up on monday at ten")
    r = await call.say("the i i asked for a lot", confidence=0.87,
                       hint=AsrHint("when", "nine o'clock four o'clock", complete=True))
    assert "time" not in r.slots and "What time" in _spoken(r), (r.slots, _spoken(r))


async def test_the_keypad_menu_answers_the_clinics_details_and_puts_an_urgent_caller_through(call: Call) -> None:
    # Fresh seed 9595: callers asking the prices and callers in pain, not understood, reached the keypad menu that
    # offered only the tasks and a person, and pressed 0.
    for key, check in (("4", "We're open"), ("5", "River Street"), ("6", "check-up is"), ("9", "urgent")):
        c, r = await _keypad_menu_key(call, key)
        if key == "9":
            assert r.handoff is not None and r.handoff.queue == "urgent", _spoken(r)
        else:
            assert r.handoff is None and check in _spoken(r), (key, _spoken(r))
            r = await c.say("no thanks bye")
            assert r.end_call or "bye" in _spoken(r).lower(), _spoken(r)
        await c.dialogue.end(c.id)


async def test_a_request_heard_clearly_out_of_scope_keeps_its_class_against_a_symptom_read_alone(call: Call) -> None:
    # Fresh seed 9696: "Uh, well I'd like to order a pizza", heard "the ideal well i'd like to order a pizza" (0.93)
    # and read "i'd swell i'd like to hours are teeth" by the menu decoder, was put through to the urgent line.
    await call.say("i'd like to order a pizza", confidence=0.85)
    r = await call.say("the ideal well i'd like to order a pizza", confidence=0.93,
                       hint=AsrHint("task", "i'd swell i'd like to hours are teeth", complete=False))
    assert r.handoff is None or r.handoff.queue != "urgent", _spoken(r)


async def test_a_closing_phrase_counts_only_as_whole_words(call: Call) -> None:
    # Fresh seed 9696: "Let me see, do you sell concert tickets?" heard "let me see your your tail" (goodbye at
    # 0.79) held "see you" inside "see your", and the caller was said goodbye to at the opening.
    r = await call.say("let me see your your tail", confidence=0.88)
    assert not r.end_call and "Goodbye" not in _spoken(r), (r.intent, _spoken(r))


async def test_asking_to_be_put_through_is_a_request_for_a_person_whatever_else_was_heard(call: Call) -> None:
    # Fresh seed 9696: "Put me through to reception please" heard "put me through everything clean" started a booking.
    r = await call.say("put me through everything clean", confidence=0.81)
    assert r.handoff is not None and r.handoff.reason == "requested", (r.intent, _spoken(r))


async def test_a_weekday_and_a_day_number_that_disagree_are_asked_about_whatever_follows(call: Call) -> None:
    # Fresh seed 9696: "Friday the fourth, uh, eleven thirty" heard "friday the first one eleven thirty": Tuesday the
    # first was read back, the Friday dropped without a question.
    await call.say("i'd like to make an appointment for a filling")
    r = await call.say("friday the first one eleven thirty", confidence=0.78,
                       hint=AsrHint("when", "friday four eleven thirty", complete=False))
    assert "date" not in r.slots and "Friday" in _spoken(r) and "Tuesday the first" in _spoken(r), \
        (r.slots, _spoken(r))


async def test_a_name_part_said_twice_is_one_part(call: Call) -> None:
    # Fresh seed 9696: "I have Lewis. And your first name?" - "It's John, John Lewis." was read back "John John Lewis".
    await call.say("i'd like a filling on monday the seventh of december at eleven")
    r = await call.say("it's on lewis", confidence=0.3, hint=AsrHint("name", "lewis", complete=False))
    assert "I have Lewis" in _spoken(r), _spoken(r)
    r = await call.say("it's john john lewis", hint=AsrHint("name", "pitts johnson lewis", complete=True))
    assert r.slots.get("name") == "John Lewis", (r.slots, _spoken(r))


async def test_a_symptom_in_garble_that_fitted_the_answer_asked_for_is_that_answer(call: Call) -> None:
    # Fresh seed 9797: "Just a teeth cleaning please" heard "your stop the bleeding dream" (0.45), read "lost not the
    # cleaning clean" by the service decoder, went to the urgent line.
    await call.say("i'd like to make an appointment")
    r = await call.say("your stop the bleeding dream", confidence=0.45,
                       hint=AsrHint("service", "lost not the cleaning clean", complete=True))
    assert r.handoff is None and r.slots.get("service") == "cleaning", (r.intent, r.slots, _spoken(r))
    # Heard clearly, a symptom mid-task is still urgent.
    r = await call.say("my gums are bleeding and my face is swollen")
    assert r.handoff is not None and r.handoff.queue == "urgent", _spoken(r)


async def test_a_yes_repair_not_understood_offers_the_keypad_before_a_person(call: Call) -> None:
    # Fresh seed 9797: "Yep, go ahead" heard "the a blockade", then "Yes." heard "the a": two misunderstandings in
    # a row put the caller through, before the keypad's yes and no were offered.
    await call.say("i'd like a filling on tuesday the first of december at half past ten, my name is sally allen")
    r = await call.say("the a blockade", confidence=0.91, hint=AsrHint("confirm", "the go ahead", complete=False))
    assert "was that a yes?" in _spoken(r), (r.intent, _spoken(r))
    r = await call.say("the a", confidence=0.62, hint=AsrHint("confirm", "the", complete=False))
    assert r.handoff is None and "Press 1 for yes" in _spoken(r), (r.intent, _spoken(r))
    r = await call.say("1")
    assert r.outcome == "booked", _spoken(r)


async def test_a_filler_is_no_name(call: Call) -> None:
    # Fresh seed 9797: "Um, uh, my name is Ruth Hall" heard "my name is so": "I have So. And your first name?"
    await call.say("i'd like a filling on tuesday the first of december at half past ten")
    r = await call.say("my name is so", confidence=0.81, hint=AsrHint("name", "my name is", complete=True))
    assert "So" not in _spoken(r).split() and not r.slots.get("name"), (r.slots, _spoken(r))
    # Fresh seed 9898: "Hmm, it's Ruth" heard "it for me" made "For Reed".
    r = await call.say("it for reed", confidence=0.9, hint=AsrHint("name", "", complete=False))
    assert "For" not in _spoken(r).split(), (r.slots, _spoken(r))
    # Fresh seed 9999: "So, the name's Jack Jackson" heard "so the name knock knock" was read back "Name Knock".
    r = await call.say("so the name knock knock", confidence=0.79, hint=AsrHint("name", "the name's", complete=False))
    assert "Name" not in _spoken(r).split(), (r.slots, _spoken(r))
    # Fresh seed 10301: "It's Harry Hill" heard "it really on" (0.44): "I have Really."
    r = await call.say("it really on", confidence=0.44, hint=AsrHint("name", "", complete=False))
    assert "Really" not in _spoken(r), (r.slots, _spoken(r))


async def test_a_weekday_asked_back_read_again_by_the_day_decoder_alone_is_no_yes(call: Call) -> None:
    # Fresh seed 9797: "on the fifth of December" heard "unless it's something", read "on sunday", was asked back
    # "Sorry, was that Sunday ...?"; said again, heard "so unless something" and read "on sunday" again, it was
    # taken as the yes.
    await call.say("i'd like a check up")
    r = await call.say("unless it's something", confidence=0.56, hint=AsrHint("when", "on sunday", complete=True))
    assert _spoken(r).startswith("Sorry, was that Sunday"), _spoken(r)
    r = await call.say("so unless something", confidence=0.83, hint=AsrHint("when", "on sunday", complete=True))
    assert "closed on Sundays" not in _spoken(r) and "date" not in r.slots, (r.slots, _spoken(r))


async def test_the_opening_said_again_drops_the_task_it_started(call: Call) -> None:
    # Fresh seed 10301: "I knocked a tooth out playing football and it's bleeding a lot", heard "i got clearance it
    # all on the fleeting a lot" (0.68), started a cancel and was said five times more to its questions.
    heard = "i got clearance it all on the fleeting a lot"
    r = await call.say(heard, confidence=0.68)
    assert r.slots.get("task") == "cancel", (r.intent, r.slots, _spoken(r))  # the mishearing this is about
    r = await call.say(heard, confidence=0.68,
                       hint=AsrHint("name", "not kathy gleason small under friedman law", complete=False))
    r = await call.say(heard, confidence=0.44, hint=AsrHint("when", "not", complete=False))
    assert "Are you calling to book" in _spoken(r), (r.intent, r.slots, _spoken(r))
    assert not r.slots.get("task") and not r.slots.get("name"), r.slots
    # The opening again is no answer: the same task does not start again from the same words ...
    r = await call.say(heard, confidence=0.58)
    assert not r.slots.get("task") and "book, change or cancel" in _spoken(r), (r.intent, r.slots, _spoken(r))
    # ... while the menu's answer starts the task it names.
    r = await call.say("i need to book an appointment")
    assert r.slots.get("task") == "book", (r.intent, r.slots, _spoken(r))


async def test_an_opening_said_again_with_its_task_heard_clearly_is_an_answer(call: Call) -> None:
    # The opening classed surely and heard clearly is no guess: said again at the day question, it is answered.
    await call.say("i need to cancel my appointment please")
    r = await call.say("i need to cancel my appointment please")
    assert "Are you calling to book" not in _spoken(r), (r.intent, r.slots, _spoken(r))


async def test_a_day_not_understood_twice_is_asked_on_the_keypad_before_a_person(call: Call) -> None:
    # Fresh seed 10301: "Friday the eleventh" heard "floyd i need a layman" twice; the keypad had been offered once
    # beside the spoken answer, and the caller was put through as not understood.
    await call.say("i'd like to book a check-up")
    r = await call.say("floyd i need a layman", confidence=0.32, hint=AsrHint("when", "", complete=False))
    assert "key in the day of the month" in _spoken(r), _spoken(r)
    r = await call.say("floyd i need a layman", confidence=0.5, hint=AsrHint("when", "", complete=False))
    assert r.handoff is None, _spoken(r)
    assert _spoken(r) == ("Sorry, I'm still not getting it. Let's use your phone's keypad. Which day suits you? "
                          "Please key in the day of the month."), _spoken(r)
    assert r.entry_keys == 2, r
    r = await call.say("11#")
    assert r.slots.get("date") == "2026-12-11" and r.handoff is None, (r.slots, _spoken(r))


async def test_the_keypad_last_try_comes_once_then_a_person(call: Call) -> None:
    await call.say("i'd like to book a check-up")
    await call.say("floyd i need a layman", confidence=0.32, hint=AsrHint("when", "", complete=False))
    r = await call.say("floyd i need a layman", confidence=0.5, hint=AsrHint("when", "", complete=False))
    r = await _keypad_last_try_then(call, r, "floyd i need a layman")
    assert r.handoff is not None and r.handoff.reason == "misunderstood", _spoken(r)


async def test_a_cancels_read_back_answered_with_a_move_moves_the_booking_found(call: Call) -> None:
    # Fresh seed 10402: "No, hi, this is Steven Adams, can I move my appointment from Monday to the fifth ..." heard
    # with "can i move my appointment" four times at a cancel's read-back, and read back as the cancel each time.
    ref = _insert(call.scope, "Brian Young", "2026-11-30 09:00")
    await call.say("i want to cancel my appointment")
    await call.say("it's brian young")
    r = await call.say("it's november thirtieth")
    assert "Shall I cancel it?" in _spoken(r), _spoken(r)
    r = await call.say("no i live in favorite adam can i move my appointment from monday benefit flailed thirty pm",
                       confidence=0.85)
    assert r.slots.get("task") == "reschedule" and r.slots.get("booking_ref") == ref, (r.slots, _spoken(r))
    assert "move it to" in _spoken(r), _spoken(r)
    r = await call.say("to december the fourth at half past twelve")
    assert "So I'll move the" in _spoken(r) and "Friday the fourth of December" in _spoken(r), _spoken(r)


async def test_a_moves_read_back_answered_with_a_cancel_reads_the_cancel_back_first(call: Call) -> None:
    _insert(call.scope, "Brian Young", "2026-11-30 09:00")
    await call.say("i want to move my appointment")
    await call.say("it's brian young")
    await call.say("it's on november thirtieth")
    r = await call.say("to december the fourth at half past twelve")
    assert "So I'll move the" in _spoken(r), _spoken(r)
    r = await call.say("no actually i want to cancel my appointments")  # the recogniser's plural
    assert r.slots.get("task") == "cancel" and "Shall I cancel it?" in _spoken(r), (r.slots, _spoken(r))
    assert r.outcome is None, r.outcome


async def test_something_else_half_guessed_gives_way_to_a_whole_answer_to_the_question(call: Call) -> None:
    # Fresh seed 10402: "Um, three thirty please" heard "ah my earring thirty players" (0.97), out of scope at 0.76,
    # read "three thirty please" whole: asked again, then put through.
    await call.say("i'd like a check-up on friday the fourth of december")
    # Clearly another business's, a request is still that (asked again once) ...
    r = await call.say("do you sell concert tickets", hint=AsrHint("when", "", complete=False))
    assert r.intent == "out_of_scope" and "misheard" in _spoken(r), (r.intent, _spoken(r))
    # ... and the answer half guessed as another is the answer, not the second request that would put it through.
    r = await call.say("ah my earring thirty players", confidence=0.97,
                       hint=AsrHint("when", "three thirty please", complete=True))
    assert r.slots.get("time") == "15:30" and r.handoff is None, (r.intent, r.slots, _spoken(r))


async def test_the_day_question_asked_again_offers_the_keypad_whatever_the_turn_filled(call: Call) -> None:
    # Fresh seed 10402: "Which day suits you?" asked three times, no keypad offered: each answer gave the time.
    await call.say("i'd like a filling")
    r = await call.say("on that been up off off date", confidence=0.78,
                       hint=AsrHint("when", "on the day after half past eight", complete=True))
    assert r.slots.get("time") == "08:30" and "Which day" in _spoken(r), (r.slots, _spoken(r))
    r = await call.say("on the paper thin eight thirty", confidence=0.69,
                       hint=AsrHint("when", "on eight thirty", complete=True))
    assert "key in the day of the month" in _spoken(r), (r.slots, _spoken(r))


async def test_a_request_for_something_else_far_back_does_not_count_at_a_later_question(call: Call) -> None:
    # Fresh seed 10402: an opening heard out of scope, and eight turns on a phone number heard as another request
    # ("my not married zero feynman ...", 0.9975): put through at the number question, not asked again.
    r = await call.say("do you sell concert tickets")
    assert "misheard" in _spoken(r), _spoken(r)
    r = await call.say("i'd like to book a check-up")
    assert "Which day" in _spoken(r), _spoken(r)
    r = await call.say("do you sell concert tickets", hint=AsrHint("when", "", complete=False))
    assert r.intent == "out_of_scope" and r.handoff is None and "misheard" in _spoken(r), _spoken(r)


async def test_something_else_keyed_at_the_keypad_menu_is_told_honestly_the_line_cannot_help(call: Call) -> None:
    # Fresh seed 10503: 5 of 26 failed calls were callers with another business's request who reached the keypad
    # menu and had only 0 to press: put through with nothing said about why.
    await call.say("purple monkey dishwasher")
    r = await call.say("flibbertigibbet")
    r = await call.say("no", hint=AsrHint("yes_no", "no", complete=True))
    assert "8 if it's about something else" in _spoken(r), _spoken(r)
    r = await call.say("8")
    assert r.handoff is not None and r.handoff.reason == "out_of_scope", _spoken(r)
    assert "can't help with that" in _spoken(r), _spoken(r)


async def test_a_half_name_refused_when_said_back_is_spelled_then_the_other_half(call: Call) -> None:
    # "I have Ward. And your first name?" - "Not quite, it's Jack Wood": the half said back is wrong (all 158 times
    # in ten 200-call reports). It is spelled, not the half asked for, then the other half.
    await call.say("i'd like a filling on wednesday at ten o'clock")
    r = await call.say("my name is ward", hint=AsrHint("name", "my name is ward", complete=True), confidence=0.9)
    assert "I have Ward. And your first name?" in _spoken(r), _spoken(r)
    r = await call.say("not like it's like world", hint=AsrHint("name", "not quite ward", complete=False),
                       confidence=0.73)
    assert "spell your surname" in _spoken(r) and not r.slots.get("name_part"), (_spoken(r), r.slots)
    r = await call.say("9663#")
    assert "spell your first name" in _spoken(r) and r.slots.get("name_part") == "Wood", (_spoken(r), r.slots)
    r = await call.say("5225#")
    assert "for Jack Wood" in _spoken(r), (_spoken(r), r.slots)


async def test_a_spelled_half_stays_when_a_no_at_the_read_back_holds_half_a_name(call: Call) -> None:
    # Fresh seed 11614: Jack spelled, "Jack Ward" read back; "No, sorry, the name is Jack Wood" heard "... world",
    # read "ward": the spelled half was dropped and "I have Ward. And your first name?" asked again.
    await call.say("i'd like a filling on wednesday at ten o'clock")
    await call.say("my name is ward", hint=AsrHint("name", "my name is ward", complete=True), confidence=0.9)
    r = await call.say("ward", hint=AsrHint("name", "ward", complete=True), confidence=0.9)
    assert "spell your first name" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say("5225#")
    assert "for Jack Ward" in _spoken(r), (_spoken(r), r.slots)
    r = await call.say("no sorry my name is world", confidence=0.94,
                       hint=AsrHint("confirm", "no monday may", complete=False, name="no sorry my name is ward"))
    assert "spell your surname" in _spoken(r) and r.slots.get("name_part") == "Jack", (_spoken(r), r.slots)
    r = await call.say("9663#")
    assert "for Jack Wood" in _spoken(r), (_spoken(r), r.slots)


async def test_a_service_word_at_another_question_does_not_change_the_service(call: Call) -> None:
    # Fresh seed 11614: "the first of December hmm at half past eight please" heard "... at half mast a clean up" at
    # the day question turned a filling into a cleaning.
    r = await call.say("i'd like a filling on wednesday please")
    assert r.slots.get("service") == "filling" and r.slots.get("requested_slot") == "time", r.slots
    r = await call.say("ten o'clock clean", hint=AsrHint("when", "ten o'clock please", complete=True), confidence=0.9)
    assert r.slots.get("service") == "filling" and r.slots.get("time") == "10:00", r.slots


async def test_a_service_correction_both_decoders_heard_nearly_is_taken(call: Call) -> None:
    # Fresh seed 11614: "Not quite, it's for a new filling" heard "why is it a feeling", read "not quite a filling",
    # went round "What would you like to change?" until the caller gave up.
    r = await call.say("i'd like a cleaning on wednesday at ten o'clock my name is mark nelson")
    assert "a cleaning" in _spoken(r) and r.slots.get("requested_slot") == "confirmed", _spoken(r)
    r = await call.say("why is it a feeling", hint=AsrHint("confirm", "not quite a filling", complete=False),
                       confidence=0.5)
    assert r.slots.get("service") == "filling" and "a filling" in _spoken(r), (_spoken(r), r.slots)


async def test_a_day_given_again_after_its_hours_were_refused_asks_the_time_with_the_keypad(call: Call) -> None:
    # Fresh seed 11614, twice: "half past ten" heard "half past seven", outside Saturday's hours; the day asked for,
    # the caller keyed in the same day, and the day was asked again and again until a person.
    await call.say("i'd like a filling on saturday")
    r = await call.say("half past seven", hint=AsrHint("when", "half past seven", complete=True), confidence=0.8)
    assert "outside our opening hours" in _spoken(r) and "The nearest I can offer" in _spoken(r), _spoken(r)
    r = await call.say("neither i asked for half past seven",
                       hint=AsrHint("when", "neither half past seven", complete=True), confidence=0.8)
    assert "Half past seven is outside our opening hours" in _spoken(r) and "Which day" in _spoken(r), _spoken(r)
    assert r.slots.get("requested_slot") == "date", r.slots
    r = await call.say("saturday", hint=AsrHint("when", "saturday", complete=True), confidence=0.8)
    assert "misheard the time" in _spoken(r) and "key in the time" in _spoken(r), _spoken(r)
    assert r.slots.get("requested_slot") == "time" and not r.slots.get("time"), r.slots
    r = await call.say("1030#")
    assert r.slots.get("time") == "10:30" and r.slots.get("requested_slot") == "name", (_spoken(r), r.slots)


async def test_the_detail_not_heard_in_a_correction_heard_as_read_back_is_asked_with_the_keypad(call: Call) -> None:
    # Simulated seed 10806: "No, on the seventeenth at one thirty" heard "no on the famine seen of one thirty": the
    # time as read back, the day lost. "I still have the same details" and the same read-back, twice, then a person.
    await call.say("i'd like a cleaning on thursday the tenth of december at half past one, my name is peter murphy")
    r = await call.say("no")
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("on the famine seen of one thirty", hint=AsrHint("service", "half one thirty", complete=False),
                       confidence=0.8)
    assert "misheard the day" in _spoken(r) and "key in the day" in _spoken(r), _spoken(r)
    assert r.slots.get("requested_slot") == "date" and r.slots.get("time") == "13:30", r.slots
    r = await call.say("17#")
    assert "the seventeenth of December at half past one" in _spoken(r), _spoken(r)


async def test_the_time_not_heard_in_a_correction_heard_as_read_back_is_asked_with_the_keypad(call: Call) -> None:
    # Fresh seed 11412: "On Wednesday the second at three" heard "on wednesday my second best for you" against
    # Wednesday the second at noon.
    await call.say("i'd like a cleaning on wednesday the second of december at noon, my name is susan taylor")
    await call.say("no")
    r = await call.say("on wednesday my second best for you",
                       hint=AsrHint("service", "on wednesday my second three", complete=False), confidence=0.7)
    assert "misheard the time" in _spoken(r) and "key in the time" in _spoken(r), _spoken(r)
    assert r.slots.get("requested_slot") == "time" and r.slots.get("date") == "2026-12-02", r.slots


async def test_a_day_restated_alone_and_heard_as_read_back_is_asked_with_the_keypad(call: Call) -> None:
    await call.say("i'd like a cleaning on thursday the tenth of december at half past one, my name is peter murphy")
    await call.say("no")
    r = await call.say("the tenth", confidence=0.8)
    assert "misheard the day" in _spoken(r) and r.slots.get("requested_slot") == "date", (_spoken(r), r.slots)


async def test_a_name_said_as_read_back_when_asked_what_to_change_is_spelled(call: Call) -> None:
    # Simulated seed 10806: "It's Anna Wilson" heard "sam wilson" at "What would you like to change?": "I still have
    # the same details", and Sam Wilson read back again.
    await call.say("i'd like a cleaning on thursday at half past one, my name is sam wilson")
    await call.say("no")
    r = await call.say("it's sam wilson", confidence=0.8)
    assert "Could you spell your surname" in _spoken(r) and "same details" not in _spoken(r), _spoken(r)
    assert r.slots.get("name_part") == "Sam", r.slots


async def test_a_name_changes_at_the_read_back_only_with_words_that_say_a_name_and_to_a_list_name(call: Call) -> None:
    # Fresh seed 11210: "December the sixteenth uh half past two" heard "the been of the things off moscow", read
    # "bender singh philip acevedo", replaced a right Emma Walker; seed 11311: "No, it's for a tooth filled" heard
    # "nope it's so feel" made John King "John Feel".
    r = await call.say("i'd like a cleaning on wednesday at ten o'clock my name is emma walker")
    assert "for Emma Walker" in _spoken(r), _spoken(r)
    r = await call.say("not flown between benefits things off moscow", confidence=0.83,
                       hint=AsrHint("confirm", "not wrong half past go", complete=False,
                                    name="knox wrong bender murphy singh pope"))
    assert r.slots.get("name") == "Emma Walker", (_spoken(r), r.slots)
    r = await call.say("the been of the things off moscow", confidence=0.79,
                       hint=AsrHint("service", "", complete=False, name="bender singh philip acevedo"))
    assert r.slots.get("name") == "Emma Walker", (_spoken(r), r.slots)
    r = await call.say("nope it's so feel", confidence=0.78, hint=AsrHint("confirm", "nope", complete=False,
                                                                            name="no no"))
    assert r.slots.get("name") == "Emma Walker", (_spoken(r), r.slots)
    # Said with the words of a name, a list name is taken.
    r = await call.say("no my name is emma wilson", confidence=0.8,
                       hint=AsrHint("confirm", "no", complete=False, name="no my name is emma wilson"))
    assert "for Emma Wilson" in _spoken(r), (_spoken(r), r.slots)


async def test_the_request_said_again_when_asked_what_to_change_reads_back_again(call: Call) -> None:
    # Fresh seed 11715: "That's it, yes" heard "not only the yeah" at a cancel's read-back; asked what to change, the
    # caller said the whole request again, twice, and was put through.
    r = await call.say("i'd like a cleaning on wednesday at ten o'clock my name is emma walker")
    assert "for Emma Walker" in _spoken(r), _spoken(r)
    r = await call.say("not only the yeah", confidence=0.74, hint=AsrHint("confirm", "not", complete=True, name="not"))
    assert "What would you like to change?" in _spoken(r), _spoken(r)
    r = await call.say("hello i'd like to book an appointment please", confidence=0.89,
                       hint=AsrHint("service", "no visit", complete=False, name="law hahn"))
    assert "misheard you" in _spoken(r) and "for Emma Walker" in _spoken(r) and "Shall I book it?" in _spoken(r), \
        (_spoken(r), r.slots)


async def test_a_short_no_without_a_no_word_read_as_a_whole_yes_is_asked_again(call: Call) -> None:
    # Fresh seed 11614: "Sounds good" heard "i'm good" (classed a no), read "sounds good": asked what to change.
    r = await call.say("i'd like a cleaning on wednesday at ten o'clock my name is emma walker")
    assert "for Emma Walker" in _spoken(r), _spoken(r)
    r = await call.say("i'm good", confidence=0.79, hint=AsrHint("confirm", "sounds good", complete=True))
    assert "was that a yes?" in _spoken(r), (r.intent, _spoken(r))
    r = await call.say("yes")
    assert r.outcome == "booked", _spoken(r)
