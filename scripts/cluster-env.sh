# shellcheck shell=bash
# Settings of the local cluster (make cluster-up): Kamailio in front of two Asterisk nodes from the one chroot,
# each node with its own ports, directories, Rasa + action server and AGENTS_PER_NODE agent processes that
# share its calls through StasisBroadcast(); one PostgreSQL for all. Sourced, never executed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER_RUN="$RUN_DIR/cluster"
CLUSTER_NODES=(a b)
: "${AGENTS_PER_NODE:=2}"
: "${KAMAILIO_LISTEN:=127.0.0.1}"
: "${KAMAILIO_PORT:=15070}"
KAMAILIO_RUN_DIR="$CLUSTER_RUN/kamailio"
export CLUSTER_RUN AGENTS_PER_NODE KAMAILIO_LISTEN KAMAILIO_PORT KAMAILIO_RUN_DIR
mkdir -p "$CLUSTER_RUN" "$KAMAILIO_RUN_DIR"

node_index() {  # a -> 1, b -> 2
    case $1 in a) echo 1 ;; b) echo 2 ;; *) die "unknown cluster node '$1' (nodes: ${CLUSTER_NODES[*]})" ;; esac
}

# Exports one node's settings for the asterisk-*.sh and rasa-*.sh scripts (run them in a subshell).
# Node a: ARI 18188, SIP 15160, Rasa 15105 (actions 15155), RTP 32000-32499, agents' HTTP 18181, 18182, ...
# Node b: ARI 18288, SIP 15260, Rasa 15205 (actions 15255), RTP 32500-32999, agents' HTTP 18281, 18282, ...
node_env() {
    local n=$1 i
    i=$(node_index "$n")
    export ARI_AGENT_RUN="$CLUSTER_RUN/$n"
    RUN_DIR="$ARI_AGENT_RUN"
    export ARI_PORT=$((18088 + 100 * i)) SIP_PORT=$((15060 + 100 * i))
    export RASA_PORT=$((15005 + 100 * i)) ACTIONS_PORT=$((15055 + 100 * i))
    export RTP_START=$((32000 + 500 * (i - 1))) RTP_END=$((32499 + 500 * (i - 1)))
    export STACK_CONF_DIR="/etc/ari-agent-cluster-$n" AST_RUN_DIR="/var/run/ari-agent-cluster-$n"
    export AST_DB_DIR="/var/lib/ari-agent-cluster-$n" AST_SYSTEM_NAME="pbx-$n"
    export TESTCALLER_CONTEXT=ari-agent-incoming-broadcast
    mkdir -p "$RUN_DIR"
}

agent_http_port() {  # node k
    echo $((18080 + 100 * $(node_index "$1") + $2))
}

# The environment of agent k of a node: its own app name, HTTP port and spool; the node's Asterisk and Rasa.
agent_env() {
    local n=$1 k=$2
    node_env "$n"
    export ARI_AGENT_ARI_URL="http://127.0.0.1:$ARI_PORT" ARI_AGENT_ARI_APP="ari-agent-$k" ARI_AGENT_ARI_NODE="pbx-$n"
    export ARI_AGENT_HTTP_PORT
    ARI_AGENT_HTTP_PORT=$(agent_http_port "$n" "$k")
    export ARI_AGENT_DIALOGUE_RASA_URL="http://127.0.0.1:$RASA_PORT"
    export ARI_AGENT_DATABASE_SPOOL_PATH="$RUN_DIR/agent-$k/events.jsonl"
    mkdir -p "$RUN_DIR/agent-$k"
}
