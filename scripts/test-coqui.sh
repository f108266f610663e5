#!/usr/bin/env bash
# The Coqui TTS engine's tests, in their own venv: the coqui extra pulls ~5 GB of torch that the agent's
# .venv does not need. Installed from requirements/coqui.lock; cached on that lock, so a second run only
# checks the venv against it and re-runs the tests.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
COQUI_VENV="$CACHE_DIR/coqui-venv"
step "Coqui TTS venv ($COQUI_VENV)"
if sync_venv "$COQUI_VENV" "$AGENT_VENV/bin/python" "$REPO_ROOT/requirements/coqui.lock" --editable; then
    step_done "installed from requirements/coqui.lock"
else
    step_done "cached"
fi
bash "$REPO_ROOT/scripts/check-locks.sh" coqui
step "Coqui TTS tests"
"$COQUI_VENV/bin/python" -m pytest -q -p no:cacheprovider -m coqui tests/test_tts_coqui.py "$@"
step_done "passed"
