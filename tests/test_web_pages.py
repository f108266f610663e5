"""Supervisor pages: login, calls list with filters and paging, the call page, recordings, turn audio, escaping.

The integration tests serve the real pages through aiohttp's test client against the real PostgreSQL (a migrated
scratch schema of the _test database); the calls are written by the real TranscriptWriter from scripted
CallEvents, the CDR row as Asterisk's cdr_pgsql writes it. Unit tests at the top need no services.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ari_agent.config import CallSettings, DatabaseSettings, HttpSettings, RecordingSettings, Settings
from ari_agent.events import CallEvent, EventType
from ari_agent.store.redact import Redactor
from ari_agent.store.writer import TranscriptWriter
from ari_agent.web import format as fmt
from ari_agent.web import pages
from ari_agent.web.auth import LoginThrottle, SupervisorAuth
from ari_agent.web.health import Readiness, add_health_routes
from ari_agent.web.pages import PAGE_SIZE, RecordingStore, add_pages
from tests.test_migrations import scratch_database

USER, PASSWORD = "supervisor", "s3cret-pässword"
XSS_SAID = "<script>alert('said')</script> & more"
XSS_NAME = '"><img src=x onerror=alert(1)>'
DAY1 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DAY2 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def basic(user: str, password: str, charset: str = "utf-8") -> dict[str, str]:
    """An Authorization header as a browser sends it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode(charset)).decode()}


GOOD = basic(USER, PASSWORD)


# --- unit: no services ------------------------------------------------------------------------------------


def test_basic_auth_checks_user_and_password() -> None:
    auth = SupervisorAuth(USER, PASSWORD)
    assert auth.check_header(GOOD["Authorization"])
    assert auth.check_header(basic(USER, PASSWORD, "latin-1")["Authorization"])
    assert not auth.check_header(None)
    assert not auth.check_header(basic(USER, "wrong")["Authorization"])
    assert not auth.check_header(basic("admin", PASSWORD)["Authorization"])
    assert not auth.check_header(basic(USER, PASSWORD + "x")["Authorization"])
    assert not auth.check_header("Basic !!!not-base64!!!")
    assert not auth.check_header("Basic " + base64.b64encode(b"no-colon").decode())
    assert not auth.check_header("Bearer " + PASSWORD)
    # A password containing ':' is split at the first colon only, like browsers send it.
    assert SupervisorAuth("u", "a:b").check_header(basic("u", "a:b")["Authorization"])


def test_empty_password_accepts_nobody() -> None:
    auth = SupervisorAuth(USER, "")
    assert not auth.enabled
    assert not auth.check_header(basic(USER, "")["Authorization"])


def test_recording_store_refuses_paths_outside_its_directory(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    (root / "sub").mkdir(parents=True)
    (root / "a.wav").write_bytes(b"RIFF")
    (root / "sub" / "b.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.wav").write_bytes(b"secret")
    (root / "link.wav").symlink_to(tmp_path / "secret.wav")
    store = RecordingStore(root, "/var/lib/ari-agent/recordings")
    assert store.resolve("a.wav") == (root / "a.wav").resolve()
    assert store.resolve("sub/b.wav") == (root / "sub" / "b.wav").resolve()
    assert store.resolve(str(root / "a.wav")) == (root / "a.wav").resolve()
    assert store.resolve("/var/lib/ari-agent/recordings/sub/b.wav") == (root / "sub" / "b.wav").resolve()
    # A recorded call's directory (calls.recording_path since call recording) resolves as a directory only.
    assert store.resolve_dir("sub") == (root / "sub").resolve()
    assert store.resolve_dir(str(root / "sub")) == (root / "sub").resolve()
    assert store.resolve_dir("/var/lib/ari-agent/recordings/sub") == (root / "sub").resolve()
    (tmp_path / "outside").mkdir()
    (root / "away").symlink_to(tmp_path / "outside")
    for bad_dir in ("a.wav", "..", "../outside", str(tmp_path / "outside"), "away", "missing", "", None):
        assert store.resolve_dir(bad_dir) is None, bad_dir
    for bad in (
        "../secret.wav",
        "sub/../../secret.wav",
        str(tmp_path / "secret.wav"),
        "/var/lib/ari-agent/recordings/../../../../" + str(tmp_path / "secret.wav"),
        "/etc/passwd",
        "link.wav",  # a symlink pointing out of the directory
        "sub",  # a directory, not a file
        "missing.wav",
        "a.wav\x00.txt",
        "",
        None,
    ):
        assert store.resolve(bad) is None, bad


def test_formatters() -> None:
    assert fmt.duration(None) == "live"
    assert fmt.duration(65.4) == "1:05"
    assert fmt.duration(3725) == "1:02:05"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert fmt.offset(start + timedelta(seconds=65.34), start) == "+1:05.3"
    assert fmt.handoff_reason("no_input") == "no_input (caller stayed silent)"
    assert fmt.handoff_reason("custom") == "custom"
    sentence, used = fmt.describe_event("error", "asr-failed", {"code": "asr-failed", "message": "boom", "x": 1})
    assert sentence == "Error asr-failed: boom"
    assert fmt.extra_data({"code": "asr-failed", "message": "boom", "x": 1}, used) == '{"x": 1}'
    sentence, _ = fmt.describe_event("handoff", "no_input", {"reason": "no_input", "queue": "reception"})
    assert sentence == "Handed over to a person: no_input (caller stayed silent), queue reception"
    assert fmt.hint_note({"kind": "when", "text": "half past two", "complete": False}) == "as when: half past two"
    assert fmt.hint_note({"kind": "yes_no", "text": "", "complete": False}) is None
    assert fmt.hint_note(None) is None


async def test_pages_refuse_everything_without_a_configured_password(tmp_path: Path) -> None:
    # No database is needed: the refusal happens before any query.
    settings = Settings(
        http=HttpSettings(supervisor_user=USER, supervisor_password=""),
        recording=RecordingSettings(directory=str(tmp_path)),
    )
    app = web.Application()
    add_health_routes(app, Readiness())
    add_pages(app, settings)
    async with TestClient(TestServer(app)) as client:
        for path in ("/", "/calls", "/calls/x", "/calls/x/recording", "/calls/x/turns/1/audio"):
            for headers in ({}, basic(USER, ""), GOOD):
                response = await client.get(path, headers=headers, allow_redirects=False)
                assert response.status == 403, (path, headers)
                text = await response.text()
                assert "ARI_AGENT_HTTP_SUPERVISOR_PASSWORD" in text
        # Health endpoints stay open: they are not supervisor pages.
        assert (await client.get("/healthz")).status == 200


# --- integration: real PostgreSQL ---------------------------------------------------------------------------


def write_wav(path: Path, seconds: float = 1.0, rate: int = 8000, hz: float = 440) -> None:
    """A tone: a recording the browser can play (different `hz` give different files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


@dataclass(frozen=True)
class Seeded:
    """Ids of the scripted calls."""

    booked: str
    handoff: str
    traversal: str
    recording: Path
    recorded: str  # a call recorded by ari_agent/recording.py: a directory with one WAV per turn
    turn_seq: dict[str, int]  # the recorded call's turns: text -> seq
    turn_audio: dict[str, Path]  # text -> WAV, for the turns whose audio exists under the recordings directory


def handoff_call(call_id: str, at: datetime, recording_path: str) -> list[CallEvent]:
    """A call that goes wrong: hostile caller name and words, low confidences, reprompt, error, then handoff."""
    steps: list[tuple[float, EventType, dict[str, object]]] = [
        (0.0, EventType.CALL_STARTED, {
            "caller": "+15550100", "caller_name": XSS_NAME, "extension": "100", "channel_id": "1800.7",
            "linkedid": "1800.7", "sip_call_id": "sip-xyz@127.0.0.1", "recording_path": recording_path,
        }),
        (0.2, EventType.CALL_ANSWERED, {}),
        (0.5, EventType.AGENT_TURN, {"text": "Hello, you've reached Riverside Dental Clinic."}),
        (3.0, EventType.CALLER_TURN, {"text": XSS_SAID, "confidence": 0.42, "source": "speech"}),
        (3.1, EventType.DIALOGUE_RESULT, {"intent": "nlu_fallback", "intent_confidence": 0.31}),
        (3.2, EventType.FALLBACK, {}),
        (3.3, EventType.AGENT_TURN, {"text": "Sorry, I didn't catch that."}),
        (9.5, EventType.REPROMPT, {"count": 1}),
        (10.0, EventType.DTMF, {"digit": "#"}),
        (11.0, EventType.ERROR, {"code": "dialogue-timeout", "message": "rasa took longer than 3 s"}),
        (11.5, EventType.HANDOFF, {"reason": "no_input", "queue": "reception", "summary": "caller silent"}),
        (12.0, EventType.AGENT_TURN, {"text": "Let me put you through to a colleague."}),
        (14.0, EventType.CALL_ENDED, {"outcome": "handoff", "handoff_reason": "no_input"}),
    ]  # fmt: skip
    return [CallEvent(t, call_id, d, at=at + timedelta(seconds=s)) for s, t, d in steps]


RECORDED_TURNS = (
    "Hello, Riverside Dental Clinic. How can I help?",
    "I need to move my appointment",
    "Which day suits you?",
    "next tuesday",  # its audio_path is crafted to climb out of the recordings directory
    "Done: Tuesday at 9.",  # its WAV was never written (or was purged)
)


def recorded_call(call_id: str, at: datetime, call_dir: Path) -> list[CallEvent]:
    """A rescheduling recorded the way the agent records: recording_path is the call's directory, each turn
    carries the path of its WAV (caller-NN / agent-NN), as ari_agent/call/session.py stores them."""
    t = RECORDED_TURNS
    steps: list[tuple[float, EventType, dict[str, object]]] = [
        (0.0, EventType.CALL_STARTED, {
            "caller": "+33123456", "caller_name": "Zoé Martin", "channel_id": "1900.3",
            "recording_path": str(call_dir),
        }),
        (0.1, EventType.CALL_ANSWERED, {}),
        (0.3, EventType.AGENT_TURN, {"text": t[0], "audio_path": str(call_dir / "agent-01.wav")}),
        (3.0, EventType.CALLER_TURN, {"text": t[1], "confidence": 0.88, "audio_path": str(call_dir / "caller-01.wav")}),
        (3.1, EventType.DIALOGUE_RESULT, {"intent": "reschedule", "intent_confidence": 0.93}),
        (3.3, EventType.AGENT_TURN, {"text": t[2], "audio_path": str(call_dir / "agent-02.wav")}),
        (5.0, EventType.CALLER_TURN, {"text": t[3], "confidence": 0.8, "audio_path": f"{call_dir}/../../secret.wav"}),
        (5.3, EventType.AGENT_TURN, {"text": t[4], "audio_path": str(call_dir / "agent-03.wav")}),
        (5.4, EventType.BOOKING, {"reference": "BK-7007", "action": "rescheduled"}),
        (6.0, EventType.CALL_ENDED, {"outcome": "rescheduled"}),
    ]  # fmt: skip
    return [CallEvent(kind, call_id, d, at=at + timedelta(seconds=s)) for s, kind, d in steps]


def booked_call(call_id: str, at: datetime) -> list[CallEvent]:
    """A short booking with a barge-in and known intent/ASR confidences."""
    steps: list[tuple[float, EventType, dict[str, object]]] = [
        (0.0, EventType.CALL_STARTED, {"caller": "+441234567", "caller_name": "Ann Smith", "channel_id": "1700.1"}),
        (0.1, EventType.CALL_ANSWERED, {}),
        (0.3, EventType.AGENT_TURN, {"text": "How can I help?"}),
        (1.0, EventType.BARGE_IN, {"reaction_ms": 180}),
        (2.5, EventType.CALLER_TURN, {"text": "book a cleaning on friday", "confidence": 0.91}),
        (2.6, EventType.DIALOGUE_RESULT, {
            "intent": "book_appointment", "intent_confidence": 0.97,
            "entities": [{"entity": "service", "value": "cleaning"}],
        }),
        (2.7, EventType.AGENT_TURN, {"text": "Booked for Friday at 10."}),
        (2.8, EventType.TURN_LATENCY, {"total_ms": 640, "asr_ms": 40, "dialogue_ms": 12}),
        (2.9, EventType.BOOKING, {"reference": "BK-4242", "action": "booked"}),
        (4.0, EventType.CALL_ENDED, {"outcome": "booked"}),
    ]  # fmt: skip
    return [CallEvent(t, call_id, d, at=at + timedelta(seconds=s)) for s, t, d in steps]


async def seed_calls(dsn: str, recordings: Path, spool: Path) -> Seeded:
    """Write the scripted calls through the real TranscriptWriter, a CDR row, and a recording file."""
    recorded = f"call-recorded-{uuid.uuid4().hex[:8]}"
    call_dir = recordings / recorded
    # Different tones (and rates, as the recorder writes 16 kHz caller audio) so each turn's file is distinct.
    turn_audio = {
        RECORDED_TURNS[0]: call_dir / "agent-01.wav",
        RECORDED_TURNS[1]: call_dir / "caller-01.wav",
        RECORDED_TURNS[2]: call_dir / "agent-02.wav",
    }
    for i, wav in enumerate(turn_audio.values()):
        write_wav(wav, seconds=0.6, rate=16000, hz=330 + 110 * i)
    ids = Seeded(
        booked=f"call-booked-{uuid.uuid4().hex[:8]}",
        handoff=f"call-handoff-{uuid.uuid4().hex[:8]}",
        traversal=f"call-traversal-{uuid.uuid4().hex[:8]}",
        recording=recordings / "handoff.wav",
        recorded=recorded,
        turn_seq={},
        turn_audio=turn_audio,
    )
    write_wav(ids.recording)
    (recordings.parent / "secret.wav").write_bytes(b"not for supervisors")
    writer = TranscriptWriter(dsn, spool_path=spool, redact=Redactor(), retry_min=0.05, retry_max=0.3)
    await writer.start()
    try:
        for event in [
            *booked_call(ids.booked, DAY1),
            *handoff_call(ids.handoff, DAY2, "/var/lib/ari-agent/recordings/handoff.wav"),
            *booked_call(ids.traversal, DAY1 + timedelta(hours=1))[:1],
            *recorded_call(recorded, DAY1 - timedelta(days=1), call_dir),
        ]:
            writer(event)
        assert await writer.flush(10)
    finally:
        await writer.close(5)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        rows = await (await conn.execute("SELECT text, seq FROM turns WHERE call_id = %s", [recorded])).fetchall()
        ids.turn_seq.update({text: seq for text, seq in rows})
        await conn.execute(
            "UPDATE calls SET recording_path = '../secret.wav', ended_at = started_at + interval '5 s', "
            "outcome = 'hangup' WHERE call_id = %s",
            [ids.traversal],
        )
        # The row Asterisk's cdr_pgsql writes when the caller's channel hangs up.
        await conn.execute(
            """INSERT INTO cdr (calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start,
                                answer, "end", duration, billsec, disposition, uniqueid, linkedid, userfield)
               VALUES (%s, %s, '+15550100', '100', 'ari-agent-in', 'PJSIP/caller-00000007',
                       'Local/s@ari-agent-handoff-0001;1', 'Queue', 'reception,,,,300', %s, %s, %s, 14, 13,
                       'ANSWERED', '1800.7', '1800.7', %s)""",
            [
                DAY2.replace(tzinfo=None),
                f'"{XSS_NAME}" <+15550100>',
                DAY2.replace(tzinfo=None),
                (DAY2 + timedelta(seconds=1)).replace(tzinfo=None),
                (DAY2 + timedelta(seconds=14)).replace(tzinfo=None),
                ids.handoff,
            ],
        )
    return ids


@dataclass
class Site:
    """A client for the pages app and what it serves."""

    client: TestClient[web.Request, web.Application]
    ids: Seeded
    dsn: str


def page_settings(dsn: str, recordings: Path, password: str = PASSWORD) -> Settings:
    """Settings for the pages under test: UTC display, the scratch database, the recordings directory."""
    return Settings(
        http=HttpSettings(supervisor_user=USER, supervisor_password=password),
        database=DatabaseSettings(dsn=dsn),
        call=CallSettings(timezone="UTC"),
        recording=RecordingSettings(directory=str(recordings)),
    )


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The pages (and the health routes) on a test server over a seeded scratch database."""
    with scratch_database() as dsn:
        recordings = tmp_path / "recordings"
        ids = await seed_calls(dsn, recordings, tmp_path / "spool.jsonl")
        app = web.Application()
        add_health_routes(app, Readiness())
        add_pages(app, page_settings(dsn, recordings))
        async with TestClient(TestServer(app)) as client:
            yield Site(client, ids, dsn)


async def get_text(site: Site, path: str, status: int = 200, headers: dict[str, str] | None = None) -> str:
    """GET a page and check its status."""
    response = await site.client.get(path, headers=GOOD if headers is None else headers, allow_redirects=False)
    text = await response.text()
    assert response.status == status, (path, response.status, text[:500])
    return text


def call_ids_listed(html: str) -> list[str]:
    """Call ids linked from a list page, in order, once each."""
    found = re.findall(r'<a href="/calls/([^"?/]+)">', html)
    return list(dict.fromkeys(found))


@pytest.mark.integration
async def test_login_is_required(site: Site) -> None:
    audio = f"/calls/{site.ids.recorded}/turns/{site.ids.turn_seq[RECORDED_TURNS[1]]}/audio"
    failures = 0
    for path in ("/", "/calls", f"/calls/{site.ids.handoff}", f"/calls/{site.ids.handoff}/recording", audio):
        for headers in ({}, basic(USER, "wrong"), basic("someone", PASSWORD), {"Authorization": "Basic %%%"}):
            response = await site.client.get(path, headers=headers, allow_redirects=False)
            # Five wrong logins from one address, and it is refused for a minute (LoginThrottle).
            expected = 429 if failures >= 5 else 401
            assert response.status == expected, (path, headers)
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith('Basic realm="ari-agent supervisor"')
            else:
                assert 0 < int(response.headers["Retry-After"]) <= 60
            body = await response.text()
            assert "+15550100" not in body and PASSWORD not in body and "RIFF" not in body
            failures += "Authorization" in headers
    assert (await site.client.get("/calls", headers=GOOD)).status == 429  # even the right password, for now
    assert (await site.client.get("/healthz")).status == 200
    assert (await site.client.get("/metrics")).status == 200


@pytest.mark.integration
async def test_root_redirects_to_calls(site: Site) -> None:
    response = await site.client.get("/", headers=GOOD, allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/calls"


@pytest.mark.integration
async def test_calls_list_and_filters(site: Site) -> None:
    ids = site.ids
    html = await get_text(site, "/calls")
    assert call_ids_listed(html) == [ids.handoff, ids.traversal, ids.booked, ids.recorded]  # newest first
    assert "BK-4242" in html and "no_input" in html and "reception" in html

    assert call_ids_listed(await get_text(site, "/calls?outcome=handoff")) == [ids.handoff]
    assert call_ids_listed(await get_text(site, "/calls?outcome=booked")) == [ids.booked]
    assert call_ids_listed(await get_text(site, "/calls?reason=no_input")) == [ids.handoff]
    assert call_ids_listed(await get_text(site, "/calls?reason=frustration")) == []
    assert call_ids_listed(await get_text(site, "/calls?caller=4412")) == [ids.traversal, ids.booked]
    assert call_ids_listed(await get_text(site, "/calls?caller=%25")) == []  # LIKE wildcards are literal
    assert call_ids_listed(await get_text(site, "/calls?from=2026-11-21")) == [ids.handoff]
    assert call_ids_listed(await get_text(site, "/calls?to=2026-11-20")) == [ids.traversal, ids.booked, ids.recorded]
    assert call_ids_listed(await get_text(site, "/calls?outcome=rescheduled")) == [ids.recorded]
    assert call_ids_listed(await get_text(site, "/calls?from=2026-11-25&to=2026-11-25")) == [ids.handoff]
    filtered = await get_text(site, "/calls?outcome=handoff&caller=555")
    assert '<option value="handoff" selected>' in filtered and 'value="555"' in filtered

    for bad in ("outcome=nonsense", "from=25/11/2026", "page=0", "page=abc", "caller=" + "1" * 100):
        assert "Bad request" in await get_text(site, f"/calls?{bad}", status=400)


@pytest.mark.integration
async def test_calls_list_pages(site: Site) -> None:
    scope = f"paging-{uuid.uuid4().hex[:6]}"
    total = PAGE_SIZE + 5
    async with await psycopg.AsyncConnection.connect(site.dsn) as conn:
        for i in range(total):
            await conn.execute(
                "INSERT INTO calls (call_id, caller_number, started_at, scope) VALUES (%s, '+1999', %s, %s)",
                [f"p-{i:03d}", DAY2 - timedelta(minutes=i), scope],
            )
    first = await get_text(site, f"/calls?scope={scope}")
    assert call_ids_listed(first) == [f"p-{i:03d}" for i in range(PAGE_SIZE)]
    assert f"/calls?scope={scope}&amp;page=2" in first and "newer" not in first
    second = await get_text(site, f"/calls?scope={scope}&page=2")
    assert call_ids_listed(second) == [f"p-{i:03d}" for i in range(PAGE_SIZE, total)]
    assert "older" not in second and f"/calls?scope={scope}" in second


@pytest.mark.integration
async def test_calls_show_and_filter_by_node(site: Site) -> None:
    scope = f"nodes-{uuid.uuid4().hex[:6]}"
    async with await psycopg.AsyncConnection.connect(site.dsn) as conn:
        for i, node in enumerate(("pbx-a", "pbx-b", "pbx-a")):
            await conn.execute(
                "INSERT INTO calls (call_id, caller_number, started_at, scope, node) VALUES (%s, '+1999', %s, %s, %s)",
                [f"n-{i}", DAY2 - timedelta(minutes=i), scope, node],
            )
    html = await get_text(site, f"/calls?scope={scope}")
    assert call_ids_listed(html) == ["n-0", "n-1", "n-2"] and "<th>Node</th>" in html and ">pbx-b<" in html
    assert call_ids_listed(await get_text(site, f"/calls?scope={scope}&node=pbx-a")) == ["n-0", "n-2"]
    assert ">pbx-b<" in await get_text(site, "/calls/n-1")


@pytest.mark.integration
async def test_call_page_shows_timeline_header_and_cdr(site: Site) -> None:
    html = await get_text(site, f"/calls/{site.ids.handoff}")
    # Header.
    assert "+15550100" in html and "2026-11-25 14:00:00" in html and "2026-11-25 14:00:14" in html
    assert "no_input (caller stayed silent) → queue reception" in html
    assert '<span class="badge o-handoff">handoff</span>' in html
    assert "sip-xyz@127.0.0.1" in html and "0:14" in html
    # Timeline, in call order, with who said what.
    said = [
        "Hello, you&#x27;ve reached Riverside Dental Clinic.",
        "&lt;script&gt;alert(&#x27;said&#x27;)&lt;/script&gt; &amp; more",
        "Agent did not understand the caller (fallback)",
        "Sorry, I didn&#x27;t catch that.",
        "No answer heard: reprompt #1",
        "Caller pressed key #",
        "Error dialogue-timeout: rasa took longer than 3 s",
        "Handed over to a person: no_input (caller stayed silent), queue reception. Summary: caller silent",
        "Let me put you through to a colleague.",
    ]
    positions = [html.index(s) for s in said]
    assert positions == sorted(positions)
    assert "intent nlu_fallback 0.31" in html and "ASR 0.42" in html
    assert '<span class="chip low">ASR 0.42</span>' in html  # low confidences stand out
    assert '<div class="t" title="2026-11-25 14:00:03">+0:03.0</div>' in html
    # The CDR beside it.
    aside = html[html.index("<aside>") :]
    for field, value in (
        ("matched_by", "uniqueid"), ("disposition", "ANSWERED"), ("billsec", "13"), ("duration", "14"),
        ("lastapp", "Queue"), ("lastdata", "reception,,,,300"), ("dstchannel", "Local/s@ari-agent-handoff-0001;1"),
        ("userfield", site.ids.handoff), ("answer", "2026-11-25 14:00:01"),
    ):  # fmt: skip
        assert f"<dt>{field}</dt><dd>{value}</dd>" in aside, field
    # The recording player.
    assert f'<audio controls preload="none" src="/calls/{site.ids.handoff}/recording">' in html

    booked = await get_text(site, f"/calls/{site.ids.booked}")
    assert "BK-4242" in booked and "Booking booked, reference BK-4242" in booked
    assert "intent book_appointment 0.97" in booked and "ASR 0.91" in booked
    assert "service=cleaning" in booked and "answered in 640 ms (asr 40, dialogue 12)" in booked
    assert "interrupted by caller" in booked and "Caller interrupted the agent (agent stopped after 180 ms)" in booked
    assert "No CDR from Asterisk matches this call yet" in booked
    assert "<audio" not in booked

    assert "There is no call with id nope" in await get_text(site, "/calls/nope", status=404)


@pytest.mark.integration
async def test_untrusted_text_is_escaped(site: Site) -> None:
    for path, status in (
        (f"/calls/{site.ids.handoff}", 200), ("/calls", 200), ("/calls?caller=%3Cscript%3E", 200),
        ("/calls/%3Cscript%3E", 404), ("/calls?outcome=%3Cscript%3E", 400),
    ):  # fmt: skip
        html = await get_text(site, path, status=status)
        assert "<script" not in html.lower(), path
        assert "<img" not in html.lower(), path
        assert "onerror=alert(1)>" not in html
    html = await get_text(site, f"/calls/{site.ids.handoff}")
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # the caller name, in header and CDR clid
    assert html.count("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") >= 2
    response = await site.client.get(f"/calls/{site.ids.handoff}", headers=GOOD)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert PASSWORD not in await response.text()


@pytest.mark.integration
async def test_recording_is_served_and_path_traversal_refused(site: Site) -> None:
    response = await site.client.get(f"/calls/{site.ids.handoff}/recording", headers=GOOD)
    assert response.status == 200 and response.headers["Content-Type"] == "audio/wav"
    assert await response.read() == site.ids.recording.read_bytes()
    partial = await site.client.get(f"/calls/{site.ids.handoff}/recording", headers={**GOOD, "Range": "bytes=0-3"})
    assert partial.status == 206 and await partial.read() == b"RIFF"

    # calls.recording_path = '../secret.wav' points out of the recordings directory.
    refused = await site.client.get(f"/calls/{site.ids.traversal}/recording", headers=GOOD)
    assert refused.status == 404 and b"not for supervisors" not in await refused.read()
    page = await get_text(site, f"/calls/{site.ids.traversal}")
    assert "<audio" not in page and "no longer available" in page
    # A recorded call's directory is not a file: no whole-call recording is served for it.
    assert (await site.client.get(f"/calls/{site.ids.recorded}/recording", headers=GOOD)).status == 404
    # Other routes to the same file: every one refused.
    for path in ("/calls/..%2Fsecret.wav/recording", "/calls/../secret.wav", f"/calls/{site.ids.booked}/recording"):
        response = await site.client.get(path, headers=GOOD)
        assert response.status in (404, 401), path
        assert b"not for supervisors" not in await response.read()


@pytest.mark.integration
async def test_database_down_gives_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "_DB_TIMEOUT", 0.5)
    # A closed loopback port: nothing listens on port 1.
    settings = page_settings("postgresql://ari_agent:x@127.0.0.1:1/ari_agent_test", tmp_path)
    app = web.Application()
    add_pages(app, settings)
    async with TestClient(TestServer(app)) as client:
        for path in ("/calls", "/calls/abc", "/calls/abc/turns/1/audio"):
            response = await client.get(path, headers=GOOD)
            assert response.status == 503
            assert "cannot be reached" in await response.text()


def turn_audio_src(site: Site, text: str) -> str:
    """The URL of the player of the recorded call's turn that said `text`."""
    return f"/calls/{site.ids.recorded}/turns/{site.ids.turn_seq[text]}/audio"


@pytest.mark.integration
async def test_recorded_call_has_a_player_per_turn(site: Site) -> None:
    ids = site.ids
    assert set(ids.turn_seq) == set(RECORDED_TURNS)
    html = await get_text(site, f"/calls/{ids.recorded}")
    # Each playable turn has its own player, inside that turn's bubble: after its words, before the next turn's.
    ends = [html.index(escape(text)) for text in RECORDED_TURNS[1:]] + [len(html)]
    for text, end in zip(RECORDED_TURNS, ends, strict=True):
        start = html.index(escape(text))
        player = f'<audio controls preload="none" src="{turn_audio_src(site, text)}"'
        if text in ids.turn_audio:
            assert start < html.index(player) < end, text
        else:
            # The crafted path and the missing WAV get no player.
            assert turn_audio_src(site, text) not in html, text
    assert html.count("<audio") == len(ids.turn_audio)
    # The directory is the recording: no whole-call player and no "missing" note.
    assert f"/calls/{ids.recorded}/recording" not in html and "no longer available" not in html
    assert "Booking rescheduled, reference BK-7007" in html

    for text, wav in ids.turn_audio.items():
        response = await site.client.get(turn_audio_src(site, text), headers=GOOD)
        assert response.status == 200, text
        assert response.headers["Content-Type"] == "audio/wav"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert await response.read() == wav.read_bytes(), text
    first = ids.turn_audio[RECORDED_TURNS[0]].read_bytes()
    partial = await site.client.get(turn_audio_src(site, RECORDED_TURNS[0]), headers={**GOOD, "Range": "bytes=100-199"})
    assert partial.status == 206 and await partial.read() == first[100:200]
    # The three WAVs differ, so serving each turn its own file is what the equality checks above prove.
    assert len({wav.read_bytes() for wav in ids.turn_audio.values()}) == len(ids.turn_audio)


@pytest.mark.integration
async def test_turn_audio_refuses_traversal_and_unknown_turns(site: Site) -> None:
    ids = site.ids
    crafted = turn_audio_src(site, "next tuesday")  # audio_path = <call dir>/../../secret.wav
    async with await psycopg.AsyncConnection.connect(site.dsn) as conn:
        row = await (
            await conn.execute(
                "SELECT audio_path FROM turns WHERE call_id = %s AND seq = %s",
                [ids.recorded, ids.turn_seq["next tuesday"]],
            )
        ).fetchone()
        assert row is not None and row[0].endswith("/../../secret.wav")
        assert Path(row[0]).resolve().read_bytes() == b"not for supervisors"  # the file really is there
        event_seq = await (
            await conn.execute("SELECT min(seq) FROM call_events WHERE call_id = %s", [ids.handoff])
        ).fetchone()
    assert event_seq is not None and event_seq[0] is not None
    recorded = f"/calls/{ids.recorded}/turns"
    for path in (
        crafted,
        turn_audio_src(site, "Done: Tuesday at 9."),  # the WAV does not exist
        f"/calls/{ids.booked}/turns/{ids.turn_seq[RECORDED_TURNS[1]]}/audio",  # another call's seq: no audio
        f"/calls/{ids.handoff}/turns/{event_seq[0]}/audio",  # an event's seq, not a turn
        f"{recorded}/999/audio",
        f"{recorded}/abc/audio",
        f"{recorded}/-1/audio",
        f"{recorded}/%C2%B2/audio",  # '²' passes str.isdigit
        f"{recorded}/99999999999/audio",  # beyond PostgreSQL's integer
        f"{recorded}/..%2F..%2Fsecret.wav/audio",
        "/calls/..%2Fsecret.wav/turns/1/audio",
    ):
        response = await site.client.get(path, headers=GOOD)
        body = await response.read()
        assert response.status == 404, (path, response.status)
        assert b"not for supervisors" not in body and not body.startswith(b"RIFF"), path


def test_login_throttle_refuses_an_address_after_five_failures_for_a_minute() -> None:
    now = [1000.0]
    throttle = LoginThrottle(max_failures=5, window_s=60.0, clock=lambda: now[0])
    for _ in range(4):
        throttle.failed("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 0
    throttle.failed("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 60 and throttle.retry_after("10.0.0.8") == 0
    now[0] += 61
    assert throttle.retry_after("10.0.0.9") == 0
    throttle.failed("10.0.0.8")
    throttle.succeeded("10.0.0.8")
    assert throttle.retry_after("10.0.0.8") == 0


def test_the_throttle_forgets_the_oldest_addresses_first() -> None:
    throttle = LoginThrottle(max_failures=1, max_clients=3)
    for i in range(10):
        throttle.failed(f"10.0.0.{i}")
    assert throttle.retry_after("10.0.0.9") > 0 and throttle.retry_after("10.0.0.0") == 0
