"""The replay case format (call.yaml): parsing and validation, with errors that name the file and the field.

The format is a contract (docs/replay.md). Validation is strict: an unknown key is an error, because a typo in
an expectation would otherwise pass silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from ari_agent.media.audio import read_wav

_LOGGER = logging.getLogger(__name__)

CASE_FILE = "call.yaml"
OUTCOMES = ("booked", "cancelled", "rescheduled", "answered", "handoff", "hangup", "failed")
HANDOFF_REASONS = (
    "requested",
    "dtmf",
    "urgent",
    "misunderstood",
    "out_of_scope",
    "frustration",
    "error",
    "no_input",
)
SETUP_DURATIONS = {"check-up": 30, "cleaning": 45, "filling": 60}  # minutes, as the Rasa actions book them
SERVICES = tuple(SETUP_DURATIONS)
DTMF_CHARS = frozenset("0123456789*#ABCD")
_TOP_KEYS = {"description", "now", "caller", "turns", "expect", "setup", "known_failure"}
_TURN_KEYS = {"audio", "text", "intent", "barge_in", "dtmf", "silence"}
_EXPECT_KEYS = {"outcome", "handoff_reason", "slots", "max_turns", "ended_by"}
ENDED_BY = ("agent", "caller")
_BOOKING_KEYS = {"name", "service", "starts_at", "phone"}


class CaseError(ValueError):
    """A case file is malformed; str() is "<file>: <field>: <what is wrong>"."""

    def __init__(self, file: Path, where: str, message: str) -> None:
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")
        self.file = file
        self.where = where


@dataclass(frozen=True, slots=True)
class Turn:
    """One thing the caller does."""

    audio: Path | None = None  # absolute path of the turn's WAV
    text: str | None = None  # reference transcript; the whole turn when there is no audio
    intent: str | None = None
    barge_in: bool = False
    dtmf: str | None = None
    silence: float | None = None

    @property
    def kind(self) -> str:
        """audio | text | dtmf | silence."""
        if self.audio is not None:
            return "audio"
        if self.dtmf is not None:
            return "dtmf"
        if self.silence is not None:
            return "silence"
        return "text"


@dataclass(frozen=True, slots=True)
class SetupBooking:
    """A booking that exists in the case's scope before the call (optional `setup:` extension)."""

    name: str
    service: str
    starts_at: datetime
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """What the agent should do."""

    outcome: str
    handoff_reason: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    max_turns: int | None = None
    ended_by: str | None = None  # who hung up: "agent" (its goodbye, a transfer) or "caller"


@dataclass(frozen=True, slots=True)
class Case:
    """One replayable call."""

    name: str
    directory: Path
    description: str
    turns: tuple[Turn, ...]
    expect: Expect
    now: datetime | None = None
    caller: str = ""
    bookings: tuple[SetupBooking, ...] = ()
    known_failure: str | None = None


def find_cases(paths: list[Path]) -> list[Path]:
    """Case directories: each path holds call.yaml itself, or is a directory of such directories (sorted)."""
    found: list[Path] = []
    for path in paths:
        if (path / CASE_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            subs = sorted(p.parent for p in path.glob(f"*/{CASE_FILE}"))
            if not subs:
                raise CaseError(path, "", f"no {CASE_FILE} in it or in its subdirectories")
            found.extend(subs)
        else:
            raise CaseError(path, "", "no such case directory")
    return found


def _scalar_text(key: str, value: Any) -> str:
    # YAML turns 2026-12-02 into a date and an unquoted 15:00 into 900 (base 60); slots compare as text.
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if key == "time" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value // 60:02d}:{value % 60:02d}"
    return str(value)


def _datetime(file: Path, where: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise CaseError(file, where, f"{value!r} is not a date and time like 2026-11-25T10:00:00")


def _turn(file: Path, directory: Path, index: int, raw: Any) -> Turn:
    where = f"turns[{index}]"
    if not isinstance(raw, dict):
        raise CaseError(file, where, "expected a mapping with audio, text, dtmf or silence")
    unknown = set(raw) - _TURN_KEYS
    if unknown:
        raise CaseError(file, f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(_TURN_KEYS))}")
    kinds = [k for k in ("audio", "dtmf", "silence") if k in raw]
    if len(kinds) > 1:
        raise CaseError(file, where, f"a turn is one of audio, dtmf or silence, not {' and '.join(kinds)}")
    if not kinds and "text" not in raw:
        raise CaseError(file, where, "a turn needs audio, text, dtmf or silence")
    audio: Path | None = None
    if "audio" in raw:
        name = raw["audio"]
        if not isinstance(name, str) or not name:
            raise CaseError(file, f"{where}.audio", "expected a WAV file name")
        try:
            audio = (directory / name).resolve()
        except (UnicodeError, OSError) as exc:  # a name the file system cannot hold (e.g. lone surrogates)
            raise CaseError(file, f"{where}.audio", f"{name!r} is not a usable file name: {exc}") from None
        if not audio.is_file():
            raise CaseError(file, f"{where}.audio", f"file {name} does not exist")
        try:
            read_wav(audio)
        except Exception as exc:  # the WAV reader raises several kinds; all mean "not a usable WAV"
            raise CaseError(file, f"{where}.audio", f"file {name} is not a mono 16-bit 8/16 kHz WAV: {exc}") from None
    text = raw.get("text")
    if text is not None and (not isinstance(text, str | int | float) or isinstance(text, bool)):
        raise CaseError(file, f"{where}.text", "expected text")
    if text is not None and not str(text).strip() and audio is None:
        raise CaseError(file, f"{where}.text", "a text-only turn needs some text")
    intent = raw.get("intent")
    if intent is not None and (not isinstance(intent, str) or not intent):
        raise CaseError(file, f"{where}.intent", "expected an intent name")
    barge = raw.get("barge_in", False)
    if not isinstance(barge, bool):
        raise CaseError(file, f"{where}.barge_in", f"expected true or false, not {barge!r}")
    dtmf: str | None = None
    if "dtmf" in raw:
        dtmf = str(raw["dtmf"])
        if not dtmf or any(c not in DTMF_CHARS for c in dtmf):
            raise CaseError(file, f"{where}.dtmf", f'{raw["dtmf"]!r} is not DTMF (0-9, *, #, A-D); quote it: "0"')
    silence: float | None = None
    if "silence" in raw:
        value = raw["silence"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 120:
            raise CaseError(file, f"{where}.silence", f"{value!r}: expected seconds between 0 and 120")
        silence = float(value)
        if barge:
            raise CaseError(file, f"{where}.barge_in", "silence cannot barge in")
    return Turn(
        audio=audio,
        text=None if text is None else str(text),
        intent=intent,
        barge_in=barge,
        dtmf=dtmf,
        silence=silence,
    )


def _expect(file: Path, raw: Any) -> Expect:
    if not isinstance(raw, dict):
        raise CaseError(file, "expect", "expected a mapping with at least outcome")
    unknown = set(raw) - _EXPECT_KEYS
    if unknown:
        raise CaseError(
            file, f"expect.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(_EXPECT_KEYS))}"
        )
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        raise CaseError(file, "expect.outcome", f"{outcome!r}: expected one of {' | '.join(OUTCOMES)}")
    reason = raw.get("handoff_reason")
    if reason is not None:
        if reason not in HANDOFF_REASONS:
            raise CaseError(file, "expect.handoff_reason", f"{reason!r}: expected one of {' | '.join(HANDOFF_REASONS)}")
        if outcome != "handoff":
            raise CaseError(file, "expect.handoff_reason", "only meaningful when outcome is handoff")
    slots_raw = raw.get("slots") or {}
    if not isinstance(slots_raw, dict):
        raise CaseError(file, "expect.slots", "expected a mapping of slot name to value")
    slots = {str(k): _scalar_text(str(k), v) for k, v in slots_raw.items()}
    max_turns = raw.get("max_turns")
    if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1):
        raise CaseError(file, "expect.max_turns", f"{max_turns!r}: expected a whole number >= 1")
    ended_by = raw.get("ended_by")
    if ended_by is not None and ended_by not in ENDED_BY:
        raise CaseError(file, "expect.ended_by", f"{ended_by!r}: expected one of {' | '.join(ENDED_BY)}")
    return Expect(outcome=str(outcome), handoff_reason=reason, slots=slots, max_turns=max_turns, ended_by=ended_by)


def _setup(file: Path, raw: Any) -> tuple[SetupBooking, ...]:
    if not isinstance(raw, dict) or set(raw) - {"bookings"}:
        raise CaseError(file, "setup", "expected a mapping with only `bookings`")
    items = raw.get("bookings") or []
    if not isinstance(items, list):
        raise CaseError(file, "setup.bookings", "expected a list")
    out = []
    for i, item in enumerate(items):
        where = f"setup.bookings[{i}]"
        if not isinstance(item, dict):
            raise CaseError(file, where, "expected a mapping")
        unknown = set(item) - _BOOKING_KEYS
        if unknown:
            raise CaseError(
                file, f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(_BOOKING_KEYS))}"
            )
        for key in ("name", "service", "starts_at"):
            if key not in item:
                raise CaseError(file, f"{where}.{key}", "missing")
        if item["service"] not in SERVICES:
            raise CaseError(file, f"{where}.service", f"{item['service']!r}: expected one of {', '.join(SERVICES)}")
        out.append(
            SetupBooking(
                name=str(item["name"]),
                service=str(item["service"]),
                starts_at=_datetime(file, f"{where}.starts_at", item["starts_at"]),
                phone=str(item["phone"]) if item.get("phone") else None,
            )
        )
    return tuple(out)


def load_case(directory: Path) -> Case:
    """Parse and validate DIR/call.yaml. Raises CaseError naming the file and the field at fault."""
    file = directory / CASE_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(file, "", "does not exist") from None
    except yaml.YAMLError as exc:
        raise CaseError(file, "", f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CaseError(file, "", "expected a mapping with turns and expect")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise CaseError(file, sorted(unknown)[0], f"unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}")
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise CaseError(file, "turns", "expected a non-empty list of caller turns")
    turns = tuple(_turn(file, directory, i, t) for i, t in enumerate(turns_raw))
    if "expect" not in raw:
        raise CaseError(file, "expect", "missing")
    now = _datetime(file, "now", raw["now"]) if raw.get("now") is not None else None
    known = raw.get("known_failure")
    if known is not None and (not isinstance(known, str) or not known.strip()):
        raise CaseError(file, "known_failure", "expected the reason as text")
    return Case(
        name=directory.name,
        directory=directory,
        description=str(raw.get("description") or ""),
        turns=turns,
        expect=_expect(file, raw["expect"]),
        now=now,
        caller=str(raw.get("caller") or ""),
        bookings=_setup(file, raw["setup"]) if raw.get("setup") is not None else (),
        known_failure=known,
    )
