"""Read side of the transcript store: call lists, one call with its timeline and CDRs, and purging.

Used by the supervisor pages (async, a pooled connection) and the CLI (asyncio.run with a DSN). Every
function takes an open AsyncConnection or a DSN string (then it opens and closes its own connection). Results
are TypedDicts: typed for mypy, plain dicts for templates and JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

_LOGGER = logging.getLogger(__name__)

MAX_LIMIT = 500


class CallRow(TypedDict):
    """One row of `calls` plus counts for list pages."""

    call_id: str
    channel_uniqueid: str | None
    linkedid: str | None
    sip_call_id: str | None
    caller_number: str | None
    caller_name: str | None
    extension: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    handoff_reason: str | None
    handoff_queue: str | None
    booking_ref: str | None
    recording_path: str | None
    scope: str
    node: str | None  # the Asterisk node that took the call (None for calls from before nodes were recorded)
    turn_count: int
    event_count: int
    error_count: int
    duration_seconds: float | None  # None while the call is in progress


class TurnRow(TypedDict):
    """One utterance of the caller or the agent."""

    seq: int
    speaker: str
    text: str
    source: str | None
    asr_confidence: float | None
    intent: str | None
    intent_confidence: float | None
    entities: Any
    audio_start_ms: int | None
    audio_end_ms: int | None
    latency: dict[str, Any] | None
    barge_in: bool
    audio_path: str | None  # the turn's recording, when the call was recorded
    asr_hint: dict[str, Any] | None  # the expectation-constrained reading {"kind", "text", "complete"}
    at: datetime


class EventRow(TypedDict):
    """One noteworthy moment: barge-in, reprompt, fallback, DTMF, reconnect, error, handoff, booking."""

    seq: int
    kind: str
    code: str | None
    data: dict[str, Any]
    at: datetime


class TimelineItem(TypedDict):
    """A turn or an event, tagged, in call order."""

    seq: int
    type: str  # "turn" | "event"
    item: TurnRow | EventRow


class CallDetail(TypedDict):
    """A call with everything recorded about it."""

    call: CallRow
    turns: list[TurnRow]
    events: list[EventRow]
    cdrs: list[dict[str, Any]]  # rows of the call_cdrs view; "matched_by" tells how each CDR was found
    timeline: list[TimelineItem]  # turns and events merged by their shared per-call seq


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What purge_older_than deleted."""

    calls: int
    cdrs: int

    def __str__(self) -> str:
        return f"{self.calls} calls and {self.cdrs} CDRs"


_CALL_COLUMNS = sql.SQL(
    """c.call_id, c.channel_uniqueid, c.linkedid, c.sip_call_id, c.caller_number, c.caller_name, c.extension,
       c.started_at, c.answered_at, c.ended_at, c.outcome, c.handoff_reason, c.handoff_queue, c.booking_ref,
       c.recording_path, c.scope, c.node,
       (SELECT count(*) FROM turns t WHERE t.call_id = c.call_id)::int AS turn_count,
       (SELECT count(*) FROM call_events e WHERE e.call_id = c.call_id)::int AS event_count,
       (SELECT count(*) FROM call_events e WHERE e.call_id = c.call_id AND e.kind = 'error')::int AS error_count,
       extract(epoch FROM c.ended_at - c.started_at)::float8 AS duration_seconds"""
)


Db = psycopg.AsyncConnection[Any] | str


@contextlib.asynccontextmanager
async def _connection(db: Db) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    if isinstance(db, str):
        async with await psycopg.AsyncConnection.connect(db) as conn:
            yield conn
    else:
        yield db


async def list_calls(
    db: Db,
    *,
    outcome: str | None = None,
    handoff_reason: str | None = None,
    caller_number: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    scope: str | None = None,
    node: str | None = None,
    in_progress: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CallRow]:
    """Most recent calls first, filtered; caller_number matches a substring of the number."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("outcome", outcome), ("handoff_reason", handoff_reason), ("scope", scope), ("node", node)
    ):
        if value is not None:
            where.append(sql.SQL("c.{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if caller_number:
        where.append(sql.SQL("c.caller_number LIKE %s"))
        params.append("%" + caller_number.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if since is not None:
        where.append(sql.SQL("c.started_at >= %s"))
        params.append(since)
    if until is not None:
        where.append(sql.SQL("c.started_at < %s"))
        params.append(until)
    if in_progress is not None:
        where.append(sql.SQL("c.ended_at IS NULL" if in_progress else "c.ended_at IS NOT NULL"))
    query = sql.SQL("SELECT {} FROM calls c {} ORDER BY c.started_at DESC, c.call_id LIMIT %s OFFSET %s").format(
        _CALL_COLUMNS,
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    params += [max(1, min(limit, MAX_LIMIT)), max(0, offset)]
    async with _connection(db) as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return cast(list[CallRow], await cur.fetchall())


async def get_call(db: Db, call_id: str) -> CallDetail | None:
    """The call with its turns, events and the CDRs Asterisk wrote for it; None if unknown."""
    async with _connection(db) as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM calls c WHERE c.call_id = %s").format(_CALL_COLUMNS), [call_id])
        call = await cur.fetchone()
        if call is None:
            return None
        await cur.execute(
            """SELECT seq, speaker, text, source, asr_confidence, intent, intent_confidence, entities,
                      audio_start_ms, audio_end_ms, latency, barge_in, audio_path, asr_hint, at
               FROM turns WHERE call_id = %s ORDER BY seq""",
            [call_id],
        )
        turns = cast(list[TurnRow], await cur.fetchall())
        await cur.execute(
            "SELECT seq, kind, code, data, at FROM call_events WHERE call_id = %s ORDER BY seq", [call_id]
        )
        events = cast(list[EventRow], await cur.fetchall())
        await cur.execute(
            "SELECT * FROM call_cdrs WHERE call_id = %s ORDER BY calldate, sequence, uniqueid",
            [call_id],
        )
        cdrs = await cur.fetchall()
    timeline: list[TimelineItem] = [{"seq": t["seq"], "type": "turn", "item": t} for t in turns]
    timeline += [{"seq": e["seq"], "type": "event", "item": e} for e in events]
    timeline.sort(key=lambda item: item["seq"])
    return {"call": cast(CallRow, call), "turns": turns, "events": events, "cdrs": cdrs, "timeline": timeline}


async def purge_older_than(db: Db, days: float, *, include_cdr: bool = True) -> PurgeResult:
    """Delete calls (with their turns and events) and, unless told not to, CDRs older than `days` days."""
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    async with _connection(db) as conn, conn.transaction(), conn.cursor() as cur:
        await cur.execute(
            "DELETE FROM calls WHERE started_at < now() - make_interval(secs => %s)", [float(days) * 86400]
        )
        calls = cur.rowcount
        cdrs = 0
        if include_cdr:
            # cdr.calldate is Asterisk's local wall-clock time (timestamp without zone).
            await cur.execute(
                "DELETE FROM cdr WHERE calldate < localtimestamp - make_interval(secs => %s)", [float(days) * 86400]
            )
            cdrs = cur.rowcount
    _LOGGER.info("purged %d calls and %d CDRs older than %s days", calls, cdrs, days)
    return PurgeResult(calls=calls, cdrs=cdrs)


async def close_unfinished(
    db: Db, started_before: datetime, alive_channels: set[str], reason: str, node: str
) -> list[str]:
    """Close `calls` rows a previous run of the agent left open: outcome `failed`, and an `error` event saying why.

    A row is closed when it is this node's (or has no node: written before nodes were recorded), started
    before `started_before` (this process's start), has no end, and its channel is not in `alive_channels`
    (channels still up in this node's Asterisk that another program is handling). Another node's calls are
    never in this Asterisk's channel list, so they are left to that node. Returns the closed call ids.
    """
    async with _connection(db) as conn, conn.transaction(), conn.cursor() as cur:
        await cur.execute(
            """
            WITH closed AS (
                UPDATE calls SET ended_at = now(), outcome = 'failed'
                 WHERE ended_at IS NULL AND started_at < %(before)s AND coalesce(node, %(node)s) = %(node)s
                   AND NOT (coalesce(channel_uniqueid, '') = ANY(%(alive)s))
                RETURNING call_id
            )
            INSERT INTO call_events (call_id, seq, kind, code, data)
            SELECT c.call_id,
                   1 + greatest(coalesce((SELECT max(seq) FROM turns t WHERE t.call_id = c.call_id), -1),
                                coalesce((SELECT max(seq) FROM call_events e WHERE e.call_id = c.call_id), -1)),
                   'error', 'agent-restarted', jsonb_build_object('message', %(reason)s::text)
              FROM closed c
            RETURNING call_id
            """,
            {"before": started_before, "alive": sorted(alive_channels), "reason": reason, "node": node},
        )
        closed = [row[0] for row in await cur.fetchall()]
    if closed:
        _LOGGER.warning("closed %d calls a previous run left unfinished: %s", len(closed), ", ".join(closed))
    return closed
