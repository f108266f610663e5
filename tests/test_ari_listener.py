"""The events WebSocket survives drops: reconnect with backoff, resync callback, bad events ignored."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestServer

from ari_agent.ari.client import AriClient, EventListener
from ari_agent.ari.models import AriEvent


async def test_reconnects_and_resyncs_after_a_drop() -> None:
    connections: list[web.WebSocketResponse] = []
    auth_seen: list[str] = []

    async def events(request: web.Request) -> web.WebSocketResponse:
        auth_seen.append(request.headers.get("Authorization", ""))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections.append(ws)
        await ws.send_str("this is not json")  # a bad event must not kill the reader
        await ws.send_str(json.dumps({"no": "type"}))
        await ws.send_str(
            json.dumps({"type": "StasisStart", "application": "app", "channel": {"id": f"c{len(connections)}"}})
        )
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ari/events", events)
    server = TestServer(app)
    await server.start_server()
    client = AriClient(str(server.make_url("")), "user", "pw", "app")
    got: list[AriEvent] = []
    connected: list[bool] = []

    async def on_connected(reconnect: bool) -> None:
        connected.append(reconnect)

    listener = EventListener(client, got.append, on_connected, max_backoff=0.2)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(5):
            while len(got) < 1:
                await asyncio.sleep(0.01)
            await connections[0].close()  # the network drops
            while len(got) < 2:
                await asyncio.sleep(0.01)
        assert [e.channel_id for e in got] == ["c1", "c2"]
        assert connected == [False, True]
        assert listener.reconnects == 1
        assert all(a.startswith("Basic ") for a in auth_seen)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await server.close()


async def test_keeps_retrying_while_asterisk_is_down() -> None:
    client = AriClient("http://127.0.0.1:9", "user", "pw", "app", timeout=0.5)
    attempts: list[bool] = []

    async def on_connected(reconnect: bool) -> None:
        attempts.append(reconnect)

    listener = EventListener(client, lambda e: None, on_connected, max_backoff=0.05)
    task = asyncio.create_task(listener.run())
    await asyncio.sleep(0.5)
    assert not task.done()  # still trying, not crashed
    assert not listener.connected.is_set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.close()
