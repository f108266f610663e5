#!/usr/bin/env bash
# make bench: run bench/ against the local stack, write bench/results/latest.json and README's performance table.
# A stack that `make up` started is used and left running, its agent included (the benchmark's agent runs
# in-process under a Stasis app of its own); otherwise the stack is started here, without the background
# agent, and stopped at the end.
source "$(dirname "$0")/asterisk-env.sh"
cd "$REPO_ROOT"
if ! asterisk_running; then
    trap 'bash "$REPO_ROOT/scripts/stack-down.sh"' EXIT
fi
bash "$REPO_ROOT/scripts/stack-up.sh" --no-agent  # idempotent: starts only what is not running
step "benchmarks (bench/bench_calls.py)"
"$AGENT_VENV/bin/python" bench/bench_calls.py "$@"
step_done "bench/results/latest.json written"
