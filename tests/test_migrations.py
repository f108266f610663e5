"""Alembic migrations up and down against the real PostgreSQL (a scratch schema of the _test database)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from ari_agent.store import migrate

pytestmark = pytest.mark.integration

TEST_DSN = os.environ.get("ARI_AGENT_TEST_DB_DSN", "postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent_test")
CDR_COLUMNS = [
    "calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "accountcode", "peeraccount", "uniqueid",
    "linkedid", "userfield", "sequence",
]  # fmt: skip


def scoped_dsn(schema: str) -> str:
    """The test DSN with search_path pinned to one schema, so concurrent test runs never meet."""
    sep = "&" if "?" in TEST_DSN else "?"
    return f"{TEST_DSN}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def empty_schema() -> Iterator[str]:
    """An empty schema of the _test database, dropped with everything in it afterwards. Yields its name."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(TEST_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated scratch schema of the _test database; dropped afterwards. Yields its DSN."""
    with empty_schema() as schema:
        dsn = scoped_dsn(schema)
        migrate.upgrade(dsn)
        yield dsn


@pytest.fixture
def scratch_schema() -> Iterator[str]:
    """An empty schema, dropped with everything in it afterwards."""
    with empty_schema() as schema:
        yield schema


def _relations(schema: str) -> dict[str, str]:
    with psycopg.connect(TEST_DSN) as conn:
        rows = conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchall()
    return {name: kind for name, kind in rows}


def _names(query: str, schema: str, table: str) -> list[str]:
    with psycopg.connect(TEST_DSN) as conn:
        return [name for (name,) in conn.execute(query, [schema, table]).fetchall()]


def _columns(schema: str, table: str) -> list[str]:
    return _names(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position", schema, table,
    )


def _constraints(schema: str, table: str) -> set[str]:
    return set(_names(
        "SELECT conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s AND t.relname = %s", schema, table,
    ))


def test_upgrade_downgrade_round_trip(scratch_schema: str) -> None:
    dsn = scoped_dsn(scratch_schema)
    assert migrate.current(dsn) is None

    migrate.upgrade(dsn)
    assert migrate.current(dsn) == "0006"
    relations = _relations(scratch_schema)
    for table in ("calls", "turns", "call_events", "bookings", "cdr", "alembic_version"):
        assert relations.get(table) == "BASE TABLE", table
    assert relations.get("call_cdrs") == "VIEW"
    assert _columns(scratch_schema, "cdr") == CDR_COLUMNS

    assert {"audio_path", "asr_hint"} <= set(_columns(scratch_schema, "turns"))
    assert "node" in _columns(scratch_schema, "calls")
    assert _constraints(scratch_schema, "bookings") >= {"bookings_no_overlap"}
    migrate.downgrade(dsn, "0004")
    assert "bookings_no_overlap" not in _constraints(scratch_schema, "bookings")
    migrate.downgrade(dsn, "0003")
    turn_columns = _columns(scratch_schema, "turns")
    assert "asr_hint" not in turn_columns and "audio_path" in turn_columns
    migrate.downgrade(dsn, "0002")
    assert migrate.current(dsn) == "0002"
    assert "audio_path" not in _columns(scratch_schema, "turns")

    migrate.downgrade(dsn, "0001")
    assert migrate.current(dsn) == "0001"
    relations = _relations(scratch_schema)
    assert "cdr" not in relations and "call_cdrs" not in relations and "calls" in relations

    migrate.downgrade(dsn, "base")
    assert migrate.current(dsn) is None
    assert set(_relations(scratch_schema)) == {"alembic_version"}

    migrate.upgrade(dsn)  # and up again from nothing
    assert migrate.current(dsn) == "0006"


def test_schema_constraints(scratch_schema: str) -> None:
    dsn = scoped_dsn(scratch_schema)
    migrate.upgrade(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO calls (call_id, outcome) VALUES ('ok', 'handoff')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO calls (call_id, outcome) VALUES ('bad', 'exploded')")
        conn.rollback()
        conn.execute("INSERT INTO calls (call_id) VALUES ('c')")
        conn.execute("INSERT INTO turns (call_id, seq, speaker, text) VALUES ('c', 0, 'agent', 'hi')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO turns (call_id, seq, speaker, text) VALUES ('c', 0, 'caller', 'again')")
        conn.rollback()
        # The Rasa actions insert bookings with only these columns; the rest must default.
        row = conn.execute(
            "INSERT INTO bookings (reference, name, service, starts_at, duration_minutes) "
            "VALUES ('R1', 'Ann', 'haircut', '2026-12-01 10:00', 30) RETURNING scope, status, created_at IS NOT NULL"
        ).fetchone()
        assert row == ("live", "booked", True)
        conn.commit()
        # Two calls confirming overlapping times: the database refuses the second booking (bookings_no_overlap).
        insert = ("INSERT INTO bookings (reference, scope, name, service, starts_at, duration_minutes, status) "
                  "VALUES (%s, %s, 'Bo', 'cleaning', %s, 45, %s)")
        with pytest.raises(psycopg.errors.ExclusionViolation):
            conn.execute(insert, ("R2", "live", "2026-12-01 10:15", "booked"))
        conn.rollback()
        conn.execute(insert, ("R3", "live", "2026-12-01 10:30", "booked"))  # starts as R1 ends
        conn.execute(insert, ("R4", "other", "2026-12-01 10:00", "booked"))  # another scope
        conn.execute(insert, ("R5", "live", "2026-12-01 10:00", "cancelled"))  # cancelled rows do not hold a slot
        conn.commit()
