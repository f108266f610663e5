# Shared helpers for the set-up scripts: one cache directory, timed steps, clear failures.
# Sourced, never executed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${ARI_AGENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ari-agent}"
RUN_DIR="${ARI_AGENT_RUN:-$REPO_ROOT/.run}"
mkdir -p "$CACHE_DIR" "$RUN_DIR"

# Ports of the local stack: non-default so it never clashes with a PBX on the host.
: "${ARI_PORT:=18088}"
: "${SIP_PORT:=15060}"
: "${RASA_PORT:=15005}"
: "${ACTIONS_PORT:=15055}"
: "${AGENT_HTTP_PORT:=18080}"
: "${RTP_PORT:=40000}"
: "${PG_HOST:=127.0.0.1}"
: "${PG_PORT:=5432}"
: "${PG_DB:=ari_agent}"
: "${PG_USER:=ari_agent}"
: "${PG_PASSWORD:=ari_agent}"
export ARI_PORT SIP_PORT RASA_PORT ACTIONS_PORT AGENT_HTTP_PORT RTP_PORT PG_HOST PG_PORT PG_DB PG_USER PG_PASSWORD

ASTERISK_ROOT="$CACHE_DIR/asterisk-root"
RASA_VENV="$CACHE_DIR/rasa-venv"
TOOLS_VENV="$CACHE_DIR/tools"
AGENT_VENV="$REPO_ROOT/.venv"

_step_name=""
_step_start=0
step() {
    _step_name="$1"
    _step_start=$(date +%s.%N)
    printf '==> %s\n' "$_step_name" >&2
}
step_done() {
    local now
    now=$(date +%s.%N)
    printf '    %s: %s (%.1f s)\n' "$_step_name" "${1:-done}" "$(echo "$now - $_step_start" | bc)" >&2
}
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# uv is much faster than pip for the big venvs; it lives in a tools venv in the cache, installed with pip from
# requirements/tools.lock (exact version and hashes), and rebuilt when that lock changes.
ensure_uv() {
    local lock="$REPO_ROOT/requirements/tools.lock" want
    want=$(file_hash "$lock")
    if [ ! -x "$TOOLS_VENV/bin/uv" ] || [ "$(cat "$TOOLS_VENV/.ari-agent-lock" 2>/dev/null)" != "$want" ]; then
        rm -rf "$TOOLS_VENV"
        python3 -m venv "$TOOLS_VENV"
        "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
        echo "$want" >"$TOOLS_VENV/.ari-agent-lock"
    fi
    UV="$TOOLS_VENV/bin/uv"
}

file_hash() {  # content hash of one or more files, for cache keys
    cat "$@" | sha256sum | cut -c1-16
}

# Makes a venv hold exactly what its lock lists (hashes verified), plus the agent itself as an editable install
# when asked. The stamp holds the lock's hash (and setup.cfg's, for the editable metadata): a changed lock
# re-syncs the environment, an unchanged one costs one comparison. Returns 0 when it installed, 1 when cached.
#   sync_venv VENV PYTHON LOCK [--editable]
sync_venv() {
    local venv=$1 py=$2 lock=$3 editable=${4:-} stamp want
    stamp="$venv/.ari-agent-lock"
    # An editable install points at this clone: a venv cached outside it (the Coqui one) that another clone
    # built would import that clone's code, or nothing once it is deleted. The clone's path is in the stamp.
    if [ "$editable" = "--editable" ]; then
        want="$(file_hash "$lock" "$REPO_ROOT/setup.cfg")-$(echo "$REPO_ROOT" | sha256sum | cut -c1-8)"
    else
        want=$(file_hash "$lock")
    fi
    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 1  # already in sync
    fi
    ensure_uv
    # Called as an `if` condition, where set -e is off: every step checks its own status.
    [ -x "$venv/bin/python" ] || "$UV" venv -q -p "$py" "$venv" || die "creating $venv with $py failed"
    rm -f "$stamp"
    "$UV" pip sync -q -p "$venv/bin/python" --require-hashes "$lock" \
        || die "installing $lock into $venv failed (output above); after changing an input, run scripts/lock.sh"
    if [ "$editable" = "--editable" ]; then
        # Build requirements come from the lock too (requirements/build.in), hence no build isolation.
        "$UV" pip install -q -p "$venv/bin/python" --no-deps --no-build-isolation -e "$REPO_ROOT" \
            || die "installing the agent into $venv failed (output above)"
    fi
    echo "$want" >"$stamp"
    return 0
}

# Hash of a set of files/directories: keys caches on content, not on timestamps.
tree_hash() {
    (cd "$REPO_ROOT" && find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
        | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

wait_for_port() {  # host port seconds what
    local host=$1 port=$2 secs=$3 what=$4 i
    for ((i = 0; i < secs * 10; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not open $host:$port within ${secs}s (see $RUN_DIR/*.log)"
}

apt_install() {  # installs missing Debian packages, updating the index once
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ ! -f "$CACHE_DIR/.apt-updated" ] || [ -n "$(find "$CACHE_DIR/.apt-updated" -mmin +720)" ]; then
        apt-get update -qq && touch "$CACHE_DIR/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
