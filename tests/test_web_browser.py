"""The call page rendered by a real browser: headless Chromium against the pages served on a loopback port.

The pages run on a real aiohttp server over a seeded scratch schema of the real PostgreSQL (same seed as
tests/test_web_pages.py). Chromium logs in with Basic credentials in the URL, dumps the DOM it built and takes
a screenshot, kept at tests/artifacts/call-page.png (and calls-list.png, and call-page-turn-audio.png for a
recorded call with one player per turn) for people to look at.
Chromium comes from scripts/setup-chromium.sh (apt, idempotent).
"""

from __future__ import annotations

import asyncio
import re
import struct
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from ari_agent.web.pages import add_pages
from tests.test_web_pages import (
    PASSWORD,
    RECORDED_TURNS,
    USER,
    Seeded,
    page_settings,
    scratch_database,
    seed_calls,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDTH, HEIGHT = 1400, 1100


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of the chromium binary, installed by scripts/setup-chromium.sh when missing."""
    script = REPO / "scripts" / "setup-chromium.sh"
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"{script} failed (exit {done.returncode}); headless Chromium is needed for this test. "
            f"Run it as root on Debian to install the 'chromium' package.\n{done.stderr[-2000:]}"
        )
    return done.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class Served:
    """The pages on a loopback port and the calls behind them."""

    base: str  # http://127.0.0.1:PORT
    ids: Seeded


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """A real HTTP server with the supervisor pages over a seeded scratch database."""
    with scratch_database() as dsn:
        recordings = tmp_path / "recordings"
        ids = await seed_calls(dsn, recordings, tmp_path / "spool.jsonl")
        app = web.Application()
        add_pages(app, page_settings(dsn, recordings))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)  # a free loopback port
            await site.start()
            port = runner.addresses[0][1]
            yield Served(f"http://127.0.0.1:{port}", ids)
        finally:
            await runner.cleanup()


def with_login(base: str, path: str, user: str = USER, password: str = PASSWORD) -> str:
    """The URL with Basic credentials in it (percent-encoded: the password has non-ASCII letters)."""
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}{path}"


async def run_chromium(chromium: str, profile: Path, *args: str, timeout: float = 60) -> str:
    """Run headless Chromium to completion (the server keeps serving on this loop); returns its stdout."""
    proc = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",  # running as root
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (checks the signature too)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


async def test_call_page_renders_in_chromium(chromium: str, served: Served, tmp_path: Path) -> None:
    call_url = with_login(served.base, f"/calls/{served.ids.handoff}")
    dom = await run_chromium(chromium, tmp_path / "p1", "--dump-dom", call_url)
    # The transcript, as the browser built it (text nodes re-serialised, so entities stay escaped).
    for text in (
        "Hello, you've reached Riverside Dental Clinic.",
        "&lt;script&gt;alert('said')&lt;/script&gt; &amp; more",
        "Let me put you through to a colleague.",
        "Error dialogue-timeout: rasa took longer than 3 s",
        "no_input (caller stayed silent) → queue reception",
        "intent nlu_fallback 0.31",
        "Asterisk CDR",
        "<dt>disposition</dt><dd>ANSWERED</dd>",
    ):
        assert text in dom, text
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert f'src="/calls/{served.ids.handoff}/recording"' in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "call-page.png"
    shot.unlink(missing_ok=True)
    await run_chromium(chromium, tmp_path / "p2", f"--screenshot={shot}", call_url)
    assert shot.is_file()
    assert png_size(shot) == (WIDTH, HEIGHT)
    # A blank or error page compresses to a few kB; the rendered call page with text is far larger.
    assert shot.stat().st_size > 40_000, shot.stat().st_size

    listing = ARTIFACTS / "calls-list.png"
    await run_chromium(chromium, tmp_path / "p3", f"--screenshot={listing}", with_login(served.base, "/calls"))
    assert png_size(listing) == (WIDTH, HEIGHT)


async def test_recorded_call_page_has_turn_players_in_chromium(chromium: str, served: Served, tmp_path: Path) -> None:
    ids = served.ids
    url = with_login(served.base, f"/calls/{ids.recorded}")
    dom = await run_chromium(chromium, tmp_path / "p1", "--dump-dom", url)
    for text in RECORDED_TURNS:
        assert text in dom, text
    # One <audio> per turn whose WAV exists, pointing at that turn's audio route; none for the whole call.
    srcs = re.findall(r'<audio[^>]* src="([^"]+)"', dom)
    assert srcs == [f"/calls/{ids.recorded}/turns/{ids.turn_seq[text]}/audio" for text in ids.turn_audio]
    assert f"/calls/{ids.recorded}/recording" not in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "call-page-turn-audio.png"
    shot.unlink(missing_ok=True)
    await run_chromium(chromium, tmp_path / "p2", f"--screenshot={shot}", url)
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 40_000, shot.stat().st_size


async def test_browser_without_login_sees_no_transcript(chromium: str, served: Served, tmp_path: Path) -> None:
    path = f"/calls/{served.ids.handoff}"
    for url in (served.base + path, with_login(served.base, path, password="wrong")):
        dom = await run_chromium(chromium, tmp_path / "p", "--dump-dom", url)
        # Headless Chromium answers a Basic challenge it cannot satisfy with an empty document (a desktop
        # browser would prompt); either way the call must not be there, while with the login it is (above).
        assert dom.strip() == "" or "Login required" in dom, dom[:300]
        assert "Riverside Dental Clinic" not in dom and "+15550100" not in dom
