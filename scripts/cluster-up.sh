#!/usr/bin/env bash
# make cluster-up: on this one machine, Kamailio (SIP 127.0.0.1:$KAMAILIO_PORT) in front of two Asterisk nodes,
# each with its own Rasa + action server and AGENTS_PER_NODE `ari-agent run` processes (kept alive by
# agent-supervise.sh, as systemd would) that share the node's calls through StasisBroadcast(); one PostgreSQL.
# Idempotent: what already runs is left running. Stop with make cluster-down.
source "$(dirname "$0")/cluster-env.sh"

apt_install kamailio gettext-base curl
bash "$REPO_ROOT/scripts/setup-postgres.sh"
"$REPO_ROOT/scripts/setup-rasa.sh" >/dev/null  # trains (or finds) the model once, before two nodes want it

for n in "${CLUSTER_NODES[@]}"; do
    (node_env "$n" && bash "$REPO_ROOT/scripts/asterisk-start.sh")
done
# The two Rasa servers load their models in parallel (the longest step).
pids=()
for n in "${CLUSTER_NODES[@]}"; do
    (node_env "$n" && bash "$REPO_ROOT/scripts/rasa-start.sh") &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "a node's Rasa did not start (see $CLUSTER_RUN/*/rasa.log)"; done

step "ari-agent processes (${#CLUSTER_NODES[@]} nodes x $AGENTS_PER_NODE)"
for n in "${CLUSTER_NODES[@]}"; do
    for ((k = 1; k <= AGENTS_PER_NODE; k++)); do
        dir="$CLUSTER_RUN/$n/agent-$k"
        if [ -f "$dir/supervisor.pid" ] && kill -0 "$(cat "$dir/supervisor.pid")" 2>/dev/null; then continue; fi
        # exec: no shell of this script stays behind holding its output open.
        (agent_env "$n" "$k" && exec setsid bash "$REPO_ROOT/scripts/agent-supervise.sh" "$dir" \
            >/dev/null 2>&1 </dev/null) &
    done
done
for n in "${CLUSTER_NODES[@]}"; do
    for ((k = 1; k <= AGENTS_PER_NODE; k++)); do
        port=$(agent_http_port "$n" "$k")
        for ((i = 0; i < 600; i++)); do
            curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
            sleep 0.2
        done
        curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 \
            || die "agent $k of node $n not ready on :$port (see $CLUSTER_RUN/$n/agent-$k/agent.log)"
    done
done
step_done "ready"

step "kamailio on udp $KAMAILIO_LISTEN:$KAMAILIO_PORT"
export NODE_A_SIP_PORT=$((15060 + 100)) NODE_B_SIP_PORT=$((15060 + 200))
vars='${KAMAILIO_LISTEN} ${KAMAILIO_PORT} ${KAMAILIO_RUN_DIR} ${NODE_A_SIP_PORT} ${NODE_B_SIP_PORT}'
envsubst "$vars" <"$REPO_ROOT/asterisk_conf/cluster/kamailio.cfg" >"$KAMAILIO_RUN_DIR/kamailio.cfg"
envsubst "$vars" <"$REPO_ROOT/asterisk_conf/cluster/dispatcher.list" >"$KAMAILIO_RUN_DIR/dispatcher.list"
kam() { kamcmd -s "unix:$KAMAILIO_RUN_DIR/kamailio.ctl" "$@"; }
if [ -f "$KAMAILIO_RUN_DIR/kamailio.pid" ] && kill -0 "$(cat "$KAMAILIO_RUN_DIR/kamailio.pid")" 2>/dev/null; then
    kam dispatcher.reload >/dev/null 2>&1 || true
    step_done "already running (dispatcher list reloaded)"
else
    kamailio -c -f "$KAMAILIO_RUN_DIR/kamailio.cfg" >"$KAMAILIO_RUN_DIR/check.log" 2>&1 \
        || { tail -20 "$KAMAILIO_RUN_DIR/check.log" >&2; die "kamailio.cfg does not parse"; }
    setsid kamailio -DD -E -f "$KAMAILIO_RUN_DIR/kamailio.cfg" >"$KAMAILIO_RUN_DIR/kamailio.log" 2>&1 </dev/null &
    echo $! >"$KAMAILIO_RUN_DIR/kamailio.pid"
    for ((i = 0; i < 100; i++)); do kam core.version >/dev/null 2>&1 && break; sleep 0.1; done
    kam core.version >/dev/null 2>&1 || die "kamailio did not start (see $KAMAILIO_RUN_DIR/kamailio.log)"
    step_done "started (pid $(cat "$KAMAILIO_RUN_DIR/kamailio.pid"))"
fi

cat <<INFO
The local cluster is up:
  SIP (Kamailio)  udp $KAMAILIO_LISTEN:$KAMAILIO_PORT   dispatcher: $KAMAILIO_RUN_DIR/dispatcher.list
                  (kamcmd -s unix:$KAMAILIO_RUN_DIR/kamailio.ctl dispatcher.list)
INFO
for n in "${CLUSTER_NODES[@]}"; do
    (
        node_env "$n"
        printf '  node pbx-%s     ARI http://127.0.0.1:%s/ari  SIP udp 127.0.0.1:%s  Rasa :%s  agents:' \
            "$n" "$ARI_PORT" "$SIP_PORT" "$RASA_PORT"
        for ((k = 1; k <= AGENTS_PER_NODE; k++)); do printf ' ari-agent-%s http://127.0.0.1:%s/' "$k" "$(agent_http_port "$n" "$k")"; done
        echo
    )
done
echo "  PostgreSQL      postgresql://$PG_USER:***@$PG_HOST:$PG_PORT/$PG_DB (shared)"
echo "Logs in $CLUSTER_RUN/. Stop with: make cluster-down"
