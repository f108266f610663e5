"""`ari-agent export-call CALL_ID DIR`: a recorded call becomes a replay case for a person to confirm.

The call's row comes from PostgreSQL (outcome, handoff reason, caller, start time, caller turns with their
intents); the turns' audio and order come from the recording's manifest. Every transcript written into
call.yaml is what the recogniser heard, marked "to confirm": a reference transcript must be checked by ear.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import yaml

from ari_agent.config import Settings
from ari_agent.recording import read_manifest, resolve_call_dir
from ari_agent.replay.case import CASE_FILE

_LOGGER = logging.getLogger(__name__)


class ExportError(RuntimeError):
    """The call cannot be exported; the message says why."""


def build_case(call: dict[str, Any], manifest: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The call.yaml content and the recording files it references (pure: no I/O)."""
    head = call["call"]
    caller_turns = [t for t in call.get("turns", []) if t.get("speaker") == "caller"]
    # Manifest entries the agent answered (heard speech, DTMF) were written as caller turns, in the same order.
    answered = iter(caller_turns)
    turns: list[dict[str, Any]] = []
    files: list[str] = []
    for entry in manifest:
        kind = entry.get("kind")
        if kind == "speech":
            turn: dict[str, Any] = {"audio": entry["file"]}
            files.append(str(entry["file"]))
            row = next(answered, None) if entry.get("heard", True) else None
            text = str(entry.get("text") or "")
            turn["text"] = text
            if row is not None and row.get("intent"):
                turn["intent"] = row["intent"]
            if entry.get("barge_in"):
                turn["barge_in"] = True
            turns.append(turn)
        elif kind == "dtmf":
            next(answered, None)
            turns.append({"dtmf": str(entry.get("digit", ""))})
        elif kind == "no_input":
            turns.append({"silence": round(int(entry.get("waited_ms", 0)) / 1000 + 0.5, 1)})
    expect: dict[str, Any] = {"outcome": head.get("outcome") or "hangup"}
    if head.get("handoff_reason"):
        expect["handoff_reason"] = head["handoff_reason"]
    started = head.get("started_at")
    case: dict[str, Any] = {
        "description": f"exported from call {head.get('call_id')} - TO CONFIRM: describe the call",
    }
    if started is not None:
        case["now"] = started.astimezone().replace(tzinfo=None, microsecond=0).isoformat()
    if head.get("caller_number"):
        case["caller"] = str(head["caller_number"])
    case["turns"] = turns
    case["expect"] = expect
    return case, files


async def export_call(settings: Settings, call_id: str, target: Path) -> Path:
    """Write TARGET/call.yaml and the caller turn WAVs of a recorded call; returns the case file's path."""
    from ari_agent.store.queries import get_call

    call = await get_call(settings.database.dsn, call_id)
    if call is None:
        raise ExportError(f"call {call_id} is not in the database")
    head = call["call"]
    directory = resolve_call_dir(Path(settings.recording.directory), head.get("recording_path"), call_id)
    manifest = read_manifest(directory)
    if not head.get("recording_path") and not manifest:
        raise ExportError(f"call {call_id} has no recording (was [recording] enabled = true?)")
    if not manifest:
        raise ExportError(f"call {call_id}: its recording {directory} is missing or has no manifest")
    case, files = build_case(dict(call), manifest)
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        source = directory / name
        if not source.is_file():
            raise ExportError(f"call {call_id}: recording file {source} is missing")
        shutil.copyfile(source, target / name)
    text = yaml.safe_dump(case, sort_keys=False, allow_unicode=True, width=110)
    header = (
        "# Exported by `ari-agent export-call`. TO CONFIRM before adding to the corpus: each turn's `text` is what\n"
        "# the recogniser heard (correct it to what the caller said), each `intent` and the `expect` block are\n"
        "# what the agent did (correct them to what it SHOULD have done).\n"
    )
    path = target / CASE_FILE
    path.write_text(header + text, encoding="utf-8")
    return path
