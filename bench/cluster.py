"""Cluster test: SIP calls through Kamailio to two Asterisk nodes, an agent killed, a node stopped.

Run by `make cluster-test` (scripts/cluster-test.sh starts the cluster with scripts/cluster-up.sh first):

1. Booking race across nodes: two conversations, one on each node's Rasa + action server, confirm the same
   slot at the same moment (the shared PostgreSQL decides): one booking, and the other caller is offered the
   nearest free times and books one of them. Double bookings are counted over the race's scope.
2. Traffic: SIPp (bench/soak/caller.xml, the soak's caller: recorded questions, 30-90 s per call) keeps
   `--concurrent` calls up through Kamailio, which spreads them over the nodes by Call-ID hash.
3. `--kill-at` s: the busiest agent of node pbx-a gets SIGKILL. Its supervisor starts it again (as systemd
   would) and its first connect apologises to the calls it left and sends them to the queue.
4. `--node-loss-at` s: node pbx-b's Asterisk is stopped (`core stop now`): its calls die with it; Kamailio's
   OPTIONS probing takes it out and every new call must be answered by pbx-a.
5. `--end-at` s: SIPp places no more calls and the running ones end; pbx-b is started again and must come back
   into Kamailio's rotation.

Then every SIPp call is matched to the agents' `calls` rows by SIP Call-ID. Writes bench/results/cluster.json
(`nodes`, `calls`, `calls_per_node`, `answered_after_node_loss`, `lost_rows`, `double_bookings`, ...) and
exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from measure import machine
from soak import SCENARIO, SippRun, active_calls, alive, analyse, make_recording

from ari_agent.config import DialogueSettings
from ari_agent.dialogue.base import CallContext
from ari_agent.dialogue.rasa import RasaDialogue
from ari_agent.sim.voices import available_voices

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cluster.json"
QUEUE_LOG = "var/log/asterisk/queue_log"  # inside the Asterisk root
NODES = {"pbx-a": 1, "pbx-b": 2}  # scripts/cluster-env.sh: node index -> ports
RESCUE_APOLOGY_S = 5.0  # the restarted agent's apology before the queue (manager.RESCUE_APOLOGY) and its set-up


def ports(node: str) -> dict[str, int]:
    i = NODES[node]
    return {"ari": 18088 + 100 * i, "sip": 15060 + 100 * i, "rasa": 15005 + 100 * i}


def agent_dirs(run_dir: Path, node: str) -> list[Path]:
    return sorted((run_dir / node.removeprefix("pbx-")).glob("agent-*"))


def agent_port(node: str, k: int) -> int:
    return 18080 + 100 * NODES[node] + k


def kamailio(run_dir: Path, *cmd: str) -> str:
    out = subprocess.run(["kamcmd", "-s", f"unix:{run_dir / 'kamailio' / 'kamailio.ctl'}", *cmd],
                         capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
    return out.stdout


def node_up_in_dispatcher(run_dir: Path, node: str) -> bool:
    """Kamailio's view: the node's destination is active (flag A), not inactive (I) or disabled (D)."""
    listing = kamailio(run_dir, "dispatcher.list")
    uri = f"sip:127.0.0.1:{ports(node)['sip']}"
    blocks = listing.split("URI:")
    for block in blocks[1:]:
        if block.strip().startswith(uri):
            flags = block.split("FLAGS:", 1)[1].split()[0] if "FLAGS:" in block else ""
            return flags.startswith("A")
    return False


def node_script(node: str, script: str) -> None:
    """Runs one of scripts/asterisk-*.sh with a node's settings (scripts/cluster-env.sh)."""
    cmd = f'source scripts/cluster-env.sh && node_env {node.removeprefix("pbx-")} && bash scripts/{script}'
    subprocess.run(["bash", "-c", cmd], cwd=ROOT, check=True, timeout=120, capture_output=True)


def sipp_created(run: SippRun) -> int:
    return run.stats().get("created", 0)


def start_sipp(run: SippRun, args: argparse.Namespace, index: int, concurrent: int) -> None:
    cmd = [
        args.sipp, f"127.0.0.1:{args.kamailio_port}", "-sf", "caller.xml", "-s", "100",
        "-au", "testcaller", "-ap", os.environ.get("TESTCALLER_PASSWORD", "testcaller_secret"),
        # Each process its own 2000 RTP ports, below the nodes' 32000-32999.
        "-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(22000 + 2000 * index),
        # Up to `concurrent` calls at once, a new one every second while below it.
        "-r", "1", "-rp", "1000", "-l", str(concurrent),
        "-trace_logs", "-log_file", "actions.log", "-trace_err", "-error_file", "errors.log",
        "-trace_stat", "-stf", "stats.csv", "-fd", "1", "-nostdin", "-bg",
    ]  # fmt: skip
    out = subprocess.run(cmd, cwd=run.workdir, capture_output=True, text=True, timeout=30, check=False)
    text = out.stdout + out.stderr
    if "PID=[" not in text:
        raise SystemExit(f"SIPp did not start: {text.strip()[:500]}\n(command: {' '.join(cmd)})")
    run.pid = int(text.split("PID=[", 1)[1].split("]", 1)[0])


def call_number(sip_call_id: str) -> int:
    """SIPp's Call-IDs are '<call number>-<pid>@<ip>': the number says in which order calls were placed."""
    head = sip_call_id.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


async def booking_race(dsn: str) -> dict[str, Any]:
    """Two callers, one on each node, confirm the same slot at the same moment."""
    token = DialogueSettings().token()
    scope = f"cluster-{uuid.uuid4().hex[:10]}"
    now = datetime.now().replace(second=0, microsecond=0)
    async with aiohttp.ClientSession() as session:
        dialogues = {node: RasaDialogue(f"http://127.0.0.1:{ports(node)['rasa']}", timeout=15.0, session=session,
                                        auth_token=token) for node in NODES}  # fmt: skip
        convs = {node: f"race-{node}-{uuid.uuid4().hex[:8]}" for node in NODES}
        for i, node in enumerate(NODES):
            context = CallContext(now=now, caller_number=f"+44163296000{i}", call_id=convs[node])
            await dialogues[node].start(convs[node], context, scope=scope)
            await dialogues[node].send(convs[node], "i'd like to book a check-up next wednesday at eleven")
            await dialogues[node].send(convs[node], f"my name is {['Jennifer Wood', 'Oliver Hughes'][i]}")
        results = await asyncio.gather(*(dialogues[n].send(convs[n], "yes") for n in NODES))
        replies = {n: " ".join(r.replies) for n, r in zip(NODES, results, strict=True)}
        booked_first = [n for n, r in zip(NODES, results, strict=True) if r.outcome == "booked"]
        # The database's constraint refuses the loser ("has just been taken") when both turns passed the free-slot
        # check together, the free-slot check ("already taken") when the winner's booking landed first.
        offered = [n for n in NODES if "just been taken" in replies[n] or "already taken" in replies[n]]
        second_booked = False
        for node in offered:
            await dialogues[node].send(convs[node], "the first one")
            second_booked = (await dialogues[node].send(convs[node], "yes")).outcome == "booked"
        for node in NODES:
            await dialogues[node].end(convs[node])
    with psycopg.connect(dsn, autocommit=True) as db:
        booked = db.execute("SELECT count(*) FROM bookings WHERE scope = %s AND status = 'booked'", (scope,)).fetchone()
        overlaps = db.execute(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.scope = b.scope AND a.id < b.id "
            "AND a.status = 'booked' AND b.status = 'booked' AND tsrange(a.starts_at, a.starts_at + "
            "make_interval(mins => a.duration_minutes)) && tsrange(b.starts_at, b.starts_at + "
            "make_interval(mins => b.duration_minutes)) WHERE a.scope = %s",
            (scope,),
        ).fetchone()
        db.execute("DELETE FROM bookings WHERE scope = %s", (scope,))
    return {
        "scope": scope,
        "booked_at_once": booked_first,
        "offered_another_time": offered,
        "offer_then_booked": second_booked,
        "bookings": booked[0] if booked else 0,
        "double_bookings": overlaps[0] if overlaps else 0,
        "replies": replies,
    }


def queue_log(asterisk_root: Path) -> dict[str, set[str]]:
    """Asterisk's queue_log (both nodes write it; uniqueids carry the node's system name): uniqueid -> events
    (ENTERQUEUE: the caller reached the queue; CONNECT: a person answered)."""
    events: dict[str, set[str]] = {}
    path = asterisk_root / QUEUE_LOG
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split("|")
            if len(parts) >= 5:
                events.setdefault(parts[1], set()).add(parts[4])
    return events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrent", type=int, default=20)
    # One SIPp process streams the audio of a handful of calls well; twenty calls from one lost their audio
    # half a minute in (heard as silence by the agents), as the soak found too.
    ap.add_argument("--callers", type=int, default=4, help="SIPp processes sharing the calls (default 4)")
    # Early enough that the killed agent's callers (30 s at least) are still on the line for the rescue.
    ap.add_argument("--kill-at", type=float, default=15.0, help="seconds into the traffic: SIGKILL an agent")
    ap.add_argument("--node-loss-at", type=float, default=50.0, help="seconds into the traffic: stop pbx-b")
    ap.add_argument("--end-at", type=float, default=95.0, help="seconds into the traffic: no new calls")
    ap.add_argument("--kamailio-port", type=int, default=int(os.environ.get("KAMAILIO_PORT", "15070")))
    ap.add_argument("--sipp", default=shutil.which("sipp") or "sipp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".run" / "cluster")
    args = ap.parse_args()
    cache = Path(os.environ.get("ARI_AGENT_CACHE") or Path.home() / ".cache" / "ari-agent")
    asterisk_root = cache / "asterisk-root"
    dsn = os.environ.get("ARI_AGENT_DB_DSN", "postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent")

    for node in NODES:
        if not node_up_in_dispatcher(args.run_dir, node):
            raise SystemExit(f"Kamailio does not list {node} as up: run scripts/cluster-up.sh first")
    started = datetime.now(UTC)
    print("cluster: booking race across the nodes", flush=True)
    race = asyncio.run(booking_race(dsn))
    print(f"  booked at once by {race['booked_at_once']}, offered another time: {race['offered_another_time']}, "
          f"double bookings {race['double_bookings']}", flush=True)  # fmt: skip

    workdir = args.run_dir / "sipp"
    shutil.rmtree(workdir, ignore_errors=True)
    voices = available_voices()
    if not voices:
        raise SystemExit("no TTS voice on this machine (flite or espeak-ng): run scripts/setup.sh")
    rng = random.Random(args.seed)
    runs = []
    for i in range(args.callers):
        wd = workdir / f"caller{i}"
        wd.mkdir(parents=True)
        shutil.copy(SCENARIO, wd / "caller.xml")
        runs.append(SippRun(wd, make_recording(rng, voices, wd / "caller.ulaw")))
        (wd / "recording.json").write_text(json.dumps([asdict(u) for u in runs[-1].recording.utterances], indent=1))

    t0 = time.monotonic()
    traffic_start = datetime.now(UTC)
    sipp_started_wall = []
    for i, run in enumerate(runs):
        sipp_started_wall.append(datetime.now(UTC))
        start_sipp(run, args, i, args.concurrent // args.callers + (1 if i < args.concurrent % args.callers else 0))
    print(f"cluster: {args.concurrent} calls at once through Kamailio :{args.kamailio_port}", flush=True)
    killed: dict[str, Any] = {}
    loss: dict[str, Any] = {}
    while time.monotonic() - t0 < args.end_at:
        time.sleep(1)
        elapsed = time.monotonic() - t0
        if not all(alive(run.pid) for run in runs):
            raise SystemExit(f"SIPp exited early; see {workdir}/caller*/errors.log")
        if not killed and elapsed >= args.kill_at:
            loads = {d: active_calls(f"http://127.0.0.1:{agent_port('pbx-a', int(d.name.split('-')[1]))}")
                     for d in agent_dirs(args.run_dir, "pbx-a")}  # fmt: skip
            victim = max(loads, key=lambda d: loads[d])
            pid = int((victim / "agent.pid").read_text())
            killed = {"node": "pbx-a", "agent": victim.name, "pid": pid, "active_calls": loads[victim],
                      "at": datetime.now(UTC), "mono": time.monotonic()}  # fmt: skip
            os.kill(pid, signal.SIGKILL)
            print(f"  t={elapsed:5.1f}s SIGKILL {victim.name} of pbx-a (pid {pid}, {loads[victim]} calls)", flush=True)
        if not loss and elapsed >= args.node_loss_at:
            created = [sipp_created(run) for run in runs]
            with psycopg.connect(dsn, autocommit=True) as db:
                open_rows = [r[0] for r in db.execute(
                    "SELECT call_id FROM calls WHERE node = 'pbx-b' AND ended_at IS NULL AND started_at >= %s",
                    (traffic_start,))]  # fmt: skip
            loss = {"node": "pbx-b", "at": datetime.now(UTC), "calls_created_before": created,
                    "open_calls": open_rows}  # fmt: skip
            node_script("pbx-b", "asterisk-stop.sh")
            print(f"  t={elapsed:5.1f}s stopped pbx-b's Asterisk ({len(open_rows)} calls on it, "
                  f"{sum(created)} calls placed so far)", flush=True)  # fmt: skip
        if loss and "out_of_rotation_s" not in loss and not node_up_in_dispatcher(args.run_dir, "pbx-b"):
            loss["out_of_rotation_s"] = round((datetime.now(UTC) - loss["at"]).total_seconds(), 1)
    for run in runs:
        os.kill(run.pid, signal.SIGUSR1)  # no new calls; the running ones end as they would (at most 90 s)
    print(f"cluster: {sum(sipp_created(r) for r in runs)} calls placed; waiting for the last ones to end", flush=True)
    deadline = time.monotonic() + 150
    while any(alive(r.pid) for r in runs) and time.monotonic() < deadline:
        time.sleep(1)
    created = []
    for run in runs:
        if alive(run.pid):
            os.kill(run.pid, signal.SIGKILL)
        run.read_log()
        created.append(sipp_created(run))
    created_total = sum(created)
    answers = {cid: t for run in runs for cid, t in run.answers.items()}

    node_script("pbx-b", "asterisk-start.sh")
    back_t = time.monotonic()
    while not node_up_in_dispatcher(args.run_dir, "pbx-b") and time.monotonic() - back_t < 30:
        time.sleep(0.5)
    back_s = round(time.monotonic() - back_t, 1) if node_up_in_dispatcher(args.run_dir, "pbx-b") else None

    # Rows of calls still open: the agents close them as their sessions end (pbx-b's agents once they
    # reconnect to the restarted node and find the channels gone).
    ids = list(answers)
    for _ in range(90):
        with psycopg.connect(dsn, autocommit=True) as db:
            row = db.execute("SELECT count(*) FROM calls WHERE sip_call_id = ANY(%s) AND ended_at IS NULL",
                             (ids,)).fetchone()  # fmt: skip
        if row and row[0] == 0:
            break
        time.sleep(1)

    with psycopg.connect(dsn, autocommit=True) as db:
        rows = db.execute(
            "SELECT sip_call_id, call_id, node, outcome, channel_uniqueid FROM calls WHERE sip_call_id = ANY(%s)",
            (ids,),
        ).fetchall()
        restarted = {r[0]: r[1] for r in db.execute(
            "SELECT call_id, at FROM call_events WHERE code = 'agent-restarted' AND at >= %s", (traffic_start,))}
    by_sip: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_sip.setdefault(r[0], []).append(r)
    per_node: dict[str, int] = {}
    for sip_rows in by_sip.values():
        per_node[sip_rows[0][2] or "?"] = per_node.get(sip_rows[0][2] or "?", 0) + 1
    killed_calls = sorted(r[1] for r in rows if r[1] in restarted and r[2] == "pbx-a")
    queued = queue_log(asterisk_root)
    channel_of = {r[1]: r[4] for r in rows}
    reached_queue = sorted(c for c in killed_calls if "ENTERQUEUE" in queued.get(channel_of[c], set()))
    reached_person = sorted(c for c in killed_calls if "CONNECT" in queued.get(channel_of[c], set()))
    # A caller who hung up before the restarted agent got to them (it starts in ~4 s on an idle machine, 18 s
    # was seen with a core busy), or during its apology (RESCUE_APOLOGY_S), is not a call the rescue lost.
    sip_of = {r[1]: r[0] for r in rows}
    run_of = {cid: i for i, run in enumerate(runs) for cid in run.answers}
    gone_first = []
    for c in killed_calls:
        cid = sip_of[c]
        i = run_of.get(cid)
        end = runs[i].ends.get(cid) if i is not None else None
        if end and end[1] == "caller":
            hung_up = sipp_started_wall[i] + timedelta(milliseconds=end[0])
            if hung_up < restarted[c] + timedelta(seconds=RESCUE_APOLOGY_S):
                gone_first.append(c)
    restart_s = round((min(restarted[c] for c in killed_calls) - killed["at"]).total_seconds(), 1) \
        if killed_calls and killed else None
    lost_with_node = sorted(set(loss.get("open_calls", [])))
    n_loss = loss.get("calls_created_before", created)
    after = {cid for i, run in enumerate(runs) for cid in run.answers if call_number(cid) > n_loss[i]}
    attempted_after = created_total - sum(n_loss)
    answered_after_by_agent = sum(1 for cid in after if cid in by_sip)
    # Rows and turns: only calls that neither lost their agent nor their Asterisk are expected to be complete.
    skip = set(killed_calls) | set(lost_with_node)
    normal = [replace(run, answers={c: t for c, t in run.answers.items()
                                    if not any(r[1] in skip for r in by_sip.get(c, []))}) for run in runs]  # fmt: skip
    # SIPp's clock counts from its start: its answers on the machine's clock, the one the agent's rows use.
    answered_wall = {cid: sipp_started_wall[i] + timedelta(milliseconds=tick)
                     for i, run in enumerate(runs) for cid, tick in run.answers.items()}  # fmt: skip
    stored = analyse(dsn, normal, 0, answered_wall)
    without_row = sorted(cid for cid in answers if cid not in by_sip)

    out: dict[str, Any] = {
        "when": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "nodes": sorted(NODES),
        "agents_per_node": len(agent_dirs(args.run_dir, "pbx-a")),
        "calls": created_total,
        "answered_calls": len(answers),
        "calls_per_node": dict(sorted(per_node.items())),
        "agent_killed": {
            **{k: v for k, v in killed.items() if k not in ("at", "mono")},
            "calls_on_it": len(killed_calls),
            "back_after_s": restart_s,
            "callers_gone_before_the_rescue": len(gone_first),
            "sent_to_queue": len(reached_queue),
            "answered_by_person": len(reached_person),
        },
        "node_lost": {
            "node": loss.get("node"),
            "calls_lost_with_it": len(lost_with_node),
            "out_of_rotation_s": loss.get("out_of_rotation_s"),
            "back_in_rotation_s": back_s,
        },
        "calls_after_node_loss": attempted_after,
        "answered_after_node_loss": len(after),
        "answered_by_agent_after_node_loss": answered_after_by_agent,
        "lost_rows": len(without_row) + stored["lost_transcripts"] + stored["lost_turns"],
        "lost_rows_detail": {
            "answered_without_a_call_row": without_row[:20],
            "calls_without_transcript": stored["lost_transcripts"],
            "caller_turns_sent_not_stored": stored["lost_turns"],
            "calls_with_lost_turns": stored["calls_with_lost_turns"],
        },
        "duplicated_rows": stored["duplicated_rows"] + sum(len(v) - 1 for v in by_sip.values()),
        "double_bookings": race["double_bookings"],
        "booking_race": {k: v for k, v in race.items() if k != "replies"},
        "outcomes": stored["outcomes"],
        "turn_latency_ms": stored["turn_latency_ms"],
    }
    checks = {
        "calls landed on both nodes": all(per_node.get(n, 0) > 0 for n in NODES),
        "the killed agent's calls went to the queue": bool(killed) and bool(reached_queue)
        and set(killed_calls) - set(gone_first) <= set(reached_queue),
        "every call placed after the node loss was answered": len(after) == attempted_after and attempted_after > 0,
        "pbx-b left and rejoined Kamailio's rotation": bool(loss.get("out_of_rotation_s") is not None and back_s
                                                            is not None),
        "no row lost": out["lost_rows"] == 0,
        "no row duplicated": out["duplicated_rows"] == 0,
        "one booking and one offer in the race": race["bookings"] == 2 and len(race["booked_at_once"]) == 1
        and len(race["offered_another_time"]) == 1 and race["offer_then_booked"],
        "no double booking": race["double_bookings"] == 0,
    }
    out["checks"] = checks
    out["passed"] = all(checks.values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(json.dumps(out, indent=2, default=str))
    if not checks["no row lost"]:
        # Last, so that the tail CI keeps holds each lost call's timeline.
        for loss in stored["calls_with_lost_turns"]:
            print(f"  lost turn: {json.dumps({k: v for k, v in loss.items() if k != 'agent'}, default=str)}")
            for line in loss.get("agent", []):
                print(f"      {line}")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
