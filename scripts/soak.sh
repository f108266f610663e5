#!/usr/bin/env bash
# make soak: SIPp callers through the real Asterisk (20 at once for 10 minutes by default) against an
# `ari-agent run` of its own; writes bench/results/soak.json. Arguments go to bench/soak.py, e.g.
#   make soak SOAK_ARGS="--concurrent 10 --minutes 2"
# A stack that `make up` started is used and left running (its agent must be stopped: the soak measures its
# own); otherwise the stack is started here and stopped at the end.
source "$(dirname "$0")/asterisk-env.sh"
cd "$REPO_ROOT"
if [ -f "$RUN_DIR/agent.pid" ] && kill -0 "$(cat "$RUN_DIR/agent.pid")" 2>/dev/null; then
    die "an ari-agent from make up is running (pid $(cat "$RUN_DIR/agent.pid")): the soak starts and measures its own; run make down first"
fi
if ! asterisk_running; then
    trap 'bash "$REPO_ROOT/scripts/stack-down.sh"' EXIT
fi
bash "$REPO_ROOT/scripts/stack-up.sh" --no-agent
step "soak (bench/soak.py: SIPp callers, bench/soak/caller.xml)"
# The full-size run (no arguments) is what README's soak table shows.
if [ $# -eq 0 ]; then set -- --readme; fi
"$AGENT_VENV/bin/python" bench/soak.py "$@"
step_done "bench/results/soak.json written"
