"""/metrics over real HTTP: what a Prometheus scrape sees after scripted calls."""

from __future__ import annotations

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ari_agent.events import CallEvent, EventBus, EventType
from ari_agent.metrics import Metrics
from ari_agent.web.health import Readiness, add_health_routes


async def _scrape(server: TestServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with ClientSession() as http, http.get(server.make_url("/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_scrape_after_calls_shows_exactly_what_happened() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    bus = EventBus()
    bus.subscribe(metrics)
    app = web.Application()
    add_health_routes(app, Readiness(), registry)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        before = await _scrape(server)
        assert before[("ari_agent_active_calls", ())] == 0
        for i, outcome in enumerate(["booked", "booked", "handoff"]):
            call = f"17000.{i}"
            bus.emit(CallEvent(EventType.CALL_STARTED, call, {}))
            bus.emit(CallEvent(EventType.TTS_DONE, call, {"tts_ms": 1.0, "cached": i > 0}))
            bus.emit(CallEvent(EventType.TURN_LATENCY, call, {"total_ms": 550.0 + 100 * i, "asr_ms": 30.0}))
            if outcome == "handoff":
                bus.emit(CallEvent(EventType.HANDOFF, call, {"reason": "caller-request"}))
            bus.emit(CallEvent(EventType.CALL_ENDED, call, {"outcome": outcome}))
        bus.emit(CallEvent(EventType.CALL_STARTED, "17000.9", {}))
        after = await _scrape(server)
    finally:
        await server.close()
    assert after[("ari_agent_active_calls", ())] == 1
    assert after[("ari_agent_calls_total", (("outcome", "booked"),))] == 2
    assert after[("ari_agent_calls_total", (("outcome", "handoff"),))] == 1
    assert after[("ari_agent_handoffs_total", (("reason", "caller-request"),))] == 1
    assert after[("ari_agent_tts_cache_hits_total", ())] == 2
    assert after[("ari_agent_tts_cache_misses_total", ())] == 1
    assert after[("ari_agent_turn_latency_seconds_count", ())] == 3
    assert after[("ari_agent_turn_latency_seconds_bucket", (("le", "0.6"),))] == 1
    assert after[("ari_agent_turn_latency_seconds_bucket", (("le", "0.7"),))] == 2
    assert after[("ari_agent_stage_latency_seconds_count", (("stage", "asr"),))] == 3
    assert after[("ari_agent_stage_latency_seconds_count", (("stage", "tts"),))] == 0
