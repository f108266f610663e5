"""Dates, times and services as people say them on the phone, and how the agent says them back.

Pure functions, no Rasa imports: the unit tests of the agent import this module directly. Input is ASR
text (lower case, numbers as words or digits); every date resolves against the call's own `today`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from difflib import SequenceMatcher
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import lexicon

WEEKDAYS = list(lexicon.ordered("weekdays"))
MONTHS = list(lexicon.ordered("months"))
_NUMBER_WORDS = lexicon.numbers("numbers")
_ORDINAL_WORDS = lexicon.numbers("ordinals")
_ORDINAL_SPOKEN = {v: k for k, v in _ORDINAL_WORDS.items()}
_HOUR_SOUND_ALIKES = lexicon.table("hour_sound_alikes")
_HOUR_SPOKEN = ["twelve", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven"]

SERVICES = {"check-up": 30, "cleaning": 45, "filling": 60}
_SERVICE_WORDS = {service: list(phrases) for service, phrases in lexicon.groups("services").items()}
# Periods of the day as a (start, end) window of appointment start times.
PERIODS = {"morning": (time(8, 0), time(12, 0)), "afternoon": (time(12, 0), time(17, 0)),
           "evening": (time(16, 0), time(18, 0)), "lunchtime": (time(12, 0), time(14, 0))}


@dataclass(frozen=True)
class SpokenTime:
    """A time heard on the phone: an exact time, or only a part of the day."""

    at: time | None = None
    period: str | None = None  # morning | afternoon | evening | lunchtime
    approximate: bool = False  # "around four"
    unclear: bool = False  # a part of day after a word that stood where the time would be ("at <noise> in the morning")


def _words_to_numbers(text: str) -> str:
    """'twenty fifth' -> '25th', 'twenty one' -> '21': compound numbers become digits first."""
    text = re.sub(r"\b(twenty|thirty)[\s-](first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b",
                  lambda m: f"{_NUMBER_WORDS[m.group(1)] + _ORDINAL_WORDS[m.group(2)]}th", text)
    text = re.sub(r"\b(twenty|thirty|forty|fifty)[\s-](one|two|three|four|five|six|seven|eight|nine)\b",
                  lambda m: str(_NUMBER_WORDS[m.group(1)] + _NUMBER_WORDS[m.group(2)]), text)
    return text


def normalise(text: str) -> str:
    """Lower case, no punctuation except ':' and '-', single spaces."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s:'-]", " ", text)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1th", text)
    return _words_to_numbers(re.sub(r"\s+", " ", text).strip())


def _day_number(token: str) -> int | None:
    m = re.fullmatch(r"(\d{1,2})(?:th)?", token)
    if m:
        return int(m.group(1)) if 1 <= int(m.group(1)) <= 31 else None
    if token in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[token]
    value = _NUMBER_WORDS.get(token)
    return value if value is not None and 1 <= value <= 31 else None


# A day of the month said as a plain number: the small model often drops the ordinal's ending ("december
# eleven", "on the fifteen"). Read so only where a date stands (beside a month, after a weekday or "on the"),
# and never before the words of a time ("the two o'clock", "friday ten thirty").
_CARDINAL = (r"(\d{1,2}|" + "|".join(w for w, v in _NUMBER_WORDS.items() if 1 <= v <= 31) + r")"
             r"(?!\s*(?::|o'clock|am|pm|a m|p m|thirty|fifteen|forty|fifty|twenty|in the|minutes|past|ish|one\b))")


def _next_month_day(today: date, day: int, month: int | None = None) -> date | None:
    """The first date on or after today with this day (and month, if given)."""
    for offset in range(0, 13):
        year = today.year + (today.month - 1 + offset) // 12
        m = (today.month - 1 + offset) % 12 + 1
        if month is not None:
            year, m = today.year, month
        try:
            candidate = date(year, m, day)
        except ValueError:
            if month is not None:
                return None
            continue
        if candidate >= today:
            return candidate
        if month is not None:
            try:
                return date(year + 1, m, day)
            except ValueError:
                return None
    return None


def parse_date(text: str, today: date, bare_ordinal: bool = False) -> date | None:
    """The date a caller means: 'tomorrow', 'next tuesday', 'the 3rd', 'december the first', '2024-12-03'.

    With `bare_ordinal` (the day was asked) an ordinal alone is a date too ("eighteenth"): the recognisers drop
    a short "the" as often as not, and asked for a day nobody says "the eighteenth" meaning anything else."""
    t = normalise(text)
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", t)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if re.search(r"\bday after tomorrow\b", t):
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", t):
        return today + timedelta(days=1)
    if re.search(r"\b(today|this afternoon|this morning|this evening)\b", t):
        return today
    ordinal = r"(\d{1,2}th|" + "|".join(_ORDINAL_WORDS) + r")"
    month_re = "(" + "|".join(MONTHS) + ")"
    m = (re.search(rf"\b{ordinal}\s+(?:of\s+)?{month_re}\b", t)
         or re.search(rf"\b{month_re}\s+(?:the\s+)?{ordinal}\b", t)
         or re.search(rf"\b{_CARDINAL}\b\s+(?:of\s+)?{month_re}\b", t)
         or re.search(rf"\b{month_re}\s+(?:the\s+)?{_CARDINAL}\b", t))
    if m:
        a, b = m.group(1), m.group(2)
        day_tok, month_tok = (a, b) if a not in MONTHS else (b, a)
        day = _day_number(day_tok)
        if day is not None:
            return _next_month_day(today, day, MONTHS.index(month_tok) + 1)
    m = re.search(r"\b(next|this|coming)?\s*(?:week\s+)?(" + "|".join(WEEKDAYS) + r")s?\b", t)
    if m:
        target = WEEKDAYS.index(m.group(2))
        ahead = (target - today.weekday()) % 7
        if ahead == 0:
            ahead = 7  # "tuesday" said on a Tuesday means next week: today is asked as "today"
        resolved = today + timedelta(days=ahead)
        dm = (re.search(rf"\b{m.group(2)}\s+(?:the\s+)?{ordinal}", t)
              or re.search(rf"\b{m.group(2)}\s+the\s+{_CARDINAL}\b", t))
        if dm:  # "tuesday the 3rd": trust the number, it is more specific than the weekday
            day = _day_number(dm.group(1))
            by_day = _next_month_day(today, day) if day else None
            return by_day or resolved
        for om in re.finditer(rf"\b{ordinal}\b", t):
            # A day number apart from its weekday that falls on that weekday: the two agree on the date ("Tuesday
            # the fifteenth" heard "tuesday in the fifteenth" was read back as the nearest Tuesday; fresh seed 11412).
            day = _day_number(om.group(1))
            by_day = _next_month_day(today, day) if day else None
            if by_day is not None and by_day.weekday() == target and not m.group(1):
                return by_day
        month = month_named(t)
        return weekday_in_month(resolved, month, today) if month and not m.group(1) else resolved
    m = (re.search(rf"\bthe\s+{ordinal}\b(?!\s+one)", t) or re.search(r"\b(\d{1,2}th)\b", t)
         or re.search(rf"\b(?:on|for)\s+the\s+(?!one\b){_CARDINAL}\b", t)  # "the one at nine" is an offer
         or (bare_ordinal and re.search(
             rf"(?<!\ba )(?<!\bone )(?<!\bjust )\b{ordinal}\b(?!\s+(?:one|name|thing|time|of all)\b)", t)))
    if m:
        day = _day_number(m.group(1))
        if day is not None:
            return _next_month_day(today, day)
    if re.search(r"\bnext week\b", t):
        return today + timedelta(days=7 - today.weekday())  # the Monday of next week
    return None


_LONE_DAY_FILLERS = frozenset("it it's its is on the a um uh er please for".split())


def lone_day_number(text: str, today: date) -> date | None:
    """The date a day question's answer names when all it holds is one number from 2 to 31 ("nine", "it's on
    the ten"): its next such day. "One" is left out ("the one at nine" picks an offer)."""
    words = [w for w in normalise(text).split() if w not in _LONE_DAY_FILLERS]
    if len(words) != 1 or words[0] == "one":
        return None
    value = _NUMBER_WORDS.get(words[0]) if not words[0].isdigit() else int(words[0])
    if value is None or not 2 <= value <= 31:
        return None
    return _next_month_day(today, value)


_DETAILS = lexicon.groups("details")


def details_named(text: str) -> set[str]:
    """The details (slots: date, time, name, service, phone) an answer to "which is wrong?" names ("the name",
    "the day and the time")."""
    t = f" {normalise(text)} "
    return {slot for slot, phrases in _DETAILS.items() if any(f" {p} " in t for p in phrases)}


def keyed_digits(text: str) -> str | None:
    """The digits of a keyed-in entry ("15", "230#"; the agent passes keys as the turn's text), or None when the
    turn is not keys."""
    digits = text.strip().rstrip("#")
    return digits if digits.isdigit() else None


def keyed_day(text: str, today: date) -> date | None:
    """The date a day of the month keyed in names ("15", "5#"): its next such day; None if it is no day."""
    digits = keyed_digits(text)
    if digits is None or not 1 <= int(digits) <= 31:
        return None
    return _next_month_day(today, int(digits))


def keyed_time(text: str) -> SpokenTime | None:
    """The time keyed in as hour and minutes ("930", "230#", "1415"; an hour alone: "9") on the clinic's clock:
    hours 1 to 7 are the afternoon, as when said. None if it is no time."""
    digits = keyed_digits(text)
    if digits is None or not 1 <= len(digits) <= 4:
        return None
    hour, minute = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        return None
    return SpokenTime(at=time(_clinic_hour(hour, None) if hour <= 12 else hour, minute))


def day_number_guess(text: str, today: date) -> date | None:
    """The date a day question's answer may mean by its number: a number alone (`lone_day_number`), or the one
    number from 13 to 31 in a longer answer that no hour or minute can be ("Thursday the twenty sixth, one
    o'clock" heard "her name of twenty six one of lot"): its next such day. To be asked back, never taken."""
    lone = lone_day_number(text, today)
    if lone is not None:
        return lone
    days = {value for word in normalise(text).split()
            if (value := _day_number(word)) is not None and value >= 13 and value not in _MINUTE_NUMBERS}
    if not days:
        return day_before_time(text, today)
    return _next_month_day(today, days.pop()) if len(days) == 1 else None


def option_by_day_number(text: str, options: list[date]) -> date | None:
    """The one of `options` ("Tuesday the eighth or Tuesday the fifteenth?") whose day of the month the answer names:
    an ordinal, a number from 13 up, or a smaller number that stands in no time ("at four", "four thirty"). "On
    Tuesday the fifteenth ... at half past one", heard "on tuesday that fifteen ...", named the same weekday as both
    and was asked again, twice, then put through (fresh seed 8282); so was "on friday four" (seed 8484)."""
    words = normalise(text).split()
    named = {value for i, word in enumerate(words)
             if (value := _day_number(word)) is not None
             and (value >= 13 or word in _ORDINAL_WORDS or not _an_hour(words, i))}
    picked = [option for option in options if option.day in named]
    if not picked and (month := month_named(text)):
        picked = [option for option in options if option.month == MONTHS.index(month) + 1]  # "the one in December"
    if not picked and len(options) == 2 and (order := _ORDER_PICK.search(" ".join(words))):
        picked = [options[0] if order.group(1) in ("first", "earlier", "earliest") else options[1]]
    return picked[0] if len(picked) == 1 else None


# "The first one", "the later one": a choice between two options by its place ("the first" alone is a date).
_ORDER_PICK = re.compile(r"\b(first|earlier|earliest|second|later|last)\s+one\b")


# Words after "<weekday> the" that are no lost day number: parts of the day, and what else follows that phrase.
_AFTER_WEEKDAY_THE = frozenset("morning afternoon evening same earliest latest first one next week weekend day".split())


def weekday_number_lost(text: str) -> bool:
    """Whether a weekday is followed by "the" and a word that is no day of the month: the number said there did not
    come through ("Saturday the fifth" heard "saturday the says", "Thursday the seventeenth" heard "thursday the
    favorite"). The nearest such weekday is then a guess; which week is meant is asked (fresh seed 8787: Saturday
    the twenty-eighth was read back for the fifth, and the call went round corrections until a person)."""
    words = normalise(text).split()
    for i, word in enumerate(words[:-2]):
        if word.rstrip("s") in WEEKDAYS and words[i + 1] == "the":
            after = words[i + 2]
            if _day_number(after) is None and after not in _AFTER_WEEKDAY_THE and after not in _HOUR_SOUND_ALIKES \
                    and _hour_value(after) is None:
                return True
    return False


def day_before_time(text: str, today: date) -> date | None:
    """The day a number just before a time is: before "at" and an hour ("the tenth, at one thirty" read "around to
    ten at one thirty"), or after "the" and before an hour with its minutes ("the tenth, one thirty" heard "can i
    do the ten one thirty"). Simulated seed 1919: both callers were asked for the day again and again, then put
    through. To be asked back, never taken."""
    words = normalise(text).split()
    days = {value for i, word in enumerate(words[:-2])
            if _time_starts(words, i + 1, after_the=i >= 1 and words[i - 1] == "the")
            and (value := _day_number(word)) is not None and not _in_a_time(words, i)}
    return _next_month_day(today, days.pop()) if len(days) == 1 else None


def _time_starts(words: list[str], j: int, after_the: bool) -> bool:
    """Whether words[j:] opens with "at" and an hour, or (`after_the` a day number) an hour and its minutes."""
    if words[j] == "at":
        return words[j + 1] in _HOUR_WORDS
    return after_the and words[j] in _HOUR_WORDS and j + 1 < len(words) \
        and (words[j + 1] in _MINUTE_WORDS or words[j + 1].isdigit())  # "forty five" is "45" by now


_HOUR_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve noon midday".split())
_MINUTE_WORDS = frozenset("fifteen thirty forty o'clock am pm".split())


def _in_a_time(words: list[str], i: int) -> bool:
    """Whether words[i] is the hour of a time phrase: "half past ten", "at ten", "quarter to ten"."""
    before = words[i - 1] if i >= 1 else ""
    if before in ("past", "half", "quarter", "at", "around", "about", "by"):
        return True
    return before == "to" and i >= 2 and words[i - 2] in ("quarter", "twenty", "ten", "five", "half")


def _an_hour(words: list[str], i: int) -> bool:
    """Whether words[i] is an hour: in a time phrase ("at four"), or before its minutes ("four thirty", "four pm")."""
    return _in_a_time(words, i) or (i + 1 < len(words) and words[i + 1] in _MINUTE_WORDS | {"a", "p", "in"})


def weekday_only(text: str, today: date) -> bool:
    """Whether a turn dates its day by a bare weekday ("monday", not "monday the seventh", "next monday")."""
    t = normalise(text)
    m = re.search(r"\b(next|this|coming)?\s*(" + "|".join(WEEKDAYS) + r")s?\b", t)
    if not m or m.group(1):
        return False
    return parse_date(t[: m.start()] + " " + t[m.end():], today, bare_ordinal=True) is None


def weekday_in_month(day: date, month: str, today: date) -> date:
    """The first date with `day`'s weekday in `month` when `day` falls outside that month: a weekday said with a
    month ("a Saturday in December", "december ... saturday") or in answer to "Which day in December?". "Saturday
    the fifth", heard "saturday the says", answered that question and was read back as Saturday the twenty-eighth
    of November (fresh seed 8787). The current month and a month out of reach leave `day` as it is."""
    wanted = MONTHS.index(month) + 1
    if day.month == wanted or wanted == today.month:
        return day
    first = date(today.year + (wanted < today.month), wanted, 1)
    return first + timedelta(days=(day.weekday() - first.weekday()) % 7)


def day_in_month(day: date, month: str, today: date, weekday: bool) -> date:
    """`day` read again in `month`, the month the caller was asked about ("Which day in December?"), when it fell
    outside it: a weekday (`weekday`) as its first date there, a day of the month as that day there."""
    wanted = MONTHS.index(month) + 1
    if day.month == wanted:
        return day
    if weekday:
        return weekday_in_month(day, month, today)
    return _next_month_day(today, day.day, wanted) or day


def month_named(text: str) -> str | None:
    """The month a turn names, if any ("may" is left out: "may I", "I may" are far more common on the phone)."""
    for word in normalise(text).split():
        if word in MONTHS and word != "may":
            return word
    return None


def date_conflict(text: str, today: date) -> tuple[date, date] | None:
    """(the weekday's date, the number's date) when a caller names both and they disagree ("Saturday the first"
    when the first is a Tuesday): one of them was misheard, so the agent asks which, rather than guess."""
    t = normalise(text)
    ordinal = r"(\d{1,2}th|" + "|".join(_ORDINAL_WORDS) + r")"
    m = re.search(r"\b(" + "|".join(WEEKDAYS) + rf")\s+(?:the\s+)?{ordinal}\b", t)
    if not m:
        return None
    day = _day_number(m.group(2))
    # The words after the weekday ("the twenty first"), else the ordinal alone: "friday the first one eleven
    # thirty" (for "Friday the fourth, uh, eleven thirty") has no date in its tail, and Tuesday the first was read
    # back with no question (fresh seed 9696).
    by_number = (parse_date(t[m.end(1):], today) or parse_date(f"the {m.group(2)}", today)) if day else None
    if by_number is None or by_number.weekday() == WEEKDAYS.index(m.group(1)):
        return None
    ahead = (WEEKDAYS.index(m.group(1)) - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead), by_number


def _hour_value(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


def _clinic_hour(hour: int, meridiem: str | None) -> int:
    """'at four' at a dental clinic means 16:00: bare hours 1-7 are afternoon."""
    if meridiem in ("pm", "p.m.", "p m") and hour < 12:
        return hour + 12
    if meridiem in ("am", "a.m.", "a m") and hour == 12:
        return 0
    if meridiem is None and 1 <= hour <= 7:
        return hour + 12
    return hour


def parse_time(text: str, bare_number_is_hour: bool = False) -> SpokenTime | None:
    """The time a caller means: 'half past two', 'around four', '10:30', 'quarter to five', 'in the morning'.

    A bare number ('ten') counts only when the agent has just asked for a time (`bare_number_is_hour`).
    """
    t = normalise(text)
    t = re.sub(r"\bp\.?\s?m\b", "pm", re.sub(r"\ba\.?\s?m\b", "am", t))
    num = r"(\d{1,2}|" + "|".join(k for k in _NUMBER_WORDS if _NUMBER_WORDS[k] <= 12) + r")"
    approx = bool(re.search(r"\b(around|about|roughly|ish|or so)\b", t))
    mer = r"(?:\s*(am|pm|in the morning|in the afternoon|in the evening))?"

    def build(hour: int, minute: int, meridiem: str | None) -> SpokenTime | None:
        mapped = {"in the morning": "am", "in the afternoon": "pm", "in the evening": "pm"}.get(
            meridiem or "", meridiem)
        h = _clinic_hour(hour, mapped)
        if not (0 <= h <= 23 and 0 <= minute <= 59):
            return None
        return SpokenTime(at=time(h, minute), approximate=approx)

    m = re.search(r"\b(\d{1,2}):(\d{2})\s*(am|pm)?", t)
    if m:
        return build(int(m.group(1)), int(m.group(2)), m.group(3))
    # Where only an hour can stand, a sound-alike is that hour ("half past do" -> half past two).
    t = re.sub(r"\b(half past|quarter past|quarter to|half after|quarter after)\s+(\w+)",
               lambda m: f"{m.group(1)} {_HOUR_SOUND_ALIKES.get(m.group(2), m.group(2))}", t)
    m = re.search(rf"\b(half|quarter)\s+(past|after|to)\s+{num}{mer}", t)
    if m:
        hour = _hour_value(m.group(3))
        if hour is not None:
            minutes = 30 if m.group(1) == "half" else 15
            if m.group(2) == "to":
                return build(hour - 1 if hour > 1 else 12, 60 - minutes, m.group(4))
            return build(hour, minutes, m.group(4))
    # "Half two" is half past two in British speech, never two o'clock; the time decoder drops an unsure "past" as
    # well: "half past twelve", read "half twelve", was read back as noon (fresh seed 9191).
    m = re.search(rf"\bhalf\s+{num}\b{mer}", t)
    if m:
        hour = _hour_value(m.group(1))
        if hour is not None:
            return build(hour, 30, m.group(2))
    m = re.search(rf"\b{num}\s+(thirty|fifteen|forty five|45|30|15)\b{mer}", t)
    # "two thirty" is a clock time on its own ("Tuesday, two thirty"), unless it runs on from other numbers
    # (a phone number read out digit by digit). One number before it is not a run: "on the eight eleven thirty"
    # is a day heard without its "th", then the time.
    digit = r"(?:\d|oh|zero|" + "|".join(_NUMBER_WORDS) + r")"
    in_digits = bool(m) and re.search(rf"\b{digit}\s+{digit}\s*$", t[:m.start()])
    if m and (re.search(rf"\b(at|around|about|for|by)\s+{m.group(1)}\b", t) or m.group(3)
              or bare_number_is_hour or not in_digits):
        minute = {"thirty": 30, "fifteen": 15, "forty five": 45}.get(m.group(2)) or int(m.group(2))
        hour = _hour_value(m.group(1))
        if hour is not None:
            return build(hour, minute, m.group(3))
    m = re.search(rf"\b{num}\s*(o'clock|oclock|o clock)", t) or re.search(rf"\b{num}\s*(am|pm)\b", t)
    if m:
        hour = _hour_value(m.group(1))
        meridiem = m.group(2) if m.group(2) in ("am", "pm") else None
        if meridiem is None:
            after = re.search(rf"{re.escape(m.group(0))}{mer}", t)
            meridiem = after.group(1) if after else None
        if hour is not None:
            return build(hour, 0, meridiem)
    # "eleven in the morning", "two in the afternoon": the part of day makes a bare number an hour.
    m = re.search(rf"\b{num}\s+(in the morning|in the afternoon|in the evening)\b", t)
    if m:
        hour = _hour_value(m.group(1))
        if hour is not None:
            return build(hour, 0, m.group(2))
    lead = r"(?:at|around|about|for|by|after|make it|change it to|move it to)"
    m = re.search(rf"\b{lead}\s+{num}\b(?!\s*(?:th|days?|weeks?|minutes?)){mer}", t)
    if m and not re.search(rf"\b(?:the|for)\s+{m.group(1)}th\b", t):
        hour = _hour_value(m.group(1))
        if hour is not None:
            return build(hour, 0, m.group(2))
    if re.search(r"\b(noon|midday)\b", t):
        return SpokenTime(at=time(12, 0), approximate=approx)
    if bare_number_is_hour:
        m = re.fullmatch(rf"(?:.*\s)?{num}(?:\s+(?:is|would|please|works|then|fine|ok|okay).*)?{mer}", t)
        if m and not re.search(r"\b(\d{1,2}th|" + "|".join(_ORDINAL_WORDS) + r")\b", t):
            hour = _hour_value(m.group(1))
            if hour is not None:
                return build(hour, 0, m.group(2))
    for period in ("morning", "afternoon", "evening", "lunchtime"):
        m = re.search(rf"\b{period}s?\b", t)
        if m:
            return SpokenTime(period=period, approximate=True, unclear=_time_word_missed(t[:m.start()]))
    return None


# Words that may come right before a part of the day without naming a time: "friday in the morning",
# "sometime in the afternoon", "a cleaning in the morning", "first thing in the morning".
_BEFORE_PERIOD = frozenset(
    """
some sometime anytime any time preferably ideally maybe perhaps probably possibly early earlier late later thing
first best please just only ok okay yes yeah well so and or but then also else rather the a an this that it is
be would could good fine free available like prefer want need i i'd i'm we me us day week next coming
tomorrow today tonight appointment booking book come in up check checkup check-up cleaning filling clean exam
visit slot one mid
""".split()
)
_TIME_LEADS = frozenset({"at", "around", "about", "by", "for", "after", "before"})


def _time_word_missed(before: str) -> bool:
    """True when the words before a part of the day look like a time the ASR garbled.

    "next thursday at <noise> in the morning": the caller said a time there, and picking the earliest free start
    would replace it silently. A time lead with no number ("at in the morning") counts as well.
    """
    words = re.sub(r"\b(?:in|on|during)(?:\s+the)?\s*$|\bthe\s*$|\bthis\s*$", "", before.strip()).split()
    if not words:
        return False
    last = words[-1]
    if last in _TIME_LEADS:
        return True
    if last in _BEFORE_PERIOD or last in WEEKDAYS or last.rstrip("s") in WEEKDAYS or last in MONTHS:
        return False
    if _day_number(last) is not None or last.isdigit():
        return False
    return True


# A long service word heard one sound off ("a cleaning" -> "at leaning"): similarity of at least this much
# (difflib ratio; one letter dropped or added in an 8-letter word is 0.93, "billing"/"filling" is 0.86).
_FUZZY_SERVICE_RATIO = 0.9
_FUZZY_MIN_LETTERS = 7


def parse_service(text: str) -> str | None:
    """The canonical service named in the text: check-up, cleaning or filling.

    Exact words first; failing that, a long word within one sound of a single-word service name, because ASR
    on a phone line loses or adds a consonant at word edges and the caller would otherwise be asked again.
    """
    t = normalise(text)
    # Two services named: the first, unless a no leads it ("not a cleaning, a filling"). Callers name what they want
    # first, and the service decoder forces a service word onto what follows: "A filling, please" read "a filling
    # clean". In ten 200-call reports, 19 service readings named two services where the caller said one: the first
    # named was the caller's all 19 times (the list's order took the other 12 times).
    named = sorted((m.start(), service) for service, words in _SERVICE_WORDS.items() for w in words
                   for m in re.finditer(rf"\b{re.escape(w)}\b", t))
    wanted = [service for at, service in named if not _NEGATED.search(t[:at])]
    if named:
        return wanted[0] if wanted else named[-1][1]
    for token in t.split():
        if len(token) < _FUZZY_MIN_LETTERS - 1:
            continue
        for service, words in _SERVICE_WORDS.items():
            for word in words:
                if (" " not in word and len(word) >= _FUZZY_MIN_LETTERS
                        and SequenceMatcher(None, _sounds(token), _sounds(word)).ratio() >= _FUZZY_SERVICE_RATIO):
                    return service
    return None


# A service said not to be the one: "not a cleaning", "no, not the check-up".
_NEGATED = re.compile(r"\b(?:not|no)(?: \w+)?(?: \w+)? ?$")


# A service word heard further off than parse_service accepts ("a new filling" -> "a new film", "feeling",
# "fill m"): near enough to ask "Was that a filling?", never to take without a yes.
_NEAR_SERVICE_RATIO = 0.7
_NEAR_SERVICE_MIN_LETTERS = 4


def near_service(text: str) -> str | None:
    """The one service a word of `text` sounds nearest to, when it is near enough to ask about but the turn
    named no service: the closest service word by sound (a word, or two words run together: "fill m"), at
    least `_NEAR_SERVICE_RATIO` alike, and no other service as near."""
    words = normalise(text).split()
    tokens = [w for w in words if len(w) >= _NEAR_SERVICE_MIN_LETTERS]
    tokens += [a + b for a, b in pairwise(words) if len(a) >= 3 and len(a + b) >= _NEAR_SERVICE_MIN_LETTERS]
    best: dict[str, float] = {}
    for token in tokens:
        for service, phrases in _SERVICE_WORDS.items():
            for phrase in phrases:
                if " " in phrase or len(phrase) < _NEAR_SERVICE_MIN_LETTERS:
                    continue
                ratio = SequenceMatcher(None, _sounds(token), _sounds(phrase)).ratio()
                best[service] = max(best.get(service, 0.0), ratio)
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < _NEAR_SERVICE_RATIO:
        return None
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 0.05:
        return None  # as near to another service: asking about either would be a guess
    return ranked[0][0]


def echoed_service(reading: str, heard: str) -> str | None:
    """The service of a long service word of the constrained `reading` ("filling", "examination") that a word of
    the free transcript `heard` sounds near ("feeling", "nomination"): two decoders agreeing on it. None if none."""
    heard_words = [w for w in normalise(heard).split() if len(w) >= _NEAR_SERVICE_MIN_LETTERS]
    for word in normalise(reading).split():
        service = parse_service(word) if len(word) >= _FUZZY_MIN_LETTERS else None
        if service and any(SequenceMatcher(None, _sounds(h), _sounds(word)).ratio() >= _NEAR_SERVICE_RATIO
                           for h in heard_words):
            return service
    return None


# Consonants a phone line confuses in pairs (voiced/unvoiced, the two nasals): compared as one sound, "gleaming"
# is one sound off "cleaning" like "leaning" is; "feeling" stays far from "filling" (its vowels differ).
_SOUND_CLASSES = str.maketrans({"g": "k", "c": "k", "q": "k", "b": "p", "d": "t", "v": "f", "z": "s", "m": "n"})


def _sounds(word: str) -> str:
    return word.translate(_SOUND_CLASSES)


_DIGIT_WORDS = lexicon.table("digits")
_REPEATS = {"double": 2, "triple": 3}


def parse_phone(text: str) -> str | None:
    """The digits of a spoken phone number ('five five five, double one, oh two' -> '5551102'), at least six.

    Only digit words, digits and 'double'/'triple' count; a number said in tens ('fifty five') is not a phone
    number people read out, and words in between ('my number is') are skipped.
    """
    digits: list[str] = []
    repeat = 1
    words = re.findall(r"[a-z]+|\d", text.lower())

    def is_digit(word: str) -> bool:
        # A homophone counts as a neighbour too: "two one four three" was heard "to one for free".
        return word.isdigit() or word in _DIGIT_WORDS or word in _REPEATS or word in _HOUR_SOUND_ALIKES

    for i, word in enumerate(words):
        if word in _REPEATS:
            repeat = _REPEATS[word]
            continue
        digit = word if word.isdigit() else _DIGIT_WORDS.get(word)
        inside = 0 < i < len(words) - 1 and is_digit(words[i - 1]) and is_digit(words[i + 1])
        # Ending a run of digits, the number's last word: "... five seven six three two" heard "... six three do"
        # was read back a digit short, three times (simulated seed 5858).
        last = i == len(words) - 1 and len(digits) >= 3 and is_digit(words[i - 1])
        if digit is None and (inside or last):
            # Inside a run of digits, "eight to five" is eight two five: the small model's digit homophones.
            digit = _DIGIT_WORDS.get(_HOUR_SOUND_ALIKES.get(word, ""))
        if digit is not None:
            digits.append(digit * repeat)
        repeat = 1
    number = "".join(digits)
    return number if len(number) >= 6 else None


_DAY_CUES = frozenset([*WEEKDAYS, *MONTHS, "today", "tomorrow", "next", "week", *_ORDINAL_WORDS])
_TIME_CUES = frozenset(["half", "quarter", "past", "o'clock", "oclock", "am", "pm", "morning", "afternoon",
                        "evening", "noon", "midday", "lunchtime", "thirty", "fifteen"])


def _mentions(words: list[str], cues: frozenset[str]) -> bool:
    return any(w in cues or w.isdigit() or re.fullmatch(r"\d+th", w) is not None for w in words)


def speaks_of(detail: str, text: str, reading: str, today: date) -> bool:
    """Whether a turn spoke of a day (`detail` "date") or a time ("time"), whether or not its value came through:
    a word only days or times have in the free transcript (`text`), or a value the constrained `reading` holds."""
    if detail == "date":
        return _mentions_word(normalise(text).split(), _DAY_CUES) or parse_date(reading, today) is not None
    # An hour word of the reading counts too: "at three" after a day is read "my second three", no time to the parser.
    return _mentions_word(normalise(text).split(), _TIME_CUES) or parse_time(reading) is not None \
        or _mentions_word(normalise(reading).split(), _HOUR_WORDS)


def _mentions_word(words: list[str], cues: frozenset[str]) -> bool:
    return any(w in cues for w in words)


_YES_NO_LEADS = frozenset({"yes", "yeah", "yep", "no", "nope", "sure", "okay", "ok"})


def hinted_details(hint: dict[str, Any] | None, requested: str | None, found: dict[str, Any],
                   today: date, heard_text: str = "", refused: Collection[str] = (),
                   what_to_change: bool = False) -> dict[str, Any]:
    """Details the voice agent's constrained second reading adds to those of the free transcript.

    `hint` is the turn's metadata["asr_hint"] ({"kind", "text", "complete"}, see ari_agent/asr/expectations.py);
    `heard_text` is the free transcript, `found` what was read from it. The hint only fills what the transcript
    lacks (a service, a day, an exact time, a phone number), or replaces a name the transcript garbled
    (`hinted_name`: the name asked for, or the name said again at a read-back, `hint["name"]`), and only where
    it can be trusted: a constrained
    decoder forces its phrases onto any speech, so a name said when a time was asked can come out "monday".
    A value is taken when it is what the bot asked for, or when the transcript itself mentions that kind of
    value ("half past do" is about a time), or (a time or a service, not a day) when the whole turn fitted the
    phrases with about as many words as were heard. A hint that contradicts the transcript (another day) is
    ignored whole, unless it only dates a weekday the transcript heard without its date (`refines_weekday`). A
    bare number ("two") is the hour only when the whole turn fitted. `refused`: the names the caller refused
    (lower case). `what_to_change`: the caller was asked "What would you like to change?" after refusing a
    read-back.
    """
    if not hint or not isinstance(hint.get("text"), str):
        return {}
    text = hint["text"]
    words, heard = normalise(text).split(), normalise(heard_text).split()
    # "Complete" is judged against the transcript too: one word fitted out of a sentence is not a reading of it.
    complete = bool(hint.get("complete")) and 2 * len(words) >= len(heard)
    confirm = hint.get("kind") == "confirm"
    if confirm:
        # A read-back's reading holds every detail's phrases, so it fits nearly anything: "sorry, can we make it
        # eleven instead", heard clearly, was read "sunday can week make it eleven instead"; "That's it, yes",
        # heard "not the us", was read "not the the eighth" and moved a right booking to the 8th. A value changes
        # only where the transcript has a word of it too: a day or time word, or the same day or hour number. A
        # service is changed by the transcript alone: sound-alikes back anything ("claim" for "clean").
        complete = False
    extra: dict[str, Any] = {}
    # A read-back's reading ("confirm") holds the details' phrases too: a correction is read like an answer.
    if hint.get("kind") in ("service", "confirm") and "service" not in found:
        service = parse_service(text)
        # A correction's service read by the decoder and heard nearly in the transcript ("it's for a filling",
        # heard "it's a feeling", read "it's a filling") is the service said: such turns went round "What would you
        # like to change?" until the caller gave up (fresh seed 11614). In ten 200-call reports, 50 read-back and
        # correction turns were so, and each named that service. (Asked for another detail, none is taken.)
        echoed = (confirm or what_to_change) and service is not None and service == echoed_service(text, heard_text)
        # Asked what to change, a turn whose words name the caller is that name: the service decoder forces its
        # phrases onto it ("it's helen green" read "a fillings" turned a cleaning into a filling; fresh seed 9191).
        if service and (requested == "service" or complete or echoed) and not (what_to_change and found.get("name")):
            extra["service"] = service
        elif service is None and requested == "service" and (stemmed := lexicon.service_of_stem(words, heard)):
            extra["service"] = stemmed  # "fill" read, "feel" heard: components.cues.stem_echoed
    if hint.get("kind") in ("when", "service", "confirm"):
        if what_to_change:
            # Asked what to change, the service decoder's reading holds every detail's phrases: a day or a time in
            # it takes the same care as a read-back's (a service named is what that question is for). "It's Harry
            # Davis", heard "every day with" (0.47) and read "saturday this", moved the booking to Saturday (fresh
            # seed 9292).
            confirm, complete = True, False
        elif hint.get("kind") == "service":
            # Asked for the service, a day or time only the reading has is the decoder's own: "A cleaning
            # appointment, please" read "a cleaning on monday", "a new filling" read "a noon filling", "Yes, that's
            # right" read "yeah friday". In thirty-seven 200-call reports no such whole reading's day (14) or time
            # (50) had been said; a day or time the transcript has a word of is still taken.
            complete = False
        day_asked = requested in ("date", "old_date")
        day = parse_date(_REFUSED_DAY.sub("not", text), today, bare_ordinal=day_asked)
        spoken = parse_time(text, bare_number_is_hour=requested == "time" and complete)
        if day and _names_another_day(heard, day.day):
            return {}  # "the twenty eight" heard clearly, read "wednesday eight": the reading is of other words
        if day and "day" in found and found["day"] != day:
            if not refines_weekday(found["day"], day, heard):
                return {}
            extra["day"] = day
        # A day only the reading has is taken when the day was asked: asked for the time, "at eleven in the
        # morning" heard "i believe in the morning" was read "monday the morning" and moved the booking to Monday
        # (seed 11109); in thirty-seven 200-call reports none of 8 such whole readings' days had been said.
        if day and "day" not in found and (day_asked or _mentions(heard, _DAY_CUES)
                                           or _says_day_number(heard, day.day)
                                           or (confirm and _hears_day_number(heard, day.day, spoken))):
            extra["day"] = day
        seen = found.get("spoken_time")
        time_ok = (requested == "time" or complete or _mentions(heard, _TIME_CUES)
                   or (confirm and spoken is not None and spoken.at is not None and _hears_hour(heard, spoken.at)))
        if heard[:1] and heard[0] in _YES_NO_LEADS and not _mentions(heard, _TIME_CUES):
            time_ok = False  # "yes, book it" read as "yes week eight": an answer to another question
        # The transcript's part of day ("at <garbled> in the afternoon") gives way to the hint's exact time.
        if spoken and time_ok and (seen is None or (seen.at is None and spoken.at is not None)):
            extra["spoken_time"] = spoken
        elif spoken and time_ok and seen is not None and (minutes := _minutes_added(seen, spoken, text)):
            extra["spoken_time"] = minutes
    elif hint.get("kind") == "digits" and requested == "phone":
        phone = parse_phone(text)
        # A whole reading with more digits beats the free one: the open decoder turns digits into words ("two
        # one four three" -> "to one for free") and the free reading loses them (5552143899 read as 55521899).
        if phone and ("phone" not in found or (complete and len(phone) > len(found["phone"]))):
            extra["phone"] = phone
    elif hint.get("kind") == "name" and requested == "name":
        name = hinted_name(text, found.get("name"), refused)
        if name:
            extra["name"] = name
    reading = str(hint.get("name") or "")
    if (reading and requested == "confirmed" and echoes_the_name(reading, heard_text)
            and (corrects_the_name(heard_text) or says_the_name_again(reading, heard_text)
                 or (what_to_change and not _names_a_detail(normalise(heard_text))))):
        # The name decoder listened alongside the yes/no one at a read-back (AsrHint.name): its reading of the
        # name said again beats a free reading made of common words ("no, it's silent smith"). Asked what to
        # change, a turn that names no other detail needs no lead-in: "it's Julie Walker" heard "put simply
        # walk", read "julie walker", was asked again and again (fresh seed 3131; 16 of 165 failed calls in four
        # 200-call runs ended at that question).
        name = hinted_name(reading, found.get("name"), refused)
        # The name taken must echo what the open decoder heard, not merely some name of the reading: "December the
        # sixteenth, half past two", heard "the been of the things off moscow" and read "bender singh philip
        # acevedo" (bender ~ been), replaced a right name with "Philip Acevedo" (fresh seed 11210).
        if name and echoes_the_name(name, heard_text):
            extra["name"] = name
    return extra


_SAYS_MINUTES = re.compile(r"\b(past|quarter|fifteen|thirty|forty)\b")


def _minutes_added(seen: SpokenTime, read: SpokenTime, reading: str) -> SpokenTime | None:
    """The transcript's whole hour with the minutes the reading adds to that same hour, when the reading says them
    in words only minutes have: "At half past one" heard "one" and read "a half past one" was booked at one o'clock
    (fresh seed 11917). In twelve 200-call reports the reading named minutes so, to the hour heard, 31 times, each
    said by the caller; "half four" alone (5 times) was not ("at four" read "half four")."""
    if seen.at is None or read.at is None or seen.at.minute or not read.at.minute \
            or seen.at.hour % 12 != read.at.hour % 12 or not _SAYS_MINUTES.search(normalise(reading)):
        return None
    return dataclasses.replace(seen, at=seen.at.replace(minute=read.at.minute))


# A day the reading says "not" to is no day given: "Yes, that's right" heard "yeah not right", read "yeah not
# friday" at "Sorry, was that a filling?", moved the booking to Friday (fresh seed 11917). In twenty-four 200-call
# reports, 45 readings had "not" just before a weekday, "today" or "tomorrow", and no caller had said that day.
# "Not on friday" is left alone: it was "That's wrong, on Friday" both times it came.
_REFUSED_DAY = re.compile(rf"\bnot (?:the )?(?:{'|'.join([*WEEKDAYS, 'today', 'tomorrow'])})\b")

# Numbers that are a time's minutes as often as a day of the month ("ten thirty", "two fifteen"), and ordinals
# that mean other things ("my first visit", "just a second"): they contradict no date.
_MINUTE_NUMBERS = frozenset({15, 20, 30, 45})
_NOT_DATES = frozenset({"first", "second"})


def _names_another_day(heard: list[str], day: int) -> bool:
    """Whether the free transcript holds a day of the month other than `day`: an ordinal ("the ninth"), or a
    number from 13 to 31 that no hour can be ("the twenty eight"). The constrained decoder forces its phrases
    onto any speech: "the twenty eighth" came out "wednesday eight", "november the twenty eighth" as "november
    eight". Numbers up to 12 are left alone: they are the time as often as the day ("friday at ten")."""
    for word in heard:
        value = _day_number(word)
        if value is None or value == day or word in _NOT_DATES:
            continue
        ordinal = word in _ORDINAL_WORDS or re.fullmatch(r"\d+th", word) is not None
        if ordinal or (value >= 13 and value not in _MINUTE_NUMBERS):
            return True
    return False


def _hears_day_number(heard: list[str], day: int, spoken: SpokenTime | None) -> bool:
    """Whether the free transcript has the day of the month of a read-back's reading ("i said eleven fat free",
    read "the eleventh at three"), and that number is not the reading's hour too ("no the member at two
    thirty", read "december second at two thirty": the transcript's "two" is the time)."""
    hour = (spoken.at.hour % 12 or 12) if spoken is not None and spoken.at is not None else None
    return day != hour and any(_day_number(w) == day for w in heard)


def _hears_hour(heard: list[str], at: time) -> bool:
    """Whether the free transcript has the hour of `at` in any form: a number word, digits, or a word the
    recogniser hears for it ("free" for "three", lexicon hour_sound_alikes)."""
    hour = at.hour % 12 or 12
    return any(_hour_value(_HOUR_SOUND_ALIKES.get(w, w)) in (hour, at.hour) for w in heard)


def _says_day_number(heard: list[str], day: int) -> bool:
    """Whether the free transcript has the hint's day of the month, in any form ("seventeen" for "seventeenth":
    the two readings agree). Only 13 to 31: a smaller number is as likely the hour ("at two thirty")."""
    return day >= 13 and any(_day_number(word) == day for word in heard)


def refines_weekday(heard_day: date, hinted_day: date, heard: list[str]) -> bool:
    """Whether the hint's date only completes a weekday the free transcript heard without its date: "monday the
    seventies" gave the nearest Monday, the hint "monday the seventh" a later Monday. A transcript that said a
    date of its own (an ordinal, a month, digits) is contradicted instead, and the hint is ignored; its other
    numbers are most often the time ("monday the family at one")."""
    said_a_date = any(w in _ORDINAL_WORDS or w in MONTHS or w.isdigit() for w in heard)
    return heard_day.weekday() == hinted_day.weekday() and hinted_day > heard_day and not said_a_date


_COMMON_NAMES = lexicon.names()


def hinted_name(hint_text: str, heard: str | None, refused: Collection[str] = ()) -> str | None:
    """The name read by the name decoder (a list of common names), when it should replace the free reading.

    The open decoder's language model turns names into common words ("Betty Lewis" -> "fundamentally louis");
    the name decoder can only hear names from its list, so a name it is sure of replaces a free reading that is
    not made of known names. When both readings are names, the free one is kept if it holds every word the
    name decoder heard (that decoder leaves out the words it was unsure of: "Lewis" of "Betty Lewis"). A name
    outside the list comes out as [unk] and leaves the free reading alone. Either way the name is read back. A
    free reading the caller already refused (`refused`) is never kept: the name decoder passed over it.
    """
    name = name_in_reading(hint_text)
    if name is None:
        return None
    words = name.lower().split()
    if heard and heard.lower() not in refused:
        heard_words = heard.lower().split()
        # A whole name the open decoder heard as list names is kept: its language model rarely turns speech into
        # two list names by accident, while the name decoder forces list names onto every sound. On 12 turns of
        # simulated calls (seed 5151) where both readings were whole names and differed, the free one was right
        # 7 times, the name decoder 0 ("Lisa Anderson" vs "Lee Sanderson", "John Wilson" vs "Hamm Wilson").
        if all(w in _COMMON_NAMES for w in heard_words) and (len(heard_words) >= 2 or set(words) <= set(heard_words)):
            return None
    return name


def name_in_reading(reading: str) -> str | None:
    """The name in the name decoder's reading: its last run of list names, at most two ("not quite it's thomas
    collins" -> Thomas Collins). That decoder hears only lead-ins, no-words, hesitations and list names, so the
    words before the last two of a longer run are a sound forced into a name ("lott lacy frank hill")."""
    runs: list[list[str]] = [[]]
    for word in normalise(reading).split():
        if word in _COMMON_NAMES:
            runs[-1].append(word)
        elif runs[-1] and word not in _NAME_HESITATIONS:  # "tom um smith" is one run
            runs.append([])
    last = next((run for run in reversed(runs) if run), [])
    return " ".join(w.capitalize() for w in last[-2:]) or None


_GIVEN_NAMES = lexicon.given_names()
_YES_NO_PHRASES = frozenset(p for group in lexicon.groups("yes_no_phrases").values() for p in group)
_YES_LEADS = lexicon.words("yes_cues")


def _yes_led_phrase(text: str) -> bool:
    """Whether `text` is yes-words before a yes/no phrase ("yeah that's right", "yep yes please")."""
    words = text.split()
    while words and words[0] in _YES_LEADS:
        words = words[1:]
    return len(words) < len(text.split()) and (not words or " ".join(words) in _YES_NO_PHRASES)


def is_given_name(word: str) -> bool:
    """Whether a one-word name is more likely a given name than a surname (list names by census share; a word
    outside the list is taken as a surname: the open decoder hears surnames as other words more often)."""
    return word.lower() in _GIVEN_NAMES


def name_with_parts(heard: str, part: str | None, current: str | None) -> tuple[str | None, str | None]:
    """(the name to take, a part of it to keep while the other part is asked for) from a name `heard` in the
    caller's turn, the `part` kept from an earlier turn and the `current` name (the one being read back).

    A name heard as one word is mostly half a name whose other half the recogniser lost (simulated seed 9292:
    42 of 159 name turns; "Edwards" for "Anna Edwards" four times in one call, each read back and refused).
    So one word is kept as a part and the other part is asked for ("And your first name?"), once; the next
    word heard is the part asked for. At a read-back, one word that is part of the name read back says the other part
    was wrong; one word that is not replaces the part of the same kind ("Harry" in "Ruth Murphy").
    """
    words = heard.split()
    if len(words) != 1:
        return heard, None
    word = words[0]
    if part and part.lower() != word.lower():
        # The answer to the question asked: the surname after a given name, else the first name.
        return (f"{part} {word}" if is_given_name(part) else f"{word} {part}"), None
    if part:  # the same word again: the caller has no other part for us, or we cannot hear it; take it
        return word, None
    have = (current or "").split()
    if len(have) == 2:
        if word.lower() in (w.lower() for w in have):
            return None, word
        return (f"{word} {have[1]}" if is_given_name(word) else f"{have[0]} {word}"), None
    return None, word


_LETTERS = frozenset(lexicon.ordered("letters"))
_LETTER_GROUP = {letter: i for i, group in enumerate(lexicon.ordered("letter_sound_groups")) for letter in group}
_NAMES_BY_ROLE = {
    "given": sorted(_GIVEN_NAMES),
    "surname": sorted(n for n in _COMMON_NAMES if n not in _GIVEN_NAMES),
}
_NAME_SETS = {role: frozenset(names) for role, names in _NAMES_BY_ROLE.items()}
# A letter heard as another of its sound group (the "e" set: b c d e g p t v z) costs this much of a letter.
_SOUND_SWAP = 0.4
# A spelling is taken as a list name when it is this close to it (share of the name's letters, weighted as
# above) and clearly closer than to the next name. Measured on 40 synthetic spelled surnames (every voice and
# line, the simulated callers' phrasings): 13 taken, all right; 27 left unsure. Looser (0.5), more are taken
# and some wrong.
SPELLING_MAX_DISTANCE = 0.34
SPELLING_MARGIN = 0.1


_LETTER_SOUNDS = {"oh": "o", "ah": "r"}  # lexicon spelling_words: what the letter decoder writes for O and R


def spelled_letters(text: str) -> str:
    """The letters of a spelled name as the letter decoder wrote them ("w a double l" -> "wall"; "oh" is O and
    "ah" R); other words (hesitations, "it's") are dropped."""
    out: list[str] = []
    repeat = 1
    for word in normalise(text).split():
        if word in _REPEATS:  # "double l", as in a phone number's "double one"
            repeat = _REPEATS[word]
            continue
        letter = _LETTER_SOUNDS.get(word, word)
        if letter in _LETTERS:
            out.append(letter * repeat)
        repeat = 1
    return "".join(out)


def _letter_distance(a: str, b: str) -> float:
    previous = [float(j) for j in range(len(b) + 1)]
    for i, x in enumerate(a, 1):
        row = [float(i)]
        for j, y in enumerate(b, 1):
            swap = 0.0 if x == y else _SOUND_SWAP if _LETTER_GROUP.get(x, x) == _LETTER_GROUP.get(y, y) else 1.0
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + swap))
        previous = row
    return previous[-1]


def spelled_name(text: str, role: str, *, typed: bool = False) -> str | None:
    """The list name (`role` "given" or "surname") a spelling reads as, or None when no name is clearly closest.

    Letters are misheard as often as words on a phone line ("b" for "d", a letter lost), so the spelling is
    matched against the names the agent knows, not written as heard: only a list name can come out, and only
    when it is near the letters and clearly nearer than any other ("o c o n n e l l" heard is O'Connell or
    O'Donnell). `typed` letters are what the caller meant: an exact list name is taken.
    """
    letters = spelled_letters(text)
    if len(letters) < 2:
        return None
    if typed and letters in _NAME_SETS[role]:
        return letters.capitalize()
    return _clearly_nearest([letters], _NAMES_BY_ROLE[role], SPELLING_MAX_DISTANCE, SPELLING_MARGIN)


def _clearly_nearest(spelled: list[str], names: list[str], max_distance: float, margin: float) -> str | None:
    """The name of `names` nearest to any of the `spelled` letter strings (distance as a share of the name's
    letters), when it is within `max_distance` and nearer than the next name by `margin`; else None."""
    scored = sorted((min(_letter_distance(x, n) for x in spelled) / len(n), n) for n in names)
    if not scored:
        return None
    best, name = scored[0]
    second = scored[1][0] if len(scored) > 1 else float("inf")
    if best > max_distance or second - best < margin:
        return None
    return name.capitalize()


# Spelled letters matched against the names of the spelled half heard earlier in the call, by either decoder, when
# no list name is clearly closest: the right name was among them for 51 of 98 spellings in simulated calls
# (seven 200-call runs), and the letter decoder's garble ("k i n", "p i n g" for King) is nearer to it than to
# the other names heard. Measured on the 64 spellings no list name matched: at 0.5 and 0.1, 17 of them were read
# as the right name and 2 as a wrong one (both then refused at the read-back: a heard name is never written
# without it); at 0.6, 17 right and 8 wrong.
HEARD_SPELLING_MAX_DISTANCE = 0.5
HEARD_SPELLING_MARGIN = 0.1


def spelled_heard_name(readings: list[str], role: str, heard: set[str]) -> str | None:
    """The name among `heard` (words of the call so far) whose letters the spelled `readings` (the letter
    decoder's and the open decoder's) are nearest, or None when none is near enough or clearly nearest."""
    spelled = [x for x in (spelled_letters(r) for r in readings) if len(x) >= 2]
    if not spelled:
        return None
    return _clearly_nearest(spelled, sorted(heard & _NAME_SETS[role]), HEARD_SPELLING_MAX_DISTANCE,
                            HEARD_SPELLING_MARGIN)


def _names_by_keys(names: Collection[str]) -> dict[str, list[str]]:
    rank = lexicon.name_rank()
    keyed: dict[str, list[str]] = {}
    for name in sorted(names, key=lambda n: rank.get(n, len(rank))):  # the commonest first
        keyed.setdefault(lexicon.keypad_keys(name), []).append(name)
    return keyed


_NAMES_BY_KEYS = {role: _names_by_keys(names) for role, names in _NAME_SETS.items()}
_ANY_NAME_BY_KEYS = _names_by_keys(_COMMON_NAMES)


def keyed_name(digits: str, role: str, heard: set[str]) -> str | None:
    """The list name (`role` "given" or "surname") keyed in as `digits`, one key per letter, or None when no list
    name has those keys. Keys are exact where spoken letters are not, but a few names share them (Hill and Gill,
    Paul and Raul): one heard earlier in the call (`heard`) is taken first, then the commonest. A surname that is
    also a given name (Thomas) is found among all the names."""
    found = _NAMES_BY_KEYS[role].get(digits) or _ANY_NAME_BY_KEYS.get(digits)
    if not found:
        return None
    return next((n for n in found if n in heard), found[0]).capitalize()


# Lead-ins chain ("well, it's under the name of ..."), so they are matched as many times as they come.
_NAME_LEADS = (r"it's|it is|its|it'll be|that's|this is|i'm|i am|im|my name is|my name's|name is|the name is|"
               r"the name's|name's|the names|the named|named|the booking is|it's booked|under the name(?: of)?|under|"
               r"for|book it (?:under|for)|put it (?:under|down as)|call me")
_NAME_PREFIX = re.compile(
    r"^(?:(?:yes|yeah|ok|okay|sure|right|well|so|oh|um|uh|er|erm|hmm|hi|hello|let me see)[\s,]+)*"
    rf"(?:(?:{_NAME_LEADS})\s+)*(.*)$")
_NAME_LEAD = re.compile(rf"\b(?:{_NAME_LEADS})\s")
_NOT_NAME_WORDS = {
    "book", "appointment", "cancel", "reschedule", "cleaning", "filling", "check", "tomorrow", "today",
    "what", "when", "where", "how", "why", "open", "price", "cost", "human", "person", "help", "no", "not",
    "yes", "want", "need", "calling", "looking", "useless", "told", "robot", "thanks", "thank", "bye",
} | (lexicon.words("person_words") - lexicon.names())  # "put me through to reception" was read back as "Reception"
_NEVER_A_NAME = lexicon.words("not_names")
_SENTENCE_WORDS = lexicon.sentence_words()
_NAME_HESITATIONS = lexicon.words("name_hesitations")
_NAME_STOP = re.compile(r"\s+(?:and|please|thanks|thank you|speaking|here)\b.*$")


_STRONG_NAME_LEAD = re.compile(r"\b(?:it's|it is|this is|i'm|i am|my name is|my name's|name is|the name's)\s+")


def parse_name(text: str) -> str | None:
    """A caller's name from 'I'm Jennifer Wood' or 'jennifer wood please'; None if it does not look like one."""
    t = normalise(text)
    if t in _YES_NO_PHRASES or _yes_led_phrase(t):  # "yes, that's right" is no Mr Right
        return None
    name = _name_after_prefix(t)
    if name is None:
        # Garble before the lead-in ("hmm of yes, it's James Stewart"): what follows the last lead-in.
        leads = list(_STRONG_NAME_LEAD.finditer(t))
        if leads and leads[-1].start() > 0:
            name = _name_after_prefix(t[leads[-1].end():], led=True)
    return name


def _name_after_prefix(t: str, led: bool = False) -> str | None:
    m = _NAME_PREFIX.match(t)
    rest = _NAME_STOP.sub("", m.group(1) if m else t).strip(" '-")
    words = [w for w in rest.split() if w not in _NAME_HESITATIONS and w not in _NEVER_A_NAME]
    # A part said twice is one part: "It's John, John Lewis" was read back as "John John Lewis" (fresh seed 9696),
    # and "It's Hall, Julie Hall" gives the surname first, then the whole name.
    words = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    if len(words) == 3 and words[0] == words[2]:
        words = words[1:]
    # Four words are a name only when introduced as one ("my name is Mary Ann de Souza"); four bare words are
    # more often a sentence the recogniser garbled ("do you fail concert tickets" -> "Do Fail Concert Tickets").
    introduced = led or bool(m and _NAME_LEAD.search(t[: m.start(1)]))
    if not 1 <= len(words) <= (4 if introduced else 3):
        return None
    # A name's edges hold what is left of the sentence around it ("her name's carol collins", "not quite brian
    # taylor", "brian taylor phone"): words callers use in sentences that are not list names go, while two or more
    # words stay. Inside a name nothing is taken out.
    while len(words) > 2 and words[0] in _SENTENCE_WORDS:
        words = words[1:]
    while len(words) > 2 and words[-1] in _SENTENCE_WORDS:
        words = words[:-1]
    if any(w in _NOT_NAME_WORDS or w in WEEKDAYS or w in MONTHS or w in _NUMBER_WORDS or w in _ORDINAL_WORDS
           or any(c.isdigit() for c in w) for w in words):
        return None
    if not all(re.fullmatch(r"[a-z][a-z'-]*", w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


_CORRECTION_NAME = re.compile(r"\b(?:my name is|my name's|the name is|the name's|name's|name is|it's|it is)\s+")
_NOT_A_NAME_EITHER = {"wrong", "right", "correct", "fine", "ok", "okay", "that", "it", "this", "at", "on", "in",
                      "a", "an", "the", "morning", "afternoon", "evening", "noon", "half", "quarter", "past"}


def correction_name(text: str) -> str | None:
    """A name given to correct a read-back: "no, it's Sandra Green", "the name is Sandra Green".

    Only after a name lead-in, and never a day, a time, a number or a service ("no, it's the twelfth").
    """
    rest = _restated_name(text)
    return parse_name(rest) if rest else None


# What may come before a name said again at a read-back or as the change ("that's wrong, that's Tom Edwards",
# "no sorry, Linda Wood"): the lead-ins, no-words and hesitations of the lexicon, split into words.
_LEAD_WORDS = frozenset(
    word
    for phrase in (*lexicon.ordered("name_leads"), *lexicon.ordered("name_corrections"),
                   *lexicon.groups("yes_no_phrases")["deny"], *lexicon.ordered("hesitations"),
                   "it's", "it is", "that's", "this is", "i'm", "under", "for", "actually")
    for word in normalise(phrase).split()
)


def listed_name(text: str) -> str | None:
    """A whole name the open decoder heard as list names, after nothing but lead-ins: "tom edwards", "that's
    wrong that's tom edwards", "no sorry linda wood". Asked what to change, or correcting a read-back, callers
    give the name without "my name is" (simulated seed 5353: "tom edwards", heard with confidence 1.0, was asked
    for three times). The open decoder's language model rarely makes a given name and another list name out of
    other speech, while it makes single list names of common words ("will", "mark"): so two or three list names,
    the first a given name, ending the turn, and nothing but lead-in words before them."""
    words = [w for w in normalise(text).split() if w not in _NAME_HESITATIONS]
    run: list[str] = []
    while words and words[-1] in _COMMON_NAMES and len(run) < 3:
        run.insert(0, words.pop())
    while len(run) > 2 and run[0] in _LEAD_WORDS:  # "no" or "will" may be both
        words.append(run.pop(0))
    if len(run) < 2 or not is_given_name(run[0]) or any(w not in _LEAD_WORDS for w in words):
        return None
    if _names_a_detail(" ".join(run)):
        return None
    return " ".join(w.capitalize() for w in run)


def corrects_the_name(text: str) -> bool:
    """Whether a turn at the read-back says the name again: a name lead-in ("no, it's ...", "my name is ...")
    followed by words that are not a day, a time, a number or a service ("no, it's the twelfth")."""
    return _restated_name(text) is not None


def says_the_name_again(name_reading: str, heard_text: str) -> bool:
    """Whether a read-back answer says the name again, by the name decoder's reading: its lead-in ("it's", "my
    name is") is heard by either decoder, and the open one garbles short words as readily as names ("no it ama
    louis" for "no, it's Emma Lewis"). Only when the free transcript names no day, time, number or service: the
    name decoder forces names onto "no, it's on Tuesday" too."""
    lead = _CORRECTION_NAME.search(normalise(name_reading))
    if lead is None or not normalise(name_reading)[lead.end():].strip():
        return False
    return not _names_a_detail(normalise(heard_text))


def echoes_the_name(name_reading: str, heard_text: str) -> bool:
    """Whether the open decoder heard something like one of the name decoder's names ("louis" for Lewis, "smith"
    for Smith): two readings that agree on part of the name. The name decoder alone forced "it's wyatt timothy"
    onto "not quite, it's for a filling" (heard "why it's appealing", simulated seed 2026)."""
    names = [w for w in normalise(name_reading).split() if w.lower() in _COMMON_NAMES]
    heard = normalise(heard_text).split()
    return any(SequenceMatcher(None, w, n).ratio() >= _NAME_ECHO_RATIO for w in heard for n in names)


_NAME_ECHO_RATIO = 0.6


def _restated_name(text: str) -> str | None:
    """The words after the last name lead-in of a read-back answer, unless they are a day, time, number or
    service."""
    t = normalise(text)
    leads = list(_CORRECTION_NAME.finditer(t))
    if not leads:
        return None
    rest = t[leads[-1].end():]
    words = rest.split()
    if not words or any(w in _NOT_A_NAME_EITHER for w in words) or _names_a_detail(rest):
        return None
    return rest


def reading_corrects_a_detail(hint: dict[str, Any] | None, name: str) -> bool:
    """Whether a read-back answer's whole constrained reading names a service, a day, a time or a number while the
    name the free transcript gave holds a word that is no list name: the correction is of that detail, and the
    "name" is its garble ("Not quite, it's for a checkup" heard "why it's for mechanic up", read "not quite it's
    for a check up", was read back "for Mechanic Up"; simulated seed 6868)."""
    if not hint or not hint.get("complete") or not isinstance(hint.get("text"), str):
        return False
    if all(w in _COMMON_NAMES for w in normalise(name).split()):
        return False
    return _names_a_detail(normalise(hint["text"]))


def _names_a_detail(text: str) -> bool:
    """Whether normalised `text` names a number, a day, a time or a service: a correction of those, not a name."""
    if any(w in _NUMBER_WORDS or w in _ORDINAL_WORDS or w in ("number", "phone") for w in text.split()):
        return True  # "my number is ..." heard as other words: the name decoder forced names onto its digits
    return bool(parse_service(text) or parse_date(text, date.today()) or parse_time(text))


def find_name_statement(text: str) -> str | None:
    """A name volunteered out of order: 'my name is Jennifer Wood' (only explicit forms, to avoid guesses).

    Not "it's ...": asked for a day, "it's on Friday" garbled into "it's fun for" would make a name of "Fun"
    (a bare "it's Tom Baker" is read by `parse_name` when the name is what was asked).
    """
    t = normalise(text)
    m = re.search(r"\b(?:my name is|my name's|name is|the name's|name's|this is|booking for|book it under|"
                  r"it's under|under the name(?: of)?)\s+([a-z' -]+)", t)
    if not m:
        return None
    candidate = re.split(r"\s+(?:and|i|i'd|i'm|can|could|would|want|on|for|at|please)\b", m.group(1))[0]
    return parse_name(candidate)


_SELF_CORRECTION = re.compile(
    r"\b(?:no,? sorry|sorry|i mean|actually|no,? wait|or rather|make that|make it|change it to|correction)\b[,\s]*")


def self_corrected(text: str) -> tuple[str, str]:
    """(what was said before the last self-correction, what came after): "the eleventh, no sorry, the twelfth".

    The caller's last word on a detail wins; the part before a correction only fills what the rest leaves out.
    Without a correction marker the head is empty.
    """
    marks = list(_SELF_CORRECTION.finditer(text.lower()))
    if not marks:
        return "", text
    last = marks[-1]
    # "make it eleven" keeps its lead: the time parser reads "make it <number>" as an hour.
    keep_lead = last.group(0).strip(" ,").startswith(("make it", "change it to"))
    return text[: last.start()], text[last.start() if keep_lead else last.end():]


_FROM_TO = re.compile(r"\bfrom\b(?P<old>.+?)\bto\b(?P<new>.+)$")


def moved_from_to(text: str, today: date) -> tuple[date, str] | None:
    """'move it from Friday to Monday at nine' -> (Friday, 'monday at nine'): the old day, and the words that
    name the new day and time. None when the sentence has no "from <day> to ..."."""
    m = _FROM_TO.search(normalise(text))
    if not m:
        return None
    old = parse_date(m.group("old"), today)
    return (old, m.group("new")) if old is not None else None


def say_time(value: time) -> str:
    """16:30 -> 'half past four'; 09:00 -> 'nine o'clock'; 14:15 -> 'quarter past two'."""
    hour12 = _HOUR_SPOKEN[value.hour % 12]
    next12 = _HOUR_SPOKEN[(value.hour + 1) % 12]
    if value.minute == 0:
        return "noon" if value.hour == 12 else f"{hour12} o'clock"
    if value.minute == 30:
        return f"half past {hour12}"
    if value.minute == 15:
        return f"quarter past {hour12}"
    if value.minute == 45:
        return f"quarter to {next12}"
    return f"{hour12} {value.minute:02d}" if value.minute >= 10 else f"{hour12} oh {value.minute}"


def say_date(value: date, today: date | None = None) -> str:
    """2024-12-03 -> 'Tuesday the third of December' ('tomorrow, Tuesday the third of December')."""
    day = _ORDINAL_SPOKEN.get(value.day)
    if day is None:
        tens, units = divmod(value.day, 10)
        day = f"{'twenty' if tens == 2 else 'thirty'}-{_ORDINAL_SPOKEN[units]}"
    text = f"{WEEKDAYS[value.weekday()].capitalize()} the {day} of {MONTHS[value.month - 1].capitalize()}"
    if today is not None and value == today:
        return f"today, {text}"
    if today is not None and value == today + timedelta(days=1):
        return f"tomorrow, {text}"
    return text


def say_datetime(value: datetime, today: date | None = None) -> str:
    """'Tuesday the third of December at half past four'."""
    return f"{say_date(value.date(), today)} at {say_time(value.time())}"
