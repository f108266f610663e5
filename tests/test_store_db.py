"""TranscriptWriter and queries against the real PostgreSQL (scratch schema of the _test database).

Outages are made with a TCP relay between the writer and the real server: closing the relay drops every
connection exactly as a stopped server does (the test never stops the shared cluster other runs use), and its
stall mode accepts connections but never answers, like a hung server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import io
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from ari_agent.config import DatabaseSettings, Settings
from ari_agent.events import CallEvent, EventBus, EventType
from ari_agent.store import cli_views, queries
from ari_agent.store.redact import Redactor
from ari_agent.store.rows import CallRowMapper
from ari_agent.store.writer import Spool, TranscriptWriter
from tests.test_migrations import scratch_database
from tests.test_store_rows import synthetic_call

pytestmark = pytest.mark.integration


@pytest.fixture
def dsn() -> Iterator[str]:
    """A migrated scratch schema; dropped afterwards."""
    with scratch_database() as scoped:
        yield scoped


class Relay:
    """TCP relay to the real PostgreSQL that can go down, come back on the same port, or stall."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.stall = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        """Listen (again) on the relay port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.stall:
                await reader.read()  # swallow everything, answer nothing
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.add(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer,):
                w.transport.abort()
                self._writers.discard(w)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


def via(dsn: str, port: int) -> str:
    """The same DSN through another local port."""
    parts = urlsplit(dsn)
    auth = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{port}"))


@pytest.fixture
async def relay(dsn: str) -> AsyncIterator[Relay]:
    """A relay in front of the test database's server."""
    parts = urlsplit(dsn)
    r = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    await r.up()
    yield r
    await r.down()


def make_writer(dsn: str, tmp_path: Path, **kwargs: Any) -> TranscriptWriter:
    """A writer with test-speed retries and its spool in tmp_path."""
    options: dict[str, Any] = {
        "spool_path": tmp_path / "spool.jsonl",
        "redact": Redactor(),
        "statement_timeout": 1.0,
        "connect_timeout": 1.0,
        "retry_min": 0.05,
        "retry_max": 0.3,
    }
    options.update(kwargs)
    return TranscriptWriter(dsn, **options)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the writer reaches asynchronously."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def counts(dsn: str, call_id: str) -> tuple[int, int, int, int]:
    """(calls, turns, distinct turn texts, call_events) rows of one call."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM calls WHERE call_id = %(c)s),
                      (SELECT count(*) FROM turns WHERE call_id = %(c)s),
                      (SELECT count(DISTINCT text) FROM turns WHERE call_id = %(c)s),
                      (SELECT count(*) FROM call_events WHERE call_id = %(c)s)""",
            {"c": call_id},
        ).fetchone()
    assert row is not None
    return (row[0], row[1], row[2], row[3])


def long_call(call_id: str, turns: int, start: datetime | None = None) -> list[CallEvent]:
    """CALL_STARTED, `turns` caller/agent exchanges with distinct texts, CALL_ENDED."""
    t = start or datetime.now(UTC)
    step = timedelta(milliseconds=10)
    events = [CallEvent(EventType.CALL_STARTED, call_id, {"caller": "+100"}, at=t)]
    for i in range(turns):
        t += step
        events.append(CallEvent(EventType.CALLER_TURN, call_id, {"text": f"caller {i}", "confidence": 0.9}, at=t))
        t += step
        events.append(
            CallEvent(EventType.DIALOGUE_RESULT, call_id, {"intent": f"i{i}", "intent_confidence": 0.5}, at=t)
        )
        t += step
        events.append(CallEvent(EventType.AGENT_TURN, call_id, {"text": f"agent {i}"}, at=t))
    events.append(CallEvent(EventType.CALL_ENDED, call_id, {"outcome": "answered"}, at=t + step))
    return events


async def test_synthetic_call_writes_expected_rows(dsn: str, tmp_path: Path) -> None:
    writer = make_writer(dsn, tmp_path)
    bus = EventBus()
    bus.subscribe(writer)
    await writer.start()
    try:
        for event in synthetic_call("call-1"):
            bus.emit(event)
        assert await writer.flush(10)
    finally:
        await writer.close(5)

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        detail = await queries.get_call(conn, "call-1")
    assert detail is not None
    call = detail["call"]
    assert (call["caller_number"], call["caller_name"], call["extension"]) == ("+441234", "Ann", "100")
    assert (call["channel_uniqueid"], call["linkedid"], call["sip_call_id"]) == ("1700.1", "1700.1", "abc@h")
    assert call["outcome"] == "booked" and call["booking_ref"] == "BK-42"
    assert call["answered_at"] is not None and call["duration_seconds"] == pytest.approx(1.4)
    assert [(t["seq"], t["speaker"], t["text"]) for t in detail["turns"]] == [
        (0, "agent", "Hello, how can I help?"),
        (2, "caller", "book a haircut"),
        (3, "agent", "What day?"),
        (5, "caller", "my card is [redacted]"),
    ]
    greeting, caller, _, card = detail["turns"]
    assert caller["asr_hint"] is None
    assert card["asr_hint"] == {"kind": "digits", "text": "[redacted]", "complete": False}
    assert greeting["barge_in"] is True
    assert (caller["intent"], caller["intent_confidence"]) == ("book", pytest.approx(0.97))
    assert caller["asr_confidence"] == pytest.approx(0.91)
    assert caller["entities"] == [{"entity": "service", "value": "haircut"}]
    assert (caller["audio_start_ms"], caller["audio_end_ms"]) == (1200, 2900)
    assert caller["latency"] == {"total_ms": 640, "asr_ms": 40, "dialogue_ms": 12}
    assert [(e["seq"], e["kind"], e["code"]) for e in detail["events"]] == [
        (1, "barge-in", None),
        (4, "dtmf", None),
        (6, "error", "dialogue-timeout"),
        (7, "booking", None),
    ]
    assert [(x["seq"], x["type"]) for x in detail["timeline"]][:3] == [(0, "turn"), (1, "event"), (2, "turn")]
    assert writer.stats.spooled_ops == 0 and writer.spool_depth == 0


async def test_card_number_never_reaches_the_database(dsn: str, tmp_path: Path) -> None:
    writer = make_writer(dsn, tmp_path)
    await writer.start()
    at = datetime.now(UTC)
    card = "4111 1111 1111 1111"
    writer(CallEvent(EventType.CALL_STARTED, "card", {"caller": "+1"}, at=at))
    writer(CallEvent(EventType.CALLER_TURN, "card", {"text": f"it is {card}", "confidence": 0.7}, at=at))
    writer(CallEvent(EventType.CALLER_TURN, "card", {"text": "four one one one " * 4}, at=at + timedelta(seconds=1)))
    entities = [{"entity": "card", "value": card.replace(" ", "")}]
    writer(CallEvent(EventType.DIALOGUE_RESULT, "card", {"intent": "pay", "entities": entities}, at=at))
    writer(CallEvent(EventType.ERROR, "card", {"code": "x", "message": f"bad {card}"}, at=at))
    assert await writer.flush(10)
    await writer.close()
    with psycopg.connect(dsn) as conn:
        dump = conn.execute(
            """SELECT string_agg(t.text || coalesce(t.entities::text, ''), ' ')
                      || (SELECT string_agg(data::text, ' ') FROM call_events)
               FROM turns t"""
        ).fetchone()
    assert dump is not None and dump[0] is not None
    text = dump[0]
    assert "[redacted]" in text
    assert "4111" not in text.replace(" ", "") and "four one one one four" not in text


async def test_replaying_the_same_events_gives_no_duplicates(dsn: str, tmp_path: Path) -> None:
    events = synthetic_call("dup") + long_call("dup2", 5)
    writer = make_writer(dsn, tmp_path)
    await writer.start()
    for _ in range(2):
        for event in events:
            writer(event)
    assert await writer.flush(10)
    await writer.close()
    # A restarted agent (a fresh writer) replaying the whole stream again.
    again = make_writer(dsn, tmp_path)
    await again.start()
    for event in events:
        again(event)
    assert await again.flush(10)
    await again.close()
    assert counts(dsn, "dup") == (1, 4, 4, 4)
    assert counts(dsn, "dup2") == (1, 10, 10, 0)


async def test_database_down_mid_call_spools_then_every_turn_lands_once(dsn: str, relay: Relay, tmp_path: Path) -> None:
    writer = make_writer(via(dsn, relay.port), tmp_path)
    await writer.start()
    events = long_call("outage", 30)
    first, middle, last = events[:20], events[20:60], events[60:]
    for event in first:
        writer(event)
    assert await writer.flush(10)
    assert writer.stats.connected

    await relay.down()
    started = time.monotonic()
    for event in middle:
        writer(event)  # must return at once although the database is gone
    emit_s = time.monotonic() - started
    await until(lambda: writer.spool_depth > 0)
    assert not await writer.flush(0.3)
    for event in last:
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0)
    spooled = writer.spool_depth
    assert spooled > 0 and (tmp_path / "spool.jsonl").stat().st_size > 0

    await relay.up()  # the database is back on the same address
    assert await writer.flush(15)
    stats = writer.stats
    await writer.close()
    assert stats.spool_depth == 0 and stats.dropped_ops == 0 and stats.replayed_ops >= spooled
    assert (tmp_path / "spool.jsonl").stat().st_size == 0
    assert counts(dsn, "outage") == (1, 60, 60, 0)
    with psycopg.connect(dsn) as conn:
        intents = conn.execute("SELECT count(intent) FROM turns WHERE call_id = 'outage'").fetchone()
        outcome = conn.execute("SELECT outcome FROM calls WHERE call_id = 'outage'").fetchone()
    assert intents == (30,) and outcome == ("answered",)
    assert emit_s < 0.05


async def test_hung_database_times_out_into_the_spool(dsn: str, relay: Relay, tmp_path: Path) -> None:
    relay.stall = True
    writer = make_writer(via(dsn, relay.port), tmp_path, connect_timeout=0.5, statement_timeout=0.25)
    await writer.start()
    for event in long_call("hung", 3):
        writer(event)
    await until(lambda: writer.spool_depth > 0 and writer.stats.queue_depth == 0, timeout=10)
    assert counts(dsn, "hung") == (0, 0, 0, 0)
    relay.stall = False
    await relay.down()  # drop the stalled connections so the writer reconnects
    await relay.up()
    assert await writer.flush(15)
    await writer.close()
    assert counts(dsn, "hung") == (1, 6, 6, 0)


async def test_spool_left_by_a_stopped_agent_is_replayed_at_start(dsn: str, tmp_path: Path) -> None:
    with contextlib.closing(__import__("socket").socket()) as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens here once the socket is closed
    down = make_writer(via(dsn, closed_port), tmp_path)
    await down.start()
    for event in long_call("leftover", 4):
        down(event)
    await down.close(drain_timeout=0.5)
    assert down.spool_depth > 0

    up = make_writer(dsn, tmp_path)
    await up.start()
    assert up.spool_depth > 0
    assert await up.flush(10)
    await up.close()
    assert counts(dsn, "leftover") == (1, 8, 8, 0)


async def test_full_spool_holds_in_memory_and_counts_only_beyond_the_backlog(tmp_path: Path) -> None:
    writer = make_writer("postgresql://nobody:x@127.0.0.1:1/none", tmp_path, spool_max_bytes=2000,
                         backlog_max_ops=30)
    await writer.start()
    for event in long_call("full", 20):
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.stats.dropped_ops > 0)
    stats = writer.stats
    assert stats.backlog_ops == 30 and writer.spool_depth == stats.spool_depth + 30
    assert "held in memory" in (writer.not_ready_reason() or "")
    await writer.close(drain_timeout=0.1)
    assert stats.spool_bytes <= 2000
    assert (tmp_path / "spool.jsonl").stat().st_size <= 2000


async def test_spool_at_its_limit_loses_nothing_once_the_database_is_back(dsn: str, relay: Relay,
                                                                          tmp_path: Path) -> None:
    writer = make_writer(via(dsn, relay.port), tmp_path, spool_max_bytes=3000)
    await writer.start()
    await relay.down()
    for event in long_call("limit", 25):
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.stats.backlog_ops > 0)
    await relay.up()
    assert await writer.flush(15)
    stats = writer.stats
    await writer.close()
    assert stats.dropped_ops == 0 and stats.backlog_ops == 0
    assert counts(dsn, "limit") == (1, 50, 50, 0)


class DiskFull:
    """Makes the spool's appends fail with ENOSPC while `full` is set, as a full disk does."""

    def __init__(self, writer: TranscriptWriter) -> None:
        self.full = True
        spool = writer._spool
        real_append = spool.append

        def append(ops: Any) -> int:
            if self.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_append(ops)

        spool.append = append  # type: ignore[method-assign]


async def test_disk_full_spool_holds_in_memory_and_nothing_is_lost(dsn: str, relay: Relay, tmp_path: Path) -> None:
    """The spool's disk fills while the database is down, then frees up, then the database returns."""
    writer = make_writer(via(dsn, relay.port), tmp_path)
    await writer.start()
    events = long_call("diskfull", 12)
    await relay.down()
    for event in events[:10]:
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.spool_depth >= 10)
    disk = DiskFull(writer)
    for event in events[10:]:
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.stats.backlog_ops > 0)
    assert writer.stats.dropped_ops == 0
    disk.full = False  # space again: the spool takes the backlog behind what it already held
    await until(lambda: writer.stats.backlog_ops == 0)
    await relay.up()
    assert await writer.flush(15)
    stats = writer.stats
    await writer.close()
    assert stats.dropped_ops == 0 and stats.backlog_ops == 0 and stats.rejected_ops == 0
    assert counts(dsn, "diskfull") == (1, 24, 24, 0)


async def test_disk_full_and_database_back_writes_the_backlog_directly(dsn: str, relay: Relay,
                                                                      tmp_path: Path) -> None:
    writer = make_writer(via(dsn, relay.port), tmp_path)
    await writer.start()
    DiskFull(writer)
    await relay.down()
    for event in long_call("fullback", 5):
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.stats.backlog_ops > 0)
    await relay.up()
    assert await writer.flush(15)
    await writer.close()
    assert counts(dsn, "fullback") == (1, 10, 10, 0)


def test_a_partial_append_is_cut_off_again(tmp_path: Path) -> None:
    """A write that fails halfway (the disk filled mid-line) must not leave half a line for the next append."""
    spool = Spool(tmp_path / "spool.jsonl", 10_000)
    spool.open()
    ops = CallRowMapper(Redactor()).map(long_call("partial", 1)[0])
    spool.append(ops)
    before = spool.path.read_bytes()

    class HalfWrite(io.FileIO):
        def write(self, data: Any) -> int:
            super().write(bytes(data)[:7])
            raise OSError(errno.ENOSPC, "No space left on device")

    with mock.patch.object(Path, "open", lambda self, mode="r", **kw: HalfWrite(self, mode.replace("b", ""))):
        with pytest.raises(OSError):
            spool.append(ops)
    assert spool.path.read_bytes() == before
    spool.append(ops)
    assert spool.path.read_bytes() == before * 2


async def test_torn_and_damaged_spool_lines_are_set_aside_and_the_rest_replayed(dsn: str, tmp_path: Path) -> None:
    """A crash mid-append leaves a torn last line; a damaged line sits in the middle."""
    with contextlib.closing(__import__("socket").socket()) as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = make_writer(via(dsn, closed_port), tmp_path)
    await down.start()
    for event in long_call("torn", 4):
        down(event)
    await down.close(drain_timeout=0.5)
    spool = tmp_path / "spool.jsonl"
    lines = spool.read_bytes().splitlines(keepends=True)
    damaged = lines[-2]  # the last turn's agent row: lost to the damage, nothing else
    spool.write_bytes(b"".join([*lines[:-2], b'{"kind": "not json\n', lines[-1], b'{"kind": "upsert_call", "ca']))

    up = make_writer(dsn, tmp_path)
    await up.start()
    assert await up.flush(10)
    for event in long_call("torn-after", 1):
        up(event)  # an append after the torn line starts on a line of its own
    assert await up.flush(10)
    await up.close()
    rejected = (tmp_path / "spool.jsonl.rejected").read_bytes()
    assert b'{"kind": "not json' in rejected and b'"ca\n' in rejected
    assert counts(dsn, "torn-after") == (1, 2, 2, 0)
    turns, texts = counts(dsn, "torn")[1:3]
    assert (turns, texts) == (7, 7) and damaged not in rejected


async def test_queries_list_get_and_purge(dsn: str, tmp_path: Path) -> None:
    writer = make_writer(dsn, tmp_path)
    await writer.start()
    old = datetime.now(UTC) - timedelta(days=100)
    for event in long_call("old", 1, start=old):
        writer(event)
    for event in synthetic_call("new"):
        writer(
            CallEvent(event.type, event.call_id, event.data, at=datetime.now(UTC) + (event.at - synthetic_call()[0].at))
        )
    writer(CallEvent(EventType.CALL_STARTED, "live-now", {"caller": "+4499"}))
    assert await writer.flush(10)
    await writer.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        # A CDR as cdr_pgsql writes it, with our call id in userfield, and one matched by linkedid.
        conn.execute(
            "INSERT INTO cdr (calldate, src, dst, channel, uniqueid, linkedid, userfield, disposition, billsec) "
            "VALUES (localtimestamp, '+441234', '100', 'PJSIP/x-1', '1700.1', '1700.1', 'new', 'ANSWERED', 3), "
            "(localtimestamp, '', 's', 'Local/s@x-2;2', '1700.2', '1700.1', '', 'ANSWERED', 3), "
            "(localtimestamp - interval '100 days', '', '', '', '9.9', '9.9', 'old', 'ANSWERED', 1)"
        )
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        recent = await queries.list_calls(conn)
        assert [c["call_id"] for c in recent] == ["live-now", "new", "old"]
        booked = await queries.list_calls(conn, outcome="booked")
        assert [(c["call_id"], c["turn_count"], c["event_count"], c["error_count"]) for c in booked] == [
            ("new", 4, 4, 1)
        ]
        assert [c["call_id"] for c in await queries.list_calls(conn, caller_number="4412")] == ["new"]
        assert [c["call_id"] for c in await queries.list_calls(conn, in_progress=True)] == ["live-now"]
        since = datetime.now(UTC) - timedelta(days=1)
        assert {c["call_id"] for c in await queries.list_calls(conn, since=since)} == {"new", "live-now"}
        detail = await queries.get_call(conn, "new")
        assert detail is not None
        assert sorted((c["matched_by"], c["uniqueid"]) for c in detail["cdrs"]) == [
            ("linkedid", "1700.2"),
            ("uniqueid", "1700.1"),
        ]
        assert await queries.get_call(conn, "missing") is None
        result = await queries.purge_older_than(conn, 90)
        assert (result.calls, result.cdrs) == (1, 1)
        await conn.commit()
        assert {c["call_id"] for c in await queries.list_calls(conn)} == {"new", "live-now"}
    assert counts(dsn, "old") == (0, 0, 0, 0)
    # The CLI and the pages may pass a DSN instead of a connection.
    by_dsn = await queries.get_call(dsn, "new")
    assert by_dsn is not None and by_dsn["call"]["outcome"] == "booked"
    assert (await queries.purge_older_than(dsn, 90)).calls == 0


async def test_cli_views_print_list_and_call(dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    writer = make_writer(dsn, tmp_path)
    await writer.start()
    for event in synthetic_call("cli-1"):
        writer(event)
    assert await writer.flush(10)
    await writer.close()
    settings = Settings(database=DatabaseSettings(dsn=dsn))
    args = argparse.Namespace(outcome="booked", reason=None, caller=None, limit=5)
    assert await cli_views.print_calls(settings, args) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and "cli-1" in listing[1] and "booked" in listing[1]
    assert await cli_views.print_call(settings, "cli-1") == 0
    shown = capsys.readouterr().out
    assert "caller: book a haircut   [intent book 0.97, asr 0.91]" in shown
    assert "** error dialogue-timeout" in shown and "(interrupted)" in shown
    assert await cli_views.print_call(settings, "nope") == 1


async def test_calls_a_previous_run_left_open_are_closed_as_failed(dsn: str) -> None:
    before = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO calls (call_id, channel_uniqueid, started_at, node) VALUES "
                     "('gone', 'ch-gone', %(t)s, 'pbx-a'), ('alive', 'ch-alive', %(t)s, 'pbx-a'), "
                     "('old', 'ch-old', %(t)s, NULL), ('new', 'ch-new', now() + '1 min', 'pbx-a'), "
                     "('other-node', 'ch-b', %(t)s, 'pbx-b')",
                     {"t": before - timedelta(minutes=5)})
        conn.execute("INSERT INTO turns (call_id, seq, speaker, text) VALUES ('gone', 0, 'caller', 'hello')")
        conn.execute("INSERT INTO calls (call_id, started_at, ended_at, outcome) "
                     "VALUES ('done', %(t)s, %(t)s, 'booked')", {"t": before - timedelta(minutes=5)})
    closed = await queries.close_unfinished(dsn, before, {"ch-alive"}, "the agent restarted during the call",
                                            "pbx-a")
    # Another node's open call is not in this node's channel list but is not this node's to close.
    assert sorted(closed) == ["gone", "old"]
    with psycopg.connect(dsn) as conn:
        rows = dict(conn.execute("SELECT call_id, outcome FROM calls WHERE ended_at IS NOT NULL").fetchall())
        event = conn.execute(
            "SELECT seq, kind, code, data->>'message' FROM call_events WHERE call_id = 'gone'"
        ).fetchone()
    assert rows == {"gone": "failed", "old": "failed", "done": "booked"}
    assert event == (1, "error", "agent-restarted", "the agent restarted during the call")
    assert await queries.close_unfinished(dsn, before, set(), "again", "pbx-a") == ["alive"]
    assert await queries.close_unfinished(dsn, before, set(), "again", "pbx-b") == ["other-node"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB filesystem (tmpfs): the kernel itself answers ENOSPC when it is full."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the ENOSPC tests above cover the logic")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_spool_on_a_really_full_disk_loses_nothing(dsn: str, relay: Relay, small_disk: Path) -> None:
    """The database is down and the spool's filesystem fills up for real; every row lands once it is back."""
    writer = make_writer(via(dsn, relay.port), small_disk, spool_max_bytes=10 * 1024 * 1024)
    await writer.start()
    await relay.down()
    # Turn texts long enough that the call cannot fit in 64 KB.
    events = [
        CallEvent(e.type, e.call_id, {**e.data, "text": f"{e.data['text']} {'x' * 900}"}, at=e.at)
        if "text" in e.data else e
        for e in long_call("realfull", 60)
    ]  # fmt: skip
    for event in events:
        writer(event)
    await until(lambda: writer.stats.queue_depth == 0 and writer.stats.backlog_ops > 0, timeout=20)
    assert writer.stats.dropped_ops == 0
    await relay.up()
    assert await writer.flush(30)
    stats = writer.stats
    await writer.close()
    assert stats.dropped_ops == 0 and stats.backlog_ops == 0
    assert counts(dsn, "realfull") == (1, 120, 120, 0)
