#!/usr/bin/env bash
# Measures how fast a new call reaches an ARI app through each way several agents can share one Asterisk:
# StasisBroadcast() + claim (what the cluster uses) and ARI outbound WebSockets (per_call_config: Asterisk
# connects to the app for every call). Starts a probe Asterisk of its own from the one chroot (ports 18388,
# 15360; configuration /etc/ari-agent-probe), runs bench/mechanisms/probe.py, stops it. Writes
# bench/results/mechanisms.json.
source "$(dirname "$0")/asterisk-env.sh"
export ARI_AGENT_RUN="$RUN_DIR/probe" ARI_PORT=18388 SIP_PORT=15360 RTP_START=33000 RTP_END=33499
export STACK_CONF_DIR=/etc/ari-agent-probe AST_RUN_DIR=/var/run/ari-agent-probe AST_DB_DIR=/var/lib/ari-agent-probe
export AST_SYSTEM_NAME=probe PROBE_WS_PORT=18399
RUN_DIR="$ARI_AGENT_RUN"
mkdir -p "$RUN_DIR"
trap 'bash "$REPO_ROOT/scripts/asterisk-stop.sh" >/dev/null 2>&1 || true' EXIT
bash "$REPO_ROOT/scripts/asterisk-start.sh"
conf="$ASTERISK_ROOT$STACK_CONF_DIR"
# The probe's own additions: a per-call outbound WebSocket to probe.py, and the two ways into an app.
cat >"$conf/websocket_client.conf" <<CONF
[probe-client]
type = websocket_client
connection_type = per_call_config
uri = ws://127.0.0.1:$PROBE_WS_PORT/ari
protocols = ari
connection_timeout = 500
reconnect_attempts = 1
CONF
cat >>"$conf/ari.conf" <<CONF

[probe-outbound]
type = outbound_websocket
websocket_client_id = probe-client
apps = probe-outbound
local_ari_user = $ARI_USER
CONF
cat >>"$conf/extensions.conf" <<CONF

[probe]
exten => outbound,1,Stasis(probe-outbound)
 same => n,Hangup()
exten => broadcast,1,StasisBroadcast(1000,^probe-broadcast\$)
 same => n,Hangup()
exten => classic,1,Stasis(probe-broadcast)
 same => n,Hangup()
CONF
asterisk_rx "module reload res_websocket_client.so" >/dev/null || true
asterisk_rx "module reload res_ari.so" >/dev/null || true
asterisk_rx "dialplan reload" >/dev/null
"$AGENT_VENV/bin/python" "$REPO_ROOT/bench/mechanisms/probe.py" "$@"
