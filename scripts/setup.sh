#!/usr/bin/env bash
# Installs everything the local stack needs, idempotently; a second run only verifies the caches.
# Usage: scripts/setup.sh [component...]   (components: venv asterisk postgres vosk rasa; default: all)
source "$(dirname "$0")/lib.sh"

setup_venv() {
    step "agent virtualenv (.venv, Python 3.11)"
    # festival and its voices: more caller voices for `ari-agent simulate` (make test runs a fixed simulation);
    # sip-tester (SIPp): the SIP callers of the soak (make soak; make test runs a short one).
    apt_install flite espeak-ng sox bc festival festvox-us-slt-hts festvox-kdlpc16k festvox-kallpc16k sip-tester
    local py
    py=$(command -v python3.11 || ls /root/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | head -1 || true)
    [ -n "$py" ] || die "Python 3.11 not found: install python3.11 (Debian: apt-get install python3.11) or via pyenv"
    if sync_venv "$AGENT_VENV" "$py" "$REPO_ROOT/requirements/agent.lock" --editable; then
        step_done "installed from requirements/agent.lock"
    else
        step_done "cached"
    fi
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
