"""Where the agent's CPU goes under load: py-spy samples the benchmark's own process (the agent runs in it) with
native frames, so time inside Vosk's decoder shows under the Python call that entered it.

Only the sampled stacks are written (raw "frame;frame;... count" lines); `top_entries` reads them back as the
functions that hold the most samples, by themselves and with what they call.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# "name (path/file.py:123)" -> "name (file.py)"; native frames "0x7f.. (libfoo.so.1)" -> "libfoo.so.1", and C++
# names without their template arguments ("fst::ArcIterator<...>::Value (libvosk.so)" -> "fst::ArcIterator::Value").
_PY_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")
_ADDRESS = re.compile(r"^0x[0-9a-f]+ \((?P<lib>[^)]+)\)$")
_TEMPLATE = re.compile(r"<[^<>]*>")


def _frame(label: str, *, line: bool = False) -> str:
    address = _ADDRESS.match(label)
    if address:
        return address["lib"]
    m = _PY_FRAME.match(label)
    if not m:
        return label
    name = m["name"]
    while "<" in name and _TEMPLATE.search(name):
        name = _TEMPLATE.sub("", name)
    where = m["file"].rsplit("/", 1)[-1]
    if line and m["line"]:
        where += f":{m['line']}"  # which of a function's calls: the open decoder or a constrained one
    return f"{name} ({where})"


class Profiler:
    """py-spy recording this process from start() to stop(); a missing or refused py-spy is reported, never
    fatal (the benchmark's numbers do not depend on it)."""

    def __init__(self, out: Path, rate_hz: int = 25, *, native: bool = False) -> None:
        self.out = out
        self.rate_hz = rate_hz
        # Native frames show time inside Vosk's decoder by C++ function, but py-spy must pause the agent for each
        # sample to read them (it refuses --native with --nonblocking): under a 20 Hz native profile the 20
        # calls' audio was heard 46 s late at the median (bench/results/profile-20calls.json). Without, the
        # agent runs on and Vosk's time shows under the Python line that called it.
        self.native = native
        self.error: str | None = None
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            self.error = "py-spy not installed (it is in the dev extra: make setup)"
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._proc = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(os.getpid()), "--native" if self.native else "--nonblocking", "--format", "raw",
            "--rate", str(self.rate_hz), "--output", str(self.out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)  # py-spy writes its samples on interrupt
        _, err = await proc.communicate()
        if not self.out.exists():
            self.error = f"py-spy exited {proc.returncode}: {err.decode(errors='replace').strip()[-300:]}"


def top_entries(path: Path, n: int = 12) -> dict[str, Any]:
    """The frames holding most samples, as shares of all samples: `self` (the sampled frame itself) and
    `agent_innermost` (the agent's own code the sample was under, with its line)."""
    own: Counter[str] = Counter()
    agent: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")[1:]]  # the first frame names the process
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        # The innermost frame of the agent's own code, with its line: what of ours the time is spent under.
        ours = [label for label in stack.split(";") if "ari_agent/" in label]
        agent[_frame(ours[-1], line=True) if ours else "(outside ari_agent)"] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": k, "share": round(v / samples, 3)} for k, v in counter.most_common(n)]

    return {"samples": samples, "self": share(own), "agent_innermost": share(agent)}
