#!/usr/bin/env bash
# Validates docker/prometheus.yml, docker/prometheus-cluster.yml and docker/alerts.yml with promtool, and runs the alert unit tests
# (docker/alerts_test.yml). promtool comes from Debian's `prometheus` package: the .deb is downloaded and
# unpacked into the cache, not installed, so no Prometheus service is started on this machine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROMTOOL_DIR="$CACHE_DIR/promtool"

ensure_promtool() {
    if command -v promtool >/dev/null 2>&1; then
        PROMTOOL=$(command -v promtool)
        return
    fi
    PROMTOOL="$PROMTOOL_DIR/root/usr/bin/promtool"
    [ -x "$PROMTOOL" ] && return
    step "unpack promtool from Debian package prometheus"
    command -v apt-get >/dev/null || die "promtool not found and no apt-get: install Prometheus' promtool"
    if ! apt-cache show prometheus >/dev/null 2>&1; then
        apt-get update -qq && touch "$CACHE_DIR/.apt-updated"
    fi
    rm -rf "$PROMTOOL_DIR" && mkdir -p "$PROMTOOL_DIR/root"
    # apt warns that _apt cannot write the cache dir and downloads as root: harmless here.
    (cd "$PROMTOOL_DIR" && apt-get download -qq prometheus 2>&1 | grep -v unsandboxed >&2 || true)
    ls "$PROMTOOL_DIR"/prometheus_*.deb >/dev/null 2>&1 \
        || die "apt-get download prometheus failed"
    dpkg-deb -x "$PROMTOOL_DIR"/prometheus_*.deb "$PROMTOOL_DIR/root"
    rm -f "$PROMTOOL_DIR"/prometheus_*.deb "$PROMTOOL_DIR"/root/usr/bin/prometheus  # only promtool is kept
    [ -x "$PROMTOOL" ] || die "the prometheus package holds no usr/bin/promtool"
    step_done "$("$PROMTOOL" --version 2>&1 | head -1)"
}

ensure_promtool
step "promtool check config + rules + alert tests"
"$PROMTOOL" check config "$REPO_ROOT/docker/prometheus.yml" >&2
"$PROMTOOL" check config "$REPO_ROOT/docker/prometheus-cluster.yml" >&2
"$PROMTOOL" check rules "$REPO_ROOT/docker/alerts.yml" >&2
"$PROMTOOL" test rules "$REPO_ROOT/docker/alerts_test.yml" >&2
# The dashboard's queries, with Grafana's variables filled in, must parse as PromQL too: promtool checks
# them as recording rules in a throw-away file.
dash_rules="$(mktemp --suffix=.yml)"
trap 'rm -f "$dash_rules"' EXIT
python3 - "$REPO_ROOT/docker/grafana-dashboard.json" >"$dash_rules" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
subst = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m", "$job": ".*", "$instance": ".*"}
print("groups:\n  - name: dashboard\n    rules:")
for panel in dash["panels"]:
    for target in panel["targets"]:
        expr = target["expr"]
        for key, value in subst.items():
            expr = expr.replace(key, value)
        print(f"      - record: dashboard:panel{panel['id']}:{target['refId']}")
        print(f"        expr: {json.dumps(expr)}")
PY
"$PROMTOOL" check rules "$dash_rules" >&2
step_done "ok"
