#!/usr/bin/env bash
# make cluster-test: starts the local cluster (scripts/cluster-up.sh), then bench/cluster.py: a booking race across
# the nodes, 20 SIP calls at once through Kamailio, one agent SIGKILLed, one Asterisk node stopped and started
# again. Writes bench/results/cluster.json; exit 1 when a check fails. A cluster that was already up is left
# running; one started here is stopped at the end.
source "$(dirname "$0")/cluster-env.sh"
cd "$REPO_ROOT"
if [ ! -f "$KAMAILIO_RUN_DIR/kamailio.pid" ] || ! kill -0 "$(cat "$KAMAILIO_RUN_DIR/kamailio.pid")" 2>/dev/null; then
    trap 'bash "$REPO_ROOT/scripts/cluster-down.sh"' EXIT
fi
bash "$REPO_ROOT/scripts/cluster-up.sh"
step "cluster test (bench/cluster.py)"
"$AGENT_VENV/bin/python" bench/cluster.py "$@"
step_done "bench/results/cluster.json written"
