"""What the agent expects the caller to say next, as phrase lists for a constrained second decoder.

Why: the small Vosk model turns short, expected answers into near-homophones ("half past two" -> "half past
do", "yes please" -> "the leave"), and the dialogue then hears nothing it can use. When the bot has just asked
for a service, a day, a time, a name, a phone number or a yes/no, a second recogniser restricted to those
phrases (plus "[unk]" for anything else) decodes the same audio. Its hypothesis is only a hint: the dialogue
uses it for the value it asked for when the free transcript gave none (rasa_project/actions/actions.py), and
for a name also instead of a free reading that is not made of known names; a name is always read back.

The phrases are plain English words; `VoskEngine` drops the ones its model does not know, so another model
or language simply gets fewer (or no) hints.
"""

from __future__ import annotations

from functools import cache

from ari_agent import lexicon

# The bot's `requested_slot` -> the kind of answer expected.
_KIND_BY_SLOT = {
    "service": "service",
    "date": "when",
    "time": "when",
    "old_date": "when",
    "confirmed": "confirm",
    "phone": "digits",
    "name": "name",
}
# Asked outside a form: which task the caller is calling about (the opening repair question). "yes_no" alone is
# no slot's any more (a read-back is "confirm"), but a plain yes/no question may still be asked.
KINDS = frozenset(_KIND_BY_SLOT.values()) | {"task", "yes_no", "spelling", "detail"}

HOURS = tuple(word for word, value in lexicon.numbers("numbers").items() if 1 <= value <= 12)
_WEEKDAYS = lexicon.ordered("weekdays")
_MONTHS = lexicon.ordered("months")
_DAY_WORDS = (*lexicon.numbers("ordinals"), "twenty", "thirty")
_YES_NO = [phrase for phrases in lexicon.groups("yes_no_phrases").values() for phrase in phrases]


@cache
def phrases(kind: str) -> tuple[str, ...]:
    """The phrases of one kind of answer (the decoder loops over them; "[unk]" absorbs everything else)."""
    if kind == "yes_no":
        out = list(_YES_NO)
    elif kind == "confirm":
        # A read-back ("So that's a cleaning on Friday ... Shall I book it?") is answered yes or no, and as often
        # with the detail to correct ("that's wrong, I said the eleventh at three"): the yes/no phrases and every
        # detail's. The open decoder garbled those corrections ("i said eleven fat free", "the dilemma").
        out = [*_YES_NO, *phrases("service")]
    elif kind == "when":
        out = []
        for hour in HOURS:
            out += [f"half past {hour}", f"quarter past {hour}", f"quarter to {hour}", f"{hour} o'clock"]
            out += [f"{hour} thirty", f"{hour} fifteen", f"{hour} forty five", f"{hour} a m", f"{hour} p m"]
            out.append(hour)
        for day in _WEEKDAYS:
            out += [day, f"next {day}", f"this {day}", f"on {day}"]
        out += _MONTHS + _DAY_WORDS
        out += ["tomorrow", "today", "the day after tomorrow", "next week", "in the morning", "in the afternoon"]
        out += ["in the evening", "noon", "midday", "lunchtime", "at", "around", "about", "the", "of", "on"]
        out += _YES_NO  # an offered time is often answered "yes, that's fine"
    elif kind == "service":
        # Asked what they want to come in for, callers also give the day and time ("a cleaning on Friday"); asked
        # what to change, any of those ("no, it's for a filling", "make it Friday at ten").
        services = [p for ps in lexicon.groups("services").values() for p in ps]
        out = [f"{article}{p}" for p in services for article in ("", "a ", "the ")
               if not (article and p.startswith("a "))]  # "a clean" has its article
        out += [*lexicon.ordered("answer_leads"), *phrases("when")]
    elif kind == "task":
        out = [p for ps in lexicon.groups("tasks").values() for p in ps]
        out += [p for ps in lexicon.groups("services").values() for p in ps]  # "a cleaning" is a booking
        out += list(lexicon.ordered("menu_fillers"))
        # A caller in pain answers the menu with the symptom again; the open decoder garbled such openings with
        # full confidence ("it's fleeting a lot" for "it's bleeding a lot") and they were put out of scope.
        out += [*lexicon.ordered("urgent_words"), *lexicon.ordered("mouth_words")]
    elif kind == "name":
        # The open decoder's language model hears a name as common words ("Betty Lewis" -> "fundamentally
        # louis"); against a list of common names it heard the whole name 3-4 times as often (make-names.py).
        out = [*lexicon.ordered("name_leads"), "it's", "it is", "this is", "i'm", "under", "under the name of",
               "for", "yes", "sure", "please", *sorted(lexicon.names())]
        # The name decoder also listens at read-backs, where the name comes after a no ("not quite, it's Ruth
        # Adams"); and callers hesitate. Without these words it forced names onto them ("knox white pitts adams",
        # "story my name is", "nolan lisa"): on 120 simulated corrections the whole name came through right 20
        # times, 62 wrong; with them 39 right, 34 wrong.
        out += [*lexicon.groups("yes_no_phrases")["deny"], *lexicon.ordered("name_corrections"),
                *lexicon.ordered("hesitations"), *lexicon.ordered("hesitation_phrases")]
    elif kind == "spelling":
        # Asked to spell the half of a name that kept coming through wrong (the dialogue asks with expect
        # "spelling"): letters only, the open decoder hears "w a l" as "what all".
        out = [*lexicon.ordered("letters"), *lexicon.ordered("spelling_words")]
    elif kind == "detail":
        # "Sorry, which is wrong: the day, the time or the name?": a detail named, often with its new value.
        out = [p for ps in lexicon.groups("details").values() for p in ps]
        out += [*lexicon.ordered("detail_leads"), *_YES_NO]
    elif kind == "digits":
        out = ["zero", "oh", "double", "triple", *HOURS[:9], "my number is", "it's"]
    else:
        raise ValueError(f"unknown expectation {kind!r} (one of {', '.join(sorted(KINDS))})")
    return tuple(dict.fromkeys(out))


def refused_names(slots: dict[str, object]) -> frozenset[tuple[str, ...]]:
    """The names the name decoder passes over (VoskStream.expect): each name the caller refused at a read-back
    (slot `names_refused`), and while half a name is kept (`name_part`) the other half of each refused name that
    shares it (the surname asked for after "I have Kevin", with "Kevin Love" refused: not "Love")."""
    listed = slots.get("names_refused")
    names = listed if isinstance(listed, list) else []
    refused = {tuple(n.lower().split()) for n in names if isinstance(n, str) and n.strip()}
    part = str(slots.get("name_part") or "").lower()
    halves = {tuple(w for w in name if w != part) for name in refused if len(name) == 2 and part in name}
    return frozenset(refused | {h for h in halves if len(h) == 1})


def expectation_for(slots: dict[str, object]) -> str | None:
    """The kind of answer the bot's last turn asked for, from its `requested_slot`; None when open-ended."""
    requested = slots.get("requested_slot")
    if requested == "confirmed" and slots.get("correcting"):
        # "What would you like to change?" is answered with a service, a day or a time (the name decoder
        # listens for a name alongside), or a yes/no: the service phrases hold all of those.
        return "service"
    return _KIND_BY_SLOT.get(requested) if isinstance(requested, str) else None
