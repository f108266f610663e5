"""How fast a new call reaches an ARI app: Stasis(app) (one agent), StasisBroadcast() + claim (several agents
on one Asterisk, what the cluster uses), and ARI outbound WebSockets with per_call_config (Asterisk connects
to the app for every call). Run by scripts/mechanism-probe.sh, which starts the probe Asterisk.

Each call is a Local channel originated into the probe's dialplan; its time is from the originate request to
the StasisStart of the dialled half in the app. Calls one at a time, so the numbers are the mechanism's own.
Writes bench/results/mechanisms.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ari_agent.ari.client import basic_auth

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "mechanisms.json"


class Probe:
    def __init__(self, ari: str, user: str, password: str) -> None:
        self.ari = ari
        self.headers = {"Authorization": basic_auth(user, password)}
        self.started: dict[str, float] = {}  # dialled channel id -> when its StasisStart arrived
        self.waiters: dict[str, asyncio.Event] = {}
        self.session: aiohttp.ClientSession | None = None
        self.claims: set[asyncio.Task[int]] = set()

    def arrived(self, event: dict[str, Any]) -> None:
        if event.get("type") != "StasisStart":
            return
        cid = str((event.get("channel") or {}).get("id", ""))
        if cid in self.waiters and cid not in self.started:
            self.started[cid] = time.monotonic()
            self.waiters[cid].set()

    async def rest(self, method: str, path: str, **params: str) -> int:
        assert self.session is not None
        async with self.session.request(method, f"{self.ari}{path}", params=params, headers=self.headers) as r:
            await r.read()
            return r.status

    async def classic(self, app: str, claim: bool) -> None:
        """A classic events WebSocket (what ari-agent runs); with claim, it claims every broadcast offer."""
        assert self.session is not None
        url = f"{self.ari.replace('http', 'ws', 1)}/events?app={app}"
        async with self.session.ws_connect(url, headers=self.headers) as ws:
            async for msg in ws:
                event = json.loads(msg.data)
                if claim and event.get("type") == "CallBroadcast":
                    cid = str(event["channel"]["id"])
                    task = asyncio.create_task(self.rest("POST", "/events/claim", channelId=cid, application=app))
                    self.claims.add(task)
                    task.add_done_callback(self.claims.discard)
                self.arrived(event)

    async def outbound(self, request: web.Request) -> web.WebSocketResponse:
        """The server end of Asterisk's per-call outbound WebSocket."""
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.arrived(json.loads(msg.data))
        return ws

    async def call(self, exten: str, timeout: float) -> float | None:
        caller, dialled = f"pc-{uuid.uuid4().hex[:12]}", f"pd-{uuid.uuid4().hex[:12]}"
        self.waiters[dialled] = asyncio.Event()
        t0 = time.monotonic()
        status = await self.rest("POST", "/channels", endpoint=f"Local/{exten}@probe", app="probe-caller",
                                 channelId=caller, otherChannelId=dialled)  # fmt: skip
        try:
            if status >= 300:
                return None
            async with asyncio.timeout(timeout):
                await self.waiters[dialled].wait()
            return (self.started[dialled] - t0) * 1000
        except TimeoutError:
            return None
        finally:
            await self.rest("DELETE", f"/channels/{caller}")
            await asyncio.sleep(0.2)  # the per-call socket closes; the next call starts clean


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    ari = f"http://127.0.0.1:{os.environ.get('ARI_PORT', '18388')}/ari"
    probe = Probe(ari, os.environ.get("ARI_USER", "ari_agent"), os.environ.get("ARI_PASSWORD", "ari_agent_secret"))
    app = web.Application()
    app.router.add_get("/ari", probe.outbound)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ.get("PROBE_WS_PORT", "18399"))).start()
    async with aiohttp.ClientSession() as session:
        probe.session = session
        sockets = [asyncio.create_task(probe.classic("probe-caller", False)),
                   asyncio.create_task(probe.classic("probe-broadcast", True))]  # fmt: skip
        await asyncio.sleep(1.0)
        out: dict[str, Any] = {"calls_each": args.calls}
        for name, exten in (("stasis", "classic"), ("stasis_broadcast", "broadcast"),
                            ("outbound_websocket_per_call", "outbound")):  # fmt: skip
            times = [await probe.call(exten, 5.0) for _ in range(args.calls)]
            ok = sorted(t for t in times if t is not None)
            out[name] = {
                "reached_app": len(ok),
                "failed": len(times) - len(ok),
                "p50_ms": round(statistics.median(ok), 1) if ok else None,
                "p95_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.95))], 1) if ok else None,
                "max_ms": round(ok[-1], 1) if ok else None,
            }
            print(name, out[name], flush=True)
        for task in sockets:
            task.cancel()
    await runner.cleanup()
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
