#!/usr/bin/env bash
# The whole suite: lint, unit tests, then integration tests against the real stack, which this script starts
# (without the agent process: the end-to-end tests run the agent in-process) and stops again.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
started=$(date +%s)

trap 'bash "$REPO_ROOT/scripts/stack-down.sh"' EXIT
# The stack takes ~40 s to come up (Rasa loads its model): start it while the static checks run.
bash "$REPO_ROOT/scripts/stack-up.sh" --no-agent >"$RUN_DIR/stack-up.log" 2>&1 &
stack_pid=$!

bash "$REPO_ROOT/scripts/check-promtool.sh"  # Prometheus config, alert rules and their unit tests

step "lint (ruff, mypy --strict)"
"$AGENT_VENV/bin/ruff" check ari_agent tests bench
"$AGENT_VENV/bin/mypy"
step_done "clean"

if ! wait "$stack_pid"; then
    cat "$RUN_DIR/stack-up.log" >&2
    die "the local stack did not start (log above)"
fi
cat "$RUN_DIR/stack-up.log" >&2

step "pytest (unit + integration)"
set +e
# The Coqui tests need the 5 GB torch extra: they run in their own venv (scripts/test-coqui.sh), not here.
"$AGENT_VENV/bin/pytest" -q -p no:cacheprovider -m "not coqui" "$@"
rc=$?
bash "$REPO_ROOT/scripts/test-coqui.sh" || rc=1
# The regression corpus (tests/corpus, scripts/make-corpus.py): offline replay through the real Vosk and Rasa,
# two cases at a time (one case's decoding overlaps the other's Rasa turn: 64 s instead of 101 s here).
"$AGENT_VENV/bin/ari-agent" replay tests/corpus --jobs 2 --report "$RUN_DIR/replay-report.json" || rc=1
set -e
step_done "exit $rc"
echo "make test took $(( $(date +%s) - started )) s"
exit $rc
