"""`ari-agent calls list` / `ari-agent calls show ID`: the supervisor's view of calls, in a terminal."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from ari_agent.config import Settings
from ari_agent.store import queries
from ari_agent.web.format import hint_note

_LOGGER = logging.getLogger(__name__)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def format_calls(calls: list[queries.CallRow]) -> str:
    """One line per call, newest first."""
    lines = [
        f"{'started':19}  {'call id':36}  {'node':12}  {'caller':14}  {'secs':>5}  {'outcome':11}  {'turns':>5}  reason"
    ]
    for c in calls:
        secs = f"{c['duration_seconds']:.0f}" if c["duration_seconds"] is not None else "live"
        lines.append(
            f"{_time(c['started_at']):19}  {c['call_id']:36}  {c.get('node') or '-':12}  "
            f"{c['caller_number'] or '-':14}  {secs:>5}  "
            f"{c['outcome'] or '-':11}  {c['turn_count']:>5}  {c['handoff_reason'] or ''}"
        )
    return "\n".join(lines)


def format_call(detail: queries.CallDetail) -> str:
    """The call header, its timeline (turns with intents, events with codes) and linked CDRs."""
    c = detail["call"]
    lines = [
        f"call {c['call_id']}  caller {c['caller_number'] or '-'} {c['caller_name'] or ''}  "
        f"ext {c['extension'] or '-'}  node {c.get('node') or '-'}",
        f"  started {_time(c['started_at'])}  answered {_time(c['answered_at'])}  ended {_time(c['ended_at'])}",
        f"  outcome {c['outcome'] or '-'}  booking {c['booking_ref'] or '-'}  handoff "
        f"{c['handoff_reason'] or '-'} {c['handoff_queue'] or ''}",
        f"  channel {c['channel_uniqueid'] or '-'}  linkedid {c['linkedid'] or '-'}  sip {c['sip_call_id'] or '-'}",
        "",
    ]
    for entry in detail["timeline"]:
        item: Any = entry["item"]
        if entry["type"] == "turn":
            extra = ""
            if item["speaker"] == "caller":
                conf = item["intent_confidence"]
                asr = item["asr_confidence"]
                extra = f"   [intent {item['intent'] or '?'}" + (f" {conf:.2f}" if conf is not None else "")
                extra += (f", asr {asr:.2f}" if asr is not None else "") + "]"
                hint = hint_note(item.get("asr_hint"))
                if hint:
                    extra += f"   ({hint})"
            if item["barge_in"]:
                extra += "   (interrupted)"
            lines.append(f"  {item['seq']:>3} {item['speaker']:>6}: {item['text']}{extra}")
        else:
            data = json.dumps(item["data"], default=str, ensure_ascii=False)
            lines.append(f"  {item['seq']:>3}  ** {item['kind']} {item['code'] or ''} {data}")
    if detail["cdrs"]:
        lines.append("")
        lines.append("  CDRs (Asterisk):")
        for d in detail["cdrs"]:
            lines.append(
                f"    [{d['matched_by']}] {d['uniqueid']} {d['channel']} -> {d['dstchannel'] or '-'} "
                f"{d['disposition']} billsec {d['billsec']} lastapp {d['lastapp']}"
            )
    return "\n".join(lines)


async def print_calls(settings: Settings, args: argparse.Namespace) -> int:
    """Print recent calls filtered by --outcome, --reason, --caller, --node, --limit."""
    calls = await queries.list_calls(
        settings.database.dsn,
        outcome=getattr(args, "outcome", None),
        handoff_reason=getattr(args, "reason", None),
        caller_number=getattr(args, "caller", None),
        node=getattr(args, "node", None),
        limit=getattr(args, "limit", 20) or 20,
    )
    print(format_calls(calls))
    return 0


async def print_call(settings: Settings, call_id: str) -> int:
    """Print one call; exit status 1 when it is unknown."""
    detail = await queries.get_call(settings.database.dsn, call_id)
    if detail is None:
        print(f"no call {call_id!r}")
        return 1
    print(format_call(detail))
    return 0
