#!/usr/bin/env bash
# make cluster-down: stops what cluster-up.sh started (agents drain first). Idempotent.
source "$(dirname "$0")/cluster-env.sh"
step "stopping the local cluster"
stop_pid() {  # pidfile seconds
    local pid i
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}
for n in "${CLUSTER_NODES[@]}"; do
    for dir in "$CLUSTER_RUN/$n"/agent-*; do
        [ -d "$dir" ] || continue
        # The supervisor first (so it does not restart the agent), then the agent if it outlived it.
        stop_pid "$dir/supervisor.pid" 15 &
    done
done
wait
for n in "${CLUSTER_NODES[@]}"; do
    for dir in "$CLUSTER_RUN/$n"/agent-*; do [ -d "$dir" ] && stop_pid "$dir/agent.pid" 5; done
done
stop_pid "$KAMAILIO_RUN_DIR/kamailio.pid" 5
pkill -f -- "-f $KAMAILIO_RUN_DIR/kamailio.cfg" 2>/dev/null || true  # its children
for n in "${CLUSTER_NODES[@]}"; do
    (node_env "$n" && bash "$REPO_ROOT/scripts/rasa-stop.sh" >/dev/null 2>&1; bash "$REPO_ROOT/scripts/asterisk-stop.sh")
done
step_done "stopped"
