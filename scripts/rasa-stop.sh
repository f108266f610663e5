#!/usr/bin/env bash
# Stops the Rasa server and action server started by rasa-start.sh (by their recorded pids only).
#   scripts/rasa-stop.sh [--server-only]
source "$(dirname "$0")/lib.sh"

stop_one() {
    local name=$1 pid i
    [ -f "$RUN_DIR/$name.pid" ] || return 0
    pid=$(cat "$RUN_DIR/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
        # setsid made the server a group leader: the group holds its worker processes too.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        # Sanic's graceful shutdown takes ~5 s; nothing durable lives in these processes (in-memory trackers,
        # stateless actions; transcripts are the agent's), so 1.5 s of grace, then the group is killed.
        for ((i = 0; i < 15; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$RUN_DIR/$name.pid"
}

step "stop rasa"
stop_one rasa
rm -f "$RUN_DIR/rasa.model"
[ "${1:-}" = "--server-only" ] || stop_one rasa-actions
step_done "stopped"
