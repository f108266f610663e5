#!/usr/bin/env bash
# The Coqui TTS engine's tests, in their own venv: the coqui extra pulls ~5 GB of torch that the agent's
# .venv does not need. Cached: a second run only re-runs the tests.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
COQUI_VENV="$CACHE_DIR/coqui-venv"
step "Coqui TTS venv ($COQUI_VENV)"
ensure_uv
want=$(sha256sum "$REPO_ROOT/setup.cfg" | cut -c1-16)
if [ "$(cat "$COQUI_VENV/.ari-agent-setup" 2>/dev/null)" != "$want" ]; then
    [ -x "$COQUI_VENV/bin/python" ] || "$UV" venv -q -p "$AGENT_VENV/bin/python" "$COQUI_VENV"
    "$UV" pip install -q -p "$COQUI_VENV/bin/python" -e "$REPO_ROOT[coqui,dev]"
    echo "$want" >"$COQUI_VENV/.ari-agent-setup"
    step_done "installed"
else
    step_done "cached"
fi
step "Coqui TTS tests"
"$COQUI_VENV/bin/python" -m pytest -q -p no:cacheprovider -m coqui tests/test_tts_coqui.py "$@"
step_done "passed"
