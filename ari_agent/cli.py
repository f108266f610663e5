"""The `ari-agent` command: run, check, db, calls, demo-call."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

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
        from ari_agent.store.queries import purge_older_than

        days = _parse_days(args.older_than)
        result = asyncio.run(purge_older_than(settings.database.dsn, days))
        print(f"purged {result.calls} calls and {result.cdrs} CDRs older than {days} days")
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
    return asyncio.run(
        run_demo_call(settings, args.script, timeout=args.timeout, verbose=args.verbose, voice=args.voice)
    )


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
