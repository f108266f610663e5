#!/usr/bin/env bash
# Starts the Rasa server (REST API on 127.0.0.1:$RASA_PORT) and the action server ($ACTIONS_PORT) in the
# background; logs and pids in $RUN_DIR. Idempotent: a running pair is left alone. Waits until both answer.
source "$(dirname "$0")/lib.sh"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
: "${ARI_AGENT_DB_DSN:=postgresql://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB}"
export ARI_AGENT_DB_DSN

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

apt_install curl
model=$("$REPO_ROOT/scripts/setup-rasa.sh" | tail -1)
[ -f "$model" ] || die "no trained model"

# Rasa's HTTP API (trackers, /status, /model/parse) is protected by a token the agent reads from the same file
# ([dialogue] auth_token_file): made once per cache, readable by this user only.
TOKEN_FILE="$CACHE_DIR/rasa-token"
if [ ! -s "$TOKEN_FILE" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$TOKEN_FILE")
fi
RASA_TOKEN=$(cat "$TOKEN_FILE")

step "rasa action server on 127.0.0.1:$ACTIONS_PORT"
if running rasa-actions; then
    step_done "already running (pid $(cat "$RUN_DIR/rasa-actions.pid"))"
else
    # rasa-sdk binds 0.0.0.0 unless told otherwise: the action server answers the Rasa server only.
    (cd "$REPO_ROOT/rasa_project" && SANIC_HOST="${ACTIONS_HOST:-127.0.0.1}" exec setsid "$RASA_VENV/bin/rasa" run \
        actions --actions actions --port "$ACTIONS_PORT" > "$RUN_DIR/rasa-actions.log" 2>&1) &
    echo $! > "$RUN_DIR/rasa-actions.pid"
    wait_for_port 127.0.0.1 "$ACTIONS_PORT" 60 "rasa action server"
    step_done "started (pid $(cat "$RUN_DIR/rasa-actions.pid"))"
fi

step "rasa server on 127.0.0.1:$RASA_PORT"
if running rasa && [ "$(cat "$RUN_DIR/rasa.model" 2>/dev/null)" = "$model" ]; then
    step_done "already running (pid $(cat "$RUN_DIR/rasa.pid"))"
else
    if running rasa; then  # an older model is being served: replace it
        "$REPO_ROOT/scripts/rasa-stop.sh" --server-only
    fi
    endpoints="$RUN_DIR/rasa-endpoints.yml"
    printf 'action_endpoint:\n  url: "http://127.0.0.1:%s/webhook"\n' "$ACTIONS_PORT" > "$endpoints"
    (cd "$REPO_ROOT/rasa_project" && exec setsid "$RASA_VENV/bin/rasa" run --enable-api --auth-token "$RASA_TOKEN" \
        --interface 127.0.0.1 --port "$RASA_PORT" --model "$model" --endpoints "$endpoints" \
        --credentials credentials.yml > "$RUN_DIR/rasa.log" 2>&1) &
    echo $! > "$RUN_DIR/rasa.pid"
    echo "$model" > "$RUN_DIR/rasa.model"
    # The port opens before the model is loaded: wait for /status to report it.
    for ((i = 0; i < 1200; i++)); do
        if curl -fsS "http://127.0.0.1:$RASA_PORT/status?token=$RASA_TOKEN" 2>/dev/null | grep -q '"model_file"'; then
            break
        fi
        running rasa || { tail -20 "$RUN_DIR/rasa.log" >&2; die "rasa server exited"; }
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$RASA_PORT/status?token=$RASA_TOKEN" >/dev/null 2>&1 \
        || die "rasa server not ready (see $RUN_DIR/rasa.log)"
    step_done "started (pid $(cat "$RUN_DIR/rasa.pid"))"
fi
