"""Call recording: each caller turn as the agent's endpointing cut it, and each prompt the agent played.

Layout of one call: `<directory>/<call_id>/caller-NN.wav` (16 kHz mono, pre-roll to end of the turn),
`agent-NN.wav` (a hard link to, or copy of, the prompt WAV that was played) and `manifest.jsonl`, one JSON
line per thing that happened in order (caller speech, DTMF, no input, agent prompt). The manifest is what
`ari-agent export-call` turns into a replay case, so a recording is self-describing even without the database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ari_agent.media.audio import SAMPLE_RATE, write_wav

_LOGGER = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
_DIR_MODE = 0o755  # the supervisor pages (and Asterisk in its chroot) may run as other users
_FILE_MODE = 0o644  # agent-NN.wav is a hard link to a prompt Asterisk plays: it keeps the prompt's mode
# What the caller said (their voice, the manifest's text): the agent's user and its group only.
_PRIVATE_MODE = 0o640


@dataclass
class _CallFiles:
    directory: Path
    caller: int = 0
    agent: int = 0
    entries: int = 0


@dataclass
class CallRecorder:
    """Writes the recordings of every call of one agent process."""

    directory: Path
    # Applied to every text the manifest keeps (what the caller said or keyed in): the same redaction as the
    # transcript store, so a card number read out is not kept in clear next to the recording.
    redact: Callable[[str], str] = str
    _calls: dict[str, _CallFiles] = field(default_factory=dict)

    def call_dir(self, call_id: str) -> Path:
        """The directory of one call's recording."""
        if not call_id or "/" in call_id or call_id.startswith("."):
            raise ValueError(f"unsafe call id for a directory name: {call_id!r}")
        return self.directory / call_id

    def start(self, call_id: str) -> Path:
        """Create the call's directory; returns it (stored as calls.recording_path)."""
        path = self.call_dir(call_id)
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.chmod(_DIR_MODE)
            self.directory.chmod(_DIR_MODE)
        self._calls[call_id] = _CallFiles(path)
        return path

    def _files(self, call_id: str) -> _CallFiles:
        files = self._calls.get(call_id)
        if files is None:
            self.start(call_id)
            files = self._calls[call_id]
        return files

    def caller_turn(
        self, call_id: str, pcm16k: bytes, *, text: str, barge_in: bool = False, heard: bool = True
    ) -> Path:
        """Save one caller utterance (16 kHz s16le); returns the WAV's path."""
        files = self._files(call_id)
        files.caller += 1
        path = files.directory / f"caller-{files.caller:02d}.wav"
        write_wav(path, pcm16k, SAMPLE_RATE)
        with contextlib.suppress(OSError):
            path.chmod(_PRIVATE_MODE)
        self._note(
            files,
            kind="speech",
            file=path.name,
            text=self.redact(text),
            barge_in=barge_in,
            heard=heard,
            audio_ms=len(pcm16k) * 1000 // (2 * SAMPLE_RATE),
        )
        return path

    def dtmf(self, call_id: str, digit: str) -> None:
        """Note a DTMF digit the caller pressed."""
        self._note(self._files(call_id), kind="dtmf", digit=self.redact(digit))

    def no_input(self, call_id: str, waited_ms: int) -> None:
        """Note that the caller said nothing for `waited_ms`."""
        self._note(self._files(call_id), kind="no_input", waited_ms=waited_ms)

    def agent_turn(self, call_id: str, prompt_path: Path | None, text: str) -> Path | None:
        """Keep the prompt the agent played as agent-NN.wav; returns its path (None when there is no file)."""
        files = self._files(call_id)
        files.agent += 1
        target: Path | None = None
        if prompt_path is not None and Path(prompt_path).is_file():
            target = files.directory / f"agent-{files.agent:02d}.wav"
            target.unlink(missing_ok=True)
            try:
                # A hard link costs no space; prompts and recordings usually share a filesystem.
                os.link(prompt_path, target)
            except OSError:
                shutil.copyfile(prompt_path, target)
            with contextlib.suppress(OSError):
                target.chmod(_FILE_MODE)
        self._note(files, kind="agent", file=target.name if target else None, text=text)
        return target

    def finish(self, call_id: str) -> None:
        """Forget the call's counters (its files stay)."""
        self._calls.pop(call_id, None)

    def _note(self, files: _CallFiles, **entry: Any) -> None:
        files.entries += 1
        entry = {"n": files.entries, "at": round(time.time(), 3), **entry}
        fd = os.open(files.directory / MANIFEST, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _PRIVATE_MODE)
        with open(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read_manifest(call_dir: Path) -> list[dict[str, Any]]:
    """The manifest entries of one recorded call, in order ([] when there is none)."""
    path = call_dir / MANIFEST
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def resolve_call_dir(directory: Path, recording_path: str | None, call_id: str) -> Path:
    """Where a call's recording is on this host: calls.recording_path if it exists, else <directory>/<call_id>."""
    if recording_path:
        candidate = Path(recording_path)
        if not candidate.is_absolute():
            candidate = directory / candidate
        if candidate.is_dir():
            return candidate
    return directory / call_id


def delete_call_dirs(directory: Path, call_ids: list[str]) -> int:
    """Delete the recording directories of these calls (only under `directory`); returns how many existed."""
    root = directory.resolve()
    deleted = 0
    for call_id in call_ids:
        if not call_id or "/" in call_id or call_id.startswith("."):
            continue
        path = (directory / call_id).resolve()
        if path.parent != root or not path.is_dir():
            continue
        shutil.rmtree(path, ignore_errors=True)
        deleted += 1
    return deleted


def prune_older_than(directory: Path, days: float) -> int:
    """Delete call directories last written more than `days` days ago (retention); returns how many."""
    if days <= 0 or not directory.is_dir():
        return 0
    limit = time.time() - days * 86400
    old = [p.name for p in directory.iterdir() if p.is_dir() and p.stat().st_mtime < limit]
    return delete_call_dirs(directory, old)


async def calls_older_than(dsn: str, days: float) -> list[str]:
    """Ids of the calls `purge_older_than(dsn, days)` will delete (same condition), read before it runs."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT call_id FROM calls WHERE started_at < now() - make_interval(secs => %s)", [float(days) * 86400]
        )
        return [str(row[0]) for row in await cur.fetchall()]
