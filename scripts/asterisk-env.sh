# shellcheck shell=bash
# Shared by the asterisk-*.sh scripts: settings of the local Asterisk stack. Sourced, never executed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${ARI_USER:=ari_agent}"
: "${ARI_PASSWORD:=ari_agent_secret}"
: "${ARI_APP:=ari-agent}"
: "${TESTCALLER_PASSWORD:=testcaller_secret}"
: "${QUEUE_TIMEOUT:=30}"
export ARI_USER ARI_PASSWORD ARI_APP TESTCALLER_PASSWORD QUEUE_TIMEOUT

# Configuration directory inside the root, so a stock /etc/asterisk there is never read. The cluster
# (scripts/cluster-up.sh) runs several Asterisk nodes from the one root, each with its own directories, ports,
# RTP range, system name (the prefix of its uniqueids, so CDRs of two nodes never share an id) and the context
# the SIP test caller enters.
: "${STACK_CONF_DIR:=/etc/ari-agent-stack}"
: "${AST_RUN_DIR:=/var/run/ari-agent-stack}"
: "${AST_DB_DIR:=/var/lib/asterisk}"
: "${AST_SYSTEM_NAME:=}"
: "${RTP_START:=31000}"
: "${RTP_END:=31999}"
: "${TESTCALLER_CONTEXT:=ari-agent-incoming}"
# The apps StasisBroadcast() offers calls to (ari-agent-incoming-broadcast): ari-agent, ari-agent-2, ...
: "${ARI_BROADCAST_FILTER:=^${ARI_APP}(-.+)?\$}"
export STACK_CONF_DIR AST_RUN_DIR AST_DB_DIR AST_SYSTEM_NAME RTP_START RTP_END TESTCALLER_CONTEXT ARI_BROADCAST_FILTER
ASTERISK_PID_FILE="$RUN_DIR/asterisk.pid"

asterisk_running() {  # our Asterisk process is alive
    local pid
    [ -f "$ASTERISK_PID_FILE" ] || return 1
    pid=$(cat "$ASTERISK_PID_FILE")
    # Check the name too: a stale pid file must never make us signal an unrelated process.
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = asterisk ]
}

ari_ready() {  # ARI answers with our credentials
    curl -sf -o /dev/null --max-time 2 -u "$ARI_USER:$ARI_PASSWORD" \
        "http://127.0.0.1:$ARI_PORT/ari/asterisk/info"
}

asterisk_rx() {  # runs one CLI command against our Asterisk
    chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -C "$STACK_CONF_DIR/asterisk.conf" -rx "$1"
}
