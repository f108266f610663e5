#!/usr/bin/env bash
# Stops what stack-up.sh started (the machine's PostgreSQL cluster is left running: it is the machine's).
source "$(dirname "$0")/lib.sh"
step "stopping the local stack"
if [ -f "$RUN_DIR/agent.pid" ]; then
    pid=$(cat "$RUN_DIR/agent.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN_DIR/agent.pid"
fi
bash "$REPO_ROOT/scripts/rasa-stop.sh" || true
bash "$REPO_ROOT/scripts/asterisk-stop.sh" || true
step_done "stopped"
