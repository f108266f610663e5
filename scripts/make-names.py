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


def _column(text: str, count: int, share: float = 1.0) -> dict[str, float]:
    """The first `count` names of a census list with their frequency (per cent of people, times `share`)."""
    rows = [line.split() for line in text.splitlines() if line.strip()][:count]
    return {row[0].lower(): float(row[1]) * share for row in rows}


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
            # A given name's share is of one sex, half the people: halved, it compares with a surname's.
            lists = (_column(read("dist.male.first"), half, 0.5), _column(read("dist.female.first"), half, 0.5),
                     _column(read("dist.all.last"), args.last))  # fmt: skip
    share: dict[str, float] = {}
    role: dict[str, str] = {}
    for names, kind in zip(lists, ("given", "given", "surname"), strict=True):
        for name, pct in names.items():
            if pct > share.get(name, 0.0):
                share[name], role[name] = pct, kind
    # Commonest first: of two spellings the recogniser cannot tell apart ("brian" / "bryan"), the commoner is
    # written (lexicon.name_rank). The role is the list the name is commoner in ("thomas": given).
    words = sorted(share, key=lambda n: (-share[n], n))
    header = (
        f"# Common given names and surnames (US Census 1990 frequency lists, public domain; top {args.first // 2}\n"
        f"# male and female given names, top {args.last} surnames), one per line, the commonest first, each with\n"
        f"# the role it is commoner in (given / surname). Written by scripts/make-names.py.\n"
    )
    OUT.write_text(header + "\n".join(f"{w} {role[w]}" for w in words) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(words)} names")


if __name__ == "__main__":
    main()
