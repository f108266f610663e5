"""What a simulated caller wants and how it behaves: drawn from a seed, so a run is reproducible.

A goal is what a person rings for (book, cancel, move, ask, a person, an emergency, something the clinic
does not do, or nothing at all); a persona is how they talk (everything at once or bit by bit, fillers,
pauses inside sentences, corrections, a question in the middle, talking over the agent). The simulator
judges a call by the goal alone: the right row in the database, the right answer, the right handoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from ari_agent.sim.voices import pick_voice

GOALS = (
    "book",
    "cancel",
    "reschedule",
    "ask_hours",
    "ask_address",
    "ask_price",
    "human",
    "urgent",
    "out_of_scope",
    "no_input",
)
# How often each goal is drawn: most real calls to a clinic line are about appointments.
_GOAL_WEIGHTS = (30, 12, 12, 6, 5, 5, 8, 6, 8, 3)
SERVICES = ("check-up", "cleaning", "filling")
SERVICE_MINUTES = {"check-up": 30, "cleaning": 45, "filling": 60}

FIRST_NAMES = (
    "James", "Mary", "John", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Lisa", "William", "Nancy",
    "Richard", "Betty", "Thomas", "Helen", "Daniel", "Sandra", "Paul", "Donna", "Mark", "Carol", "George",
    "Ruth", "Steven", "Sharon", "Peter", "Laura", "Anna", "Kevin", "Emma", "Brian", "Sarah", "Jack", "Julie",
    "Frank", "Alice", "Tom", "Jennifer", "Harry",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Jones", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson", "Thomas",
    "Jackson", "White", "Harris", "Martin", "Thompson", "Wood", "Clark", "Lewis", "Walker", "Hall", "Allen",
    "Young", "King", "Wright", "Hill", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Turner",
    "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
)  # fmt: skip
OUT_OF_SCOPE_ASKS = (
    "Can you give me a quote for car insurance?",
    "I'd like to order a pizza.",
    "What's the weather going to be like tomorrow?",
    "Do you sell concert tickets?",
    "Can I book a table for two tonight?",
    "I need a taxi to the airport.",
    "Is this the council tax office?",
    "Can you fix my washing machine?",
    "I want to renew my passport.",
    "Do you do eye tests?",
)
URGENT_PROBLEMS = (
    "I've got terrible toothache and my face is all swollen.",
    "My gum won't stop bleeding since this morning.",
    "I knocked a tooth out playing football and it's bleeding a lot.",
    "I'm in agony, my jaw is swollen and I can't sleep.",
    "There's a lot of swelling and pain around my back tooth.",
)


@dataclass(frozen=True, slots=True)
class Persona:
    """How a caller talks; every trait is a probability or a switch drawn per call."""

    all_at_once: bool  # gives every detail in the first sentence, or bit by bit as asked
    filler_rate: float  # chance of an "um"/"uh"/"well" before or inside a sentence
    pause_rate: float  # chance of a 0.5-1.0 s pause at each natural break inside a sentence
    corrects: bool  # says a wrong day first and corrects it in the same or the next sentence
    asks_mid_flow: bool  # asks a question (hours, address, price) in the middle of a booking
    talks_over: bool  # answers yes/no questions before the agent has finished asking
    says_goodbye: bool  # ends the call politely, or just hangs up when done
    text_only: bool = False  # the caller's turns are given as text (no audio): the "text calls" yardstick


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking that exists before the call (for cancel / reschedule goals)."""

    name: str
    service: str
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class Goal:
    """What the caller wants from this call."""

    kind: str
    name: str = ""
    phone: str = ""  # spoken only when the agent asks (a withheld caller id)
    service: str = ""
    starts_at: datetime | None = None  # book: the slot wanted; reschedule: the new slot
    existing: Booking | None = None  # cancel / reschedule: the booking to find
    question: str = ""  # ask_*: "hours" | "address" | "price"; mid-flow question for a booking persona
    request: str = ""  # out_of_scope / urgent: what they say
    wrong_day: date | None = None  # a persona that corrects itself says this day first

    @property
    def writes(self) -> bool:
        """Whether a success changes the bookings table."""
        return self.kind in ("book", "cancel", "reschedule")


@dataclass(frozen=True, slots=True)
class SimCall:
    """One drawn call: the seed it came from and everything it will be judged on."""

    index: int
    seed: int
    now: datetime
    caller_id: str  # "" for a withheld number: the agent must ask for one
    goal: Goal
    persona: Persona
    voice: str = ""
    line: str = ""
    mid_question: str = ""  # asked once during a task when persona.asks_mid_flow
    extra: dict[str, str] = field(default_factory=dict)


def _open_slot(rng: random.Random, today: date, service: str, not_day: date | None = None) -> datetime:
    """A start the clinic offers: Monday-Friday 8:00-18:00, Saturday 9:00-13:00, on :00 or :30, 1-12 days ahead."""
    while True:
        day = today + timedelta(days=rng.randint(1, 12))
        if day.weekday() == 6 or day == not_day:
            continue
        close = 13 if day.weekday() == 5 else 18
        open_ = 9 if day.weekday() == 5 else 8
        minutes = SERVICE_MINUTES[service]
        starts = [
            time(h, m)
            for h in range(open_, close)
            for m in (0, 30)
            if h * 60 + m + minutes <= close * 60
        ]
        return datetime.combine(day, rng.choice(starts))


def draw_call(index: int, seed: int, now: datetime, voices: list[str], lines: list[str]) -> SimCall:
    """Call number `index` of a run seeded with `seed`: the same arguments always give the same call."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choices(GOALS, weights=_GOAL_WEIGHTS)[0]
    persona = Persona(
        all_at_once=rng.random() < 0.35,
        filler_rate=rng.choice((0.0, 0.15, 0.35)),
        pause_rate=rng.choice((0.0, 0.0, 0.3, 0.6)),
        corrects=rng.random() < 0.15,
        asks_mid_flow=rng.random() < 0.15,
        talks_over=rng.random() < 0.15,
        says_goodbye=rng.random() < 0.8,
    )
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    service = rng.choice(SERVICES)
    today = now.date()
    withheld = rng.random() < 0.1
    phone = "07" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    goal: Goal
    if kind == "book":
        starts = _open_slot(rng, today, service)
        wrong = starts.date() + timedelta(days=rng.choice((1, 2, -1))) if persona.corrects else None
        if wrong is not None and (wrong <= today or wrong.weekday() == 6):
            wrong = None
        goal = Goal(kind, name=name, phone=phone if withheld else "", service=service, starts_at=starts,
                    wrong_day=wrong)  # fmt: skip
    elif kind in ("cancel", "reschedule"):
        existing = Booking(name, service, _open_slot(rng, today, service))
        new = _open_slot(rng, today, service, not_day=existing.starts_at.date()) if kind == "reschedule" else None
        goal = Goal(kind, name=name, service=service, starts_at=new, existing=existing)
        withheld = False  # the booking is found by name and day; the number only helps
    elif kind.startswith("ask_"):
        goal = Goal(kind, question=kind.removeprefix("ask_"))
    elif kind == "out_of_scope":
        goal = Goal(kind, request=rng.choice(OUT_OF_SCOPE_ASKS))
    elif kind == "urgent":
        goal = Goal(kind, request=rng.choice(URGENT_PROBLEMS))
    else:
        goal = Goal(kind)
    mid = rng.choice(("hours", "address", "price")) if persona.asks_mid_flow and goal.writes else ""
    return SimCall(
        index=index,
        seed=seed,
        now=now,
        caller_id="" if withheld else f"+1555{rng.randint(1000000, 9999999)}",
        goal=goal,
        persona=persona,
        voice=pick_voice(rng, voices) if voices else "",
        line=rng.choice(lines) if lines else "",
        mid_question=mid,
    )


def call_now(seed: int, index: int) -> datetime:
    """The call's own 'now': a weekday morning in late 2026, varied so weekday words mean different dates."""
    rng = random.Random(f"now:{seed}:{index}")
    day = date(2026, 11, 23) + timedelta(days=rng.randint(0, 13))
    if day.weekday() == 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(rng.choice((8, 9, 10, 11, 14)), rng.choice((0, 15, 40))))
