"""Benchmarks through the real stack: turn latency, barge-in reaction, 20 concurrent calls.

Run by `make bench` (the stack must be up: scripts/bench.sh starts it, or uses the one `make up` started). The
agent under test runs in-process under a Stasis app of its own, so an agent that `make up` started keeps its
calls. Prints the numbers, writes bench/results/latest.json and the performance table in README.md.

Turn latency = end of the caller's speech -> Asterisk reports the reply's playback started (PlaybackStarted,
i.e. the first frame is being written to the caller's channel), including the endpointing wait.
Barge-in reaction = caller speech onset -> the agent's playback is stopped (audio-time detection plus the time
until Asterisk confirms the stop).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cpu_profile import Profiler, top_entries
from measure import cpu_jiffies, machine, pct, rss_mb

from ari_agent.app import Agent
from ari_agent.config import Settings, load_settings
from ari_agent.demo import CallerVoice, script_to_turns
from ari_agent.events import CallEvent, EventBus, EventRecorder, EventType
from ari_agent.sim.caller import SimulatedCaller

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
PROFILE = ROOT / "bench" / "results" / "profile-concurrent.txt"
README = ROOT / "README.md"

SLOTS = [
    f"{day} at {time}"
    # 30 slots: the warm-up, the single calls and 20 concurrent ones each book a slot of their own.
    for day in ("Next Monday", "Next Tuesday", "Next Wednesday", "Next Thursday", "Next Friday")
    for time in (
        "nine in the morning",
        "ten in the morning",
        "eleven in the morning",
        "two in the afternoon",
        "three in the afternoon",
        "four in the afternoon",
    )
]
_slot = 0


def booking() -> dict[str, Any]:
    """A booking call for a slot no other benchmark call takes (a taken slot changes the dialogue)."""
    global _slot
    when = SLOTS[_slot % len(SLOTS)]
    _slot += 1
    return {
        "turns": [
            {"text": "Hello, I need an appointment for a cleaning."},
            {"text": f"{when}."},
            {"text": "My name is Jennifer Wood."},
            {"text": "Yes, that's right."},
            {"text": "No, that's all. Thank you, goodbye."},
        ]
    }


BARGE = {
    "turns": [
        {"text": "Hello, I need an appointment for a cleaning.", "barge_in": True},
        {"text": "Can I speak to a real person please?"},
    ]
}


async def one_call(agent: Agent, recorder: EventRecorder, script: dict[str, Any], voice: CallerVoice) -> str:
    """Place one call and wait for its end; returns the call id."""
    s = agent.settings
    turns = await script_to_turns(script, voice)
    async with SimulatedCaller(s.ari.url, s.ari.username, s.ari.password, agent.bus, agent_app=s.ari.app) as caller:
        call_id = await caller.dial(timeout=60)
        async with asyncio.timeout(300):
            await caller.run_turns(turns, end_timeout=120)
        await recorder.wait_for(EventType.CALL_ENDED, call_id, timeout=60)
    return call_id


def turn_latencies(events: list[CallEvent], call_ids: set[str]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type is EventType.TURN_LATENCY and e.call_id in call_ids]


def barge_in_ms(events: list[CallEvent], call_ids: set[str]) -> list[float]:
    """Onset -> playback stopped, per barge-in."""
    out = []
    for b in (e for e in events if e.type is EventType.BARGE_IN and e.call_id in call_ids):
        fin = next(
            (
                e
                for e in events
                if e.type is EventType.PLAYBACK_FINISHED
                and e.call_id == b.call_id
                and e.data.get("playback_id") == b.data.get("playback_id")
            ),
            None,
        )
        stop_ms = (fin.mono - b.mono) * 1000 if fin else float("nan")
        out.append(float(b.data["reaction_ms"]) + stop_ms)
    return out


STAGES = ("lag_ms", "endpointing_ms", "asr_ms", "dialogue_ms", "tts_ms", "playback_start_ms")


def summarise(lat: list[dict[str, Any]]) -> dict[str, Any]:
    total = [float(x["total_ms"]) for x in lat]
    return {
        "turns": len(total),
        "p50": round(pct(total, 50)),
        "p95": round(pct(total, 95)),
        "breakdown_p50_ms": {k: round(pct([float(x.get(k, 0.0)) for x in lat], 50), 1) for k in STAGES},
        "stage_p95_ms": {k: round(pct([float(x.get(k, 0.0)) for x in lat], 95), 1) for k in STAGES},
    }


async def run(
    settings: Settings,
    sequential: int,
    barge: int,
    concurrent: int,
    stagger: float,
    profile_hz: int,
    profile_native: bool = False,
) -> dict[str, Any]:
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    voice = CallerVoice(settings)
    scope = f"bench-{uuid.uuid4().hex[:8]}"
    # The bench measures capacity: the limits that refuse calls or hand them over ([call] max_concurrent_calls,
    # overload_backlog_ms, handoff_backlog_ms) must not cut it short; every call is served to its end, however
    # late the agent hears it. Its own Stasis app (see SimulatedCaller.agent_app) leaves a running agent's calls
    # alone.
    settings = dataclasses.replace(
        settings,
        call=dataclasses.replace(settings.call, max_concurrent_calls=0, overload_backlog_ms=0, handoff_backlog_ms=0),
        ari=dataclasses.replace(settings.ari, app=f"ari-agent-bench-{uuid.uuid4().hex[:6]}"),
    )
    async with Agent(settings, bus=bus, serve_http=False, scope=scope) as agent:
        assert agent.listener is not None
        await asyncio.wait_for(agent.listener.connected.wait(), 15)
        # Warm-up call: prompt cache, Rasa conversation code paths, Vosk first decode.
        await one_call(agent, recorder, booking(), voice)

        seq_ids = set()
        for i in range(sequential):
            seq_ids.add(await one_call(agent, recorder, booking(), voice))
            print(f"  sequential call {i + 1}/{sequential} done", flush=True)
        barge_ids = set()
        for i in range(barge):
            barge_ids.add(await one_call(agent, recorder, BARGE, voice))
            print(f"  barge-in call {i + 1}/{barge} done", flush=True)

        rss_idle = rss_mb()
        busy0, total0 = cpu_jiffies()
        started = time.monotonic()
        peak = rss_idle
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        profiler = Profiler(PROFILE, profile_hz, native=profile_native) if profile_hz else None
        if profiler is not None:
            await profiler.start()

        async def staggered(i: int) -> str:
            # Calls overlap fully but do not start in the same second, as on a real line: identical scripts
            # started together would make every caller speak in lockstep.
            await asyncio.sleep(i * stagger)
            return await one_call(agent, recorder, booking(), voice)

        calls = [asyncio.create_task(staggered(i)) for i in range(concurrent)]

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_mb())
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        conc_ids = set(await asyncio.gather(*calls))
        sampler.cancel()
        wall = time.monotonic() - started
        busy1, total1 = cpu_jiffies()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        agent_cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        profile: dict[str, Any] | None = None
        if profiler is not None:
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            await profiler.stop()
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
            profile = {"rate_hz": profile_hz, "error": profiler.error} if profiler.error else {
                "rate_hz": profile_hz,
                "native": profile_native,
                "file": str(PROFILE.relative_to(ROOT)),
                # py-spy's own CPU (it pauses the agent to read its stacks) is part of machine_cpu_busy.
                "profiler_cores": round(spent / wall, 3),
                **top_entries(PROFILE),
            }  # fmt: skip
        print(f"  {concurrent} concurrent calls done in {wall:.0f} s", flush=True)

    events = recorder.events
    ended = {e.call_id: e.data for e in events if e.type is EventType.CALL_ENDED}
    cores = os.cpu_count() or 1
    machine_busy = (busy1 - busy0) / max(1, total1 - total0)  # fraction of all cores
    single = summarise(turn_latencies(events, seq_ids))
    conc = summarise(turn_latencies(events, conc_ids))
    barge_values = barge_in_ms(events, barge_ids)
    media = [ended[c].get("media", {}) for c in conc_ids]
    outcomes = [ended[c].get("outcome") for c in seq_ids | conc_ids]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "turn_latency_ms": single,
        "barge_in_ms": {
            "count": len(barge_values),
            "p50": round(pct(barge_values, 50)),
            "p95": round(pct(barge_values, 95)),
            "detection_p95": round(
                pct([float(e.data["reaction_ms"]) for e in events if e.type is EventType.BARGE_IN], 95)
            ),
        },
        "concurrent_calls": concurrent,
        "concurrent_turn_latency_ms": conc,
        "concurrent_p95_vs_single": round(conc["p95"] / single["p95"], 2) if single["p95"] else None,
        # Whole machine (agent + Asterisk + Rasa + PostgreSQL) during the concurrent calls, per call, in cores.
        "cpu_per_call": round(machine_busy * cores / concurrent, 3),
        "machine_cpu_busy": round(machine_busy, 3),
        # The agent process alone (VAD, Vosk, endpointing, the simulated callers' clients), per call, in cores.
        "agent_cpu_per_call": round(agent_cpu_s / wall / concurrent, 3),
        "concurrent_start_stagger_s": stagger,
        "rss_mb_per_call": round((peak - rss_idle) / concurrent, 1),
        "agent_rss_mb_idle": round(rss_idle, 1),
        "audio": {
            "dropped_frames": sum(int(m.get("dropped_frames", 0)) for m in media),
            "concealed_ms": sum(int(m.get("concealed_ms", 0)) for m in media),
            "packets": sum(int(m.get("packets", 0)) for m in media),
        },
        "outcomes": {o: outcomes.count(o) for o in sorted(set(map(str, outcomes)))},
        # py-spy on the agent during the concurrent calls (bench/cpu_profile.py); None with --profile-hz 0.
        "profile_concurrent": profile,
    }


def write_readme(result: dict[str, Any]) -> None:
    """Replace the table between the bench markers in README.md."""
    if not README.exists():
        return
    t, b, c = result["turn_latency_ms"], result["barge_in_ms"], result["concurrent_turn_latency_ms"]
    bd = t["breakdown_p50_ms"]
    sp, cp = t["stage_p95_ms"], c["stage_p95_ms"]

    def stages(values: dict[str, float]) -> str:
        return " / ".join(f"{values[k]:g}" for k in STAGES) + " ms"

    n = result["concurrent_calls"]
    rows = [
        "| metric | goal | measured |",
        "|---|---|---|",
        f"| turn latency p50 / p95 (1 call, {t['turns']} turns) | <= 450 / 650 ms | {t['p50']} / {t['p95']} ms |",
        "| stages, 1 call, p50 / p95: heard late (audio not yet heard at the end of speech) / endpointing wait / "
        "ASR final / dialogue / TTS first sentence / end of turn -> "
        f"playback started (includes the three before) | | {stages(bd)} <br> {stages(sp)} |",
        f"| barge-in: onset -> playback stopped, p95 ({b['count']} barge-ins) | <= 200 ms | {b['p95']} ms |",
        f"| {n} concurrent calls (starts {result['concurrent_start_stagger_s']} s apart): "
        f"turn latency p50 / p95 ({c['turns']} turns) | "
        f"p95 <= 1.5x single | {c['p50']} / {c['p95']} ms ({result['concurrent_p95_vs_single']}x) |",
        f"| stages, {n} calls, p50 / p95 (as above) | | {stages(c['breakdown_p50_ms'])} <br> {stages(cp)} |",
        f"| machine busy during the {n} calls (agent, Asterisk, Rasa, PostgreSQL) | < 85% | "
        f"{round(100 * result['machine_cpu_busy'])}% |",
        f"| audio dropped during concurrent calls | none | {result['audio']['dropped_frames']} frames dropped, "
        f"{result['audio']['concealed_ms']} ms concealed of {result['audio']['packets']} packets |",
        f"| CPU per call: whole stack / agent process | | {result['cpu_per_call']} / "
        f"{result['agent_cpu_per_call']} cores |",
        f"| agent memory per additional call | | {result['rss_mb_per_call']} MB "
        f"(idle agent {result['agent_rss_mb_idle']} MB) |",
        "",
        f"Measured {result['measured_at']} on {result['machine']['cpu']}, {result['machine']['cores']} cores, "
        f"{result['machine']['memory_gb']} GB, by `make bench`.",
    ]
    text = README.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        README.write_text(head + start + "\n" + "\n".join(rows) + "\n" + end + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequential", type=int, default=4, help="single calls for turn latency (5 turns each)")
    parser.add_argument("--barge", type=int, default=6, help="calls that interrupt the greeting")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between concurrent call starts")
    parser.add_argument(
        "--profile-hz", type=int, default=0, help="py-spy samples per second of the agent during the concurrent "
        "calls (make bench PROFILE_HZ=20; 0: no profile); its top entries go to latest.json, its stacks to "
        "bench/results/"
    )  # fmt: skip
    parser.add_argument(
        "--profile-native", action="store_true", help="native frames too (Vosk's C++ functions); py-spy then pauses "
        "the agent for every sample, so that run's latencies are not the bench's"
    )  # fmt: skip
    args = parser.parse_args()
    result = asyncio.run(
        run(
            load_settings(),
            args.sequential,
            args.barge,
            args.concurrent,
            args.stagger,
            args.profile_hz,
            args.profile_native,
        )
    )
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_readme(result)


if __name__ == "__main__":
    main()
