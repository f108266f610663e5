#!/usr/bin/env bash
# make bench: start the stack (without the background agent: the benchmark runs the agent in-process),
# run bench/, write bench/results/latest.json and README's performance table, stop the stack.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
trap 'bash "$REPO_ROOT/scripts/stack-down.sh"' EXIT
bash "$REPO_ROOT/scripts/stack-up.sh" --no-agent
step "benchmarks (bench/bench_calls.py)"
"$AGENT_VENV/bin/python" bench/bench_calls.py "$@"
step_done "bench/results/latest.json written"
