"""/healthz, /readyz and /metrics on the agent's HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

Probe = Callable[[], Awaitable[str | None]]  # returns None when ready, else what is wrong


@dataclass
class Readiness:
    """Named readiness probes; /readyz runs them all."""

    probes: dict[str, Probe] = field(default_factory=dict)
    timeout: float = 2.0

    def add(self, name: str, probe: Probe) -> None:
        """Register one probe."""
        self.probes[name] = probe

    async def check(self) -> dict[str, str]:
        """Run every probe; returns {name: problem} for those not ready."""

        async def one(name: str, probe: Probe) -> tuple[str, str | None]:
            try:
                async with asyncio.timeout(self.timeout):
                    return name, await probe()
            except TimeoutError:
                return name, "timed out"
            except Exception as exc:
                return name, f"{type(exc).__name__}: {exc}"

        results = await asyncio.gather(*(one(n, p) for n, p in self.probes.items()))
        return {name: problem for name, problem in results if problem is not None}


def add_health_routes(
    app: web.Application, readiness: Readiness, registry: CollectorRegistry = REGISTRY
) -> None:
    """Attach /healthz, /readyz and /metrics."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        problems = await readiness.check()
        if problems:
            return web.json_response({"status": "not ready", "not_ready": problems}, status=503)
        return web.json_response({"status": "ready", "checked": sorted(readiness.probes)})

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
