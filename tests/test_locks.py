"""The lock files in requirements/ and the rule that every set-up path installs from them.

A fresh machine once resolved torch 2.11.0 with torchaudio 2.11.1 (they do not load together) because a
range pin let a new release in. These tests read the committed files only: no network, no venv.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
LOCKS = ["tools.lock", "agent.lock", "coqui.lock", "rasa.lock"]

# A requirement line of a uv/pip-compile lock: "name==version [; markers] \" followed by hash lines.
_REQ_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(?P<spec>[^;\\ ]*)")


def _requirements(lock: Path) -> list[tuple[str, str, int]]:
    """(name, specifier, number of hashes) for every package entry of a lock."""
    entries: list[tuple[str, str, int]] = []
    for line in lock.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            name, spec, hashes = entries[-1]
            entries[-1] = (name, spec, hashes + 1)
            continue
        match = _REQ_LINE.match(stripped)
        assert match, f"{lock.name}: unexpected line {line!r}"
        entries.append((match["name"].lower(), match["spec"], 0))
    return entries


@pytest.mark.parametrize("name", LOCKS)
def test_every_locked_package_is_exact_and_hashed(name: str) -> None:
    entries = _requirements(REQ / name)
    assert entries, f"{name} lists no packages"
    for package, spec, hashes in entries:
        assert re.fullmatch(r"==[A-Za-z0-9.+!-]+", spec), f"{name}: {package}{spec} is not an exact pin"
        assert hashes > 0, f"{name}: {package} has no hash"


def test_locks_were_made_from_the_committed_inputs() -> None:
    """setup.cfg and requirements/*.in edited without re-running scripts/lock.sh would install stale locks."""
    recorded = {}
    for line in (REQ / "inputs.sha256").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        recorded[path] = digest
    inputs = ["setup.cfg", "scripts/lock.sh", *(f"requirements/{p.name}" for p in sorted(REQ.glob("*.in")))]
    assert sorted(recorded) == sorted(inputs)
    for path in inputs:
        actual = hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
        assert recorded[path] == actual, f"{path} changed since the locks were made: run scripts/lock.sh"


def test_coqui_lock_pairs_torch_and_torchaudio_of_one_release() -> None:
    versions = {package: spec[2:] for package, spec, _ in _requirements(REQ / "coqui.lock")}
    assert versions["torch"] == versions["torchaudio"], "torchaudio must be built for the same torch"
    assert "coqui-tts" in versions and "torchcodec" in versions and "six" in versions


def test_rasa_lock_holds_the_tested_rasa() -> None:
    versions = {package: spec[2:] for package, spec, _ in _requirements(REQ / "rasa.lock")}
    assert versions["rasa"] == "3.6.21" and versions["rasa-sdk"] == "3.6.2"


def _install_commands() -> list[tuple[str, str]]:
    """Every pip/uv install command in the set-up scripts, the Makefile and the Dockerfile."""
    commands = []
    files = [*sorted((ROOT / "scripts").glob("*.sh")), ROOT / "Makefile", ROOT / "docker" / "Dockerfile"]
    for path in files:
        text = path.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            code = line.split("#", 1)[0] if not line.lstrip().startswith("RUN") else line
            if re.search(r"\bpip\b.*\b(install|sync)\b", code) and "--dry-run" not in code:
                commands.append((path.name, code.strip()))
    return commands


def test_set_up_installs_only_from_locks() -> None:
    commands = _install_commands()
    assert commands, "no install command found: the scan is broken"
    for where, command in commands:
        from_lock = "--require-hashes" in command and re.search(r"\.lock\b|\$lock\b|\"\$lock\"", command)
        own_code_only = "--no-deps" in command and ("-e" in command.split() or command.rstrip().endswith(" ."))
        assert from_lock or own_code_only, f"{where}: installs outside a lock: {command}"
