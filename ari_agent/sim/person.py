"""A simulated person on the phone: hears what the agent says and answers from its goal, as people do.

It answers the question actually asked (the agent's `requested_slot` and its words), gives details all at
once or bit by bit, checks every read-back against what it wants and corrects what is wrong, asks a
question mid-flow, asks for a repeat, and gives up politely (asks for a person) when it keeps being
misunderstood. It never looks at the agent's internals beyond what a caller could hear, except the
requested slot, which only saves it from guessing which question a sentence asked.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from ari_agent import lexicon
from ari_agent.sim import phrasing as say
from ari_agent.sim.goals import SimCall

MAX_TURNS = 18  # a person gives up (hangs up) after this many turns without getting anywhere
PATIENCE = 3  # corrections of one detail before asking for a person


@dataclass(frozen=True, slots=True)
class Say:
    """Speak `text`; `|` marks breaks where the person may pause."""

    text: str
    barge_in: bool = False

    @property
    def plain(self) -> str:
        """The words without break marks."""
        return re.sub(r"\s*\|\s*", " ", self.text).strip()


@dataclass(frozen=True, slots=True)
class Silence:
    """Say nothing for `seconds`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call."""


@dataclass(frozen=True, slots=True)
class Keys:
    """Press `digits` on the phone's keypad (DTMF)."""

    digits: str


Action = Say | Silence | HangUp | Keys
# Told that the number can be keyed in, most people do it once saying it has failed.
KEYS_RATE = 0.8

# "Could you spell your surname ...?", "Please key in your first name ...": which half of the name is asked for.
_SPELL_ASK = re.compile(r"\b(?:spell|key in) your (first name|surname)")
_CONFIRM = re.compile(r"shall i (book|cancel) it|is that right|shall i go ahead")
_ANYTHING_ELSE = re.compile(r"anything else|what else can i do")
_MENU = re.compile(r"calling to book|book, change or cancel")
_REPEAT_ASK = re.compile(r"didn't (quite )?catch|say (it|that) another way|not sure what you mean|say that again")
_WEEKDAY_RE = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")


@dataclass
class Person:
    """One caller with one goal; `respond` is called whenever the agent has finished a reply."""

    call: SimCall
    rng: random.Random = field(init=False)
    turns: int = 0
    opened: bool = False
    told: set[str] = field(default_factory=set)  # details given so far: service, when, name, phone, old
    done: bool = False  # the goal was met as far as the caller can tell
    mid_asked: bool = False
    corrections: dict[str, int] = field(default_factory=dict)
    last: Say | None = None
    said_goodbye: bool = False
    repeats_asked: int = 0
    pending_fix: str = ""  # the detail to give when the agent asks what to change
    pending_wrong: str = ""  # which details are wrong, in words ("the name", "the day and the time")
    read_back_right: bool | None = None  # whether the last read-back heard was all right

    def __post_init__(self) -> None:
        self.rng = random.Random(f"person:{self.call.seed}:{self.call.index}")

    # --- what the caller wants, in words --------------------------------------------------------------
    @property
    def _today(self) -> date:
        return self.call.now.date()

    def _day(self) -> str:
        goal = self.call.goal
        assert goal.starts_at is not None
        return say.day_phrase(goal.starts_at.date(), self._today, self.rng)

    def _time(self) -> str:
        goal = self.call.goal
        assert goal.starts_at is not None
        return say.time_phrase(goal.starts_at.time(), self.rng)

    def _day_asked(self, text: str, requested: str) -> date | None:
        """The date a day question asks for: the booking's own (cancel, or "appointment on") or the one wanted."""
        goal = self.call.goal
        if goal.kind == "cancel" or requested == "old_date" or "appointment on" in text:
            return goal.existing.starts_at.date() if goal.existing else None
        return goal.starts_at.date() if goal.starts_at else None

    def _old_day(self) -> str:
        existing = self.call.goal.existing
        assert existing is not None
        return say.day_phrase(existing.starts_at.date(), self._today, self.rng)

    def _speak(self, text: str, *, barge_in: bool = False) -> Say:
        persona = self.call.persona
        text = say.with_filler(text, self.rng, persona.filler_rate)
        self.last = Say(text, barge_in=barge_in)
        return self.last

    # --- the conversation -----------------------------------------------------------------------------
    def respond(self, heard: str, slots: dict[str, object], *, outcome: str | None = None) -> Action:
        """The caller's next move after hearing `heard` (the agent's reply since the caller last spoke)."""
        self.turns += 1
        goal = self.call.goal
        text = heard.lower()
        if outcome in ("booked", "cancelled", "rescheduled"):
            self.done = True
        if self.turns > MAX_TURNS or ("goodbye" in text and "thank you for calling" in text):
            return HangUp()
        if goal.kind == "no_input":
            return Silence(7.0)
        if not self.opened:
            self.opened = True
            return self._opening()
        if self.said_goodbye:
            return HangUp()
        if self.done and (_ANYTHING_ELSE.search(text) or "how can i help" in text):
            return self._goodbye()
        if goal.kind.startswith("ask_") and self._answered(goal.question, text):
            self.done = True
            return self._goodbye()
        if "can't help with that" in text:
            if goal.kind == "out_of_scope":
                self.done = True
                return self._goodbye() if self.rng.random() < 0.6 else self._speak(self.call.goal.request)
            return self._speak(self._restate())
        if self.done and goal.kind == "out_of_scope":
            return self._goodbye()
        if "new appointment instead" in text:
            # Offered a booking when the one to cancel or move was not found: what the caller came for decides.
            if goal.kind == "book":
                return self._speak(say.pick(self.rng, ("Yes, please.", "Yes, I'd like to book.", "Yes.",
                                                       "Yes, that's what I wanted.")))
            if goal.writes:
                return self._speak(say.no_but(f"I already have one, it's {self._old_day()}", self.rng))
        if "an appointment you already have" in text:
            # Asked whether the call is about a booking already made (to move or cancel): the goal decides.
            if ("move" in text and goal.kind == "reschedule") or ("cancel" in text and goal.kind == "cancel"):
                return self._speak(say.pick(self.rng, ("Yes.", "Yes, that's right.", "Yes, I do.", "Yes please.")))
            return self._speak(say.no_but(self._restate(), self.rng))
        if "something other than the dental clinic" in text:
            # Asked whether the call is about something else: what the caller came for decides.
            if goal.kind == "out_of_scope":
                return self._speak(say.pick(self.rng, ("Yes.", "Yes, it is.", "Yeah, that's right.",
                                                       f"Yes. {goal.request}")))
            return self._speak(f"{say.pick(self.rng, ('No.', 'No, it is not.', 'No, no.'))} {self._restate()}")
        if "press 1 for yes" in text and self.read_back_right is not None and self.rng.random() < KEYS_RATE:
            return Keys("1" if self.read_back_right else "2")  # offered the keypad for the yes or the no
        if ("was that a yes?" in text or "press 1 for yes" in text) and self.read_back_right is not None:
            # Asked whether the answer to the read-back was a yes: a person says yes or no again, briefly.
            if self.read_back_right:
                return self._speak(say.pick(self.rng, ("Yes.", "Yes, it was.", "Yes please.", "Yep.", "Yes, yes.")))
            return self._speak(say.no_but(self.pending_fix, self.rng))
        keyed = self._key_offered(text)
        if keyed is not None and self.rng.random() < KEYS_RATE:
            return Keys(keyed)
        if "key in the day of the month" in text and goal.writes and self.rng.random() < KEYS_RATE:
            day = self._day_asked(text, str(slots.get("requested_slot") or ""))
            if day is not None:
                return Keys(f"{day.day}#")
        if "key in the time" in text and goal.starts_at is not None and self.rng.random() < KEYS_RATE:
            at = goal.starts_at
            return Keys(f"{at.hour - 12 if at.hour > 12 else at.hour}{at.minute:02d}#")  # 14:30 as "2 3 0"
        spell = _SPELL_ASK.search(text)
        if spell and "one key for each letter" in text and goal.name and self.rng.random() < KEYS_RATE:
            first, last = goal.name.split(" ", 1)
            return Keys(f"{lexicon.keypad_keys(first if spell.group(1) == 'first name' else last)}#")
        number_keys = "keypad" in text and "number" in text
        if number_keys and goal.phone and self._number_misheard(text) and self.rng.random() < KEYS_RATE:
            self.told.add("phone")
            return Keys(f"{goal.phone}#")
        if _CONFIRM.search(text):
            return self._confirm(text)
        if _MENU.search(text):
            return self._menu_answer()
        if "which is wrong:" in text:
            return self._which_wrong()
        if "what would you like to change" in text:
            return self._speak(self.pending_fix or self._restate())
        if _REPEAT_ASK.search(text) and not re.search(r"\?\s*$", text.split(".")[-1] or "") and self.last:
            return self._rephrase("another way" in text)
        requested = str(slots.get("requested_slot") or "")
        if self.call.mid_question and not self.mid_asked and requested and goal.writes:
            self.mid_asked = True
            return self._speak(f"Oh, before that, | {say.question(self.call.mid_question, self.rng).lower()}")
        answer = self._answer_slot(requested, text)
        if answer is not None:
            return self._speak(answer)
        if _REPEAT_ASK.search(text) and self.last is not None:
            return self._rephrase("another way" in text)
        if "how can i help" in text or "what else can i do" in text:
            return self._speak(self._restate())
        if self.done:
            return self._goodbye()
        return self._speak(self._restate())

    def _key_offered(self, text: str) -> str | None:
        """The key to press when the agent offers choices on the keypad ("press 1 for a check-up, 2 for a
        cleaning", "press 1 to book an appointment, 2 to change one, ... or 0 to speak to someone"): the one whose
        words fit the goal, as a caller picks by listening. None when no choice fits or none is offered."""
        if "press" not in text:
            return None
        goal = self.call.goal
        # "1 for a check-up", "2 to change one", "9 if you're in pain or it's urgent": each key with its words.
        choices: dict[str, str] = {words: key for key, words in re.findall(r"\b(\d) ((?:for|to|if) [^,.?]+)", text)}
        wanted: tuple[str, ...]
        if goal.kind == "book" and goal.service and any(re.search(r"\b(check|clean|fill)", w) for w in choices):
            wanted = ({"check-up": "check", "cleaning": "clean", "filling": "fill"}.get(goal.service, goal.service),)
        else:
            # Something else than the line offers: that choice where there is one, else a person.
            wanted = {"book": ("book",), "reschedule": ("change",), "cancel": ("cancel",), "urgent": ("urgent",),
                      "ask_hours": ("hours",), "ask_address": ("address",), "ask_price": ("price",),
                      "out_of_scope": ("else", "speak")}.get(goal.kind, ("speak",))
        for want in wanted:  # in the order the person prefers them
            for words, key in choices.items():
                if re.search(rf"\b{want}", words):
                    return key
        return None

    def _number_misheard(self, text: str) -> bool:
        """Whether the number the agent said back ("I heard 0 7 4 6 again"), if any, is not the caller's."""
        said = re.search(r"\b\d(?: \d){5,}\b", text)
        return said is None or said.group(0).replace(" ", "") != self.call.goal.phone

    def _opening(self) -> Action:
        goal, persona = self.call.goal, self.call.persona
        rng = self.rng
        if goal.kind == "book":
            if persona.all_at_once:
                self.told |= {"service", "when", "name"}
                day = self._day()
                if goal.wrong_day is not None:
                    day = f"{say.day_phrase(goal.wrong_day, self._today, rng)}, | no sorry, | {day}"
                return self._speak(say.book_everything(goal.service, day, self._time(), goal.name, rng))
            if rng.random() < 0.5:
                self.told.add("service")
                return self._speak(say.book_with_service(goal.service, rng))
            return self._speak(say.book_opener(rng))
        if goal.kind == "cancel":
            if persona.all_at_once:
                self.told |= {"old", "name"}
            return self._speak(say.cancel_opener(self._old_day(), goal.name, rng, persona.all_at_once))
        if goal.kind == "reschedule":
            if persona.all_at_once:
                self.told |= {"old", "name", "when"}
            return self._speak(
                say.reschedule_opener(self._old_day(), self._day(), self._time(), goal.name, rng, persona.all_at_once)
            )
        if goal.kind.startswith("ask_"):
            return self._speak(say.question(goal.question, rng))
        if goal.kind == "human":
            return self._speak(say.ask_human(rng))
        return self._speak(goal.request)

    def _restate(self) -> str:
        """The caller's need again, in new words (after 'How can I help?' or a misunderstanding)."""
        goal = self.call.goal
        if goal.kind == "book":
            return say.book_with_service(goal.service, self.rng)
        if goal.kind == "cancel":
            return say.cancel_opener(self._old_day(), goal.name, self.rng, True)
        if goal.kind == "reschedule":
            return say.reschedule_opener(self._old_day(), self._day(), self._time(), goal.name, self.rng, True)
        if goal.kind.startswith("ask_"):
            return say.question(goal.question, self.rng)
        if goal.kind == "human":
            return say.ask_human(self.rng)
        return goal.request

    def _rephrase(self, other_words: bool) -> Action:
        self.repeats_asked += 1
        if self.repeats_asked > PATIENCE:
            return self._speak(say.ask_human(self.rng))
        assert self.last is not None
        if other_words and self.rng.random() < 0.7:
            return self._speak(self._restate())  # asked to say it another way: people use other words
        return self._speak(self.last.text)

    def _menu_answer(self) -> Action:
        """Asked which of a few things the call is about: a few words, or for a question often the question."""
        self.repeats_asked += 1
        if self.repeats_asked > PATIENCE:
            return self._speak(say.ask_human(self.rng))
        answer = say.menu_answer(self.call.goal.kind, self.rng)
        if answer is None or (self.call.goal.kind.startswith("ask_") and self.rng.random() < 0.5):
            return self._speak(self._restate())
        return self._speak(answer)

    def _goodbye(self) -> Action:
        self.said_goodbye = True
        if not self.call.persona.says_goodbye:
            return HangUp()
        return self._speak(say.goodbye(self.rng))

    def _answered(self, kind: str, text: str) -> bool:
        return {
            "hours": "open" in text and ("monday" in text or "saturday" in text),
            "address": "river street" in text,
            "price": "sixty" in text or "eighty" in text or "hundred" in text,
        }[kind]

    def _answer_slot(self, requested: str, text: str) -> str | None:
        goal, rng = self.call.goal, self.rng
        if not goal.writes:
            return None  # asked for booking details it never wanted: it says again what it wants
        if goal.kind == "cancel" and (requested in ("service", "time") or "come in for" in text
                                      or ("what time" in text and "which day" not in text)):
            # A new booking's question put to a caller who came to cancel (the opening misheard as a booking): a
            # person says what they came for, not a service or a time they do not want.
            return say.no_but(self._restate(), rng)
        check = re.search(r"\bwas that an? (check-up|cleaning|filling)\?", text)
        if check:
            # A service asked back ("Sorry, was that a filling?"): yes when it is the one wanted, else no and
            # the right one.
            self.told.add("service")
            if check.group(1) == goal.service:
                return say.pick(rng, ("Yes.", "Yes, that's right.", f"Yes, {say.service_phrase(goal.service, rng)}.",
                                      "That's it, yes."))
            return say.no_but(say.service_phrase(goal.service, rng), rng)
        if requested == "service" or "come in for" in text:
            self.told.add("service")
            s = say.service_phrase(goal.service, rng)
            return say.pick(rng, (f"{s}.", f"I need {s}.", f"Just {s} please.", f"{s.capitalize()}, please."))
        if requested in ("date", "time") or "which day" in text or "what time" in text or "suit you" in text:
            if goal.kind in ("cancel",) or (goal.kind == "reschedule" and "appointment on" in text):
                self.told.add("old")
                return f"It's {self._old_day()}."
            offered = self._offered_times(text)
            if offered:
                return self._pick_offer(offered)
            self.told.add("when")
            if requested == "time" or ("what time" in text and "which day" not in text):
                return f"{self._time()}." if self.rng.random() < 0.5 else f"Um, | {self._time()} please."
            if self.call.persona.all_at_once or self.rng.random() < 0.5:
                return say.when_phrase(self._day(), self._time(), rng)
            return f"{self._day()}."
        if (requested == "old_date" or "appointment on" in text) and goal.existing is None:
            # Asked for the day of an appointment they do not have (the agent took them to be moving or cancelling
            # one): a person says so and what they want.
            return say.no_but(f"I don't have an appointment. {self._restate()}", rng)
        if requested == "old_date" or "appointment on" in text:
            self.told.add("old")
            day = self._old_day()
            return say.pick(rng, (f"It's {day}.", f"{day}.", f"I think it's {day}."))
        spell = _SPELL_ASK.search(text)
        if spell:
            first, last = goal.name.split(" ", 1)
            return say.spelled_phrase(first if spell.group(1) == "first name" else last, rng)
        part = re.search(r"\bi have ([a-z' -]+?)\. and your (first name|surname)", text)
        if part:
            # Half the name said back: a person corrects a wrong half with the whole name, and gives the half
            # asked for alone or with the whole name.
            first, last = goal.name.split(" ", 1)
            heard_half = part.group(1).strip()
            if not (sounds_like(heard_half, first) or sounds_like(heard_half, last)):
                return say.no_but(f"it's {goal.name}", rng)
            half = first if part.group(2) == "first name" else last
            return say.pick(rng, (f"{half}.", f"It's {half}.", f"{goal.name}.", f"It's {half}, {goal.name}."))
        if requested == "name" or "your name" in text or "name is the booking" in text:
            self.told.add("name")
            return say.name_phrase(goal.name, rng)
        if requested == "phone" or "number can we reach" in text:
            self.told.add("phone")
            return say.phone_phrase(goal.phone or "07700900123", rng)
        return None

    def _offered_times(self, text: str) -> list[str]:
        if "would" in text and " or " in text and "suit you" in text:
            return re.findall(r"(half past \w+|quarter (?:past|to) \w+|\w+ o'clock|noon)", text)
        if "nearest i can offer" in text:
            # Only what follows the offer: "Half past eight is already taken. The nearest I can offer is eight
            # o'clock or ten o'clock" offers no half past eight (a caller kept asking for the taken time).
            offers = text.split("nearest i can offer", 1)[1]
            return re.findall(r"(half past \w+|quarter (?:past|to) \w+|\w+ o'clock|noon)", offers)
        return []

    def _pick_offer(self, offered: list[str]) -> str:
        goal = self.call.goal
        assert goal.starts_at is not None
        wanted = _clock_words(goal.starts_at.hour, goal.starts_at.minute)
        if wanted in offered:
            return f"{wanted.capitalize()} please."
        count = self.corrections.get("offer", 0) + 1
        self.corrections["offer"] = count
        if count >= PATIENCE:
            return say.ask_human(self.rng)
        return f"Neither, | I asked for {self._time()}."

    # --- read-backs -----------------------------------------------------------------------------------
    def _confirm(self, text: str) -> Action:
        # A person checks what is read back, not an answer given just before it ("a filling starts at a hundred
        # and twenty. So, so that's a cleaning on ...": the filling of the price list is not the booking's).
        # Nor a day said to have nothing on it ("There's nothing on Sunday the sixth. I have a filling for John
        # Baker on Friday the eleventh ... Shall I cancel it?": the booking found is the one read back).
        start = max(text.rfind(lead) for lead in ("so that's", "so i'll move", "i have a "))
        wrong = self._first_wrong(text[start:] if start >= 0 else text)
        self.read_back_right = wrong is None
        if wrong is None:
            task = {"book": "book", "cancel": "cancel", "reschedule": "reschedule"}.get(self.call.goal.kind, "")
            barge = self.call.persona.talks_over and not self.call.persona.text_only
            return self._speak(say.yes(self.rng, task), barge_in=barge)
        count = self.corrections.get(wrong, 0) + 1
        self.corrections[wrong] = count
        if count > PATIENCE:
            return self._speak(say.ask_human(self.rng))
        fix = self._correction(wrong)
        self.pending_fix = fix
        self.pending_wrong = self._wrong_in_words(wrong, text[start:] if start >= 0 else text)
        return self._speak(say.no_but(fix, self.rng))

    def _wrong_in_words(self, wrong: str, read_back: str) -> str:
        """What a person says to "Which is wrong: the day, the time or the name?"."""
        if wrong == "when":
            goal = self.call.goal
            assert goal.starts_at is not None
            start = goal.starts_at
            _, _, new_part = read_back.rpartition(" to ") if goal.kind == "reschedule" else ("", "", read_back)
            day_right = bool(re.search(rf"\bthe {say.ordinal(start.day).replace(' ', '[ -]')}\b", new_part))
            time_right = _clock_words(start.hour, start.minute) in new_part
            if day_right and not time_right:
                return "the time"
            if time_right and not day_right:
                return "the day"
            return "the day and the time"
        return {"name": "the name", "service": "the service", "phone": "the number", "old": "the day"}.get(wrong, "")

    def _which_wrong(self) -> Action:
        if not self.pending_wrong:
            return self._speak(self.pending_fix or self._restate())
        if self.rng.random() < 0.5:
            return self._speak(f"{self.pending_wrong.capitalize()}.")
        return self._speak(f"{self.pending_wrong.capitalize()}, | {self.pending_fix}.")

    def _first_wrong(self, text: str) -> str | None:
        goal = self.call.goal
        verb = {"book": "book", "cancel": "cancel", "reschedule": "move"}.get(goal.kind)
        if verb is None or verb not in text:
            return "task"  # asked to book when they wanted to move it, or the other way round
        if goal.kind == "cancel":
            existing = goal.existing
            assert existing is not None
            if goal.name.lower() not in text:
                return "name"
            if not _says_start(text, existing.starts_at):
                return "old"
            return None
        if goal.kind == "reschedule":
            existing = goal.existing
            assert existing is not None and goal.starts_at is not None
            _, _, new_part = text.rpartition(" to ")
            if not _says_start(new_part, goal.starts_at):
                return "when"
            return None
        if goal.kind != "book" or goal.starts_at is None:
            return "task"
        # "..., for Jennifer Wood, and we'll reach you ...": the last "for <words>," is the name read back.
        names = re.findall(r"\bfor ([a-z' -]+?)(?:,|\.|\?| and we'll|$)", text)
        if not names or not sounds_like(names[-1].strip(), goal.name):
            return "name"
        if not _says_start(text, goal.starts_at):
            return "when"
        if goal.service not in text:
            return "service"
        if goal.phone and " ".join(goal.phone) not in text:
            return "phone"
        return None

    def _correction(self, wrong: str) -> str:
        goal, rng = self.call.goal, self.rng
        if wrong == "name":
            return say.pick(rng, (f"my name is {goal.name}", f"the name is {goal.name}", f"it's {goal.name}"))
        if wrong == "when":
            return say.pick(rng, (f"I said {self._day()} | {self._time()}", f"{self._day()} | {self._time()}"))
        if wrong == "old":
            return f"my appointment is {self._old_day()}"
        if wrong == "service":
            return f"it's for {say.service_phrase(goal.service, rng)}"
        if wrong == "phone":
            digits = re.sub(r"^(?:it's|my number is) ", "", say.phone_phrase(goal.phone, rng).rstrip(".").lower())
            return f"my number is {digits}"  # not "my number is my number is ..."
        return self._restate().rstrip(".?")


_SOUNDEX = {c: d for d, letters in enumerate(("bfpv", "cgjkqsxz", "dt", "l", "mn", "r"), 1) for c in letters}


def soundex(word: str) -> str:
    """The classic Soundex key of a word: 'Wright' and 'Right' are R230, 'Ruth' R300."""
    letters = [c for c in word.lower() if c.isalpha()]
    if not letters:
        return ""
    key, last = letters[0].upper(), _SOUNDEX.get(letters[0], 0)
    for c in letters[1:]:
        code = _SOUNDEX.get(c, 0)
        if code and code != last:
            key += str(code)
        if c not in "hw":
            last = code
    return (key + "000")[:4]


def sounds_like(heard: str, name: str) -> bool:
    """Whether a name read back sounds like `name`, word by word: a caller hears "Ruth Right" as their own
    "Ruth Wright"; no caller can tell a spelling over the phone."""
    a, b = heard.lower().split(), name.lower().split()
    if len(a) != len(b):
        return False
    return all(x == y or (x[:1] in "wr" and y[:1] in "wr" and soundex("r" + x[1:]) == soundex("r" + y[1:]))
               or soundex(x) == soundex(y) for x, y in zip(a, b, strict=True))  # fmt: skip


def _clock_words(hour: int, minute: int) -> str:
    """How the agent says a start: 'half past two', 'ten o'clock', 'noon'."""
    h = say.hour_words(time(hour, minute))
    if minute == 0:
        return "noon" if hour == 12 else f"{h} o'clock"
    if minute == 30:
        return f"half past {h}"
    if minute == 15:
        return f"quarter past {h}"
    return f"{h} {minute:02d}"


def _says_start(text: str, start: datetime) -> bool:
    """Whether a read-back names this weekday, this day of the month and this clock time, and no other day."""
    days = set(_WEEKDAY_RE.findall(text))
    dated = re.search(rf"\bthe {say.ordinal(start.day).replace(' ', '[ -]')}\b", text)
    return days == {say.WEEKDAYS[start.weekday()].lower()} and bool(dated) and _clock_words(
        start.hour, start.minute) in text
