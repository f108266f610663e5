#!/usr/bin/env bash
# make demo: start the stack (without a background agent), place one booking call through the real Asterisk
# with the agent in-process, print its transcript from PostgreSQL and its outcome, stop the stack.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
trap 'bash "$REPO_ROOT/scripts/stack-down.sh"' EXIT
bash "$REPO_ROOT/scripts/stack-up.sh" --no-agent
step "demo call"
"$AGENT_VENV/bin/ari-agent" demo-call "$@"
step_done "done"
