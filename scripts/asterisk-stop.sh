#!/usr/bin/env bash
# Stops the local Asterisk: "core stop now", then SIGTERM, then SIGKILL. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/asterisk-env.sh"

if ! asterisk_running; then
    rm -f "$ASTERISK_PID_FILE"
    echo "Asterisk is not running" >&2
    exit 0
fi
step "stop Asterisk"
pid=$(cat "$ASTERISK_PID_FILE")
asterisk_rx "core stop now" >/dev/null 2>&1 || true
for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    # Escalate halfway: a wedged Asterisk ignores the CLI but not signals.
    [ "$i" -eq 50 ] && kill -TERM "$pid" 2>/dev/null
    sleep 0.1
done
how="core stop now"
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    how="killed"
fi
rm -f "$ASTERISK_PID_FILE"
step_done "$how"
