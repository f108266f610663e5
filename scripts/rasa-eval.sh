#!/usr/bin/env bash
# Checks of the Rasa project, with the numbers printed at the end:
#   rasa data validate; rasa test (stories, --fail-on-prediction-errors); NLU cross-validation (intent and
#   entity F1); the held-out NLU file (never trained on). Reports land in $RUN_DIR/rasa-eval/.
#   scripts/rasa-eval.sh [--folds N]
source "$(dirname "$0")/lib.sh"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
FOLDS=5
[ "${1:-}" = "--folds" ] && FOLDS=$2
OUT="$RUN_DIR/rasa-eval"
rm -rf "$OUT" && mkdir -p "$OUT"
model=$("$REPO_ROOT/scripts/setup-rasa.sh" | tail -1)
RASA="$RASA_VENV/bin/rasa"
cd "$REPO_ROOT/rasa_project"
status=0

step "rasa data validate"
if "$RASA" data validate --fail-on-warnings > "$OUT/validate.log" 2>&1; then step_done "clean"
else step_done "FAILED"; grep -E "UserWarning|ERROR" -A2 "$OUT/validate.log" | head -20 >&2; status=1; fi

step "rasa test stories"
if "$RASA" test core --model "$model" --stories tests/test_stories.yml --fail-on-prediction-errors \
    --out "$OUT/core" > "$OUT/core.log" 2>&1; then step_done "all passed"
else step_done "FAILED (see $OUT/core/failed_test_stories.yml)"; status=1; fi

step "rasa NLU cross-validation ($FOLDS folds)"
"$RASA" test nlu --nlu data/nlu.yml --config config.yml --cross-validation --folds "$FOLDS" \
    --out "$OUT/cv" > "$OUT/cv.log" 2>&1 || status=1
step_done "done"

step "rasa NLU held-out test"
"$RASA" test nlu --model "$model" --nlu tests/heldout_nlu.yml --out "$OUT/heldout" > "$OUT/heldout.log" 2>&1 \
    || status=1
step_done "done"

"$RASA_VENV/bin/python" - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
stories = (out / "core" / "story_report.json")
if stories.exists():
    rep = json.loads(stories.read_text())
    print(f"stories: conversation accuracy {rep.get('conversation_accuracy', {}).get('accuracy', 'n/a')}, "
          f"action f1 {rep.get('weighted avg', {}).get('f1-score', 0):.3f}")
n = len(re.findall(r"^- story:", (Path("tests/test_stories.yml")).read_text(), re.M))
print(f"test stories: {n}")
cv_log = (out / "cv.log").read_text()
for kind in ("Intent", "Entity"):
    m = re.search(rf"{kind} evaluation results.*?test F1-score: ([0-9.]+) \(([0-9.]+)\)", cv_log, re.S)
    print(f"cross-validation {kind.lower()} F1 (test): {m.group(1)} (+/- {m.group(2)})" if m else f"cross-validation {kind.lower()} F1: n/a")
ir = out / "heldout" / "intent_report.json"
if ir.exists():
    rep = json.loads(ir.read_text())
    print(f"held-out intent accuracy: {rep['accuracy']:.3f}, weighted F1 {rep['weighted avg']['f1-score']:.3f} "
          f"({int(rep['weighted avg']['support'])} examples)")
er = out / "heldout" / "RegexEntityExtractor_report.json"
if er.exists():
    rep = json.loads(er.read_text())
    print(f"held-out entity F1 (RegexEntityExtractor): {rep['weighted avg']['f1-score']:.3f}")
PY
exit $status
