"""The `ari-agent` command: run, check, db, calls, demo-call."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ari_agent.config import ConfigError, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """Serve calls until SIGTERM/SIGINT."""
    from ari_agent.app import serve

    settings = _settings(args)
    asyncio.run(serve(settings))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Probe every component; non-zero exit if any is not ok."""
    from ari_agent.check import run_checks

    results = asyncio.run(run_checks(_settings(args)))
    for result in results:
        print(result.line())
    return 0 if all(r.ok for r in results) else 1


def cmd_db(args: argparse.Namespace) -> int:
    """Schema migrations and retention."""
    settings = _settings(args)
    if args.db_command == "upgrade":
        from ari_agent.store.migrate import upgrade

        upgrade(settings.database.dsn, args.revision)
        print(f"database schema at {args.revision}")
    elif args.db_command == "downgrade":
        from ari_agent.store.migrate import downgrade

        downgrade(settings.database.dsn, args.revision)
        print(f"database schema at {args.revision}")
    elif args.db_command == "purge":
        from ari_agent.recording import calls_older_than, delete_call_dirs
        from ari_agent.store.queries import purge_older_than

        days = _parse_days(args.older_than)
        # The ids first: once the rows are gone nothing says which recording directories were theirs.
        doomed = asyncio.run(calls_older_than(settings.database.dsn, days))
        result = asyncio.run(purge_older_than(settings.database.dsn, days))
        removed = delete_call_dirs(Path(settings.recording.directory), doomed)
        print(f"purged {result.calls} calls and {result.cdrs} CDRs older than {days} days")
        print(f"deleted {removed} call recordings")
    return 0


def _parse_days(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*d?", text.strip())
    if not match:
        raise ConfigError(f"--older-than {text!r}: expected a number of days such as 90d")
    return int(match.group(1))


def cmd_calls(args: argparse.Namespace) -> int:
    """List calls or show one."""
    from ari_agent.store import cli_views

    settings = _settings(args)
    if args.calls_command == "list":
        return asyncio.run(cli_views.print_calls(settings, args))
    return asyncio.run(cli_views.print_call(settings, args.call_id))


def cmd_demo_call(args: argparse.Namespace) -> int:
    """Place one simulated call through the real Asterisk and print its transcript."""
    from ari_agent.demo import run_demo_call

    settings = _settings(args)
    # The demo records its call, so that `ari-agent export-call` can turn it into a replay case.
    settings = dataclasses.replace(settings, recording=dataclasses.replace(settings.recording, enabled=True))
    return asyncio.run(
        run_demo_call(settings, args.script, timeout=args.timeout, verbose=args.verbose, voice=args.voice)
    )


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay cases (offline, or through Asterisk with --live) and report; 0 only if every case passes."""
    from ari_agent.replay.runner import replay

    settings = _settings(args)
    report = Path(args.report) if args.report else None
    if args.jobs < 1:
        print(f"replay: --jobs must be 1 or more, got {args.jobs}")
        return 2
    paths = [Path(p) for p in args.case_dirs]
    return asyncio.run(replay(settings, paths, report=report, live=args.live, jobs=args.jobs))


def cmd_simulate(args: argparse.Namespace) -> int:
    """Goal-driven simulated callers through the real agent, offline; the report says who got what they wanted."""
    from ari_agent.sim.simulate import simulate

    settings = _settings(args)
    if args.calls < 1 or args.jobs < 1:
        print(f"simulate: --calls and --jobs must be 1 or more, got {args.calls} and {args.jobs}")
        return 2
    report = Path(args.report) if args.report else None
    only = frozenset(args.only or ())
    if any(i < 0 or i >= args.calls for i in only):
        print(f"simulate: --only takes call numbers from 0 to {args.calls - 1} (the run's --calls), got {sorted(only)}")
        return 2
    return asyncio.run(
        simulate(
            settings, calls=args.calls, seed=args.seed, jobs=args.jobs, text=args.text, report_path=report,
            threshold=args.min_success, max_wrong_writes=args.max_wrong_writes, verbose=args.verbose, only=only,
        )
    )  # fmt: skip


def cmd_export_call(args: argparse.Namespace) -> int:
    """Write a replay case (call.yaml + caller WAVs) from a recorded call."""
    from ari_agent.replay.export import ExportError, export_call

    settings = _settings(args)
    try:
        path = asyncio.run(export_call(settings, args.call_id, Path(args.dir)))
    except ExportError as exc:
        print(f"ari-agent export-call: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}: confirm the transcripts, intents and expectations before adding it to the corpus")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="ari-agent", description="Self-hosted voice agent for Asterisk.")
    parser.add_argument(
        "--config", "-c", help="TOML settings file (default: $ARI_AGENT_CONFIG, else built-in defaults)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="serve calls for an Asterisk (until SIGTERM)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="probe every configured component and print one line each")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("db", help="database schema and retention")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    q = dbsub.add_parser("upgrade", help="apply migrations (alembic upgrade)")
    q.add_argument("revision", nargs="?", default="head")
    q.set_defaults(func=cmd_db)
    q = dbsub.add_parser("downgrade", help="revert migrations to REVISION (e.g. base)")
    q.add_argument("revision")
    q.set_defaults(func=cmd_db)
    q = dbsub.add_parser("purge", help="delete calls (and their turns, events, recordings) older than N days")
    q.add_argument("--older-than", required=True, help="age such as 90d")
    q.set_defaults(func=cmd_db)

    p = sub.add_parser("calls", help="what happened on calls")
    csub = p.add_subparsers(dest="calls_command", required=True)
    q = csub.add_parser("list", help="recent calls")
    q.add_argument("--outcome")
    q.add_argument("--reason", help="handoff reason")
    q.add_argument("--caller")
    q.add_argument("--node", help="only calls this Asterisk node took")
    q.add_argument("--limit", type=int, default=20)
    q.set_defaults(func=cmd_calls)
    q = csub.add_parser("show", help="one call: transcript, events, CDR")
    q.add_argument("call_id")
    q.set_defaults(func=cmd_calls)

    p = sub.add_parser(
        "demo-call", help="place one simulated caller through Asterisk and print the transcript"
    )
    p.add_argument("--script", help="YAML case with the caller's turns (default: the built-in booking call)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--verbose", "-v", action="store_true", help="print every CallEvent as it happens")
    p.add_argument("--voice", default="rms", help="caller voice: a flite voice, or espeak:<voice> (default rms)")
    p.set_defaults(func=cmd_demo_call)

    p = sub.add_parser("replay", help="replay call cases (a dir with call.yaml, or a dir of them) and report")
    p.add_argument("case_dirs", nargs="+", metavar="CASE_DIR")
    p.add_argument("--report", metavar="FILE.json", help="write the report as JSON too")
    p.add_argument("--live", action="store_true", help="through the real Asterisk (default: offline)")
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help="offline cases replayed at once (default 1; --live always runs one call at a time)",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("simulate", help="goal-driven simulated callers (every voice and line), judged by outcome")
    p.add_argument("--calls", type=int, default=50, metavar="N", help="how many calls (default 50)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="the same seed draws the same calls (default 1)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="J", help="calls run at once (default 1)")
    p.add_argument("--text", action="store_true", help="callers type instead of speak (no TTS, no ASR)")
    p.add_argument("--report", metavar="FILE.json", help="write the whole report as JSON")
    p.add_argument("--min-success", type=float, metavar="RATE", help="exit 1 when task success is below RATE")
    p.add_argument("--max-wrong-writes", type=int, metavar="N", help="exit 1 when more wrong values were written")
    p.add_argument("--verbose", "-v", action="store_true", help="print the transcript of every failed call")
    p.add_argument(
        "--only", type=int, nargs="+", metavar="I",
        help="run only these call numbers of the run (as the report numbers them: #I), e.g. to look at a failure again",
    )  # fmt: skip
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("export-call", help="turn a recorded call into a replay case (call.yaml + WAVs)")
    p.add_argument("call_id")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=cmd_export_call)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ari-agent` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"ari-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
