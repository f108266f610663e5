#!/usr/bin/env bash
# Starts the local stack in the background: PostgreSQL, Asterisk (chroot), Rasa + actions, and (unless
# --no-agent) the agent itself. Idempotent: what already runs is left running.
source "$(dirname "$0")/lib.sh"

with_agent=1
[ "${1:-}" = "--no-agent" ] && with_agent=0

bash "$REPO_ROOT/scripts/setup-postgres.sh"
bash "$REPO_ROOT/scripts/asterisk-start.sh"
bash "$REPO_ROOT/scripts/rasa-start.sh"

if [ "$with_agent" = 1 ]; then
    step "ari-agent"
    if [ -f "$RUN_DIR/agent.pid" ] && kill -0 "$(cat "$RUN_DIR/agent.pid")" 2>/dev/null; then
        step_done "already running"
    else
        # The local stack records calls (so they can be exported as replay cases) unless told otherwise.
        ARI_AGENT_RECORDING_ENABLED="${ARI_AGENT_RECORDING_ENABLED:-1}" \
            nohup "$AGENT_VENV/bin/ari-agent" run >"$RUN_DIR/agent.log" 2>&1 &
        echo $! >"$RUN_DIR/agent.pid"
        wait_for_port 127.0.0.1 "$AGENT_HTTP_PORT" 60 "ari-agent"
        for _ in $(seq 1 100); do
            curl -fsS "http://127.0.0.1:$AGENT_HTTP_PORT/readyz" >/dev/null 2>&1 && break
            sleep 0.2
        done
        step_done "started (log: $RUN_DIR/agent.log)"
    fi
fi

cat <<INFO
The local stack is up:
  ARI            http://127.0.0.1:$ARI_PORT/ari   (user ${ARI_USER:-ari_agent}, app ${ARI_APP:-ari-agent})
  SIP (PJSIP)    udp 127.0.0.1:$SIP_PORT          (endpoint testcaller, extension 100)
  PostgreSQL     postgresql://$PG_USER:***@$PG_HOST:$PG_PORT/$PG_DB
  Rasa           http://127.0.0.1:$RASA_PORT      (actions on :$ACTIONS_PORT)
INFO
if [ "$with_agent" = 1 ]; then
cat <<INFO
  ari-agent      http://127.0.0.1:$AGENT_HTTP_PORT/  (/metrics /healthz /readyz, supervisor pages)
Logs in $RUN_DIR/. Stop with: make down
INFO
fi
