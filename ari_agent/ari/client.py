"""Our thin ARI client on aiohttp: REST operations and the events WebSocket with reconnect.

The packaged clients were tried and none survives a dropped WebSocket (shared/notes/real-components.md).
The reader never does work itself: every event is handed to a synchronous, non-blocking dispatch callback
(the call manager puts it on the call's own ordered queue).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ari_agent.ari.models import AriEvent, AriFormatError, Channel, parse_channel, parse_event

_LOGGER = logging.getLogger(__name__)


class AriError(RuntimeError):
    """An ARI request failed. `status` is the HTTP status, 0 when Asterisk could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AriClient:
    """REST operations against one Asterisk."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        app: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.base = url.rstrip("/") + "/ari"
        self.app = app
        self._headers = {"Authorization": basic_auth(username, password)}
        self._own_session = session is None
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session, created on first use (it must be created inside a running loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if we created it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """One REST call; returns decoded JSON (or None). Raises AriError with a readable message."""
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(
                method, self.base + path, params=clean, json=body, headers=self._headers, timeout=self._timeout
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    detail = text
                    try:
                        detail = json.loads(text).get("message", text)
                    except (ValueError, AttributeError):
                        pass
                    if resp.status == 401:
                        detail = "wrong ARI username or password (check ari.conf and [ari] in the settings)"
                    raise AriError(resp.status, f"{method} {path}: {resp.status} {detail}")
                if not text:
                    return None
                return json.loads(text)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriError(0, f"{method} {path}: cannot reach Asterisk at {self.base}: {exc!r}") from exc

    # --- channels -------------------------------------------------------------------------------------
    async def list_channels(self) -> list[Channel]:
        """Every channel Asterisk knows (the caller filters by app)."""
        data = await self.request("GET", "/channels")
        return [parse_channel(c) for c in data or []]

    async def get_channel(self, channel_id: str) -> Channel:
        """One channel; AriError 404 if it is gone."""
        return parse_channel(await self.request("GET", f"/channels/{channel_id}"))

    async def answer(self, channel_id: str) -> None:
        """Answer a channel."""
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang up a channel; a channel that is already gone is not an error."""
        try:
            await self.request("DELETE", f"/channels/{channel_id}", {"reason": reason})
        except AriError as exc:
            if exc.status != 404:
                raise

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        """Set a channel variable (or function, e.g. CDR(userfield))."""
        await self.request("POST", f"/channels/{channel_id}/variable", {"variable": name, "value": value})

    async def get_var(self, channel_id: str, name: str) -> str:
        """Read a channel variable."""
        data = await self.request("GET", f"/channels/{channel_id}/variable", {"variable": name})
        return str((data or {}).get("value", ""))

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str, priority: int = 1
    ) -> None:
        """Leave Stasis and continue in the dialplan (how a call is handed to a queue)."""
        await self.request(
            "POST",
            f"/channels/{channel_id}/continue",
            {"context": context, "extension": extension, "priority": priority},
        )

    async def play(self, channel_id: str, media: str, playback_id: str) -> None:
        """Start playing a sound URI on a channel; PlaybackStarted/Finished events follow."""
        await self.request("POST", f"/channels/{channel_id}/play/{playback_id}", {"media": media})

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; one that already finished is not an error."""
        try:
            await self.request("DELETE", f"/playbacks/{playback_id}")
        except AriError as exc:
            if exc.status != 404:
                raise

    async def snoop(self, channel_id: str, snoop_id: str, spy: str = "in") -> Channel:
        """A snoop channel on `channel_id` that enters our app (spy=in: the caller's audio only)."""
        data = await self.request(
            "POST",
            f"/channels/{channel_id}/snoop/{snoop_id}",
            {"app": self.app, "spy": spy, "whisper": "none", "appArgs": "snoop"},
        )
        return parse_channel(data)

    async def external_media(self, channel_id: str, external_host: str, fmt: str) -> Channel:
        """An externalMedia channel that sends its audio as RTP to external_host (host:port)."""
        data = await self.request(
            "POST",
            "/channels/externalMedia",
            {
                "app": self.app,
                "channelId": channel_id,
                "external_host": external_host,
                "format": fmt,
                "encapsulation": "rtp",
                "transport": "udp",
                "direction": "both",
                "data": "media",
            },
        )
        return parse_channel(data)

    async def originate(
        self, endpoint: str, *, app: str, channel_id: str, app_args: str = "", caller_id: str = ""
    ) -> Channel:
        """Originate a channel into a Stasis app (used by test callers and the demo)."""
        data = await self.request(
            "POST",
            "/channels",
            {
                "endpoint": endpoint,
                "app": app,
                "appArgs": app_args,
                "channelId": channel_id,
                "callerId": caller_id or None,
            },
        )
        return parse_channel(data)

    async def record(self, channel_id: str, name: str, fmt: str = "wav", max_silence: int = 0) -> None:
        """Record a channel's audio to Asterisk's recording directory."""
        await self.request(
            "POST",
            f"/channels/{channel_id}/record",
            {"name": name, "format": fmt, "ifExists": "overwrite", "maxSilenceSeconds": max_silence},
        )

    # --- bridges --------------------------------------------------------------------------------------
    async def create_bridge(self, bridge_id: str, kind: str = "mixing") -> None:
        """Create a bridge with our own id."""
        await self.request("POST", f"/bridges/{bridge_id}", {"type": kind})

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        """Put channels in a bridge."""
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", {"channel": ",".join(channel_ids)})

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Destroy a bridge; one that is gone is not an error."""
        try:
            await self.request("DELETE", f"/bridges/{bridge_id}")
        except AriError as exc:
            if exc.status != 404:
                raise

    async def list_bridges(self) -> list[dict[str, Any]]:
        """Every bridge, as raw JSON."""
        return list(await self.request("GET", "/bridges") or [])

    # --- StasisBroadcast ------------------------------------------------------------------------------
    async def claim(self, channel_id: str) -> bool:
        """Claim a call StasisBroadcast() offered to this app (its StasisStart follows). False when another app
        claimed it first (409) or the offer is over (404: the dialplan's timeout passed, or the caller hung up)."""
        try:
            await self.request("POST", "/events/claim", {"channelId": channel_id, "application": self.app})
        except AriError as exc:
            if exc.status in (404, 409):
                return False
            raise
        return True

    async def app_channel_ids(self) -> set[str]:
        """Channels this app holds, including those it kept while its WebSocket was down (a claimed call's
        dialplan application is StasisBroadcast, not Stasis(app), so the channel list alone cannot tell)."""
        try:
            data = await self.request("GET", f"/applications/{self.app}")
        except AriError as exc:
            if exc.status == 404:
                return set()  # never registered, or it held nothing when it went away
            raise
        ids = data.get("channel_ids") if isinstance(data, dict) else None
        return {str(i) for i in ids} if isinstance(ids, list) else set()

    async def info(self) -> dict[str, Any]:
        """Asterisk's system info: the cheapest authenticated request, used by health checks."""
        return dict(await self.request("GET", "/asterisk/info") or {})


def basic_auth(username: str, password: str) -> str:
    """The Authorization header value for HTTP basic auth."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class EventListener:
    """The events WebSocket: connect, ping, reconnect with backoff and jitter, forever until stopped.

    `dispatch` is called for every event and must not block. `on_connected(reconnect)` runs after each
    successful connection, before events are read; after a reconnect it resynchronises the calls, because
    Asterisk does not replay events missed while we were away.
    """

    def __init__(
        self,
        client: AriClient,
        dispatch: Callable[[AriEvent], None],
        on_connected: Callable[[bool], Awaitable[None]],
        *,
        max_backoff: float = 10.0,
        heartbeat: float = 5.0,
    ) -> None:
        self._client = client
        self._dispatch = dispatch
        self._on_connected = on_connected
        self._max_backoff = max_backoff
        self._heartbeat = heartbeat
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    def _ws_url(self) -> str:
        parts = urlsplit(self._client.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + "/events", f"app={self._client.app}", ""))

    async def drop(self) -> None:
        """Close the current WebSocket (tests use it to simulate a network drop)."""
        if self._ws is not None:
            await self._ws.close()

    async def run(self) -> None:
        """Keep the WebSocket up until cancelled."""
        attempt = 0
        ever_connected = False
        while True:
            try:
                async with self._client.session.ws_connect(
                    self._ws_url(),
                    headers=self._client._headers,
                    heartbeat=self._heartbeat,
                    timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                ) as ws:
                    self._ws = ws
                    attempt = 0
                    reconnect = ever_connected
                    ever_connected = True
                    if reconnect:
                        self.reconnects += 1
                    _LOGGER.info("ARI events connected (reconnect=%s)", reconnect)
                    await self._on_connected(reconnect)
                    self.connected.set()
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self._handle(msg.data)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                            break
            except asyncio.CancelledError:
                raise
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401:
                    _LOGGER.error("ARI refused the credentials: check [ari] username/password (ari.conf)")
                else:
                    _LOGGER.warning("ARI events handshake failed: %s", exc.status)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                _LOGGER.warning("ARI events connection failed: %r", exc)
            except Exception:
                # on_connected (resync) failed: log and reconnect rather than die.
                _LOGGER.exception("ARI events loop error")
            finally:
                self._ws = None
                self.connected.clear()
            attempt += 1
            delay = min(self._max_backoff, 0.25 * 2 ** min(attempt, 8))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _handle(self, text: str) -> None:
        try:
            event = parse_event(json.loads(text))
        except (ValueError, AriFormatError) as exc:
            # A bad event is logged and dropped; it must never kill the reader or a call.
            _LOGGER.warning("ignoring malformed ARI event: %s", exc)
            return
        except Exception as exc:  # e.g. RecursionError from absurdly nested JSON
            _LOGGER.warning("ignoring undecodable ARI event: %r", exc)
            return
        try:
            self._dispatch(event)
        except Exception:
            _LOGGER.exception("dispatch of %s failed", event.type)
