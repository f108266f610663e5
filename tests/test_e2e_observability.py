"""Issue 6 checks through the real stack: /metrics moves by exactly what happened; /readyz follows Rasa and ARI."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from urllib.parse import urlsplit

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ari_agent.dialogue.rasa import RasaDialogue
from tests.e2e import TcpRelay, place_call, running_agent, stack_settings

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def delta(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_exactly_what_a_call_did() -> None:
    base = stack_settings()
    port = free_port()
    settings = dataclasses.replace(base, http=dataclasses.replace(base.http, port=port))
    async with running_agent(settings, serve_http=True) as (agent, recorder):
        before = await scrape(port)
        run = await place_call(agent, recorder, {"turns": [{"text": "Can I speak to a real person please?"}]})
        await asyncio.sleep(0.2)
        after = await scrape(port)
    assert run.ended.data["handoff_reason"] == "requested"
    assert delta(before, after, "ari_agent_calls_total", outcome="handoff") == 1
    assert delta(before, after, "ari_agent_handoffs_total", reason="requested") == 1
    # One caller turn answered: one end-to-end turn latency observation and one per stage.
    assert delta(before, after, "ari_agent_turn_latency_seconds_count") == 1
    assert delta(before, after, "ari_agent_stage_latency_seconds_count", stage="dialogue") == 1
    assert delta(before, after, "ari_agent_barge_ins_total") == 0
    assert delta(before, after, "ari_agent_reprompts_total") == 0
    assert after[("ari_agent_active_calls", ())] == 0
    assert after[("ari_agent_ari_connected", ())] == 1


async def readyz(port: int) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as resp:
        return resp.status, await resp.json()


async def wait_ready(port: int, want: int, timeout: float = 30.0) -> dict:  # type: ignore[type-arg]
    async with asyncio.timeout(timeout):
        while True:
            status, body = await readyz(port)
            if status == want:
                return body
            await asyncio.sleep(0.2)


async def test_readyz_follows_rasa_and_ari() -> None:
    base = stack_settings()
    ari_url = urlsplit(base.ari.url)
    rasa_url = urlsplit(base.dialogue.rasa_url)
    ari_relay = TcpRelay(ari_url.hostname or "127.0.0.1", ari_url.port or 8088)
    rasa_relay = TcpRelay(rasa_url.hostname or "127.0.0.1", rasa_url.port or 5005)
    await ari_relay.start()
    await rasa_relay.start()
    port = free_port()
    settings = dataclasses.replace(
        base,
        http=dataclasses.replace(base.http, port=port),
        ari=dataclasses.replace(base.ari, url=f"http://127.0.0.1:{ari_relay.port}", reconnect_max_seconds=0.5),
    )
    dialogue = RasaDialogue(f"http://127.0.0.1:{rasa_relay.port}", timeout=1.0, auth_token=base.dialogue.token())
    try:
        async with running_agent(settings, serve_http=True, dialogue=dialogue):
            await wait_ready(port, 200)
            await rasa_relay.kill()
            body = await wait_ready(port, 503)
            assert "rasa" in body["not_ready"]
            await rasa_relay.start()
            await wait_ready(port, 200)
            await ari_relay.kill()
            body = await wait_ready(port, 503)
            assert "ari" in body["not_ready"]
            await ari_relay.start()
            await wait_ready(port, 200)
    finally:
        await dialogue.close()
        await ari_relay.kill()
        await rasa_relay.kill()
