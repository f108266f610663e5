#!/usr/bin/env bash
# Starts the local Asterisk 22 (chroot built by setup-asterisk.sh) with the ari-agent configuration and
# waits until ARI answers. Idempotent: returns at once if our Asterisk is already up.
#   scripts/asterisk-start.sh               render asterisk_conf/ into the root, start, wait for ARI
#   scripts/asterisk-start.sh --render DIR  only render the configuration into DIR (e.g. for your own PBX)
# Settings (environment): ARI_PORT SIP_PORT PG_* (lib.sh), ARI_USER, ARI_PASSWORD, ARI_APP,
# TESTCALLER_PASSWORD, QUEUE_TIMEOUT.
# Output: $RUN_DIR/asterisk.log (console), $RUN_DIR/asterisk.pid.
source "$(dirname "${BASH_SOURCE[0]}")/asterisk-env.sh"

render_conf() {  # dest_dir: renders asterisk_conf/*.conf and asterisk_conf/stack/*.conf
    local dest=$1 f
    mkdir -p "$dest"
    # Only our placeholders: everything else in the files (${EXTEN}, ${CALLERID(all)}, ...) is dialplan.
    local vars='${ARI_PORT} ${SIP_PORT} ${ARI_USER} ${ARI_PASSWORD} ${ARI_APP} ${TESTCALLER_PASSWORD}'
    vars+=' ${QUEUE_TIMEOUT} ${PG_HOST} ${PG_PORT} ${PG_DB} ${PG_USER} ${PG_PASSWORD} ${STACK_CONF_DIR}'
    vars+=' ${AST_RUN_DIR} ${AST_DB_DIR} ${AST_SYSTEM_NAME} ${RTP_START} ${RTP_END} ${TESTCALLER_CONTEXT}'
    vars+=' ${ARI_BROADCAST_FILTER}'
    for f in "$REPO_ROOT"/asterisk_conf/*.conf "$REPO_ROOT"/asterisk_conf/stack/*.conf; do
        envsubst "$vars" <"$f" >"$dest/$(basename "$f").tmp"
        mv "$dest/$(basename "$f").tmp" "$dest/$(basename "$f")"
    done
}

apt_install gettext-base curl
if [ "${1:-}" = "--render" ]; then
    [ -n "${2:-}" ] || die "usage: $0 --render DIR"
    # Rendering for a PBX of your own: the passwords committed here (the local stack's) would open ARI, the
    # database and a SIP account to anyone who has read this repository.
    for var in ARI_PASSWORD:ari_agent_secret TESTCALLER_PASSWORD:testcaller_secret PG_PASSWORD:ari_agent; do
        name=${var%%:*}
        [ "${!name}" != "${var#*:}" ] || die "$name is the default committed in this repository: set $name=... \
(a password of your own) and render again"
    done
    render_conf "$2"
    echo "rendered into $2" >&2
    exit 0
fi

[ -x "$ASTERISK_ROOT/usr/sbin/asterisk" ] || die "no Asterisk root in $ASTERISK_ROOT: run scripts/setup-asterisk.sh"

if asterisk_running && ari_ready; then
    # Already up: bring its configuration in line with asterisk_conf/ (a reload keeps live calls).
    fresh=$(mktemp -d)
    render_conf "$fresh"
    if diff -rq "$fresh" "$ASTERISK_ROOT$STACK_CONF_DIR" >/dev/null 2>&1; then
        echo "Asterisk already running (pid $(cat "$ASTERISK_PID_FILE")), ARI on 127.0.0.1:$ARI_PORT" >&2
    else
        step "configuration changed: render and reload the running Asterisk"
        render_conf "$ASTERISK_ROOT$STACK_CONF_DIR"
        asterisk_rx "core reload" >/dev/null
        step_done "reloaded (a new transport/http port needs scripts/asterisk-stop.sh first)"
    fi
    rm -rf "$fresh"
    exit 0
fi
if asterisk_running; then
    # Alive but ARI is not answering: a half-started or wedged instance; start clean.
    "$REPO_ROOT/scripts/asterisk-stop.sh"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$ARI_PORT") 2>/dev/null; then
    die "port $ARI_PORT is taken by another process (not our Asterisk); set ARI_PORT"
fi

step "render Asterisk configuration into $ASTERISK_ROOT$STACK_CONF_DIR"
render_conf "$ASTERISK_ROOT$STACK_CONF_DIR"
mkdir -p "$ASTERISK_ROOT$AST_RUN_DIR" "$ASTERISK_ROOT$AST_DB_DIR" "$ASTERISK_ROOT/var/log/asterisk" \
    "$ASTERISK_ROOT/var/lib/ari-agent/sounds" "$ASTERISK_ROOT/var/lib/ari-agent/recordings" \
    "$ASTERISK_ROOT/var/lib/asterisk/keys"
rm -f "$ASTERISK_ROOT$AST_RUN_DIR/asterisk.ctl"
step_done

step "start Asterisk (ARI 127.0.0.1:$ARI_PORT, SIP 127.0.0.1:$SIP_PORT)"
# setsid: the PBX must outlive the shell (and its Ctrl-C) that started it.
setsid chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -f -n -C "$STACK_CONF_DIR/asterisk.conf" \
    >>"$RUN_DIR/asterisk.log" 2>&1 </dev/null &
echo $! >"$ASTERISK_PID_FILE"
for ((i = 0; i < 300; i++)); do
    ari_ready && break
    asterisk_running || die "Asterisk exited during start-up; see $RUN_DIR/asterisk.log"
    sleep 0.1
done
ari_ready || die "ARI did not answer within 30 s; see $RUN_DIR/asterisk.log"
step_done "pid $(cat "$ASTERISK_PID_FILE"), ARI ready"
