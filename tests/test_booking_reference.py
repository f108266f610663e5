"""Booking references (rasa_project/actions/calendar.py): a drawn reference that is taken never fails a booking."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from tests.test_migrations import scratch_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def calendar() -> Iterator[ModuleType]:
    # The actions package imports its siblings relatively; it needs no Rasa for the calendar.
    root = str(Path(__file__).parent.parent / "rasa_project")
    sys.path.insert(0, root)
    try:
        yield importlib.import_module("actions.calendar")
    finally:
        sys.path.remove(root)


async def test_a_taken_reference_is_drawn_again(calendar: ModuleType) -> None:
    start = datetime(2026, 12, 1, 14, 30)
    with scratch_database() as dsn:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            first = await calendar.book(conn, "a", "Ann Other", None, "cleaning", start, None, draw=lambda: "ME371")
            draws = iter(["ME371", "ME371", "VX046"])
            second = await calendar.book(conn, "b", "Jennifer Wood", None, "cleaning", start, None,
                                         draw=lambda: next(draws))
            assert (first, second) == ("ME371", "VX046")
            cur = await conn.execute("SELECT reference, scope FROM bookings ORDER BY id")
            assert await cur.fetchall() == [("ME371", "a"), ("VX046", "b")]
            with pytest.raises(RuntimeError, match="no free booking reference in 50 draws"):
                await calendar.book(conn, "c", "Tom Baker", None, "cleaning", start, None, draw=lambda: "ME371")


async def test_two_calls_confirming_the_same_slot_book_it_once(calendar: ModuleType) -> None:
    """Both calls pass the 'is it free?' check before either inserts: the database refuses the second."""
    start = datetime(2026, 12, 3, 10, 0)
    now = datetime(2026, 12, 1, 9, 0)
    with scratch_database() as dsn:
        conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(2)]
        try:
            checks = [await calendar.why_unavailable(c, "live", start, 45, now) for c in conns]
            assert checks == [None, None]
            results = await asyncio.gather(
                *(calendar.book(c, "live", f"Caller {i}", None, "cleaning", start, None) for i, c in enumerate(conns)),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, psycopg.errors.ExclusionViolation)]
            assert len(refused) == 1 and sum(isinstance(r, str) for r in results) == 1, results
            cur = await conns[0].execute("SELECT count(*) FROM bookings WHERE status = 'booked'")
            assert await cur.fetchone() == (1,)
        finally:
            for c in conns:
                await c.close()


async def test_an_idle_connection_is_reused_and_a_dead_one_replaced(
    calendar: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action server keeps connections between actions (connecting costs ~10 ms a time), but one that
    PostgreSQL closed meanwhile (a restart) is never handed to an action."""
    with scratch_database() as dsn:
        monkeypatch.setattr(calendar, "dsn", lambda: dsn)
        monkeypatch.setattr(calendar, "_IDLE", [])
        async with calendar.connection() as conn:
            first_pid = conn.info.backend_pid
        async with calendar.connection() as conn:
            assert conn.info.backend_pid == first_pid  # the same connection, not a new one
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        async with calendar.connection() as conn:
            assert conn.info.backend_pid != first_pid
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
        with pytest.raises(ZeroDivisionError):
            async with calendar.connection() as conn:
                1 / 0  # noqa: B018 - an action failing while holding the connection
        assert calendar._IDLE == [] and conn.closed  # a connection in an unknown state is not kept
