#!/usr/bin/env bash
# Installs everything the local stack needs, idempotently; a second run only verifies the caches.
# Usage: scripts/setup.sh [component...]   (components: venv asterisk postgres vosk rasa; default: all)
source "$(dirname "$0")/lib.sh"

setup_venv() {
    step "agent virtualenv (.venv, Python 3.11)"
    apt_install flite espeak-ng sox bc
    ensure_uv
    local py
    py=$(command -v python3.11 || ls /root/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | head -1 || true)
    [ -n "$py" ] || die "Python 3.11 not found: install python3.11 (Debian: apt-get install python3.11) or via pyenv"
    local stamp="$AGENT_VENV/.ari-agent-setup" want
    want=$(cat "$REPO_ROOT/setup.cfg" | sha256sum | cut -c1-16)
    if [ -x "$AGENT_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        step_done "cached"
        return
    fi
    [ -x "$AGENT_VENV/bin/python" ] || "$UV" venv -q -p "$py" "$AGENT_VENV"
    "$UV" pip install -q -p "$AGENT_VENV/bin/python" -e "$REPO_ROOT[dev]"
    echo "$want" >"$stamp"
    step_done "installed"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(venv postgres asterisk vosk rasa)
for c in "${components[@]}"; do
    case "$c" in
        venv) setup_venv ;;
        asterisk) bash "$REPO_ROOT/scripts/setup-asterisk.sh" ;;
        postgres) bash "$REPO_ROOT/scripts/setup-postgres.sh" ;;
        vosk) bash "$REPO_ROOT/scripts/setup-vosk.sh" >/dev/null ;;
        rasa) bash "$REPO_ROOT/scripts/setup-rasa.sh" ;;
        *) die "unknown component $c (known: venv postgres asterisk vosk rasa)" ;;
    esac
done
