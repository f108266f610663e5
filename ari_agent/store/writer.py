"""TranscriptWriter: the CallEvent subscriber that records calls in PostgreSQL without ever blocking a call.

`writer(event)` only puts the event on a queue. One task maps events to idempotent row operations
(ari_agent.store.rows) and writes them in order through one psycopg 3 connection. When PostgreSQL is down or
slower than the statement timeout, operations go to an append-only JSONL spool instead; while the spool holds
anything, new operations are appended behind it so the order is kept, and it is replayed from the front as soon
as the database answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from ari_agent.config import DatabaseSettings
from ari_agent.events import CallEvent
from ari_agent.store.redact import Redact, no_redaction
from ari_agent.store.rows import CallRowMapper, OpKind, RowOp

_LOGGER = logging.getLogger(__name__)

# Columns each operation may set; names come from this code only, never from event data.
_CALL_COLUMNS = frozenset(
    {
        "channel_uniqueid",
        "linkedid",
        "sip_call_id",
        "caller_number",
        "caller_name",
        "extension",
        "started_at",
        "answered_at",
        "ended_at",
        "outcome",
        "handoff_reason",
        "handoff_queue",
        "booking_ref",
        "recording_path",
        "scope",
        "node",
    }
)
_TURN_COLUMNS = frozenset(
    {
        "speaker",
        "text",
        "source",
        "asr_confidence",
        "intent",
        "intent_confidence",
        "entities",
        "audio_start_ms",
        "audio_end_ms",
        "latency",
        "barge_in",
        "audio_path",
        "asr_hint",
        "at",
    }
)
_EVENT_COLUMNS = frozenset({"kind", "code", "data", "at"})
_JSON_COLUMNS = frozenset({"entities", "latency", "data", "asr_hint"})
# Failures that mean "the database is not available now": keep the operations and retry later.
_TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, OSError, TimeoutError)
# Failures of one operation's content: retrying cannot help, so the operation is set aside (rejected file).
_REJECTED = (psycopg.DataError, psycopg.IntegrityError)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """What the writer has done so far; read by /healthz and the metrics."""

    connected: bool
    queue_depth: int
    spool_depth: int
    spool_bytes: int
    written_ops: int
    spooled_ops: int
    replayed_ops: int
    dropped_ops: int
    rejected_ops: int
    backlog_ops: int = 0  # waiting in memory because the spool could not take them


class Spool:
    """Append-only JSONL file of row operations waiting for the database; blocking I/O, run it in a thread."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._offset = 0  # bytes of the file already replayed
        self.depth = 0  # operations not yet replayed
        self.size = 0

    def open(self) -> None:
        """Count what an earlier run left behind; it is replayed from the start (writes are idempotent).

        A last line without its newline (the process died, or the disk filled, mid-append) is not an operation:
        it is moved to the `.rejected` file next to the spool and cut off, so the next append starts clean.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._offset = 0
        if not self.path.exists():
            self.depth = self.size = 0
            return
        depth = complete = 0  # operations, and the bytes up to the end of the last whole line
        with self.path.open("r+b") as f:
            for line in f:  # streamed: a spool may hold hundreds of megabytes
                if not line.endswith(b"\n"):
                    _LOGGER.error("spool %s ends in a torn line (%d bytes): set aside in %s",
                                  self.path, len(line), self.rejected_path)
                    _append_bytes(self.rejected_path, line + b"\n")
                    f.truncate(complete)
                    break
                complete += len(line)
                depth += bool(line.strip())
        self.depth, self.size = depth, complete

    @property
    def rejected_path(self) -> Path:
        """Where lines that cannot be replayed are kept for an operator."""
        return Path(str(self.path) + ".rejected")

    def append(self, ops: Sequence[RowOp]) -> int:
        """Append operations durably; returns how many did not fit under max_bytes (those are not written).

        An OSError (disk full, read-only) leaves the file as it was: a partial write is cut off again.
        """
        data = b""
        kept = 0
        for op in ops:
            line = (op.to_json() + "\n").encode()
            if self.size + len(data) + len(line) > self.max_bytes:
                break
            data += line
            kept += 1
        if data:
            with self.path.open("ab") as f:
                try:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                except OSError:
                    with contextlib.suppress(OSError):
                        f.truncate(self.size)
                    raise
            self.size += len(data)
            self.depth += kept
        return len(ops) - kept

    def peek(self, limit: int) -> tuple[list[RowOp], int]:
        """Up to `limit` operations from the replay position, and the offset just after them.

        A line that does not decode (edited by hand, or damaged) is set aside in the `.rejected` file and
        skipped: one bad line must not stop every later operation from reaching the database.
        """
        ops: list[RowOp] = []
        offset = self._offset
        with self.path.open("rb") as f:
            f.seek(offset)
            while len(ops) < limit:
                line = f.readline()
                if not line or not line.endswith(b"\n"):
                    break  # end of file, or a line torn by a crash mid-append: not an operation
                offset += len(line)
                if not line.strip():
                    continue
                try:
                    ops.append(RowOp.from_json(line.decode()))
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    _LOGGER.error("spool line at byte %d of %s does not decode (%s): set aside in %s",
                                  offset - len(line), self.path, exc, self.rejected_path)
                    _append_bytes(self.rejected_path, line)
                    self.depth = max(0, self.depth - 1)
        return ops, offset

    def advance(self, offset: int, count: int) -> None:
        """Mark operations up to `offset` as written; empties the file once everything is replayed."""
        self._offset = offset
        self.depth = max(0, self.depth - count)
        if self._offset >= self.size:
            self.path.write_bytes(b"")
            self._offset = self.size = self.depth = 0


def _append_bytes(path: Path, data: bytes) -> None:
    with contextlib.suppress(OSError), path.open("ab") as f:
        f.write(data)


class TranscriptWriter:
    """Subscriber `writer(event)` plus the task that writes calls, turns and call_events rows."""

    def __init__(
        self,
        dsn: str,
        *,
        spool_path: str | Path,
        spool_max_bytes: int = 256 * 1024 * 1024,
        redact: Redact = no_redaction,
        statement_timeout: float = 2.0,
        connect_timeout: float = 3.0,
        batch_size: int = 200,
        retry_min: float = 0.5,
        retry_max: float = 10.0,
        backlog_max_ops: int = 100_000,
    ) -> None:
        self._dsn = dsn
        self._spool = Spool(Path(spool_path), spool_max_bytes)
        self._rejected_path = self._spool.rejected_path
        # Operations the spool could not take (disk full, or the spool at its size limit), kept in memory in
        # order until it can, or the database is back; dropped (and counted) only beyond backlog_max_ops.
        self._backlog: list[RowOp] = []
        self._backlog_max = backlog_max_ops
        self._mapper = CallRowMapper(redact)
        self._statement_timeout = statement_timeout
        self._connect_timeout = connect_timeout
        self._batch_size = batch_size
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: list[RowOp] = []
        self._drained = asyncio.Event()
        self._drained.set()
        self._wake = asyncio.Event()
        self._written = self._spooled = self._replayed = self._dropped = self._rejected = 0
        self._outage_logged = False
        self._backlog_logged = False

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, redact: Redact = no_redaction) -> TranscriptWriter:
        """Build from ari_agent.config.DatabaseSettings (dsn, spool_path, spool_max_mb, statement timeout)."""
        return cls(
            settings.dsn,
            spool_path=settings.spool_path,
            spool_max_bytes=settings.spool_max_mb * 1024 * 1024,
            statement_timeout=settings.statement_timeout_seconds,
            redact=redact,
        )

    def __call__(self, event: CallEvent) -> None:
        """EventBus subscriber: queue the event and return at once."""
        self._drained.clear()
        self._queue.put_nowait(event)
        self._wake.set()

    @property
    def spool_depth(self) -> int:
        """Row operations waiting for the database: in the spool file, and in memory when the spool is full."""
        return self._spool.depth + len(self._backlog)

    @property
    def stats(self) -> WriterStats:
        """Counters and depths at this moment."""
        return WriterStats(
            connected=self._conn is not None and not self._conn.closed,
            queue_depth=self._queue.qsize(),
            spool_depth=self._spool.depth,
            spool_bytes=self._spool.size,
            written_ops=self._written,
            spooled_ops=self._spooled,
            replayed_ops=self._replayed,
            dropped_ops=self._dropped,
            rejected_ops=self._rejected,
            backlog_ops=len(self._backlog),
        )

    def not_ready_reason(self) -> str | None:
        """Why the store is degraded (for /readyz), or None when events are reaching PostgreSQL."""
        if self._task is None:
            return "transcript writer not started"
        if self._task.done():
            return "transcript writer task stopped"
        if self._backlog:
            return f"database and spool unavailable: {len(self._backlog)} row operations held in memory"
        if self._spool.depth:
            return f"database unavailable: {self._spool.depth} row operations spooled in {self._spool.path}"
        return None

    async def start(self) -> None:
        """Open the spool (replaying what a previous run left) and start the writing task."""
        await asyncio.to_thread(self._spool.open)
        if self._spool.depth:
            _LOGGER.warning("spool %s holds %d operations from an earlier run", self._spool.path, self._spool.depth)
            self._drained.clear()
        self._task = asyncio.create_task(self._run(), name="transcript-writer")

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is in the database; False if it is still queued or spooled at timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    async def close(self, drain_timeout: float = 5.0) -> None:
        """Write what is queued (within drain_timeout), spool the rest, stop the task and close the connection."""
        drained = await self.flush(drain_timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        leftovers = list(self._in_flight)
        self._in_flight = []
        while not self._queue.empty():
            leftovers.extend(self._map(self._queue.get_nowait()))
        if leftovers:
            # Already-written operations may be among them: harmless, replay is idempotent.
            await self._append_spool(leftovers)
        if self._backlog:
            _LOGGER.error("writer closed: %d row operations lost (neither the database nor the spool %s took them)",
                          len(self._backlog), self._spool.path)
            self._dropped += len(self._backlog)
            self._backlog = []
        if not drained or self._spool.depth:
            _LOGGER.warning("writer closed with %d operations spooled in %s", self._spool.depth, self._spool.path)
        await self._disconnect()

    async def _run(self) -> None:
        # The writer must outlive any one bad operation or I/O surprise: a dead writer silently loses every
        # later event of every call. An unexpected error is logged, what was in flight kept, and it goes on.
        while True:
            try:
                await self._write_loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("transcript writer error; keeping %d in-flight operations", len(self._in_flight))
                if self._in_flight:
                    self._backlog.extend(self._in_flight)
                    self._in_flight = []
                await asyncio.sleep(self._retry_min)

    async def _write_loop(self) -> None:
        delay = self._retry_min
        while True:
            if self._spool.depth or self._backlog:
                # Keep the order: whatever arrives while the spool is non-empty goes behind it.
                await self._spool_queued()
                if await self._replay_batch():
                    delay = self._retry_min
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                delay = min(delay * 2, self._retry_max)
                continue
            if self._queue.empty():
                self._drained.set()
            event = await self._queue.get()
            ops = self._map(event)
            while not self._queue.empty() and len(ops) < self._batch_size:
                ops.extend(self._map(self._queue.get_nowait()))
            if not ops:
                continue
            self._in_flight = ops
            if await self._write(ops):
                self._written += len(ops)
            else:
                await self._append_spool(ops)
            self._in_flight = []

    def _map(self, event: CallEvent) -> list[RowOp]:
        try:
            return self._mapper.map(event)
        except Exception:
            # A malformed event must not stop the writer for every other call.
            _LOGGER.exception("cannot record %s", event.type, extra={"call_id": event.call_id})
            return []

    async def _spool_queued(self) -> None:
        ops: list[RowOp] = []
        while not self._queue.empty():
            ops.extend(self._map(self._queue.get_nowait()))
        if ops or self._backlog:
            self._in_flight = ops
            await self._append_spool(ops)
            self._in_flight = []

    async def _append_spool(self, ops: list[RowOp]) -> None:
        """Spool `ops` behind anything already waiting; what the spool cannot take waits in the backlog."""
        # The backlog stays as it is until the append is done: /readyz and the metrics never see it empty
        # while its operations are on their way to the spool.
        pending = [*self._backlog, *ops]
        try:
            unwritten = await asyncio.to_thread(self._spool.append, pending)
        except OSError as exc:
            if not self._backlog_logged:
                _LOGGER.error("cannot append to spool %s (%s): holding row operations in memory", self._spool.path, exc)
                self._backlog_logged = True
            unwritten = len(pending)
        else:
            if unwritten and not self._backlog_logged:
                _LOGGER.error("spool %s is at its limit (%d bytes): holding row operations in memory",
                              self._spool.path, self._spool.max_bytes)
                self._backlog_logged = True
            if not unwritten:
                self._backlog_logged = False
        self._spooled += len(pending) - unwritten
        self._backlog = pending[len(pending) - unwritten :] if unwritten else []
        if unwritten:
            over = len(self._backlog) - self._backlog_max
            if over > 0:
                # Memory is the last resort; beyond it the oldest waiting operations go (and are counted).
                self._dropped += over
                del self._backlog[:over]
                _LOGGER.error("%d row operations dropped: database, spool and memory backlog all full", over)
        if not self._outage_logged:
            _LOGGER.warning("database unavailable: spooling to %s", self._spool.path)
            self._outage_logged = True

    async def _replay_batch(self) -> bool:
        if not self._spool.depth:
            # Only the memory backlog waits (the spool could not take it): straight to the database, in order.
            ops = self._backlog[: self._batch_size]
            if not await self._write(ops):
                return False
            del self._backlog[: len(ops)]
            self._replayed += len(ops)
            return True
        ops, offset = await asyncio.to_thread(self._spool.peek, self._batch_size)
        if ops and not await self._write(ops):
            return False
        await asyncio.to_thread(self._spool.advance, offset, len(ops))
        self._replayed += len(ops)
        if not self._spool.depth:
            _LOGGER.info("database back: spool replayed (%d operations so far)", self._replayed)
            self._outage_logged = False
        return True

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            ms = max(1, round(self._statement_timeout * 1000))
            # Keep options already in the DSN (e.g. a search_path): a keyword argument would replace them.
            given = conninfo_to_dict(self._dsn).get("options") or ""
            self._conn = await psycopg.AsyncConnection.connect(
                self._dsn,
                connect_timeout=max(1, round(self._connect_timeout)),
                options=f"{given} -c statement_timeout={ms} -c lock_timeout={ms}".strip(),
                application_name="ari-agent-writer",
            )
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _write(self, ops: Sequence[RowOp]) -> bool:
        """Apply operations in one transaction; False when the database is unavailable (nothing is lost)."""
        try:
            # The client-side deadline also covers a stalled network, which statement_timeout cannot see.
            async with asyncio.timeout(self._connect_timeout + self._statement_timeout * 2):
                conn = await self._connect()
                try:
                    async with conn.transaction():
                        await _apply(conn, ops)
                except _REJECTED:
                    await self._write_one_by_one(conn, ops)
            return True
        except _TRANSIENT as exc:
            _LOGGER.debug("database write failed: %s", exc)
            await self._disconnect()
            return False
        except psycopg.Error as exc:
            # E.g. a missing table (not migrated yet): an operator can fix it, so keep the operations.
            _LOGGER.error("database write failed, will retry: %s", exc)
            await self._disconnect()
            return False

    async def _write_one_by_one(self, conn: psycopg.AsyncConnection[Any], ops: Sequence[RowOp]) -> None:
        for op in ops:
            try:
                async with conn.transaction():
                    await _apply(conn, [op])
            except _REJECTED as exc:
                self._rejected += 1
                _LOGGER.error("row operation rejected by the database (%s): kept in %s", exc, self._rejected_path)
                line = op.to_json() + "\n"
                await asyncio.to_thread(_append_line, self._rejected_path, line)


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line)


def _value(column: str, value: Any) -> Any:
    return Jsonb(value) if column in _JSON_COLUMNS and value is not None else value


def _assignments(fields: dict[str, Any], allowed: frozenset[str]) -> tuple[list[str], list[Any]]:
    columns = [c for c in fields if c in allowed]
    return columns, [_value(c, fields[c]) for c in columns]


async def _apply(conn: psycopg.AsyncConnection[Any], ops: Sequence[RowOp]) -> None:
    """Execute row operations in order on an open transaction."""
    ensured: set[str] = set()
    async with conn.cursor() as cur:
        for op in ops:
            if op.kind is not OpKind.UPSERT_CALL and op.call_id not in ensured:
                # A stub call row keeps the foreign keys satisfied when CALL_STARTED was never seen (e.g. the
                # writer started mid-call); CALL_STARTED fills it in later.
                await cur.execute(
                    "INSERT INTO calls (call_id, started_at) VALUES (%s, %s) ON CONFLICT (call_id) DO NOTHING",
                    (op.call_id, op.at),
                )
            ensured.add(op.call_id)
            if op.kind is OpKind.UPSERT_CALL:
                columns, values = _assignments(op.fields, _CALL_COLUMNS)
                await cur.execute(_upsert_call_sql(columns), [op.call_id, *values])
            elif op.kind is OpKind.UPDATE_CALL:
                columns, values = _assignments(op.fields, _CALL_COLUMNS)
                if columns:
                    await cur.execute(_update_sql("calls", columns, ["call_id"]), [*values, op.call_id])
            elif op.kind is OpKind.INSERT_TURN:
                columns, values = _assignments(op.fields, _TURN_COLUMNS)
                await cur.execute(_insert_sql("turns", columns), [op.call_id, op.seq, *values])
            elif op.kind is OpKind.UPDATE_TURN:
                columns, values = _assignments(op.fields, _TURN_COLUMNS)
                if columns:
                    await cur.execute(_update_sql("turns", columns, ["call_id", "seq"]), [*values, op.call_id, op.seq])
            elif op.kind is OpKind.INSERT_EVENT:
                columns, values = _assignments(op.fields, _EVENT_COLUMNS)
                await cur.execute(_insert_sql("call_events", columns), [op.call_id, op.seq, *values])


def _upsert_call_sql(columns: list[str]) -> sql.Composed:
    names = [sql.Identifier(c) for c in ["call_id", *columns]]
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns]
    conflict = sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(updates)) if updates else sql.SQL("DO NOTHING")
    return sql.SQL("INSERT INTO calls ({}) VALUES ({}) ON CONFLICT (call_id) {}").format(
        sql.SQL(", ").join(names), sql.SQL(", ").join(sql.Placeholder() * len(names)), conflict
    )


def _insert_sql(table: str, columns: list[str]) -> sql.Composed:
    names = [sql.Identifier(c) for c in ["call_id", "seq", *columns]]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (call_id, seq) DO NOTHING").format(
        sql.Identifier(table), sql.SQL(", ").join(names), sql.SQL(", ").join(sql.Placeholder() * len(names))
    )


def _update_sql(table: str, columns: list[str], keys: list[str]) -> sql.Composed:
    sets = [sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns]
    where = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys]
    return sql.SQL("UPDATE {} SET {} WHERE {}").format(
        sql.Identifier(table), sql.SQL(", ").join(sets), sql.SQL(" AND ").join(where)
    )
