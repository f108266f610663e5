"""`ari-agent demo-call`: one synthesized caller books an appointment through the real stack.

The agent runs in this process (the same Agent as `ari-agent run`), the caller is a Local channel in Asterisk
playing speech synthesized with a different voice (espeak-ng) than the agent's, and the transcript printed at
the end is read back from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ari_agent.app import Agent
from ari_agent.config import Settings
from ari_agent.events import CallEvent, EventBus, EventRecorder, EventType
from ari_agent.sim.caller import CallerTurn, SimulatedCaller
from ari_agent.web.format import hint_note

_LOGGER = logging.getLogger(__name__)

DEMO_SCRIPT: dict[str, Any] = {
    "description": "a caller books a cleaning, giving the day and time in one go",
    "turns": [
        {"text": "Hello, I need an appointment for a cleaning."},
        {"text": "Next Tuesday at half past two in the afternoon."},
        {"text": "My name is Jennifer Wood."},
        {"text": "Yes, that's right."},
        {"text": "No, that's all. Thank you, goodbye."},
    ],
}


class CallerVoice:
    """Renders the caller's lines to 16 kHz WAVs inside Asterisk's view of the sounds directory.

    The caller speaks with another voice than the agent (flite "rms" by default, or an espeak-ng voice
    written "espeak:en-us"), so the recogniser never hears the agent's own voice as the caller.
    """

    def __init__(self, settings: Settings, voice: str = "rms") -> None:
        self.host_dir = Path(settings.tts.cache_dir) / "caller"
        self.asterisk_dir = settings.tts.asterisk_sound_dir.rstrip("/") + "/caller"
        self.voice = voice
        self.host_dir.mkdir(parents=True, exist_ok=True)

    async def render(self, text: str) -> str:
        """Sound URI of `text` spoken by the caller's voice."""
        name = hashlib.sha256(f"{self.voice}|{text}".encode()).hexdigest()[:20]
        # Asterisk reads 16 kHz WAVs only under the .wav16 extension.
        target = self.host_dir / f"{name}.wav16"
        if not target.exists():
            raw = self.host_dir / f"{name}.raw.wav"
            if self.voice.startswith("espeak:"):
                await _run("espeak-ng", "-v", self.voice.removeprefix("espeak:"), "-s", "150", "-w", str(raw), text)
            else:
                await _run("flite", "-voice", self.voice, "-t", text, "-o", str(raw))
            await _to_wav16(raw, target)
            raw.unlink(missing_ok=True)
            target.chmod(0o644)
        return f"sound:{self.asterisk_dir}/{name}"

    async def from_wav(self, path: Path) -> str:
        """Sound URI of a recorded caller turn (converted to 16 kHz mono for Asterisk)."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
        target = self.host_dir / f"rec-{digest}.wav16"
        if not target.exists():
            await _to_wav16(path, target)
            target.chmod(0o644)
        return f"sound:{self.asterisk_dir}/rec-{digest}"


async def _to_wav16(source: Path, target: Path) -> None:
    # Asterisk reads 16 kHz mono WAVs only under the .wav16 extension, so sox is told the format explicitly.
    await _run("sox", str(source), "-r", "16000", "-c", "1", "-b", "16", "-t", "wav", str(target))


async def _run(*cmd: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise RuntimeError(f"{cmd[0]} is not installed (apt-get install {cmd[0]})")
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed: {err.decode(errors='replace')[:300]}")


async def script_to_turns(script: dict[str, Any], voice: CallerVoice, base: Path | None = None) -> list[CallerTurn]:
    """Caller turns of a case (the replay case format) as things the simulated caller does."""
    turns: list[CallerTurn] = []
    for turn in script.get("turns", []):
        barge = 600 if turn.get("barge_in") else None
        if "dtmf" in turn:
            turns.append(CallerTurn(dtmf=str(turn["dtmf"]), barge_in_after_ms=barge))
        elif "silence" in turn:
            turns.append(CallerTurn(silence_s=float(turn["silence"])))
        elif "audio" in turn and base is not None:
            turns.append(CallerTurn(sound=await voice.from_wav(base / str(turn["audio"])), barge_in_after_ms=barge))
        elif "text" in turn:
            turns.append(CallerTurn(sound=await voice.render(str(turn["text"])), barge_in_after_ms=barge))
        if turn.get("hangup"):
            turns.append(CallerTurn(hangup=True))
    return turns


def _print_event(event: CallEvent) -> None:
    shown = {k: v for k, v in event.data.items() if k not in ("entities", "slots", "replies")}
    print(f"  {event.at.strftime('%H:%M:%S.%f')[:-3]} {event.type.value:<17} {shown}")


async def run_demo_call(
    settings: Settings, script_path: str | None, *, timeout: float, verbose: bool = False, voice: str = "rms"
) -> int:
    """Place the demo call, print the transcript from PostgreSQL and the outcome."""
    from ari_agent.store.queries import get_call

    script = yaml.safe_load(Path(script_path).read_text()) if script_path else DEMO_SCRIPT
    base = Path(script_path).parent if script_path else None
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    if verbose:
        bus.subscribe(_print_event)
    turns = await script_to_turns(script, CallerVoice(settings, voice), base)
    print(f"demo: {script.get('description', '')}")
    # Its own booking scope per run: the demo books the same slot every time, and a second run must not find
    # it taken by the first (the transcript and CDR land in the database as for any call).
    scope = f"demo-{uuid.uuid4().hex[:10]}"
    async with Agent(settings, bus=bus, serve_http=False, scope=scope) as agent:
        assert agent.listener is not None
        async with asyncio.timeout(15):
            await agent.listener.connected.wait()
        async with SimulatedCaller(settings.ari.url, settings.ari.username, settings.ari.password, bus) as caller:
            call_id = await caller.dial()
            print(f"demo: call {call_id} answered by the agent")
            async with asyncio.timeout(timeout):
                ended = await caller.run_turns(turns)
            await recorder.wait_for(EventType.CALL_ENDED, call_id, timeout=15)
    # Leaving the Agent flushed the transcript writer: what we print now comes from the database.
    call = await get_call(settings.database.dsn, call_id)
    if call is None:
        print(f"demo: call {call_id} is NOT in the database")
        return 1
    print()
    print(format_transcript(call))
    outcome = ended.data.get("outcome")
    print(f"\noutcome: {outcome}  handoff reason: {ended.data.get('handoff_reason') or '-'}")
    return 0 if outcome in ("booked", "handoff", "answered", "cancelled", "rescheduled") else 1


def format_transcript(call: Mapping[str, Any]) -> str:
    """Who said what, with intents: the same view as `ari-agent calls show`."""
    head = call["call"]
    lines = [
        f"call {head.get('call_id')}  caller {head.get('caller_number') or '-'}  "
        f"outcome {head.get('outcome')}  booking {head.get('booking_ref') or '-'}"
    ]
    for turn in call.get("turns", []):
        who = "caller" if turn.get("speaker") == "caller" else "agent "
        extra = ""
        if turn.get("speaker") == "caller":
            intent = turn.get("intent") or "?"
            conf = turn.get("intent_confidence")
            asr = turn.get("asr_confidence")
            extra = f"   [intent {intent}" + (f" {conf:.2f}" if isinstance(conf, float) else "") + (
                f", asr {asr:.2f}]" if isinstance(asr, float) else "]"
            )
            hint = hint_note(turn.get("asr_hint"))
            if hint:
                extra += f"   ({hint})"
        lines.append(f"  {who}: {turn.get('text')}{extra}")
    cdrs = call.get("cdrs") or []
    if cdrs:
        lines.append(f"  CDR rows linked: {len(cdrs)}")
    return "\n".join(lines)
