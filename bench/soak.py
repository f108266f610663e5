"""Soak: SIP callers through the real Asterisk for minutes on end; nothing may be lost or duplicated.

Run by `make soak` (scripts/soak.sh starts the stack; this script starts its own `ari-agent run`, the way an
admin runs it). SIPp (Debian `sip-tester`) places the calls as the `testcaller` PJSIP endpoint with
bench/soak/caller.xml: digest auth, G.711 RTP streamed from recorded caller turns, 30-90 s per call, a new
call as soon as one ends. Several SIPp processes share the load, each with its own recording (other voices,
other sentences in another order), so the agent never hears one call twenty times over.

What is counted, per SIPp call (matched to the agent's `calls` row by its SIP Call-ID):
- sent turns: the caller's sentences that had ended, with a margin for the agent to hear and store them,
  before the call left the agent (the caller or Asterisk hung up, or the agent transferred it);
- stored turns: the caller's rows in `turns`; lost = sent - stored, per call, never negative;
- lost transcripts: answered calls without a `calls` row, or whose row never got an end;
- duplicated rows: two `calls` rows for one Call-ID, or two identical turns or events of one call.
The agent's memory, open files and threads are sampled every 10 s.
Writes bench/results/soak.json (`--out`) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from measure import cpu_jiffies, machine, pct, proc_status, rss_mb

from ari_agent.config import load_settings
from ari_agent.media.audio import downsample_16k_to_8k, silence, ulaw_encode
from ari_agent.sim.voices import available_voices, synthesise, trim

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "bench" / "soak" / "caller.xml"
RESULTS = ROOT / "bench" / "results" / "soak.json"
README = ROOT / "README.md"

# What the soak callers say: questions the agent answers and stays on the line for, in several phrasings.
# (A booking would change the shared calendar and end the call; the soak is about load, not about tasks.)
QUESTIONS = (
    "What are your opening hours?",
    "What time do you close on Fridays?",
    "Are you open on Saturday morning?",
    "When do you open in the morning?",
    "Where are you located?",
    "What's the address of the clinic, please?",
    "How do I find you?",
    "How much does a check-up cost?",
    "What do you charge for a cleaning?",
    "How much is a filling?",
    "Sorry, could you say that again?",
    "Are you a robot?",
)
LEAD_SILENCE_S = 4.0  # the greeting
GAP_S = 5.5  # the agent's reply, then a breath; the no-input reprompt comes at 6 s of silence
# A sentence counts as sent when it ended this long before the call left the agent: the end-of-turn wait,
# recognition and the store's write all happen inside it.
MARGIN_S = 3.0


@dataclass(frozen=True, slots=True)
class Utterance:
    start_s: float
    end_s: float
    text: str
    voice: str


@dataclass(slots=True)
class Recording:
    """One SIPp process's caller audio: sentences at known offsets, looped for as long as the call lasts."""

    utterances: list[Utterance]
    period_s: float

    def _ends(self, window_s: float) -> list[float]:
        """When each sentence that ended inside the window ended, from the start of the audio (looped)."""
        ends = []
        loop = 0
        while loop * self.period_s < window_s:
            start = loop * self.period_s
            ends += [start + u.end_s for u in self.utterances if start + u.end_s <= window_s]
            loop += 1
        return ends

    def ends_before(self, window_s: float) -> list[float]:
        """When each sentence surely sent in the window ended, from the start of the audio."""
        return [end for end in self._ends(window_s) if end + MARGIN_S <= window_s]

    def sent_before(self, window_s: float) -> tuple[int, int]:
        """(sentences surely sent, sentences that ended too close to the window's end to tell)."""
        ends = self._ends(window_s)
        sure = sum(end + MARGIN_S <= window_s for end in ends)
        return sure, len(ends) - sure


def make_recording(rng: random.Random, voices: list[str], path: Path) -> Recording:
    """Every question once, in a random order, each in a random voice; 8 kHz mu-law, as SIPp streams it."""
    order = list(QUESTIONS)
    rng.shuffle(order)
    pcm = bytearray(silence(int(LEAD_SILENCE_S * 1000)))
    utterances = []
    for text in order:
        voice = rng.choice(voices)
        speech = trim(synthesise(voice, text))
        start = len(pcm) / 32000
        pcm += speech
        utterances.append(Utterance(start, len(pcm) / 32000, text, voice))
        pcm += silence(int(GAP_S * 1000))
    path.write_bytes(ulaw_encode(downsample_16k_to_8k(bytes(pcm))))
    return Recording(utterances, len(pcm) / 32000)


@dataclass(slots=True)
class Sample:
    t_s: float
    rss_mb: float
    fds: int
    threads: int
    cpu_s: float
    active_calls: int


def sample(pid: int, t0: float, active: int) -> Sample:
    status = proc_status(pid)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return Sample(
        t_s=round(time.monotonic() - t0, 1),
        rss_mb=round(rss_mb(pid, status), 1),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(status["Threads"]),
        cpu_s=round((int(stat[11]) + int(stat[12])) / tick, 2),
        active_calls=active,
    )


def fd_kinds(pid: int) -> dict[str, int]:
    """What the open files are (socket, pipe, anon_inode:..., or a path): says what a leak would be."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kind = target.split(":[", 1)[0] if ":[" in target else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items()))


def active_calls(http: str) -> int:
    """Calls the agent has right now, from its own /metrics (-1 if it does not answer)."""
    try:
        with urllib.request.urlopen(f"{http}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("ari_agent_active_calls "):
                    return int(float(line.split()[1]))
    except OSError:
        return -1
    return -1


@dataclass(slots=True)
class SippRun:
    """One SIPp process: its directory (scenario, audio, logs) and what it logged."""

    workdir: Path
    recording: Recording
    proc: subprocess.Popen[bytes] | None = None
    pid: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # Call-ID -> SIPp clock (ms) at answer
    streams: dict[str, int] = field(default_factory=dict)  # Call-ID -> SIPp clock (ms) when its audio began
    ends: dict[str, tuple[int, str]] = field(default_factory=dict)  # Call-ID -> (clock, who hung up)

    def read_log(self) -> None:
        log = self.workdir / "actions.log"
        if not log.is_file():
            return
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "answer":
                self.answers[parts[1]] = int(parts[2])
            elif len(parts) >= 3 and parts[0] == "stream":
                self.streams[parts[1]] = int(parts[2])
            elif len(parts) >= 4 and parts[0] == "end":
                self.ends[parts[1]] = (int(parts[2]), parts[3])

    def stats(self) -> dict[str, int]:
        """SIPp's own final counts, from its statistics file."""
        files = sorted(self.workdir.glob("stats*.csv"))
        if not files:
            return {}
        lines = [ln for ln in files[-1].read_text().splitlines() if ln.strip()]
        head, last = lines[0].split(";"), lines[-1].split(";")
        row = dict(zip(head, last, strict=False))
        keys = {"SuccessfulCall(C)": "successful", "FailedCall(C)": "failed", "TotalCallCreated": "created"}
        return {v: int(row[k]) for k, v in keys.items() if row.get(k, "").strip().isdigit()}


def start_sipp(run: SippRun, args: argparse.Namespace, index: int, concurrent: int) -> None:
    media_port = 22000 + 2000 * index  # each process its own 2000 RTP ports, below Asterisk's 31000-31999
    cmd = [
        args.sipp, f"127.0.0.1:{args.sip_port}", "-sf", "caller.xml", "-s", args.exten,
        "-au", "testcaller", "-ap", os.environ.get("TESTCALLER_PASSWORD", "testcaller_secret"),
        "-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(media_port),
        # A new call as soon as one ends (the rate only paces the start), never more than `concurrent`.
        "-r", "1", "-rp", "2000", "-l", str(concurrent),
        "-trace_logs", "-log_file", "actions.log", "-trace_err", "-error_file", "errors.log",
        "-trace_stat", "-stf", "stats.csv", "-fd", "10", "-trace_screen", "-screen_file", "screen.log",
        "-nostdin", "-bg",
    ]  # fmt: skip
    out = subprocess.run(cmd, cwd=run.workdir, capture_output=True, text=True, timeout=30, check=False)
    text = out.stdout + out.stderr
    if "PID=[" not in text:
        raise SystemExit(f"SIPp did not start: {text.strip()[:500]}\n(command: {' '.join(cmd)})")
    run.pid = int(text.split("PID=[", 1)[1].split("]", 1)[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}").is_dir() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def wait_ready(http: str, agent: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise SystemExit(f"ari-agent exited with {agent.returncode} before it was ready; see {log}")
        try:
            with urllib.request.urlopen(f"{http}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"ari-agent not ready after 120 s ({http}/readyz); see {log}")


def analyse(
    dsn: str, runs: list[SippRun], samples_left: int, answered_wall: dict[str, datetime] | None = None
) -> dict[str, Any]:
    """Match SIPp's calls to the agent's rows and count what was lost or duplicated.

    answered_wall: when SIPp got each call's 200 OK, on the machine's clock. Given, the agent's time with the
    caller is measured from it, so both ends of the window are on one clock (through a loaded proxy the 200 OK
    can reach SIPp seconds after the agent answered)."""
    answered = {cid: run for run in runs for cid in run.answers}
    ids = list(answered)
    with psycopg.connect(dsn, autocommit=True) as db:
        calls = db.execute(
            "SELECT sip_call_id, call_id, answered_at, ended_at, outcome, handoff_reason FROM calls "
            "WHERE sip_call_id = ANY(%s)",
            (ids,),
        ).fetchall()
        rows_by_sip: dict[str, list[tuple[Any, ...]]] = {}
        for row in calls:
            rows_by_sip.setdefault(row[0], []).append(row)
        call_ids = [row[1] for row in calls]
        caller_turns = dict(
            db.execute(
                "SELECT call_id, count(*) FROM turns WHERE call_id = ANY(%s) AND speaker = 'caller' GROUP BY call_id",
                (call_ids,),
            ).fetchall()
        )
        any_turns = {
            r[0] for r in db.execute("SELECT DISTINCT call_id FROM turns WHERE call_id = ANY(%s)", (call_ids,))
        }
        dup_turns = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM turns WHERE call_id = ANY(%s) "
            "GROUP BY call_id, speaker, text, audio_start_ms, at HAVING count(*) > 1) d",
            (call_ids,),
        ).fetchone()
        dup_events = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM call_events WHERE call_id = ANY(%s) "
            "GROUP BY call_id, kind, code, data, at HAVING count(*) > 1) d",
            (call_ids,),
        ).fetchone()
        latencies = [
            float(r[0])
            for r in db.execute(
                "SELECT (latency->>'total_ms')::float FROM turns WHERE call_id = ANY(%s) AND latency ? 'total_ms'",
                (call_ids,),
            )
        ]
        # A transfer ends the agent's listening at once (the caller hears the handoff line, then the queue).
        handoffs = dict(
            db.execute(
                "SELECT call_id, min(at) FROM call_events WHERE call_id = ANY(%s) AND kind = 'handoff' GROUP BY 1",
                (call_ids,),
            ).fetchall()
        )
        errors = dict(
            db.execute(
                "SELECT coalesce(code, '?'), count(*) FROM call_events WHERE call_id = ANY(%s) AND kind = 'error' "
                "GROUP BY 1",
                (call_ids,),
            ).fetchall()
        )
    outcomes: dict[str, int] = {}
    lost_turns = sent_turns = stored_turns = extra_turns = 0
    lost_transcripts = 0
    per_call_losses = []
    for cid, run in answered.items():
        rows = rows_by_sip.get(cid, [])
        if not rows or rows[0][3] is None or rows[0][1] not in any_turns:
            lost_transcripts += 1
            continue
        _, call_id, answered_at, ended_at, outcome, reason = rows[0]
        key = outcome if outcome != "handoff" else f"handoff:{reason}"
        outcomes[key] = outcomes.get(key, 0) + 1
        # Both clocks from the moment the caller's audio began (a random 0-5 s after the answer).
        lead_s = (run.streams.get(cid, run.answers[cid]) - run.answers[cid]) / 1000
        sipp_s = (run.ends[cid][0] - run.answers[cid]) / 1000 if cid in run.ends else float("inf")
        left_at = min(ended_at, handoffs.get(call_id, ended_at))
        answered_from = (answered_wall or {}).get(cid) or answered_at
        agent_s = (left_at - answered_from).total_seconds() if answered_from else 0.0
        window_s = min(sipp_s, agent_s)
        sure, maybe = run.recording.sent_before(window_s - lead_s)
        stored = caller_turns.get(call_id, 0)
        sent_turns += sure
        stored_turns += stored
        if stored < sure:
            lost_turns += sure - stored
            per_call_losses.append({
                "call_id": call_id, "sip_call_id": cid, "sent": sure, "stored": stored,
                # The timeline on one clock (seconds from the answer) for reading the case afterwards.
                "outcome": key, "window_s": round(window_s, 1), "audio_lead_s": round(lead_s, 1),
                "sentences_end_s": [round(lead_s + e, 1) for e in run.recording.ends_before(window_s - lead_s)],
                "sipp_end": [round(sipp_s, 1), run.ends[cid][1]] if cid in run.ends else None,
                "_from": answered_from,
            })  # fmt: skip
        extra_turns += max(0, stored - sure - maybe)
    _add_timelines(dsn, per_call_losses[:20])
    return {
        "answered_calls": len(answered),
        "agent_rows": len(calls),
        "outcomes": dict(sorted(outcomes.items())),
        "sent_turns": sent_turns,
        "stored_caller_turns": stored_turns,
        "lost_turns": lost_turns,
        "calls_with_lost_turns": per_call_losses[:20],
        "extra_turns": extra_turns,
        "lost_transcripts": lost_transcripts,
        "duplicated_rows": sum(len(v) - 1 for v in rows_by_sip.values())
        + (dup_turns[0] if dup_turns else 0)
        + (dup_events[0] if dup_events else 0),
        "error_events": errors,
        "turn_latency_ms": {
            "p50": round(pct(latencies, 50)) if latencies else None,
            "p95": round(pct(latencies, 95)) if latencies else None,
            "turns": len(latencies),
        },
        "unfinished_agent_rows_after_wait": samples_left,
    }


def _add_timelines(dsn: str, losses: list[dict[str, Any]]) -> None:
    """What the agent stored of each call that lost a turn, in seconds from the answer: its turns and events."""
    if not losses:
        return
    with psycopg.connect(dsn, autocommit=True) as db:
        for loss in losses:
            start = loss.pop("_from")
            rows = db.execute(
                "SELECT at, 'turn:' || speaker || ': ' || left(text, 60) FROM turns WHERE call_id = %s "
                "UNION ALL SELECT at, kind || coalesce(':' || code, '') FROM call_events WHERE call_id = %s "
                "ORDER BY 1",
                (loss["call_id"], loss["call_id"]),
            ).fetchall()
            loss["agent"] = [f"{(at - start).total_seconds():6.1f} {what}" for at, what in rows] if start else []


def readme_table(out: dict[str, Any]) -> str:
    """The README's soak table from one result."""
    served = [s["active_calls"] for s in out["samples"] if s["active_calls"] >= 0]
    outcomes = out["outcomes"]
    capacity = outcomes.get("handoff:capacity", 0)
    other = sum(v for k, v in outcomes.items() if k.startswith("handoff:") and k != "handoff:capacity")
    lat = out["turn_latency_ms"]
    rows = [
        ("offered load", f"{out['concurrent']} SIP calls at once for {out['duration_s'] // 60} min: "
                         f"{out['calls']} calls"),
        ("SIP calls failed", str(out["failed_calls"])),
        ("calls the agent served / sent to a person at once because it was full or behind / other handoffs",
         f"{out['answered_calls'] - capacity} / {capacity} / {other}"),
        ("agent calls at the same time (10 s samples: median / max)",
         f"{sorted(served)[len(served) // 2] if served else '-'} / {max(served, default='-')}"),
        ("caller turns sent -> stored (lost, counted per call)", f"{out['sent_turns']} -> {out['stored_caller_turns']} "
                                               f"({out['lost_turns']})"),
        ("calls without a transcript / duplicated rows", f"{out['lost_transcripts']} / {out['duplicated_rows']}"),
        ("turn latency p50 / p95", f"{lat['p50']} / {lat['p95']} ms ({lat['turns']} turns)"),
        ("agent memory after the first minute -> at the end", f"{out['agent_rss_mb_start']:.0f} -> "
                                                             f"{out['agent_rss_mb_end']:.0f} MB"),
        ("agent open files / threads, idle before -> idle after",
         f"{out['fd_start']} -> {out['fd_end']} / {out['threads_start']} -> {out['threads_end']}"),
        ("CPU: agent cores / machine busy", f"{out['agent_cpu_cores']} / {out['machine_cpu_busy']:.0%}"),
    ]  # fmt: skip
    m = out["machine"]
    lines = ["| | measured |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], "",
             f"Measured {out['when']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, by `make soak`."]
    return "\n".join(lines)


def update_readme(out: dict[str, Any]) -> None:
    text = README.read_text()
    start, end = "<!-- soak:start -->", "<!-- soak:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        README.write_text(f"{head}{start}\n{readme_table(out)}\n{end}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrent", type=int, default=20, help="calls at once (default 20)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long new calls are placed (default 10)")
    ap.add_argument("--callers", type=int, default=4, help="SIPp processes sharing the load (default 4)")
    ap.add_argument("--sip-port", type=int, default=int(os.environ.get("SIP_PORT", "15060")))
    ap.add_argument("--exten", default="100")
    ap.add_argument("--sipp", default=shutil.which("sipp") or "sipp")
    ap.add_argument("--max-calls", type=int, help="the agent's [call] max_concurrent_calls (default: its own "
                    "default, as an admin runs it; calls over it, or while it is behind, go to the queue)")  # fmt: skip
    ap.add_argument("--readme", action="store_true", help="write the result into README.md's soak table")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--workdir", type=Path, default=ROOT / ".run" / "soak")
    ap.add_argument("--tracemalloc", type=Path, help="trace the agent's allocations; reports appended to this file "
                    "after the first minute and at the end of the load (slows the agent)")  # fmt: skip
    args = ap.parse_args()
    if args.concurrent < args.callers:
        args.callers = max(1, args.concurrent)

    settings = load_settings()
    http = f"http://127.0.0.1:{settings.http.port}"
    try:
        urllib.request.urlopen(f"{http}/healthz", timeout=2)
        raise SystemExit(
            f"an ari-agent already answers on {http} (make up?): the soak starts and measures its own. "
            "Stop it with `make down` first."
        )
    except OSError:
        pass

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    rng = random.Random(args.seed)
    voices = available_voices()
    if not voices:
        raise SystemExit("no TTS voice on this machine (flite or espeak-ng): run scripts/setup.sh")
    runs = []
    for i in range(args.callers):
        wd = args.workdir / f"caller{i}"
        wd.mkdir()
        shutil.copy(SCENARIO, wd / "caller.xml")
        runs.append(SippRun(wd, make_recording(rng, voices, wd / "caller.ulaw")))
        (wd / "recording.json").write_text(json.dumps([asdict(u) for u in runs[-1].recording.utterances], indent=1))

    agent_log = args.workdir / "agent.log"
    env = dict(os.environ)
    if args.max_calls is not None:
        env["ARI_AGENT_CALL_MAX_CONCURRENT_CALLS"] = str(args.max_calls)
    if args.tracemalloc:
        env["ARI_AGENT_TRACEMALLOC"] = str(args.tracemalloc.resolve())
    with agent_log.open("wb") as log:
        agent = subprocess.Popen([str(ROOT / ".venv" / "bin" / "ari-agent"), "run"], stdout=log, stderr=log, env=env)
    samples: list[Sample] = []
    started = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        wait_ready(http, agent, agent_log)
        idle_before = sample(agent.pid, t0, 0)
        kinds_before = fd_kinds(agent.pid)
        busy0, total0 = cpu_jiffies()
        per_process = [args.concurrent // args.callers + (1 if i < args.concurrent % args.callers else 0)
                       for i in range(args.callers)]  # fmt: skip
        load_t0 = time.monotonic()
        for i, run in enumerate(runs):
            start_sipp(run, args, i, per_process[i])
        print(f"soak: {args.concurrent} calls at once from {args.callers} SIPp processes for {args.minutes} min",
              flush=True)  # fmt: skip
        while time.monotonic() - load_t0 < args.minutes * 60:
            time.sleep(10)
            if agent.poll() is not None:
                raise SystemExit(f"ari-agent died during the soak (exit {agent.returncode}); see {agent_log}")
            samples.append(sample(agent.pid, t0, active_calls(http)))
            if args.tracemalloc and len(samples) == 6:
                os.kill(agent.pid, signal.SIGUSR2)
            s = samples[-1]
            print(f"  t={s.t_s:6.0f}s calls={s.active_calls:3d} rss={s.rss_mb:6.1f}MB fds={s.fds} threads={s.threads}",
                  flush=True)  # fmt: skip
        load_s = time.monotonic() - load_t0
        if args.tracemalloc:
            os.kill(agent.pid, signal.SIGUSR2)
        busy1, total1 = cpu_jiffies()
        # Soft stop: no new calls, the running ones end as they would (at most 90 s).
        for run in runs:
            os.kill(run.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 180
        while any(alive(r.pid) for r in runs) and time.monotonic() < deadline:
            time.sleep(1)
        for run in runs:
            if alive(run.pid):
                os.kill(run.pid, signal.SIGKILL)
            run.read_log()
        # The agent writes through its spool: give it time to close the last calls.
        dsn = settings.database.dsn
        ids = [cid for r in runs for cid in r.answers]
        unfinished = -1
        for _ in range(60):
            with psycopg.connect(dsn, autocommit=True) as db:
                row = db.execute(
                    "SELECT count(*) FROM calls WHERE sip_call_id = ANY(%s) AND ended_at IS NULL", (ids,)
                ).fetchone()
            unfinished = row[0] if row else -1
            if unfinished == 0:
                break
            time.sleep(1)
        idle_after = sample(agent.pid, t0, active_calls(http))
        kinds_after = fd_kinds(agent.pid)
    finally:
        for run in runs:
            if run.pid and alive(run.pid):
                os.kill(run.pid, signal.SIGKILL)
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            agent.kill()

    result = analyse(settings.database.dsn, runs, unfinished)
    sipp_stats = [r.stats() for r in runs]
    sipp_failed = sum(s.get("failed", 0) for s in sipp_stats)
    loaded = [s for s in samples if s.t_s - samples[0].t_s >= 50] or samples
    cores = os.cpu_count() or 1
    out = {
        "when": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "calls": sum(s.get("created", 0) for s in sipp_stats),
        "concurrent": args.concurrent,
        "duration_s": round(load_s),
        "failed_calls": sipp_failed + result["outcomes"].get("failed", 0),
        "sipp": {"successful": sum(s.get("successful", 0) for s in sipp_stats), "failed": sipp_failed},
        "lost_turns": result.pop("lost_turns"),
        "lost_transcripts": result.pop("lost_transcripts"),
        "duplicated_rows": result.pop("duplicated_rows"),
        # Under full load: the first sample after the first minute, and the last one before the load stops.
        "agent_rss_mb_start": loaded[0].rss_mb,
        "agent_rss_mb_end": loaded[-1].rss_mb,
        # With no call at all: before the first call and after the last; a leak shows as a difference here.
        "fd_start": idle_before.fds,
        "fd_end": idle_after.fds,
        "fd_kinds_start": kinds_before,
        "fd_kinds_end": kinds_after,
        "fd_loaded_start": loaded[0].fds,
        "fd_loaded_end": loaded[-1].fds,
        "threads_start": idle_before.threads,
        "threads_end": idle_after.threads,
        "agent_rss_mb_idle_before": idle_before.rss_mb,
        "agent_rss_mb_idle_after": idle_after.rss_mb,
        "agent_cpu_cores": round((loaded[-1].cpu_s - loaded[0].cpu_s) / max(1.0, loaded[-1].t_s - loaded[0].t_s), 3),
        "machine_cpu_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
        "turn_latency_ms": result.pop("turn_latency_ms"),
        **result,
        "samples": [asdict(s) for s in samples],
        "cores": cores,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.readme:
        update_readme(out)
    summary = {k: v for k, v in out.items() if k not in ("samples", "machine", "calls_with_lost_turns")}
    print(json.dumps(summary, indent=2))
    problems = [k for k in ("failed_calls", "lost_turns", "lost_transcripts", "duplicated_rows") if out[k]]
    ok = not problems and out["calls"] > 0
    verdict = "every call completed, nothing lost or duplicated"
    if not ok:
        verdict = f"FAILED: {', '.join(problems) or 'no calls'}"
    print(f"soak: {verdict}; written {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
