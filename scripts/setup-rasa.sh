#!/usr/bin/env bash
# Rasa 3.6 in its own Python 3.10 venv (Rasa does not support 3.11), then a trained model cached on the
# content of rasa_project/. Idempotent: a second run with unchanged files does nothing but check.
#   scripts/setup-rasa.sh            venv + model
#   scripts/setup-rasa.sh --venv     venv only
source "$(dirname "$0")/lib.sh"

# The versions (Rasa 3.6.21, rasa-sdk 3.6.2, and all they pull in) are in requirements/rasa.lock.
RASA_PROJECT="$REPO_ROOT/rasa_project"
MODELS_CACHE="$CACHE_DIR/rasa-models"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

find_python310() {
    local p
    for p in /root/.pyenv/versions/3.10.*/bin/python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python3.10; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    command -v python3.10 && return 0
    # Debian 12 ships no 3.10; pyenv can build one from the CPython source tarball on python.org, which is
    # not a package registry, so on a machine without it we stop with a clear message instead.
    return 1
}

step "rasa venv"
PY310=$(find_python310) || die "no python3.10 found (pyenv 3.10.x or python3.10 on PATH is needed for Rasa)"
if sync_venv "$RASA_VENV" "$PY310" "$REPO_ROOT/requirements/rasa.lock"; then
    step_done "installed from requirements/rasa.lock in $RASA_VENV"
else
    step_done "cached"
fi
[ "${1:-}" = "--venv" ] && exit 0

step "rasa model"
# components/ holds the custom NLU code the model runs (loaded by module path), and the locked Rasa/TensorFlow
# versions train it: both are part of the key too.
hash=$(tree_hash rasa_project/config.yml rasa_project/domain.yml rasa_project/data rasa_project/endpoints.yml \
    rasa_project/components ari_agent/lexicon.py ari_agent/lexicon.yml requirements/rasa.lock)
model="$MODELS_CACHE/$hash.tar.gz"
mkdir -p "$MODELS_CACHE" "$RASA_PROJECT/models"
if [ -f "$model" ]; then
    step_done "cached ($hash)"
else
    # Train into a scratch directory and move: an interrupted run never leaves a half model in the cache.
    tmp=$(mktemp -d "$MODELS_CACHE/train.XXXXXX")
    t0=$(date +%s.%N)
    (cd "$RASA_PROJECT" && "$RASA_VENV/bin/rasa" train --quiet --data data --config config.yml \
        --domain domain.yml --out "$tmp" --fixed-model-name model \
        > "$RUN_DIR/rasa-train.log" 2>&1) || { tail -30 "$RUN_DIR/rasa-train.log" >&2; rm -rf "$tmp"; die "rasa train failed"; }
    echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f\n", $2 - $1}' > "$RUN_DIR/rasa-train-seconds"
    mv "$tmp/model.tar.gz" "$model"
    rm -rf "$tmp"
    step_done "trained ($hash)"
fi
# rasa-start.sh serves this link; keeping the cache outside the tree lets checkouts share trained models.
ln -sfn "$model" "$RASA_PROJECT/models/current.tar.gz"
echo "$model"
