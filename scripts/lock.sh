#!/usr/bin/env bash
# Regenerates the lock files in requirements/ from their inputs: exact versions of every package, direct and
# transitive, with hashes. The set-up scripts install only from these files.
#
#   scripts/lock.sh              re-resolve; versions already locked are kept where the inputs still allow them
#   scripts/lock.sh --upgrade    move every package to the newest version the inputs allow
#
# Inputs: setup.cfg (the agent and its extras) and requirements/*.in. After a lock changes, the next
# `make test` rebuilds the environments whose lock changed (their cache keys hash the lock).
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_uv

upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)

compile() {  # output python-version inputs...
    local out=$1 py=$2
    shift 2
    step "lock $out (Python $py)"
    # --universal: one file for every platform, markers decide; --generate-hashes: sync verifies each wheel.
    "$UV" pip compile -q --universal --generate-hashes --python-version "$py" "${upgrade[@]}" \
        --custom-compile-command "scripts/lock.sh" -o "$out" "$@"
    step_done "$(grep -c '^[a-z0-9]' "$out") packages"
}

compile requirements/tools.lock 3.11 requirements/tools.in
compile requirements/agent.lock 3.11 setup.cfg requirements/build.in --extra dev
compile requirements/coqui.lock 3.11 setup.cfg requirements/build.in --extra coqui --extra dev
compile requirements/rasa.lock 3.10 requirements/rasa.in

# What the locks were made from: scripts/check-locks.sh compares it, so an input edited without re-locking is
# named instead of silently installing the old lock.
(sha256sum setup.cfg requirements/*.in scripts/lock.sh) >requirements/inputs.sha256
