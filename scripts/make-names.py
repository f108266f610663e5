#!/usr/bin/env python3
"""Writes ari_agent/names.txt: the common given names and surnames the agent's name decoder listens for.

Source: the US Census Bureau's 1990 name frequency lists (public domain), as shipped in the `names` 0.3.0
sdist on PyPI (dist.male.first, dist.female.first, dist.all.last; most frequent first). The output is
committed; run this only to change the sizes:

    python3 scripts/make-names.py [--first N] [--last N]

Why these sizes: on synthetic callers through every voice and line condition, a grammar of ~1,400 names heard
the whole name right 3-4 times as often as the open decoder; one of ~6,400 names only 2.4 times (more names,
more confusions). The list covers the common names; a caller whose name is not in it is read back from the
open transcript and corrected as before.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ari_agent" / "names.txt"
SDIST = "names==0.3.0"


def _column(text: str, count: int) -> list[str]:
    return [line.split()[0].lower() for line in text.splitlines() if line.strip()][:count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=500, help="given names, half from each census list")
    ap.add_argument("--last", type=int, default=1500, help="surnames")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        SDIST, "-d", tmp], check=True)  # fmt: skip
        archive = next(Path(tmp).glob("names-*.tar.gz"))
        with tarfile.open(archive) as tar:
            def read(name: str) -> str:
                member = next(m for m in tar.getmembers() if m.name.endswith(f"/names/{name}"))
                handle = tar.extractfile(member)
                assert handle is not None
                return handle.read().decode("ascii")

            half = args.first // 2
            first = _column(read("dist.male.first"), half) + _column(read("dist.female.first"), half)
            last = _column(read("dist.all.last"), args.last)
    words = sorted(set(first) | set(last))
    header = (
        f"# Common given names and surnames (US Census 1990 frequency lists, public domain; top {args.first // 2}\n"
        f"# male and female given names, top {args.last} surnames), one per line. Written by scripts/make-names.py.\n"
    )
    OUT.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(words)} names")


if __name__ == "__main__":
    main()
