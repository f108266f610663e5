"""How simulated callers say things: many templates per meaning, so tuning the agent to them is pointless.

Every function takes the caller's random generator and returns one phrasing. `|` marks a natural break inside
a sentence where a person may pause (the person decides whether to); the text sent or synthesised never
contains it. The phrasings are plain English a receptionist would understand; they are written without
looking at the agent's training data.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
_HOURS = ("twelve", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")
_ORDINALS = (
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth", "twenty first", "twenty second", "twenty third", "twenty fourth", "twenty fifth",
    "twenty sixth", "twenty seventh", "twenty eighth", "twenty ninth", "thirtieth", "thirty first",
)  # fmt: skip
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FILLERS = ("um", "uh", "er", "well", "let me see", "hmm", "so")


def pick(rng: random.Random, options: tuple[str, ...] | list[str]) -> str:
    """One of `options`."""
    return options[rng.randrange(len(options))]


def ordinal(day: int) -> str:
    """3 -> 'third'."""
    return _ORDINALS[day]


def day_phrase(day: date, today: date, rng: random.Random) -> str:
    """The day as a person would name it: unambiguous for this `today`."""
    ahead = (day - today).days
    weekday = WEEKDAYS[day.weekday()]
    dated = [
        f"the {ordinal(day.day)}",
        f"the {ordinal(day.day)} of {MONTHS[day.month - 1]}",
        f"{MONTHS[day.month - 1]} the {ordinal(day.day)}",
        f"{weekday} the {ordinal(day.day)}",
    ]
    if day.month == today.month:
        dated.remove(f"the {ordinal(day.day)} of {MONTHS[day.month - 1]}")
    if ahead == 1:
        return pick(rng, ["tomorrow", "tomorrow", f"on {weekday}", *dated])
    if 2 <= ahead <= 6:
        # "this Friday" is later this week; "next Monday" is after the weekend: both unambiguous only then.
        relative = f"this {weekday}" if day.weekday() > today.weekday() else f"next {weekday}"
        return pick(rng, [weekday, f"on {weekday}", relative, f"on {weekday}", *dated])
    # A week or more ahead a bare weekday would mean the nearer one: people give the date.
    return pick(rng, [f"on {d}" for d in dated] + dated)


def hour_words(at: time) -> str:
    """14:00 -> 'two'."""
    return _HOURS[at.hour % 12]


def time_phrase(at: time, rng: random.Random) -> str:
    """A clock time as people say it on the phone (bare hours 1-7 mean afternoon, 8-11 morning)."""
    hour = hour_words(at)
    part = "in the morning" if at.hour < 12 else ("in the afternoon" if at.hour < 17 else "in the evening")
    ampm = "a m" if at.hour < 12 else "p m"
    plain = 8 <= at.hour <= 11 or 13 <= at.hour <= 17  # an hour that cannot be misread without a part of day
    if at.hour == 12 and at.minute == 0:
        return pick(rng, ["at noon", "at twelve", "at twelve o'clock", "at midday", "twelve noon"])
    if at.minute == 0:
        options = [f"at {hour} {part}", f"at {hour} {ampm}", f"{hour} o'clock {part}"]
        if plain:
            options += [f"at {hour}", f"at {hour} o'clock", f"{hour} o'clock", f"around {hour}"]
        return pick(rng, options)
    # :30
    options = [f"at half past {hour} {part}", f"at {hour} thirty {part}", f"{hour} thirty {ampm}"]
    if plain:
        options += [f"at half past {hour}", f"half past {hour}", f"at {hour} thirty", f"{hour} thirty"]
    return pick(rng, options)


def service_phrase(service: str, rng: random.Random) -> str:
    """A service as a noun phrase."""
    return pick(
        rng,
        {
            "check-up": ("a check-up", "a checkup", "a routine check-up", "a dental check-up", "an examination"),
            "cleaning": ("a cleaning", "a teeth cleaning", "a clean", "a scale and polish", "a cleaning appointment"),
            "filling": ("a filling", "a new filling", "a filling done", "a tooth filled"),
        }[service],
    )


def name_phrase(name: str, rng: random.Random) -> str:
    """The caller giving their name when asked."""
    return pick(
        rng,
        (f"My name is {name}.", f"It's {name}.", f"{name}.", f"The name's {name}.", f"Yes, it's {name}.",
         f"{name}, thanks.", f"It's under {name}."),
    )  # fmt: skip


def spelled_phrase(word: str, rng: random.Random) -> str:
    """A name spelled when the agent asks: letters apart, a double letter said as "double L" or twice, and
    sometimes the name itself first."""
    upper, letters, i = word.upper(), [], 0
    doubles = rng.random() < 0.5
    while i < len(upper):
        if doubles and upper[i + 1 : i + 2] == upper[i]:
            letters.append(f"double {upper[i]}")
            i += 2
        else:
            letters.append(upper[i])
            i += 1
    spelled = ", ".join(letters)
    return pick(rng, (f"{spelled}.", f"It's {spelled}.", f"Sure, {spelled}.", f"{word.capitalize()}, {spelled}."))


def phone_phrase(phone: str, rng: random.Random) -> str:
    """Digits one by one, with the breaks people make."""
    words = [_DIGITS[int(d)] for d in phone]
    grouped = " ".join(words[:5]) + " | " + " ".join(words[5:])
    return pick(rng, (f"It's {grouped}.", f"{grouped}.", f"My number is {grouped}."))


def book_opener(rng: random.Random) -> str:
    """Asking to book without details."""
    return pick(
        rng,
        ("Hello, I'd like to make an appointment.", "Hi, I need to book an appointment please.",
         "Hello, can I book in to see the dentist?", "Hi there, I was hoping to get an appointment.",
         "Good morning, I'd like to book an appointment.", "Hi, can I make a booking?"),
    )  # fmt: skip


def book_with_service(service: str, rng: random.Random) -> str:
    """Asking to book a service."""
    s = service_phrase(service, rng)
    return pick(
        rng,
        (f"Hello, I'd like to book {s}.", f"Hi, I need {s} please.", f"Hi, can I book in for {s}?",
         f"Hello, I'm calling to book {s}.", f"Hi there, I'd like to come in for {s}."),
    )  # fmt: skip


def book_everything(service: str, day: str, at: str, name: str, rng: random.Random) -> str:
    """Every detail in one breath, with breaks where people pause."""
    s = service_phrase(service, rng)
    return pick(
        rng,
        (f"Hi, I'd like to book {s} | {day} | {at}. | My name is {name}.",
         f"Hello, this is {name}, | I'd like {s} | {day} | {at} please.",
         f"Hi, can I book {s} for {day} | {at}? | It's for {name}.",
         f"Hello, I need {s}, | {day} | {at} if possible. | The name is {name}."),
    )  # fmt: skip


def when_phrase(day: str, at: str, rng: random.Random) -> str:
    """A day and a time together, as an answer."""
    return pick(rng, (f"{day} | {at}.", f"{day} | {at} please.", f"Could I do {day} | {at}?", f"{day}, | {at}."))


def cancel_opener(existing_day: str, name: str, rng: random.Random, everything: bool) -> str:
    """Asking to cancel."""
    existing_day = existing_day if existing_day.startswith(("on ", "tomorrow")) else f"on {existing_day}"
    if everything:
        return pick(
            rng,
            (f"Hi, I need to cancel my appointment | {existing_day}. | The name is {name}.",
             f"Hello, this is {name}, | I have to cancel my appointment {existing_day}.",
             f"Hi, I'd like to cancel the booking for {name} | {existing_day}."),
        )  # fmt: skip
    return pick(
        rng,
        ("Hi, I need to cancel my appointment.", "Hello, I'd like to cancel a booking.",
         "Hi, I can't make my appointment, | can I cancel it?", "I want to cancel my appointment please."),
    )  # fmt: skip


def reschedule_opener(old_day: str, new_day: str, at: str, name: str, rng: random.Random, everything: bool) -> str:
    """Asking to move an appointment."""
    old_day, new_day = old_day.removeprefix("on "), new_day.removeprefix("on ")
    if everything:
        return pick(
            rng,
            (f"Hi, this is {name}, | can I move my appointment from {old_day} to {new_day} | {at}?",
             f"Hello, I'd like to change my appointment {old_day} | to {new_day} {at}. | It's {name}.",
             f"Hi, I need to reschedule from {old_day} to {new_day} | {at}, | the name is {name}."),
        )  # fmt: skip
    return pick(
        rng,
        ("Hi, I need to change my appointment.", "Hello, can I move my appointment to another day?",
         "I'd like to reschedule my appointment please.", "Hi, I have to rearrange my appointment."),
    )  # fmt: skip


def question(kind: str, rng: random.Random) -> str:
    """An information question: hours, address or price."""
    return pick(
        rng,
        {
            "hours": ("What are your opening hours?", "When are you open?", "What time do you open?",
                      "Are you open on Saturdays?", "What time do you close?", "What are your hours?"),
            "address": ("Where are you?", "What's your address?", "Where's the clinic?",
                        "Where are you located?", "How do I find you?"),
            "price": ("How much is a check-up?", "What does a cleaning cost?", "How much do you charge for a filling?",
                      "What are your prices?", "How much would a check-up be?"),
        }[kind],
    )  # fmt: skip


def ask_human(rng: random.Random) -> str:
    """Asking for a person."""
    return pick(
        rng,
        ("Can I speak to someone please?", "I'd like to talk to a real person.", "Put me through to reception please.",
         "Can I speak to a receptionist?", "I want to talk to a human.", "Is there somebody I can speak to?"),
    )  # fmt: skip


def menu_answer(kind: str, rng: random.Random) -> str | None:
    """Answering "are you calling to book, change or cancel, or about hours, address or prices?" in a few
    words, as people answer a menu; None when the goal is none of those (the caller says what they want)."""
    options = {
        "book": ("To book an appointment.", "Book, please.", "I'd like to book.", "Booking, please.",
                 "A new appointment, please.", "I need an appointment.", "Making an appointment.",
                 "To make a booking."),
        "cancel": ("Cancel, please.", "To cancel my appointment.", "I want to cancel.", "Cancelling.",
                   "I need to cancel one.", "A cancellation."),
        "reschedule": ("Change my appointment.", "To move my appointment.", "Reschedule, please.",
                       "I need to change it.", "Moving an appointment.", "Change it to another day."),
        "ask_hours": ("Your opening hours.", "The hours, please.", "Opening times.", "When you're open."),
        "ask_address": ("Your address.", "The address, please.", "Where you are.", "Directions."),
        "ask_price": ("Prices.", "The prices, please.", "How much things cost.", "Your prices."),
    }.get(kind)
    return pick(rng, options) if options else None


def yes(rng: random.Random, task: str = "") -> str:
    """Agreeing, with the verbs people add."""
    verb = {"book": ("Yes, book it.", "Yes please, go ahead and book it."), "cancel": ("Yes, cancel it.",
            "Yes please, cancel it."), "reschedule": ("Yes, move it.", "Yes, that's right, go ahead.")}
    return pick(
        rng,
        ("Yes.", "Yes please.", "That's right.", "Yes, that's correct.", "Yep, go ahead.", "Correct.",
         "Sounds good.", "Yes, perfect.", "That's it, yes.", *verb.get(task, ())),
    )  # fmt: skip


def no_but(correction: str, rng: random.Random) -> str:
    """Disagreeing with a read-back and saying what is right."""
    return pick(rng, (f"No, {correction}.", f"Not quite, {correction}.", f"No, sorry, {correction}.",
                      f"That's wrong, {correction}."))  # fmt: skip


def goodbye(rng: random.Random) -> str:
    """Ending the call."""
    return pick(
        rng,
        ("No, that's all, thank you. Bye.", "That's everything, thanks. Goodbye.", "No thanks, goodbye.",
         "No, that's it. Thanks, bye.", "Nothing else, thank you.", "That's all, thanks very much."),
    )  # fmt: skip


def say_again(rng: random.Random) -> str:
    """Asking the agent to repeat."""
    return pick(rng, ("Sorry, could you say that again?", "Sorry, what was that?", "Can you repeat that please?"))


def with_filler(text: str, rng: random.Random, rate: float) -> str:
    """Maybe an 'um' at the start and at a break."""
    if rate <= 0:
        return text
    if rng.random() < rate:
        text = f"{pick(rng, FILLERS).capitalize()}, | {text[0].lower()}{text[1:]}"
    if "|" in text and rng.random() < rate:
        head, _, tail = text.partition("|")
        text = f"{head}| {pick(rng, FILLERS)} |{tail}"
    return text


def spoken_when(at: datetime) -> tuple[str, str]:
    """Weekday and the clock words of a start, to check a read-back against (lower case)."""
    return WEEKDAYS[at.weekday()].lower(), hour_words(at.time())
