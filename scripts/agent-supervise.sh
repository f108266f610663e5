#!/usr/bin/env bash
# Keeps one `ari-agent run` alive the way systemd's Restart=always (RestartSec=1) would on a real node: an agent
# that dies (a crash, SIGKILL, the OOM killer) is started again, and its first connect rescues the calls it
# left behind (they hear an apology and go to the queue). SIGTERM stops the agent (it drains) and the loop.
#   scripts/agent-supervise.sh DIR      (the agent's settings come from the environment: ARI_AGENT_*)
# DIR gets agent.pid (the current agent process), supervisor.pid and agent.log.
source "$(dirname "$0")/lib.sh"
dir=$1
mkdir -p "$dir"
echo $$ >"$dir/supervisor.pid"
stop=0
child=""
trap 'stop=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
while [ "$stop" = 0 ]; do
    "$AGENT_VENV/bin/ari-agent" run >>"$dir/agent.log" 2>&1 &
    child=$!
    echo "$child" >"$dir/agent.pid"
    rc=0
    wait "$child" || rc=$?
    # A trapped TERM interrupts `wait`: wait again, for the agent's drain.
    while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
    [ "$stop" = 1 ] && break
    printf '%s supervisor: ari-agent (pid %s) exited with status %s; restarting in 1 s\n' \
        "$(date -u +%FT%TZ)" "$child" "$rc" >>"$dir/agent.log"
    sleep 1
done
rm -f "$dir/agent.pid" "$dir/supervisor.pid"
