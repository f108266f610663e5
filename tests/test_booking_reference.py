"""Booking references (rasa_project/actions/calendar.py): a drawn reference that is taken never fails a booking."""

from __future__ import annotations

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
