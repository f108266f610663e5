#!/usr/bin/env bash
# Fails, naming every difference, when an environment does not hold exactly what its lock lists: a package
# installed by hand, upgraded, or left over is caught here instead of as an import error deep inside torch.
#
#   scripts/check-locks.sh [tools] [agent] [rasa] [coqui]     (default: every environment that exists)
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_uv

declare -A VENVS=([tools]="$TOOLS_VENV" [agent]="$AGENT_VENV" [rasa]="$RASA_VENV" [coqui]="$CACHE_DIR/coqui-venv")
declare -A LOCKS=([tools]=tools.lock [agent]=agent.lock [rasa]=rasa.lock [coqui]=coqui.lock)

envs=("$@")
if [ ${#envs[@]} -eq 0 ]; then
    for e in tools agent rasa coqui; do [ -x "${VENVS[$e]}/bin/python" ] && envs+=("$e"); done
fi

failed=0
step "lock files are up to date with their inputs"
if ! stale=$(sha256sum --quiet -c requirements/inputs.sha256 2>&1); then
    printf 'ERROR: changed since the locks were made:\n%s\n  Fix: run scripts/lock.sh and commit requirements/.\n' \
        "$stale" >&2
    failed=1
else
    step_done "yes"
fi
for e in "${envs[@]}"; do
    venv=${VENVS[$e]:-} lock="requirements/${LOCKS[$e]:-}"
    [ -n "$venv" ] || die "unknown environment $e (known: tools agent rasa coqui)"
    step "$e environment matches $lock"
    [ -x "$venv/bin/python" ] || die "$venv does not exist: run make setup (or scripts/test-coqui.sh for coqui)"
    # A dry-run sync lists what it would add (+), remove (-) or reinstall (~); the agent's own editable
    # install is the one expected extra.
    out=$("$UV" pip sync --dry-run -p "$venv/bin/python" "$lock" 2>&1) || { echo "$out" >&2; die "uv could not read $lock"; }
    drift=$(grep -E '^ [-+~] ' <<<"$out" | grep -vE "^ - ari-agent==.* \(from file://$REPO_ROOT\)$" || true)
    consistent=$("$UV" pip check -p "$venv/bin/python" 2>&1) || drift+=$'\n'"$consistent"
    if [ -n "$drift" ]; then
        printf 'ERROR: %s (%s) does not match %s:\n%s\n' "$e" "$venv" "$lock" "$drift" >&2
        printf '  "-" is installed but not locked, "+" is locked but not installed.\n' >&2
        printf '  Fix: rm %s/.ari-agent-lock and run make setup (it re-syncs the venv from the lock);\n' "$venv" >&2
        printf '  if the lock itself is what should change, edit its input and run scripts/lock.sh.\n' >&2
        failed=1
        continue
    fi
    step_done "$(grep -c '^[a-z0-9]' "$lock") packages as locked"
done
exit $failed
