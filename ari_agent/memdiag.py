"""Memory diagnostics for a running agent: where the memory that grew since start-up was allocated.

Off unless ARI_AGENT_TRACEMALLOC is set to a file path (tracing costs CPU, so it is a diagnosis tool, not a
default). Then `kill -USR2 <pid>` appends to that file the allocation sites that grew most since the first
snapshot (taken when the agent started), by source line.
"""

from __future__ import annotations

import logging
import os
import signal
import tracemalloc
from asyncio import AbstractEventLoop
from datetime import UTC, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
ENV = "ARI_AGENT_TRACEMALLOC"
FRAMES = 8
TOP = 25


def install(loop: AbstractEventLoop) -> None:
    """Start tracing and answer SIGUSR2 with a report, when ARI_AGENT_TRACEMALLOC names a file."""
    target = os.environ.get(ENV, "").strip()
    if not target:
        return
    path = Path(target)
    tracemalloc.start(FRAMES)
    baseline = tracemalloc.take_snapshot()

    def report() -> None:
        snapshot = tracemalloc.take_snapshot()
        grown = snapshot.compare_to(baseline, "traceback")[:TOP]
        current, peak = tracemalloc.get_traced_memory()
        lines = [f"# {datetime.now(UTC).isoformat(timespec='seconds')} traced {current / 1e6:.1f} MB "
                 f"(peak {peak / 1e6:.1f} MB); grown since start, by allocation site:"]  # fmt: skip
        for stat in grown:
            lines.append(f"{stat.size_diff / 1e6:+9.2f} MB {stat.count_diff:+8d} blocks")
            lines += [f"    {line}" for line in stat.traceback.format()[-2 * FRAMES :]]
        with path.open("a") as out:
            out.write("\n".join(lines) + "\n")
        _LOGGER.info("memory report appended to %s", path)

    loop.add_signal_handler(signal.SIGUSR2, report)
    _LOGGER.warning("tracemalloc is on (%s): slower; kill -USR2 %d appends a memory report", ENV, os.getpid())
