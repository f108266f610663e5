"""Supervisor pages: the recent-calls list and one call's transcript timeline with its Asterisk CDRs beside it.

Server-rendered HTML built with html.escape (no templates, no JavaScript). Routes, all behind the supervisor
login (ari_agent/web/auth.py):

    GET /                          -> 302 /calls
    GET /calls                     recent calls; filters outcome, reason, caller, from, to (YYYY-MM-DD), page
    GET /calls/{call_id}           the call page; the handoff link `{public_url}/calls/{call_id}` opens it
    GET /calls/{call_id}/recording the call's recording when calls.recording_path is a FILE (e.g. MixMonitor)
    GET /calls/{call_id}/turns/{seq}/audio  one turn's recording (turns.audio_path)

Recordings are served only from under the recordings directory (settings.recording.directory): a recorded
call is a directory `<call_id>/` there with caller-NN.wav / agent-NN.wav (ari_agent/recording.py), so its
page gets one small player per turn instead of a whole-call player.

Everything stored is treated as untrusted (callers' words, caller names, CDR fields): every value is escaped,
and the Content-Security-Policy forbids scripts altogether, so an escaping slip still cannot run code.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ari_agent.config import RecordingSettings, Settings
from ari_agent.store import queries
from ari_agent.store.rows import OUTCOMES
from ari_agent.web import format as fmt
from ari_agent.web.auth import LoginThrottle, SupervisorAuth, protect

_LOGGER = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGE = 10_000
# The recordings directory as the agent sees it when none is configured (the [recording] default), and the
# same directory as Asterisk sees it inside its chroot, which is what a dialplan MixMonitor path holds.
DEFAULT_RECORDINGS_DIR = Path(RecordingSettings().directory)
ASTERISK_RECORDINGS_DIR = "/var/lib/ari-agent/recordings"
AUDIO_TYPES = {".wav": "audio/wav", ".wav16": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}

_POOL_KEY = web.AppKey("supervisor_db_pool", AsyncConnectionPool)
_DB_TIMEOUT = 5.0

_CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dde5; --bg:#f5f6f8; --caller:#e8f0fe; --agent:#ffffff;
        --ok:#1e7b34; --warn:#a15c00; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 "DejaVu Sans", system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header.top { background:#1d2330; color:#fff; padding:10px 24px; display:flex; gap:24px; align-items:baseline; }
header.top a { color:#fff; text-decoration:none; font-weight:bold; }
main { padding:16px 24px; max-width:1400px; }
h1 { font-size:22px; margin:4px 0 12px; } h2 { font-size:17px; margin:18px 0 8px; }
h3 { font-size:14px; margin:10px 0 4px; }
a { color:#1a56c4; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eceef2; font-size:13px; color:var(--muted); }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
form.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:flex-end; background:#fff; padding:10px;
               border:1px solid var(--line); margin-bottom:12px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
form.filters input, form.filters select { font-size:14px; padding:4px; }
.pager { margin:10px 0; display:flex; gap:16px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:bold;
         background:#e3e6eb; }
.o-booked, .o-rescheduled, .o-cancelled, .o-answered { background:#dcf3e2; color:var(--ok); }
.o-handoff { background:#fff0d9; color:var(--warn); }
.o-failed { background:#fde2e0; color:var(--bad); }
.o-live { background:#e3ecff; color:#1a56c4; }
.summary { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:4px 18px;
           background:#fff; border:1px solid var(--line); padding:10px 14px; }
.summary .label { display:block; font-size:12px; color:var(--muted); }
.columns { display:grid; grid-template-columns:minmax(0, 2fr) minmax(280px, 1fr); gap:20px; }
@media (max-width: 900px) { .columns { grid-template-columns:1fr; } }
ol.timeline { list-style:none; margin:0; padding:0; }
ol.timeline li { display:grid; grid-template-columns:70px minmax(0, 1fr); gap:10px; margin:6px 0; }
.t { font-size:12px; color:var(--muted); padding-top:8px; font-variant-numeric:tabular-nums; }
.turn { border:1px solid var(--line); border-radius:8px; padding:6px 10px; }
.turn.caller { background:var(--caller); margin-right:12%; }
.turn.agent { background:var(--agent); margin-left:12%; }
.who { font-size:12px; font-weight:bold; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.said { white-space:pre-wrap; overflow-wrap:anywhere; }
.chips { margin-top:3px; display:flex; flex-wrap:wrap; gap:5px; }
.chip { font-size:12px; border:1px solid var(--line); border-radius:4px; padding:0 5px; background:#fff; }
.chip.low { border-color:var(--warn); color:var(--warn); }
.event { padding:5px 10px; border-left:4px solid #9aa3b2; background:#fff; font-size:14px;
         overflow-wrap:anywhere; }
.event.error { border-color:var(--bad); color:var(--bad); }
.event.handoff { border-color:var(--warn); }
.event.booking { border-color:var(--ok); }
.event .raw { color:var(--muted); font-size:12px; font-family:"DejaVu Sans Mono", monospace; }
aside dl { display:grid; grid-template-columns:auto minmax(0, 1fr); gap:2px 10px; margin:0; background:#fff;
           border:1px solid var(--line); padding:8px 10px; font-size:13px; }
aside dt { color:var(--muted); } aside dd { margin:0; overflow-wrap:anywhere; }
aside section { margin-bottom:12px; }
.note { color:var(--muted); font-size:13px; }
.refused { background:#fff; border:1px solid var(--line); padding:16px; max-width:720px; }
.recording { display:flex; align-items:center; gap:12px; margin-top:10px; background:#fff;
             border:1px solid var(--line); padding:4px 12px; }
.recording .label { font-size:12px; color:var(--muted); }
.recording audio { flex:1; height:36px; }
.turn audio { display:block; width:100%; max-width:340px; height:28px; margin-top:4px; }
"""
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
# No script may run, ever; the one inline style block is allowed by its hash; audio only from this server.
_CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; media-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _e(value: Any) -> str:
    """Escaped text of any value; '-' for None or empty."""
    if value is None or value == "":
        return "-"
    return escape(str(value), quote=True)


def _call_href(call_id: str) -> str:
    return "/calls/" + quote(call_id, safe="")


def render_page(title: str, body: str, status: int = 200) -> web.Response:
    """A complete HTML page with the security headers every supervisor page carries."""
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · ari-agent</title><style>{_CSS}</style></head><body>"
        '<header class="top"><a href="/calls">ari-agent · calls</a></header>'
        f"<main>{body}</main></body></html>\n"
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)


def refusal_page(status: int, message: str) -> web.Response:
    """The page shown instead of a supervisor page: not logged in, disabled, not found, database down."""
    titles = {400: "Bad request", 401: "Login required", 403: "Supervisor pages disabled", 404: "Not found",
              429: "Too many attempts",
              503: "Database unavailable"}  # fmt: skip
    title = titles.get(status, "Error")
    body = f'<div class="refused"><h1>{escape(title)}</h1><p>{escape(message)}</p></div>'
    return render_page(title, body, status)


@dataclass(frozen=True, slots=True)
class RecordingStore:
    """Maps a stored recording path (calls.recording_path, turns.audio_path) to a file or directory under the
    recordings directory, refusing anything outside it.

    A path may be relative to the directory, absolute under it, or absolute under the directory as Asterisk
    sees it (its chroot), which is what the dialplan stores.
    """

    directory: Path
    asterisk_directory: str = ASTERISK_RECORDINGS_DIR

    def resolve(self, recording_path: str | None) -> Path | None:
        """The existing regular file for this path, or None (missing, outside the directory, not a file)."""
        real = self._contained(recording_path)
        return real if real is not None and real.is_file() else None

    def resolve_dir(self, recording_path: str | None) -> Path | None:
        """The existing directory for this path (a recorded call's), or None (missing, outside, not a dir)."""
        real = self._contained(recording_path)
        return real if real is not None and real.is_dir() else None

    def _contained(self, recording_path: str | None) -> Path | None:
        if not recording_path or "\x00" in recording_path:
            return None
        pure = PurePosixPath(recording_path)
        asterisk_dir = PurePosixPath(self.asterisk_directory)
        if not pure.is_absolute():
            candidate = self.directory / pure
        elif self.asterisk_directory and pure.is_relative_to(asterisk_dir):
            candidate = self.directory / pure.relative_to(asterisk_dir)
        else:
            candidate = Path(pure)
        try:
            root = self.directory.resolve(strict=True)
            # resolve() follows symlinks and removes '..', so the containment check sees the real target.
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return real if real.is_relative_to(root) else None


def _timezone(settings: Settings) -> tzinfo | None:
    name = settings.call.timezone
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _LOGGER.warning("unknown timezone %r: pages show the machine's local time", name)
        return None


class _BadRequest(Exception):
    """A filter value the list page cannot use; its message is shown to the supervisor."""


@dataclass(frozen=True, slots=True)
class _Filters:
    outcome: str = ""
    reason: str = ""
    caller: str = ""
    date_from: str = ""
    date_to: str = ""
    scope: str = ""
    node: str = ""
    page: int = 1

    def params(self, **changes: Any) -> str:
        values = {
            "outcome": self.outcome, "reason": self.reason, "caller": self.caller, "from": self.date_from,
            "to": self.date_to, "scope": self.scope, "node": self.node, "page": str(self.page),
        }  # fmt: skip
        values.update({k: str(v) for k, v in changes.items()})
        if values["page"] == "1":
            del values["page"]
        return urlencode({k: v for k, v in values.items() if v})


def _parse_filters(query: Any) -> _Filters:
    def text(name: str, limit: int) -> str:
        value = str(query.get(name, "")).strip()
        if len(value) > limit:
            raise _BadRequest(f"{name} is too long (at most {limit} characters)")
        return value

    outcome = text("outcome", 20)
    if outcome and outcome not in OUTCOMES:
        raise _BadRequest(f"unknown outcome; choose one of {', '.join(sorted(OUTCOMES))}")
    date_from, date_to = text("from", 10), text("to", 10)
    for name, value in (("from", date_from), ("to", date_to)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise _BadRequest(f"{name} must be a date like 2026-11-25") from None
    page_text = text("page", 6) or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise _BadRequest(f"page must be a number from 1 to {MAX_PAGE}")
    return _Filters(
        outcome=outcome,
        reason=text("reason", 64),
        caller=text("caller", 64),
        date_from=date_from,
        date_to=date_to,
        scope=text("scope", 64),
        node=text("node", 64),
        page=int(page_text),
    )


def _day_start(day: str, tz: tzinfo | None) -> datetime:
    midnight = datetime.combine(date.fromisoformat(day), time(0))
    # No configured timezone: the machine's local midnight, as the pages show local times.
    return midnight.replace(tzinfo=tz) if tz is not None else midnight.astimezone()


def _outcome_badge(outcome: str | None, ended: bool) -> str:
    if outcome is None:
        label, css = ("no outcome", "") if ended else ("in progress", "o-live")
    else:
        label, css = outcome, f"o-{outcome}"
    return f'<span class="badge {escape(css)}">{escape(label)}</span>'


def _filter_form(f: _Filters) -> str:
    options = ['<option value="">any</option>'] + [
        f'<option value="{o}"{" selected" if o == f.outcome else ""}>{o}</option>' for o in sorted(OUTCOMES)
    ]
    reasons = "".join(f'<option value="{escape(r)}">' for r in fmt.HANDOFF_REASONS)
    scope = f'<input type="hidden" name="scope" value="{escape(f.scope)}">' if f.scope else ""
    return (
        '<form class="filters" method="get" action="/calls">'
        f'<label>Outcome<select name="outcome">{"".join(options)}</select></label>'
        f'<label>Handoff reason<input name="reason" list="reasons" value="{escape(f.reason)}" size="14">'
        f'<datalist id="reasons">{reasons}</datalist></label>'
        f'<label>Caller number<input name="caller" value="{escape(f.caller)}" size="14"></label>'
        f'<label>Node<input name="node" value="{escape(f.node)}" size="10"></label>'
        f'<label>From<input type="date" name="from" value="{escape(f.date_from)}"></label>'
        f'<label>To (inclusive)<input type="date" name="to" value="{escape(f.date_to)}"></label>'
        f'{scope}<button type="submit">Filter</button> <a href="/calls">clear</a></form>'
    )


def _calls_table(calls: list[queries.CallRow], tz: tzinfo | None) -> str:
    if not calls:
        return '<p class="note">No calls match these filters.</p>'
    rows = []
    for c in calls:
        href = escape(_call_href(c["call_id"]))
        caller = _e(c["caller_number"]) + (f"<br><span class=\"note\">{_e(c['caller_name'])}</span>"
                                           if c["caller_name"] else "")  # fmt: skip
        handoff = ""
        if c["handoff_reason"]:
            handoff = _e(c["handoff_reason"]) + (f" → {_e(c['handoff_queue'])}" if c["handoff_queue"] else "")
        errors = f'<span class="badge o-failed">{c["error_count"]}</span>' if c["error_count"] else "0"
        rows.append(
            f'<tr><td><a href="{href}">{_e(fmt.clock(c["started_at"], tz))}</a></td><td>{caller}</td>'
            f'<td class="num">{_e(fmt.duration(c["duration_seconds"]))}</td>'
            f"<td>{_outcome_badge(c['outcome'], c['ended_at'] is not None)}</td><td>{handoff or '-'}</td>"
            f'<td>{_e(c["booking_ref"])}</td><td class="num">{c["turn_count"]}</td>'
            f'<td class="num">{errors}</td><td>{_e(c.get("node"))}</td>'
            f'<td><a href="{href}">{_e(c["call_id"])}</a></td></tr>'
        )
    head = (
        "<tr><th>Started</th><th>Caller</th><th>Length</th><th>Outcome</th><th>Handoff</th><th>Booking</th>"
        "<th>Turns</th><th>Errors</th><th>Node</th><th>Call id</th></tr>"
    )
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _chip(text: str, low: bool = False) -> str:
    return f'<span class="chip{" low" if low else ""}">{escape(text)}</span>'


def _turn_audio_href(call_id: str, seq: int) -> str:
    return f"{_call_href(call_id)}/turns/{seq}/audio"


def _turn_html(turn: queries.TurnRow, audio_src: str | None = None) -> str:
    chips: list[str] = []
    if turn["speaker"] == "caller":
        if turn["intent"] is not None or turn["intent_confidence"] is not None:
            conf = turn["intent_confidence"]
            chips.append(_chip(f"intent {turn['intent'] or '?'} {fmt.confidence(conf)}", conf is not None
                               and conf < 0.5))  # fmt: skip
        if turn["asr_confidence"] is not None:
            chips.append(_chip(f"ASR {fmt.confidence(turn['asr_confidence'])}", turn["asr_confidence"] < 0.6))
        hint = fmt.hint_note(turn.get("asr_hint"))
        if hint:
            chips.append(_chip(hint))
        if turn["source"] and turn["source"] != "speech":
            chips.append(_chip(f"via {turn['source']}"))
        if turn["audio_start_ms"] is not None and turn["audio_end_ms"] is not None:
            chips.append(_chip(f"audio {turn['audio_start_ms'] / 1000:.1f}–{turn['audio_end_ms'] / 1000:.1f} s"))
        entities = turn["entities"]
        if isinstance(entities, list):
            for ent in entities:
                if isinstance(ent, dict) and "entity" in ent:
                    chips.append(_chip(f"{ent['entity']}={ent.get('value', '')}"))
        latency = turn["latency"]
        if isinstance(latency, dict) and latency.get("total_ms") is not None:
            parts = ", ".join(f"{k.removesuffix('_ms')} {v}" for k, v in latency.items() if k != "total_ms")
            chips.append(_chip(f"answered in {latency['total_ms']} ms" + (f" ({parts})" if parts else "")))
    if turn["barge_in"]:
        chips.append(_chip("interrupted by caller", True))
    who = "Caller" if turn["speaker"] == "caller" else "Agent"
    chips_html = f'<div class="chips">{"".join(chips)}</div>' if chips else ""
    # preload="none": a long transcript must not fetch every turn's WAV just to show the page.
    player = (
        f'<audio controls preload="none" src="{escape(audio_src)}" title="{who} turn audio"></audio>'
        if audio_src
        else ""
    )
    return (
        f'<div class="turn {escape(turn["speaker"])}"><div class="who">{who}</div>'
        f'<div class="said">{escape(turn["text"]) or "<em>(nothing heard)</em>"}</div>'
        f"{chips_html}{player}</div>"
    )


def _event_html(event: queries.EventRow) -> str:
    data = event["data"] if isinstance(event["data"], dict) else {"data": event["data"]}
    sentence, used = fmt.describe_event(event["kind"], event["code"], data)
    raw = fmt.extra_data(data, used)
    raw_html = f' <span class="raw">{escape(raw)}</span>' if raw else ""
    return f'<div class="event {escape(event["kind"])}">{escape(sentence)}{raw_html}</div>'


def _timeline_html(detail: queries.CallDetail, tz: tzinfo | None, playable: frozenset[int]) -> str:
    call_id = detail["call"]["call_id"]
    start = detail["call"]["started_at"]
    items = []
    for entry in detail["timeline"]:
        item: Any = entry["item"]
        at: datetime = item["at"]
        if entry["type"] == "turn":
            turn = cast(queries.TurnRow, item)
            src = _turn_audio_href(call_id, turn["seq"]) if turn["seq"] in playable else None
            body = _turn_html(turn, src)
        else:
            body = _event_html(item)
        items.append(
            f'<li><div class="t" title="{escape(fmt.clock(at, tz))}">{escape(fmt.offset(at, start))}</div>{body}</li>'
        )
    if not items:
        return '<p class="note">Nothing was said or recorded in this call.</p>'
    return f'<ol class="timeline">{"".join(items)}</ol>'


_CDR_FIELDS = (
    "matched_by", "calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "accountcode", "peeraccount",
    "uniqueid", "linkedid", "userfield", "sequence",
)  # fmt: skip


def _cdrs_html(cdrs: list[dict[str, Any]]) -> str:
    if not cdrs:
        return (
            '<p class="note">No CDR from Asterisk matches this call yet (Asterisk writes a CDR when the channel '
            "hangs up; it is joined by uniqueid, linkedid or userfield).</p>"
        )
    sections = []
    for i, cdr in enumerate(cdrs, 1):
        rows = []
        for name in _CDR_FIELDS:
            value = cdr.get(name)
            if value is None or value == "":
                continue
            shown = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value
            rows.append(f"<dt>{escape(name)}</dt><dd>{_e(shown)}</dd>")
        heading = f"<h3>CDR {i} of {len(cdrs)}</h3>" if len(cdrs) > 1 else ""
        sections.append(f"<section>{heading}<dl>{''.join(rows)}</dl></section>")
    return "".join(sections)


def _call_html(
    detail: queries.CallDetail, tz: tzinfo | None, recording: str, playable: frozenset[int] = frozenset()
) -> str:
    c = detail["call"]
    title = f"Call from {c['caller_number'] or 'unknown number'}" + (
        f" ({c['caller_name']})" if c["caller_name"] else ""
    )
    handoff = fmt.handoff_reason(c["handoff_reason"])
    if c["handoff_queue"]:
        handoff += f" → queue {c['handoff_queue']}"
    fields = [
        ("Outcome", _outcome_badge(c["outcome"], c["ended_at"] is not None)),
        ("Handoff", _e(handoff)),
        ("Booking reference", _e(c["booking_ref"])),
        ("Started", _e(fmt.clock(c["started_at"], tz))),
        ("Answered", _e(fmt.clock(c["answered_at"], tz))),
        ("Ended", _e(fmt.clock(c["ended_at"], tz))),
        ("Length", _e(fmt.duration(c["duration_seconds"]))),
        ("Dialled extension", _e(c["extension"])),
        ("Node", _e(c.get("node"))),
        ("Turns / events / errors", f"{c['turn_count']} / {c['event_count']} / {c['error_count']}"),
        ("Call id", _e(c["call_id"])),
        ("Channel uniqueid", _e(c["channel_uniqueid"])),
        ("Linkedid", _e(c["linkedid"])),
        ("SIP Call-ID", _e(c["sip_call_id"])),
    ]
    summary = "".join(f'<div><span class="label">{escape(k)}</span>{v}</div>' for k, v in fields)
    return (
        f'<h1>{escape(title)}</h1><div class="summary">{summary}</div>{recording}'
        '<div class="columns"><section><h2>Transcript</h2>'
        f"{_timeline_html(detail, tz, playable)}</section>"
        f"<aside><h2>Asterisk CDR</h2>{_cdrs_html(detail['cdrs'])}</aside>"
        "</div>"
    )


class SupervisorPages:
    """The page handlers, bound to the settings and the connection pool of the app."""

    def __init__(self, settings: Settings, recordings: RecordingStore) -> None:
        self._settings = settings
        self._recordings = recordings
        self._tz = _timezone(settings)

    @contextlib.asynccontextmanager
    async def _db(self, request: web.Request) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        pool = request.app[_POOL_KEY]
        async with pool.connection(timeout=_DB_TIMEOUT) as conn:
            yield conn

    async def index(self, request: web.Request) -> web.StreamResponse:
        """GET / : the calls list is the home page."""
        raise web.HTTPFound("/calls")

    async def calls(self, request: web.Request) -> web.StreamResponse:
        """GET /calls : recent calls, filtered, newest first, PAGE_SIZE per page."""
        try:
            f = _parse_filters(request.query)
        except _BadRequest as exc:
            return refusal_page(400, str(exc))
        since = _day_start(f.date_from, self._tz) if f.date_from else None
        until = _day_start(f.date_to, self._tz) + timedelta(days=1) if f.date_to else None
        try:
            async with self._db(request) as conn:
                # One row more than a page tells whether there is a next page.
                calls = await queries.list_calls(
                    conn,
                    outcome=f.outcome or None,
                    handoff_reason=f.reason or None,
                    caller_number=f.caller or None,
                    since=since,
                    until=until,
                    scope=f.scope or None,
                    node=f.node or None,
                    limit=PAGE_SIZE + 1,
                    offset=(f.page - 1) * PAGE_SIZE,
                )
        except (psycopg.Error, PoolTimeout) as exc:
            return self._db_down(exc)
        more = len(calls) > PAGE_SIZE
        calls = calls[:PAGE_SIZE]
        pager = []
        if f.page > 1:
            pager.append(f'<a href="/calls?{escape(f.params(page=f.page - 1))}">← newer</a>')
        first = (f.page - 1) * PAGE_SIZE + 1
        shown = f"calls {first}–{first + len(calls) - 1}" if calls else "no calls"
        pager.append(f'<span class="note">page {f.page}, {shown}</span>')
        if more:
            pager.append(f'<a href="/calls?{escape(f.params(page=f.page + 1))}">older →</a>')
        body = (
            f"<h1>Recent calls</h1>{_filter_form(f)}{_calls_table(calls, self._tz)}"
            f'<div class="pager">{"".join(pager)}</div>'
        )
        return render_page("Recent calls", body)

    async def call(self, request: web.Request) -> web.StreamResponse:
        """GET /calls/{call_id} : header, transcript timeline with per-turn audio, CDRs, recording player."""
        call_id = request.match_info["call_id"]
        try:
            async with self._db(request) as conn:
                detail = await queries.get_call(conn, call_id)
        except (psycopg.Error, PoolTimeout) as exc:
            return self._db_down(exc)
        if detail is None:
            return refusal_page(404, f"There is no call with id {call_id}.")
        # The same check the audio route makes, so a player is only shown when its audio will be served.
        turns = [cast(queries.TurnRow, e["item"]) for e in detail["timeline"] if e["type"] == "turn"]
        playable = frozenset(t["seq"] for t in turns if self._recordings.resolve(t["audio_path"]) is not None)
        recording = ""
        path = detail["call"]["recording_path"]
        if path:
            if self._recordings.resolve(path) is not None:
                src = escape(_call_href(call_id) + "/recording")
                recording = (
                    f'<div class="recording"><span class="label">Recording</span>'
                    f'<audio controls preload="none" src="{src}"></audio><a href="{src}">download</a></div>'
                )
            elif self._recordings.resolve_dir(path) is not None and playable:
                recording = ""  # a recorded call's directory: the per-turn players are its recording
            else:
                recording = '<p class="note">A recording was made but its audio is no longer available.</p>'
        return render_page(f"Call {call_id}", _call_html(detail, self._tz, recording, playable))

    async def recording(self, request: web.Request) -> web.StreamResponse:
        """GET /calls/{call_id}/recording : the recording file, only from under the recordings directory."""
        call_id = request.match_info["call_id"]
        try:
            async with self._db(request) as conn:
                row = await (
                    await conn.execute("SELECT recording_path FROM calls WHERE call_id = %s", [call_id])
                ).fetchone()
        except (psycopg.Error, PoolTimeout) as exc:
            return self._db_down(exc)
        stored = row[0] if row else None
        file = self._recordings.resolve(stored)
        if file is None:
            # A recorded call's directory is no file to serve (its turns are); anything else is worth a warning.
            if stored and self._recordings.resolve_dir(stored) is None:
                _LOGGER.warning("recording of call %s refused or missing", call_id, extra={"call_id": call_id})
            return refusal_page(404, "This call has no recording available.")
        return _audio_response(file)

    async def turn_audio(self, request: web.Request) -> web.StreamResponse:
        """GET /calls/{call_id}/turns/{seq}/audio : one turn's WAV, only from under the recordings directory."""
        call_id = request.match_info["call_id"]
        seq_text = request.match_info["seq"]
        # ASCII digits only (str.isdigit also accepts '²'); nine of them stay inside PostgreSQL's integer.
        if not (seq_text.isascii() and seq_text.isdigit() and len(seq_text) <= 9):
            return refusal_page(404, "There is no such turn.")
        try:
            async with self._db(request) as conn:
                row = await (
                    await conn.execute(
                        "SELECT audio_path FROM turns WHERE call_id = %s AND seq = %s", [call_id, int(seq_text)]
                    )
                ).fetchone()
        except (psycopg.Error, PoolTimeout) as exc:
            return self._db_down(exc)
        file = self._recordings.resolve(row[0] if row else None)
        if file is None:
            if row and row[0]:
                _LOGGER.warning(
                    "audio of turn %s of call %s refused or missing", seq_text, call_id, extra={"call_id": call_id}
                )
            return refusal_page(404, "This turn has no recording available.")
        return _audio_response(file)

    def _db_down(self, exc: BaseException) -> web.Response:
        _LOGGER.warning("supervisor page: database unavailable: %s", type(exc).__name__)
        return refusal_page(503, "The call database cannot be reached right now; try again in a moment.")


def _audio_response(file: Path) -> web.FileResponse:
    headers = dict(_HEADERS)
    headers["Content-Type"] = AUDIO_TYPES.get(file.suffix.lower(), "application/octet-stream")
    # FileResponse answers Range requests, which is how a browser's <audio> seeks.
    return web.FileResponse(file, headers=headers)


def recording_store(settings: Settings) -> RecordingStore:
    """The recordings the pages may serve: settings.recording.directory (the recorder writes there)."""
    directory = settings.recording.directory or str(DEFAULT_RECORDINGS_DIR)
    return RecordingStore(Path(directory).expanduser(), ASTERISK_RECORDINGS_DIR)


def add_pages(app: web.Application, settings: Settings) -> None:
    """Attach the supervisor pages (login required) and the connection pool they read through."""
    auth = SupervisorAuth(settings.http.supervisor_user, settings.http.supervisor_password)
    if not auth.enabled:
        _LOGGER.warning("supervisor pages disabled: set ARI_AGENT_HTTP_SUPERVISOR_PASSWORD to enable them")
    pages = SupervisorPages(settings, recording_store(settings))
    timeout_ms = int(settings.database.statement_timeout_seconds * 1000)

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        # A slow query must not hold a page (and a pool connection) for long.
        await conn.execute("SELECT set_config('statement_timeout', %s, false)", [str(timeout_ms)])

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.database.dsn,
            min_size=1,
            max_size=4,
            open=False,
            timeout=_DB_TIMEOUT,
            kwargs={"autocommit": True, "connect_timeout": 5},
            configure=configure,
            name="supervisor-pages",
        )
        # wait=False: the agent starts (and /healthz answers) even while PostgreSQL is down.
        await pool.open(wait=False)
        app[_POOL_KEY] = pool
        try:
            yield
        finally:
            await pool.close()

    if auth.enabled:
        # Disabled pages refuse before any query: no pool, so no connection attempts to log about either.
        app.cleanup_ctx.append(pool_ctx)
    router = app.router
    throttle = LoginThrottle()  # one count per client address across every page
    router.add_get("/", protect(auth, pages.index, refusal_page, throttle))
    router.add_get("/calls", protect(auth, pages.calls, refusal_page, throttle))
    router.add_get("/calls/{call_id}", protect(auth, pages.call, refusal_page, throttle))
    router.add_get("/calls/{call_id}/recording", protect(auth, pages.recording, refusal_page, throttle))
    router.add_get("/calls/{call_id}/turns/{seq}/audio", protect(auth, pages.turn_audio, refusal_page, throttle))
