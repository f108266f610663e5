#!/usr/bin/env python3
"""Generate the starter replay corpus tests/corpus/ (call.yaml + turn WAVs per case), deterministically.

Callers speak with voices other than the agent's (flite slt): flite rms, awb, kal16 and espeak-ng en-us,
en-gb, en-us+f2. Some lines get pink/white noise at 10-20 dB SNR (seeded) or an 8 kHz G.711 mu-law round
trip (stored as 8 kHz WAVs). Expectations say what the agent SHOULD do, never what it happened to do.

Usage: .venv/bin/python scripts/make-corpus.py [--out tests/corpus]   (needs flite, espeak-ng and sox)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_agent.media.audio import (
    array_to_pcm,
    downsample_16k_to_8k,
    mix_noise,
    pcm_to_array,
    read_wav,
    ulaw_decode,
    ulaw_encode,
    write_wav,
)
from ari_agent.sim.voices import trim

PAUSE_S = 0.8  # a "|" in a said turn: a pause inside the sentence
NOW = "2026-11-25T10:00:00"  # a Wednesday: "next Tuesday" is 2026-12-01, "Friday" 2026-11-27

BOOK_TAIL = [
    {"say": "My name is Jennifer Wood.", "intent": "inform"},
    {"say": "Yes, that's right.", "intent": "affirm"},
    {"say": "No, that's all. Thank you, goodbye."},
]
# Four turns no recogniser makes a request of (espeak en-us+f2): the menu, the menu again, the scope question, and
# the keypad menu.
GARBLE = [
    {"say": "Blue elephant under the stairs."},
    {"say": "Purple seven banana window."},
    {"say": "Green lamp over there."},
    {"say": "Yellow door in the garden."},
]
# Next Tuesday at half past two already taken: the time asked for is offered around.
TUESDAY_230_TAKEN = {"bookings": [{"name": "Ann Other", "service": "cleaning", "starts_at": "2026-12-01T14:30:00"}]}

# name -> case definition. Turns: say (synthesised), text (text-only), dtmf, silence; intent, barge_in.
CASES: dict[str, dict[str, Any]] = {
    "book-basic": {
        "description": "books a cleaning: service, then day and time, then name",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning"}, "max_turns": 6},
    },
    "book-one-sentence": {
        "description": "everything in one sentence",
        "voice": "awb",
        "turns": [
            {"say": "I'd like to book a check up next Thursday at ten in the morning.", "intent": "book_appointment"},
            {"say": "My name is Tom Baker.", "intent": "inform"},
            {"say": "Yes please."},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up"}, "max_turns": 5},
    },
    "book-kal16": {
        "description": "books a filling with the kal16 voice",
        "voice": "kal16",
        "turns": [
            {"say": "Hi, I lost a filling and I need an appointment to get it fixed.", "intent": "book_appointment"},
            {"say": "Friday at eleven in the morning.", "intent": "inform"},
            {"say": "My name is Maria Garcia."},
            {"say": "Yes, that's right."},
            {"say": "No, that's everything. Bye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "filling"}},
    },
    "book-partial-service-first": {
        "description": "partial information: asks for an appointment, gives the service, then the day, then the time",
        "voice": "rms",
        "turns": [
            {"say": "I'd like to make an appointment please.", "intent": "book_appointment"},
            {"say": "It's for a cleaning.", "intent": "inform"},
            {"say": "Next Monday.", "intent": "inform"},
            {"say": "At nine in the morning.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning"}},
    },
    "book-out-of-order": {
        "description": "out of order: day and time before saying what for",
        "voice": "espeak:en-us",
        "turns": [
            {"say": "Can I come in next Monday at nine in the morning?"},
            {"say": "It's for a check up.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up"}},
    },
    "book-espeak-gb": {
        "description": "books a cleaning with a British espeak voice",
        "voice": "espeak:en-gb",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning"}},
    },
    "correction-day": {
        "description": "corrects the day at the confirmation: no, make it Wednesday",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning next Tuesday at three in the afternoon."},
            {"say": "My name is Jennifer Wood.", "intent": "inform"},
            {"say": "No, make it Wednesday."},
            {"say": "Yes, that's right.", "intent": "affirm"},
            {"say": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-12-02"}},
    },
    "correction-time": {
        "description": "corrects the time at the confirmation",
        "voice": "awb",
        "turns": [
            {"say": "I need an appointment for a check up on Friday at ten in the morning."},
            {"say": "My name is Tom Baker.", "intent": "inform"},
            {"say": "Sorry, can we make it eleven instead?"},
            {"say": "Yes please.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up", "time": "11:00"}},
    },
    "barge-in-greeting": {
        "description": "the caller talks over the greeting",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment", "barge_in": True},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked"},
    },
    "barge-in-confirmation": {
        "description": "the caller confirms over the agent's read-back",
        "voice": "kal16",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            {"say": "My name is Jennifer Wood.", "intent": "inform"},
            {"say": "Yes, that's right.", "intent": "affirm", "barge_in": True},
            {"say": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"name": "Jennifer Wood"}},
        # Found 2026-12-03: the case expected no name, and the scripted caller confirms any read-back.
        "known_failure": "the name decoder's 'janet charlotte' replaces the free reading 'jennifer with' (voice "
                         "kal16), and the scripted caller says yes to it",
    },
    "barge-in-confirmation-quiet": {
        "description": "the caller confirms over the agent's read-back, 18 dB quieter than before (turned away from "
                       "the phone): under the echo the agent allows for, heard by its words",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            {"say": "My name is Jennifer Wood.", "intent": "inform"},
            {"say": "Yes, that's right.", "intent": "affirm", "barge_in": True, "gain_db": -18},
            {"say": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"name": "Jennifer Wood", "date": "2026-12-01", "time": "14:30"}},
    },
    "hours-mid-booking": {
        "description": "asks the opening hours in the middle of a booking, then the booking resumes",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "What time do you open on Saturday?", "intent": "ask_opening_hours"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning"}},
    },
    "address-mid-booking": {
        "description": "asks the address during a booking, then the booking resumes",
        "voice": "espeak:en-gb",
        "turns": [
            {"say": "I'd like to book a check up please.", "intent": "book_appointment"},
            {"say": "Where are you located?", "intent": "ask_address"},
            {"say": "Thursday at ten in the morning.", "intent": "inform"},
            {"say": "My name is Tom Baker.", "intent": "inform"},
            # Heard "the as leave": only the constrained reading says yes, and a booking is not made on a yes
            # nobody heard, so the agent asks "Sorry, was that a yes?" and the caller says it again.
            {"say": "Yes please.", "intent": "affirm"},
            {"say": "Yes.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up"}},
    },
    "price-mid-booking": {
        "description": "asks the price during a booking, then the booking resumes",
        "voice": "awb",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "How much does a cleaning cost?", "intent": "ask_price"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked"},
    },
    "hours-only": {
        "description": "only wants the opening hours",
        "voice": "kal16",
        "turns": [
            {"say": "What are your opening hours?", "intent": "ask_opening_hours"},
            {"say": "Thank you, goodbye.", "intent": "goodbye"},
        ],
        "expect": {"outcome": "answered", "max_turns": 2},
    },
    "address-only": {
        "description": "only wants the address",
        "voice": "espeak:en-us",
        "turns": [
            {"say": "What is your address?", "intent": "ask_address"},
            {"say": "Thank you, goodbye.", "intent": "goodbye"},
        ],
        "expect": {"outcome": "answered"},
    },
    "price-only": {
        "description": "only asks a price",
        "voice": "rms",
        "turns": [
            {"say": "How much does a check up cost?", "intent": "ask_price"},
            {"say": "Okay, thanks. Goodbye."},
        ],
        "expect": {"outcome": "answered"},
    },
    "hours-then-nothing-else": {
        "description": "asks the hours, then says no to 'anything else?': a goodbye, not the menu",
        "voice": "espeak:en-gb",
        "turns": [
            {"say": "When are you open?", "intent": "ask_opening_hours"},
            {"say": "No, thanks.", "intent": "deny"},
        ],
        "expect": {"outcome": "answered", "max_turns": 2, "ended_by": "agent"},
    },
    "out-of-scope-twice": {
        # Only the caller's own yes to "Is your call about something other than the dental clinic?" has the line
        # say it can't help: two turns classed out of scope were an urgent caller misheard (simulated seed 1919).
        "description": "two out-of-scope requests, then a yes to whether it is something else: handed to a human",
        "voice": "rms",
        "turns": [
            {"say": "Can you recommend a good restaurant nearby?", "intent": "out_of_scope"},
            {"say": "Do you sell car insurance?", "intent": "out_of_scope"},
            {"say": "Yes.", "intent": "affirm"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "out_of_scope"},
    },
    "out-of-scope-espeak": {
        # Heard with unsure words (once "what's know where they're going to be like tomorrow"): the first is
        # asked again, as a request the line can't serve is more often a misheard one. The second is out of scope
        # too, with no word of the clinic in either and nothing the menu decoder knows (actions.py
        # out_of_scope_twice): the caller is asked whether the call is about something else, and their yes has
        # the line say honestly it can't help.
        "description": "two out-of-scope requests heard unsure, espeak female voice: asked again, asked whether it "
                       "is something else, then told",
        "voice": "espeak:en-us+f2",
        "turns": [
            {"say": "What's the weather going to be like tomorrow?", "intent": "nlu_fallback"},
            {"say": "Can you order me a pizza?", "intent": "nlu_fallback"},
            {"say": "Yes, it is.", "intent": "affirm"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "out_of_scope"},
    },
    "handoff-explicit": {
        "description": "asks for a person straight away",
        "voice": "awb",
        "turns": [{"say": "I'd like to speak to a real person please.", "intent": "request_human"}],
        "expect": {"outcome": "handoff", "handoff_reason": "requested", "max_turns": 1},
    },
    "handoff-mid-booking": {
        "description": "starts booking, then asks for the receptionist",
        "voice": "kal16",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Actually, can I talk to the receptionist?", "intent": "request_human"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "requested"},
    },
    "frustration": {
        "description": "implicit handoff: the caller gets frustrated",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "This is useless. You're not helping me at all.", "intent": "frustration"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "frustration"},
    },
    "urgent": {
        "description": "urgent symptoms go straight to a human",
        "voice": "rms",
        "turns": [{"say": "My tooth is bleeding a lot and my face is swollen.", "intent": "report_urgent"}],
        "expect": {"outcome": "handoff", "handoff_reason": "urgent", "max_turns": 1},
    },
    "urgent-mid-booking": {
        "description": "says it is an emergency while booking",
        "voice": "espeak:en-gb",
        "turns": [
            {"say": "I need an appointment please.", "intent": "book_appointment"},
            {"say": "I'm in terrible pain, my tooth is broken and it's bleeding.", "intent": "report_urgent"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "urgent"},
    },
    "confused-caller": {
        "description": "turns the agent cannot understand, the keypad menu's last try missed too: handed over as "
                       "misunderstood",
        "voice": "espeak:en-us+f2",
        "turns": [
            *GARBLE,
            {"say": "Orange cat on a bicycle."},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "misunderstood"},
    },
    "keypad-menu-booking": {
        "description": "a request garbled until the keypad menu: 1 books, and the service is keyed in too",
        "voice": "rms",
        "turns": [
            *GARBLE,
            {"dtmf": "1"},
            {"say": "Let me see, uh, a sandwich."},
            {"dtmf": "3"},
            {"say": "Next Tuesday at half past two in the afternoon."},
            {"say": "My name is Tom Baker."},
            {"say": "Yes, that's right."},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "filling"}},
    },
    "keypad-menu-prices": {
        "description": "a question about prices garbled until the keypad menu: 6 answers it (session 28: the menu "
                       "offered the tasks and a person alone, and such callers pressed 0)",
        "voice": "rms",
        "turns": [
            *GARBLE[:3],  # the third is answered with the keypad menu
            {"dtmf": "6"},
            {"say": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {"outcome": "answered"},
    },
    "keypad-last-try-day": {
        "description": "a day not understood twice inside a booking: the day question again, to be keyed in only, "
                       "the last try before a person (session 29: two misunderstandings in a row put such callers "
                       "through)",
        "voice": "rms",
        "turns": [
            {"say": "Hello, I'd like to book a cleaning please."},
            GARBLE[0],
            GARBLE[2],
            GARBLE[3],  # the second misunderstanding in a row: answered with the keypad's last try
            {"dtmf": "4#"},
            {"say": "At ten in the morning."},
            {"say": "My name is Tom Baker."},
            {"say": "Yes, that's right."},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning"}},
    },
    "keypad-last-try-name": {
        "description": "a name not understood twice: the surname keyed in, one key per letter, then the first name "
                       "(session 30: spoken letters were lost on 41 of 93 spellings; keys are read against the name "
                       "list as a PBX's dial-by-name directory reads them)",
        "voice": "kal",
        "turns": [
            {"say": "Hello, I'd like to book a check-up on Friday at nine in the morning."},
            {"text": "mm hmm"},  # typed: no name decoder forces a name onto it
            {"text": "mm hmm"},  # the second misunderstanding in a row: the surname on the keypad
            {"dtmf": "645537#"},  # Miller
            {"dtmf": "6275#"},  # Mark
            {"say": "Yes, that's right."},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up", "name": "Mark Miller"}},
    },
    "silence-handoff": {
        "description": "says nothing at all: reprompts, then a human",
        "voice": "rms",
        "turns": [{"silence": 30}],
        "expect": {"outcome": "handoff", "handoff_reason": "no_input"},
    },
    "silence-then-question": {
        "description": "silent at first, reprompted, then asks the hours",
        "voice": "awb",
        "turns": [
            {"silence": 7},
            {"say": "Sorry. What are your opening hours?", "intent": "ask_opening_hours"},
            {"say": "Thank you, goodbye."},
        ],
        "expect": {"outcome": "answered"},
    },
    "dtmf-operator": {
        "description": "presses 0 for the operator",
        "voice": "rms",
        "turns": [{"dtmf": "0"}],
        "expect": {"outcome": "handoff", "handoff_reason": "dtmf", "max_turns": 1},
    },
    "dtmf-during-greeting": {
        "description": "presses 0 over the greeting",
        "voice": "rms",
        "turns": [{"dtmf": "0", "barge_in": True}],
        "expect": {"outcome": "handoff", "handoff_reason": "dtmf"},
    },
    "cancel": {
        "description": "cancels an existing booking (created by setup in the case's scope)",
        "voice": "rms",
        "setup": {"bookings": [{"name": "Jennifer Wood", "service": "cleaning", "starts_at": "2026-11-27T10:00:00"}]},
        "turns": [
            {"say": "Hi, I need to cancel my appointment.", "intent": "cancel_appointment"},
            {"say": "My name is Jennifer Wood.", "intent": "inform"},
            {"say": "It's on Friday.", "intent": "inform"},
            {"say": "Yes please.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "cancelled"},
    },
    "reschedule": {
        "description": "moves an existing booking to another day (booking created by setup)",
        "voice": "awb",
        "setup": {"bookings": [{"name": "Tom Baker", "service": "check-up", "starts_at": "2026-11-26T11:00:00"}]},
        "turns": [
            {"say": "I need to reschedule my appointment.", "intent": "reschedule_appointment"},
            {"say": "My name is Tom Baker.", "intent": "inform"},
            {"say": "It's on Thursday.", "intent": "inform"},
            {"say": "Next Tuesday.", "intent": "inform"},
            {"say": "At half past two.", "intent": "inform"},
            {"say": "Yes please.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "rescheduled", "slots": {"date": "2026-12-01", "time": "14:30"}},
    },
    "book-withheld-number": {
        "description": "a caller with a withheld number books and reads out a phone number",
        "voice": "espeak:en-us",
        "caller": "",
        "turns": [
            # The service comes when asked: said in the opening sentence, espeak en-us's service words are lost
            # ("book a filling" -> "book a feeling", "a cleaning" -> "out leading"), a weakness left documented
            # rather than matched away ("I'm not feeling well" must never book a filling).
            {"say": "Hello, I'd like to make an appointment please.", "intent": "book_appointment"},
            {"say": "A cleaning.", "intent": "inform"},
            {"say": "Friday at eleven in the morning.", "intent": "inform"},
            {"say": "Sarah Jones.", "intent": "inform"},
            {"say": "Five five five, two one four, three eight nine nine.", "intent": "inform"},
            {"say": "Yes.", "intent": "affirm"},
            {"say": "No, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-11-27", "time": "11:00",
                                                  "phone": "5552143899"}},
    },
    "time-asked-separately": {
        "description": "gives the day, then the time on its own when asked",
        "voice": "kal16",
        "turns": [
            # No intent label: kal16's "Can I book" is heard "kanye bucket", and "<garbage> check up" is
            # rightly an inform that starts the booking; the case is about the time answered on its own.
            {"say": "Can I book a check up?"},
            {"say": "Monday please.", "intent": "inform"},
            {"say": "Quarter to four.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up", "date": "2026-11-30", "time": "15:45"}},
    },
    "cancel-noisy-white-15": {
        "description": "cancels on a line with white noise at 15 dB SNR; the name is lost, the day finds the booking",
        "voice": "kal16",
        "noise": ("white", 15),
        "setup": {"bookings": [{"name": "Tom Baker", "service": "cleaning", "starts_at": "2026-11-27T10:00:00"}]},
        "turns": [
            {"say": "I want to cancel my appointment.", "intent": "cancel_appointment"},
            {"say": "Tom Baker."},  # no intent label: the noise leaves nothing of the name to classify
            {"say": "It's on Friday.", "intent": "inform"},
            {"say": "Yes.", "intent": "affirm"},
            {"say": "No, that's all, goodbye."},
        ],
        "expect": {"outcome": "cancelled"},
    },
    "asked-time-taken": {
        "description": "the time asked for is taken; two are offered, the caller gives the name, then says yes"
                       " (a name turn must not change the day; the name is heard in half, \"jennifer would\", and"
                       " the surname is asked for)",
        "voice": "rms",
        "setup": TUESDAY_230_TAKEN,
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            {"say": "My name is Jennifer Wood.", "intent": "inform"},
            {"say": "The first one, please.", "intent": "inform"},
            {"say": "It's Wood.", "intent": "inform"},
            {"say": "Yes, that's right.", "intent": "affirm"},
            {"say": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-12-01", "time": "13:30"}},
    },
    "offers-turned-down": {
        "description": "the time asked for is taken; both times offered are turned down (\"neither of those\"), the"
                       " time is asked again and another given: never an offered time booked on a no",
        "voice": "slt",
        "setup": TUESDAY_230_TAKEN,
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            {"say": "Neither of those."},
            {"say": "Eleven in the morning, please.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-12-01", "time": "11:00"}},
    },
    "noisy-pink-20-book": {
        "description": "books a cleaning on a line with pink noise at 20 dB SNR",
        "voice": "rms",
        "noise": ("pink", 20),
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-12-01", "time": "14:30"}},
    },
    "noisy-pink-15-hours": {
        "description": "asks the hours with pink noise at 15 dB SNR",
        "voice": "awb",
        "noise": ("pink", 15),
        "turns": [
            {"say": "What are your opening hours?", "intent": "ask_opening_hours"},
            {"say": "Thank you, goodbye."},
        ],
        "expect": {"outcome": "answered"},
    },
    "noisy-white-10-human": {
        "description": "asks for a person with white noise at 10 dB SNR",
        "voice": "kal16",
        "noise": ("white", 10),
        "turns": [{"say": "I'd like to speak to a real person please.", "intent": "request_human"}],
        "expect": {"outcome": "handoff", "handoff_reason": "requested"},
    },
    "phone-book": {
        "description": "books over a telephone line (8 kHz mu-law round trip)",
        "voice": "rms",
        "phone": True,
        "turns": [
            {"say": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"say": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            *BOOK_TAIL,
        ],
        "expect": {"outcome": "booked"},
    },
    "phone-urgent": {
        "description": "urgent symptoms over a telephone line",
        "voice": "awb",
        "phone": True,
        "turns": [{"say": "My tooth is bleeding a lot and my face is swollen.", "intent": "report_urgent"}],
        "expect": {"outcome": "handoff", "handoff_reason": "urgent"},
    },
    "phone-noisy-hours": {
        "description": "asks the hours over a telephone line with pink noise at 20 dB SNR",
        "voice": "rms",
        "phone": True,
        "noise": ("pink", 20),
        "turns": [
            {"say": "What are your opening hours?", "intent": "ask_opening_hours"},
            {"say": "Thank you, goodbye."},
        ],
        "expect": {"outcome": "answered"},
    },
    "text-turns-book": {
        "description": "text-only turns (bypass ASR): the dialogue path alone",
        "voice": "",
        "turns": [
            {"text": "Hello, I need an appointment for a cleaning.", "intent": "book_appointment"},
            {"text": "Next Tuesday at half past two in the afternoon.", "intent": "inform"},
            {"text": "My name is Jennifer Wood.", "intent": "inform"},
            {"text": "Yes, that's right.", "intent": "affirm"},
            {"text": "No, that's all. Thank you, goodbye."},
        ],
        "expect": {
            "outcome": "booked",
            "slots": {"service": "cleaning", "date": "2026-12-01", "time": "14:30"},
            "max_turns": 5,
        },
    },
    "bot-challenge-then-human": {
        "description": "asks if it is a robot, then for a person",
        "voice": "espeak:en-us",
        "turns": [
            {"say": "Am I talking to a robot?", "intent": "bot_challenge"},
            {"say": "I want to talk to a human.", "intent": "request_human"},
        ],
        "expect": {"outcome": "handoff", "handoff_reason": "requested"},
    },
    # --- issue 12: callers the agent was not tuned on ------------------------------------------------------
    # "|" in a said turn is a 0.8 s pause inside the sentence (real callers pause mid-sentence).
    "book-pauses": {
        "description": "pauses of 0.8 s inside sentences are not the end of the turn",
        "voice": "awb",
        "turns": [
            {"say": "I'd like to book a check-up | for Monday | at half past two.", "intent": "book_appointment"},
            {"say": "My name is | Tom Baker.", "intent": "inform"},
            {"say": "Yes, book it.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "check-up", "date": "2026-11-30", "time": "14:30"},
                   "max_turns": 4},
    },
    "book-hesitant": {
        "description": "fillers and hesitations before and inside the answers",
        "voice": "rms",
        "turns": [
            {"say": "Um, | let me see, | I need a cleaning.", "intent": "book_appointment"},
            {"say": "Friday, | um, | at half past two please.", "intent": "inform"},
            {"say": "It's Jennifer Wood.", "intent": "inform"},
            {"say": "Yes, that's right, go ahead.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "cleaning", "date": "2026-11-27", "time": "14:30"}},
    },
    "reschedule-one-sentence": {
        "description": "the whole move in the first sentence, confirmed with 'yes, move it'",
        "voice": "rms",
        "setup": {"bookings": [{"name": "Jennifer Wood", "service": "cleaning", "starts_at": "2026-11-27T10:00:00"}]},
        "turns": [
            {"say": "Hi, this is Jennifer Wood, can I move my appointment from Friday to Monday at nine?",
             "intent": "reschedule_appointment"},
            {"say": "Yes, move it.", "intent": "affirm"},
            {"say": "No, that's all. Goodbye."},
        ],
        "expect": {"outcome": "rescheduled", "max_turns": 3},
    },
    "cancel-yes-cancel-it": {
        "description": "'yes, cancel it' at the cancel confirmation is a yes, not a new task",
        "voice": "kal16",
        "setup": {"bookings": [{"name": "Tom Baker", "service": "check-up", "starts_at": "2026-11-27T11:00:00"}]},
        "turns": [
            {"say": "I need to cancel my appointment on Friday. The name is Tom Baker.",
             "intent": "cancel_appointment"},
            {"say": "Yes, cancel it.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "cancelled", "max_turns": 3},
    },
    "correction-as-text": {
        "description": "typed turns: a correction in any phrasing changes the day",
        "turns": [
            {"text": "I'd like a cleaning on Thursday at ten.", "intent": "book_appointment"},
            {"text": "My name is Jennifer Wood.", "intent": "inform"},
            {"text": "Not Thursday, make it Friday.", "intent": "inform"},
            {"text": "Yes, book it.", "intent": "affirm"},
            {"text": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"date": "2026-11-27", "time": "10:00"}},
    },
    "date-conflict-repair": {
        "description": "a weekday and a date that disagree are asked back as a choice, not guessed",
        "voice": "rms",
        "turns": [
            {"say": "I'd like a check-up on Saturday the first.", "intent": "book_appointment"},
            {"say": "Tuesday the first of December, at ten.", "intent": "inform"},
            {"say": "My name is Tom Baker.", "intent": "inform"},
            {"say": "Yes please.", "intent": "affirm"},
            {"say": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"date": "2026-12-01", "time": "10:00"}},
    },
    "say-that-again": {
        "description": "asking the agent to repeat is not frustration: the booking goes on",
        "turns": [
            {"text": "I'd like to book a filling.", "intent": "book_appointment"},
            {"text": "Sorry, could you say that again?"},
            {"text": "Monday at three.", "intent": "inform"},
            {"text": "My name is Tom Baker.", "intent": "inform"},
            {"text": "Yes please.", "intent": "affirm"},
            {"text": "No thanks, goodbye."},
        ],
        "expect": {"outcome": "booked", "slots": {"service": "filling", "date": "2026-11-30", "time": "15:00"}},
    },
}


def apply_gain(pcm: bytes, db: float) -> bytes:
    """`pcm` made louder or quieter by `db` (a quiet line, a caller far from the phone)."""
    return array_to_pcm(pcm_to_array(pcm).astype("float64") * 10 ** (db / 20))


def _synth(text: str, voice: str, out: Path) -> bytes:
    """16 kHz s16le PCM of `text` in `voice` (flite name or espeak:<voice>)."""
    raw = out.with_suffix(".raw.wav")
    if voice.startswith("espeak:"):
        cmd = ["espeak-ng", "-v", voice.removeprefix("espeak:"), "-s", "150", "-w", str(raw), text]
    else:
        cmd = ["flite", "-voice", voice, "-t", text, "-o", str(raw)]
    subprocess.run(cmd, check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()
    return read_wav(out)


def build_case(name: str, spec: dict[str, Any], out: Path, tmp: Path) -> None:
    """Write one case directory."""
    case_dir = out / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    turns = []
    for i, t in enumerate(spec["turns"], 1):
        turn: dict[str, Any] = {}
        if "say" in t:
            pieces = [p.strip() for p in t["say"].split("|")]
            pause = b"\x00\x00" * int(16000 * PAUSE_S)
            synth = [_synth(p, spec["voice"], tmp / f"{name}-{i}-{k}.wav") for k, p in enumerate(pieces)]
            # Each piece without its own lead-in and tail, so the pause between them is the pause chosen.
            pcm = pause.join(trim(s) if len(synth) > 1 else s for s in synth)
            if "gain_db" in t:
                pcm = apply_gain(pcm, t["gain_db"])
            if "noise" in spec:
                colour, snr = spec["noise"]
                pcm = mix_noise(pcm, snr, seed=i, colour=colour)
            file = f"{i:02d}.wav"
            if spec.get("phone"):
                write_wav(case_dir / file, ulaw_decode(ulaw_encode(downsample_16k_to_8k(pcm))), 8000)
            else:
                write_wav(case_dir / file, pcm, 16000)
            turn["audio"] = file
            turn["text"] = " ".join(p.strip() for p in t["say"].split("|"))
        for key in ("text", "dtmf", "silence", "intent", "barge_in"):
            if key in t:
                turn[key] = t[key]
        turns.append(turn)
    case: dict[str, Any] = {"description": spec["description"], "now": NOW}
    if spec.get("caller", "+15551230000"):  # "" in a spec: a withheld number, so the agent asks for one
        case["caller"] = spec.get("caller", "+15551230000")
    if spec.get("voice"):
        case["description"] += f" (voice {spec['voice']})"
    if "setup" in spec:
        case["setup"] = spec["setup"]
    case["turns"] = turns
    case["expect"] = spec["expect"]
    if "known_failure" in spec:
        case["known_failure"] = spec["known_failure"]
    header = "# Generated by scripts/make-corpus.py: edit the script, not this file.\n"
    (case_dir / "call.yaml").write_text(header + yaml.safe_dump(case, sort_keys=False, width=110))


def main() -> int:
    """Regenerate the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests" / "corpus"))
    parser.add_argument("--only", nargs="*", help="case names to regenerate")
    args = parser.parse_args()
    for tool in ("flite", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"make-corpus: {tool} is missing (apt-get install {tool})", file=sys.stderr)
            return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in CASES.items():
            if args.only and name not in args.only:
                continue
            build_case(name, spec, out, Path(tmp))
    print(f"make-corpus: {len(CASES)} cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
