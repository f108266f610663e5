"""docker/ stays in step with the code: every metric the rules and the dashboard use is exported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from ari_agent.config import load_settings
from ari_agent.metrics import Metrics

DOCKER = Path(__file__).resolve().parent.parent / "docker"
_NAME = re.compile(r"\bari_agent_[a-z_]+")


def _exported() -> set[str]:
    registry = CollectorRegistry()
    Metrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
    return names


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load((DOCKER / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dash = json.loads((DOCKER / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_alert_rules_use_only_exported_metrics() -> None:
    exported = _exported()
    used = {name for expr in _alert_exprs() for name in _NAME.findall(expr)}
    assert used, "no ari_agent_* metric in the rules"
    assert used <= exported, used - exported


def test_dashboard_uses_only_exported_metrics_and_shows_what_issue_6_asks() -> None:
    exprs = _dashboard_exprs()
    used = {name for expr in exprs for name in _NAME.findall(expr)}
    assert used <= _exported(), used - _exported()
    joined = "\n".join(exprs)
    for needed in [
        "ari_agent_calls_total",
        "sum by (outcome)",
        "sum by (reason) (increase(ari_agent_handoffs_total",
        "histogram_quantile(0.5, sum by (le) (rate(ari_agent_turn_latency_seconds_bucket",
        "histogram_quantile(0.95, sum by (le) (rate(ari_agent_turn_latency_seconds_bucket",
    ]:
        assert needed in joined, needed
    ids = [p["id"] for p in json.loads((DOCKER / "grafana-dashboard.json").read_text())["panels"]]
    assert len(ids) == len(set(ids))


def test_scrape_target_is_the_agents_default_http_port() -> None:
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "ari-agent"]
    (target,) = job["static_configs"][0]["targets"]
    settings = load_settings(environ={})
    assert target == f"127.0.0.1:{settings.http.port}"
    assert job["metrics_path"] == "/metrics"
    assert config["rule_files"] == ["alerts.yml"]
