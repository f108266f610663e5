"""The clinic's calendar: opening hours, free slots and bookings in PostgreSQL (the `bookings` table).

Every query filters by `scope`, so replayed test calls never see each other's or live bookings.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import psycopg
from psycopg.pq import TransactionStatus

from .spoken import SERVICES

DEFAULT_DSN = "postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent"
# Monday=0 .. Sunday=6 -> (open, close); Sunday closed.
OPENING_HOURS = {0: (time(8), time(18)), 1: (time(8), time(18)), 2: (time(8), time(18)),
                 3: (time(8), time(18)), 4: (time(8), time(18)), 5: (time(9), time(13))}
GRID_MINUTES = 30  # offered alternatives start on the half hour: easy to say, easy to hear


@dataclass(frozen=True)
class Booking:
    """One row of `bookings`."""

    reference: str
    name: str
    service: str
    starts_at: datetime
    duration_minutes: int
    phone: str | None = None


def dsn() -> str:
    """The database the actions use (env ARI_AGENT_DB_DSN)."""
    return os.environ.get("ARI_AGENT_DB_DSN", DEFAULT_DSN)


def within_hours(start: datetime, minutes: int) -> bool:
    """True if the whole appointment fits in the opening hours of its day."""
    hours = OPENING_HOURS.get(start.weekday())
    if hours is None:
        return False
    end = start + timedelta(minutes=minutes)
    return hours[0] <= start.time() and end.date() == start.date() and end.time() <= hours[1]


def _overlaps(start: datetime, minutes: int, busy: list[tuple[datetime, int]]) -> bool:
    end = start + timedelta(minutes=minutes)
    return any(b_start < end and start < b_start + timedelta(minutes=b_min) for b_start, b_min in busy)


async def busy_on(conn: psycopg.AsyncConnection, scope: str, day: date,
                  exclude_ref: str | None = None) -> list[tuple[datetime, int]]:
    """(start, minutes) of the booked appointments of one day."""
    cur = await conn.execute(
        "SELECT starts_at, duration_minutes FROM bookings WHERE scope = %s AND status = 'booked' "
        "AND starts_at >= %s AND starts_at < %s AND reference IS DISTINCT FROM %s",
        (scope, datetime.combine(day, time(0)), datetime.combine(day + timedelta(days=1), time(0)),
         exclude_ref))
    return [(row[0], row[1]) for row in await cur.fetchall()]


async def why_unavailable(conn: psycopg.AsyncConnection, scope: str, start: datetime, minutes: int,
                          now: datetime, exclude_ref: str | None = None) -> str | None:
    """None if the slot is free, else 'past' | 'closed_day' | 'outside_hours' | 'taken'."""
    if start < now:
        return "past"
    if start.weekday() not in OPENING_HOURS:
        return "closed_day"
    if not within_hours(start, minutes):
        return "outside_hours"
    if _overlaps(start, minutes, await busy_on(conn, scope, start.date(), exclude_ref)):
        return "taken"
    return None


async def nearest_free(conn: psycopg.AsyncConnection, scope: str, wanted: datetime, minutes: int,
                       now: datetime, count: int = 2, exclude_ref: str | None = None,
                       window: tuple[time, time] | None = None) -> list[datetime]:
    """The free starts closest to `wanted`: same day first, then the following open days."""
    for offset in range(0, 14):
        day = wanted.date() + timedelta(days=offset)
        hours = OPENING_HOURS.get(day.weekday())
        if hours is None:
            continue
        busy = await busy_on(conn, scope, day, exclude_ref)
        slots = []
        cursor = datetime.combine(day, hours[0])
        while cursor.time() < hours[1]:
            fits = within_hours(cursor, minutes) and cursor >= now and not _overlaps(cursor, minutes, busy)
            in_window = window is None or window[0] <= cursor.time() < window[1]
            if fits and in_window:
                slots.append(cursor)
            cursor += timedelta(minutes=GRID_MINUTES)
        if slots:
            target = wanted if offset == 0 else datetime.combine(day, wanted.time())
            return sorted(sorted(slots, key=lambda s: abs((s - target).total_seconds()))[:count])
    return []


def new_reference() -> str:
    """A short reference that is easy to read out: two letters and three digits, no look-alikes."""
    letters = "ACDEFHJKMNPRTVWXY"
    return "".join(secrets.choice(letters) for _ in range(2)) + f"{secrets.randbelow(1000):03d}"


async def bookings_to_match(conn: psycopg.AsyncConnection, scope: str, day: date | None,
                            since: datetime, line: str | None = None) -> list[Booking]:
    """Booked appointments of the scope from `since` on (only that day if given; with `line`, only those whose
    phone ends in the same last 6 digits, a superset of matching.phone_matches): the candidates for
    matching.match_booking, which compares names tolerantly; SQL cannot, the recogniser garbles names."""
    query = ("SELECT reference, name, service, starts_at, duration_minutes, phone FROM bookings "
             "WHERE scope = %s AND status = 'booked' AND starts_at >= %s")
    params: list = [scope, since]
    if day is not None:
        query += " AND starts_at >= %s AND starts_at < %s"
        params += [datetime.combine(day, time(0)), datetime.combine(day + timedelta(days=1), time(0))]
    if line is not None:
        query += r" AND right(regexp_replace(coalesce(phone, ''), '\D', '', 'g'), 6) = %s"
        params.append(re.sub(r"\D", "", line)[-6:])
    cur = await conn.execute(query + " ORDER BY starts_at", params)
    return [Booking(*row) for row in await cur.fetchall()]


# References are unique across every scope and never reused; with 289,000 of them a drawn one is already taken
# ever more often as bookings accumulate (0.3% with ~1,000 rows, measured as failed bookings in replays).
REFERENCE_DRAWS = 50


async def book(conn: psycopg.AsyncConnection, scope: str, name: str, phone: str | None, service: str,
               start: datetime, call_id: str | None, *, draw: Callable[[], str] = new_reference) -> str:
    """Insert a booking; returns its reference, drawing another while the drawn one is taken."""
    for attempt in range(REFERENCE_DRAWS):
        reference = draw()
        try:
            cur = await conn.execute(
                "INSERT INTO bookings (reference, scope, name, phone, service, starts_at, duration_minutes, call_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (reference) DO NOTHING RETURNING reference",
                (reference, scope, name, phone, service, start, SERVICES[service], call_id))
        except psycopg.errors.DeadlockDetected:
            # Two inserts of overlapping slots at the same instant: PostgreSQL reports the clash between the
            # reference's speculative insert and bookings_no_overlap as a deadlock. Once the other one has
            # committed, trying again gives the plain ExclusionViolation the caller is told about.
            if attempt >= 2:
                raise
            continue
        if await cur.fetchone() is not None:
            return reference
    raise RuntimeError(f"no free booking reference in {REFERENCE_DRAWS} draws")


async def cancel(conn: psycopg.AsyncConnection, scope: str, reference: str) -> bool:
    """Mark a booking cancelled; False if it was not booked."""
    cur = await conn.execute(
        "UPDATE bookings SET status = 'cancelled', updated_at = now() "
        "WHERE scope = %s AND reference = %s AND status = 'booked'", (scope, reference))
    return cur.rowcount == 1


async def move(conn: psycopg.AsyncConnection, scope: str, reference: str, start: datetime) -> bool:
    """Move a booking to a new start; False if it was not booked."""
    cur = await conn.execute(
        "UPDATE bookings SET starts_at = %s, updated_at = now() "
        "WHERE scope = %s AND reference = %s AND status = 'booked'", (start, scope, reference))
    return cur.rowcount == 1


async def connect() -> psycopg.AsyncConnection:
    """A new connection in autocommit: each action is one small unit of work."""
    return await psycopg.AsyncConnection.connect(dsn(), autocommit=True, connect_timeout=5)


# Connections kept open between actions: connecting costs ~10 ms on this machine, a check ~0.2 ms, and a turn
# may run two actions that each need one.
_IDLE: list[psycopg.AsyncConnection] = []
MAX_IDLE = 4


@asynccontextmanager
async def connection() -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection for one action: an idle one that still answers (PostgreSQL may have restarted since), or a
    new one. Returned to the idle list only if it ended clean; closed on any error."""
    conn = None
    while _IDLE and conn is None:
        candidate = _IDLE.pop()
        try:
            await candidate.execute("SELECT 1")
            conn = candidate
        except psycopg.Error:
            await candidate.close()
    if conn is None:
        conn = await connect()
    try:
        yield conn
    except BaseException:
        await conn.close()
        raise
    if len(_IDLE) < MAX_IDLE and not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
        _IDLE.append(conn)
    else:
        await conn.close()
