#!/usr/bin/env bash
# Checks of the Rasa project, with the numbers printed at the end:
#   rasa data validate; rasa test (stories, --fail-on-prediction-errors); NLU cross-validation (intent and
#   entity F1); the held-out NLU file (never trained on); a scratch server on its own port for the serving
#   budget (start time, RSS, POST /model/parse p50/p95, gibberish -> nlu_fallback). Reports land in
#   $RUN_DIR/rasa-eval/. The shared server (rasa-start.sh) is never touched.
#   scripts/rasa-eval.sh [--folds N] [--no-cv]
source "$(dirname "$0")/lib.sh"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
FOLDS=5
CV=1
while [ $# -gt 0 ]; do
    case $1 in
        --folds) FOLDS=$2; shift 2 ;;
        --no-cv) CV=0; shift ;;
        *) die "usage: $0 [--folds N] [--no-cv]" ;;
    esac
done
: "${RASA_BENCH_PORT:=15095}"
OUT="$RUN_DIR/rasa-eval"
rm -rf "$OUT" && mkdir -p "$OUT"
model=$("$REPO_ROOT/scripts/setup-rasa.sh" | tail -1)
RASA="$RASA_VENV/bin/rasa"
cd "$REPO_ROOT/rasa_project" || die "no rasa_project/"
status=0

step "rasa data validate"
if "$RASA" data validate --fail-on-warnings > "$OUT/validate.log" 2>&1; then step_done "clean"
else step_done "FAILED"; grep -E "UserWarning|ERROR" -A2 "$OUT/validate.log" | head -20 >&2; status=1; fi

step "rasa test stories"
if "$RASA" test core --model "$model" --stories tests/test_stories.yml --fail-on-prediction-errors \
    --out "$OUT/core" > "$OUT/core.log" 2>&1; then step_done "all passed"
else step_done "FAILED (see $OUT/core/failed_test_stories.yml)"; status=1; fi

if [ "$CV" = 1 ]; then
    step "rasa NLU cross-validation ($FOLDS folds)"
    "$RASA" test nlu --nlu data/nlu.yml --config config.yml --cross-validation --folds "$FOLDS" \
        --successes --out "$OUT/cv" > "$OUT/cv.log" 2>&1 || status=1
    step_done "done"
fi

step "rasa NLU held-out test"
"$RASA" test nlu --model "$model" --nlu tests/heldout_nlu.yml --out "$OUT/heldout" > "$OUT/heldout.log" 2>&1 \
    || status=1
step_done "done"

step "serving budget (scratch server on :$RASA_BENCH_PORT)"
apt_install curl
t0=$(date +%s.%N)
(exec setsid "$RASA" run --enable-api --interface 127.0.0.1 --port "$RASA_BENCH_PORT" --model "$model" \
    > "$OUT/bench-server.log" 2>&1) &
bench_pid=$!
# shellcheck disable=SC2064  # the pid is fixed now; stop exactly this server group on any exit
trap "kill -TERM -- -$bench_pid 2>/dev/null || true" EXIT
for ((i = 0; i < 1800; i++)); do
    curl -fsS "http://127.0.0.1:$RASA_BENCH_PORT/status" 2>/dev/null | grep -q '"model_file"' && break
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.1
done
echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f\n", $2 - $1}' > "$OUT/bench-start-seconds"
if "$RASA_VENV/bin/python" - "$RASA_BENCH_PORT" "$bench_pid" > "$OUT/bench.json" <<'PY'
import json, statistics, sys, time, urllib.request
port, pid = sys.argv[1], sys.argv[2]
def parse(text):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/model/parse", json.dumps({"text": text}).encode(),
                                 {"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.load(resp)
    return (time.perf_counter() - t) * 1000, body["intent"]["name"]
turns = ["yes", "no thanks", "i'd like to book a cleaning on friday at half past two", "my name is jennifer wood",
         "what are your opening hours", "can i speak to a person", "two thirty", "operator"]
for t in turns:
    parse(t)  # warm-up: first calls build caches
times = sorted(parse(turns[i % len(turns)])[0] for i in range(400))
gibberish = ["blorp fizz", "hmm", "um er", "the of and", "qwerty uiop", "zork", "flibber jab wonk", "la la la"]
fallback = sum(parse(g)[1] == "nlu_fallback" for g in gibberish)
rss = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS"))
print(json.dumps({"parse_p50_ms": statistics.median(times), "parse_p95_ms": times[int(0.95 * len(times))],
                  "rss_mb": rss / 1024, "gibberish_fallback": fallback, "gibberish_total": len(gibberish)}))
PY
then step_done "measured"; else step_done "FAILED (see $OUT/bench-server.log)"; status=1; fi
kill -TERM -- "-$bench_pid" 2>/dev/null || true
trap - EXIT

"$RASA_VENV/bin/python" - "$OUT" "$RUN_DIR" <<'PY'
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
cv_log = (out / "cv.log").read_text() if (out / "cv.log").exists() else ""
for kind in ("Intent", "Entity") if cv_log else ():
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
bench = out / "bench.json"
if bench.exists() and bench.read_text().strip():
    b = json.loads(bench.read_text())
    start = (out / "bench-start-seconds").read_text().strip()
    print(f"server: start {start} s, RSS {b['rss_mb']:.0f} MB, /model/parse p50 {b['parse_p50_ms']:.1f} ms, "
          f"p95 {b['parse_p95_ms']:.1f} ms")
    print(f"gibberish -> nlu_fallback: {b['gibberish_fallback']}/{b['gibberish_total']}")
train = Path(sys.argv[2]) / "rasa-train-seconds"
if train.exists():
    print(f"last training: {train.read_text().strip()} s")
PY
exit $status
