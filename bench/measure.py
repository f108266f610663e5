"""What the benchmarks measure with: percentiles, CPU jiffies, a process's memory, the machine."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def proc_status(pid: int | str = "self") -> dict[str, str]:
    """A process's /proc status fields ("VmRSS" -> "123456 kB", "Threads" -> "7", ...)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}


def rss_mb(pid: int | str = "self", status: dict[str, str] | None = None) -> float:
    """Resident memory of a process in MB (from `status` when it was read already)."""
    match = re.match(r"(\d+) kB", (status or proc_status(pid)).get("VmRSS", ""))
    return int(match.group(1)) / 1024 if match else float("nan")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
