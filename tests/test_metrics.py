"""Metrics move by exactly what the CallEvent stream says happened."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ari_agent.events import CallEvent, EventBus, EventType
from ari_agent.metrics import STAGES, TURN_BUCKETS, Metrics


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
def setup() -> tuple[Metrics, CollectorRegistry, EventBus]:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    bus = EventBus()
    bus.subscribe(metrics)
    return metrics, registry, bus


def _call(bus: EventBus, call_id: str, outcome: str, turns: list[float], handoff: str | None = None) -> None:
    """One scripted call: start, `turns` agent replies with these total latencies (ms), end."""
    bus.emit(CallEvent(EventType.CALL_STARTED, call_id, {"caller": "+15551234"}))
    for total in turns:
        bus.emit(CallEvent(EventType.ASR_FINAL, call_id, {"text": "hi", "asr_ms": 40.0, "audio_ms": 1000}))
        bus.emit(
            CallEvent(
                EventType.TURN_LATENCY,
                call_id,
                {
                    "total_ms": total,
                    "endpointing_ms": 300.0,
                    "asr_ms": 40.0,
                    "dialogue_ms": 12.0,
                    "tts_ms": 3.0,
                    "playback_start_ms": total - 300.0,
                },
            )
        )
    if handoff:
        bus.emit(CallEvent(EventType.HANDOFF, call_id, {"reason": handoff, "queue": "reception"}))
    bus.emit(CallEvent(EventType.CALL_ENDED, call_id, {"outcome": outcome}))


def test_calls_outcomes_active_and_handoffs(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    bus.emit(CallEvent(EventType.CALL_STARTED, "a", {}))
    bus.emit(CallEvent(EventType.CALL_STARTED, "b", {}))
    assert _value(registry, "ari_agent_active_calls") == 2
    bus.emit(CallEvent(EventType.HANDOFF, "a", {"reason": "caller-request"}))
    bus.emit(CallEvent(EventType.CALL_ENDED, "a", {"outcome": "handoff"}))
    assert _value(registry, "ari_agent_active_calls") == 1
    _call(bus, "c", "booked", [500.0])
    _call(bus, "d", "handoff", [], handoff="low-confidence")
    bus.emit(CallEvent(EventType.CALL_ENDED, "b", {"outcome": "booked"}))
    assert _value(registry, "ari_agent_active_calls") == 0
    assert _value(registry, "ari_agent_calls_total", outcome="booked") == 2
    assert _value(registry, "ari_agent_calls_total", outcome="handoff") == 2
    assert _value(registry, "ari_agent_handoffs_total", reason="caller-request") == 1
    assert _value(registry, "ari_agent_handoffs_total", reason="low-confidence") == 1


def test_duplicate_or_unknown_call_end_never_goes_negative(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    bus.emit(CallEvent(EventType.CALL_STARTED, "a", {}))
    bus.emit(CallEvent(EventType.CALL_ENDED, "a", {"outcome": "hangup"}))
    bus.emit(CallEvent(EventType.CALL_ENDED, "a", {"outcome": "hangup"}))
    bus.emit(CallEvent(EventType.CALL_ENDED, "never-started", {}))
    assert _value(registry, "ari_agent_active_calls") == 0
    assert _value(registry, "ari_agent_calls_total", outcome="hangup") == 2
    assert _value(registry, "ari_agent_calls_total", outcome="unknown") == 1


def test_turn_latency_histogram_and_stage_breakdown(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    totals = [450.0, 620.0, 880.0, 1400.0]
    _call(bus, "a", "answered", totals)
    assert _value(registry, "ari_agent_turn_latency_seconds_count") == len(totals)
    assert _value(registry, "ari_agent_turn_latency_seconds_sum") == pytest.approx(sum(totals) / 1000)
    for bound in TURN_BUCKETS:
        expected = sum(1 for t in totals if t / 1000 <= bound)
        assert _value(registry, "ari_agent_turn_latency_seconds_bucket", le=str(bound)) == expected
    for stage, each_ms in [("endpointing", 300.0), ("asr", 40.0), ("dialogue", 12.0), ("tts", 3.0)]:
        assert _value(registry, "ari_agent_stage_latency_seconds_count", stage=stage) == len(totals)
        assert _value(registry, "ari_agent_stage_latency_seconds_sum", stage=stage) == pytest.approx(
            len(totals) * each_ms / 1000
        )
    assert _value(registry, "ari_agent_stage_latency_seconds_sum", stage="playback_start") == pytest.approx(
        sum(t - 300.0 for t in totals) / 1000
    )


def test_nested_breakdown_and_malformed_values(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    bus.emit(CallEvent(EventType.TURN_LATENCY, "a", {"total_ms": 700, "breakdown": {"asr": 50, "dialogue_ms": 9}}))
    bus.emit(CallEvent(EventType.TURN_LATENCY, "a", {"total_ms": None, "asr_ms": "fast", "tts_ms": -5}))
    bus.emit(CallEvent(EventType.TURN_LATENCY, "a", {"total_ms": math.nan}))
    assert _value(registry, "ari_agent_turn_latency_seconds_count") == 1
    assert _value(registry, "ari_agent_stage_latency_seconds_sum", stage="asr") == pytest.approx(0.05)
    assert _value(registry, "ari_agent_stage_latency_seconds_count", stage="dialogue") == 1
    assert _value(registry, "ari_agent_stage_latency_seconds_count", stage="tts") == 0


def test_counters_of_conversation_events(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    script = [
        (EventType.BARGE_IN, {"reaction_ms": 180.0}),
        (EventType.BARGE_IN, {"reaction_ms": 240.0}),
        (EventType.REPROMPT, {"count": 1}),
        (EventType.REPROMPT, {"count": 2}),
        (EventType.REPROMPT, {"count": 3}),
        (EventType.FALLBACK, {}),
        (EventType.OUT_OF_SCOPE, {}),
        (EventType.OUT_OF_SCOPE, {}),
        (EventType.TTS_DONE, {"tts_ms": 0.2, "cached": True}),
        (EventType.TTS_DONE, {"tts_ms": 0.1, "cached": True}),
        (EventType.TTS_DONE, {"tts_ms": 60.0, "cached": False}),
        (EventType.ARI_RECONNECTED, {}),
        (EventType.ERROR, {"code": "asr-failed", "message": "x"}),
        (EventType.ERROR, {"code": "asr-failed", "message": "y"}),
        (EventType.ERROR, {"code": "dialogue-timeout", "message": "z"}),
        (EventType.BOOKING, {"reference": "R1", "action": "booked"}),
        (EventType.DTMF, {"digit": "5"}),  # no metric of its own: must change nothing
    ]
    for kind, data in script:
        bus.emit(CallEvent(kind, "call-1", data))
    assert _value(registry, "ari_agent_barge_ins_total") == 2
    assert _value(registry, "ari_agent_barge_in_reaction_seconds_sum") == pytest.approx(0.42)
    assert _value(registry, "ari_agent_reprompts_total") == 3
    assert _value(registry, "ari_agent_fallbacks_total") == 1
    assert _value(registry, "ari_agent_out_of_scope_total") == 2
    assert _value(registry, "ari_agent_tts_cache_hits_total") == 2
    assert _value(registry, "ari_agent_tts_cache_misses_total") == 1
    assert _value(registry, "ari_agent_ari_reconnects_total") == 1
    assert _value(registry, "ari_agent_errors_total", code="asr-failed") == 2
    assert _value(registry, "ari_agent_errors_total", code="dialogue-timeout") == 1
    assert _value(registry, "ari_agent_bookings_total", action="booked") == 1


def test_asr_realtime_factor(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    bus.emit(CallEvent(EventType.ASR_FINAL, "a", {"text": "x", "asr_ms": 50.0, "audio_ms": 2000}))
    bus.emit(CallEvent(EventType.ASR_FINAL, "a", {"text": "y", "asr_ms": 300.0, "audio_ms": 1000}))
    bus.emit(CallEvent(EventType.ASR_FINAL, "a", {"text": "", "asr_ms": 5.0, "audio_ms": 0}))  # no audio: no RTF
    assert _value(registry, "ari_agent_asr_realtime_factor_count") == 2
    assert _value(registry, "ari_agent_asr_realtime_factor_sum") == pytest.approx(0.025 + 0.3)
    assert _value(registry, "ari_agent_asr_realtime_factor_bucket", le="0.05") == 1


def test_expectation_hints_are_counted_by_kind_and_fit(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    hints = [
        {"kind": "when", "text": "half past two", "complete": True},
        {"kind": "when", "text": "half past two", "complete": False},
        {"kind": "yes_no", "text": "", "complete": False},
        {"kind": "confirm", "text": "no the eleventh", "complete": True},
        {"kind": "something new", "text": "x", "complete": True},  # never a new label value
    ]
    for hint in hints:
        bus.emit(CallEvent(EventType.ASR_FINAL, "a", {"text": "x", "asr_ms": 5.0, "audio_ms": 900, "hint": hint}))
    bus.emit(CallEvent(EventType.ASR_FINAL, "a", {"text": "x", "asr_ms": 5.0, "audio_ms": 900}))  # none expected
    assert _value(registry, "ari_agent_asr_hints_total", kind="when", fit="complete") == 1
    assert _value(registry, "ari_agent_asr_hints_total", kind="when", fit="partial") == 1
    assert _value(registry, "ari_agent_asr_hints_total", kind="yes_no", fit="empty") == 1
    assert _value(registry, "ari_agent_asr_hints_total", kind="confirm", fit="complete") == 1
    assert _value(registry, "ari_agent_asr_hints_total", kind="other", fit="complete") == 1


def test_labels_stay_low_cardinality(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    for i in range(200):
        bus.emit(CallEvent(EventType.ERROR, f"call-{i}", {"code": f"code-{i}"}))
    bus.emit(CallEvent(EventType.ERROR, "c", {"code": "has spaces and\nnewlines"}))
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    codes = {s.labels["code"] for s in families["ari_agent_errors"].samples if s.name == "ari_agent_errors_total"}
    assert len(codes) == 51  # 50 distinct values, then everything else is "other"
    assert _value(registry, "ari_agent_errors_total", code="other") == 151
    # Call ids are never labels.
    text = generate_latest(registry).decode()
    assert "call-1" not in text


def test_gauges_read_from_their_owners(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    metrics, registry, bus = setup
    depth = [0]
    connected = [True]
    metrics.set_spool_depth_function(lambda: depth[0])
    metrics.set_ari_connected_function(lambda: connected[0])
    assert _value(registry, "ari_agent_ari_connected") == 1
    assert _value(registry, "ari_agent_store_spool_depth") == 0
    depth[0] = 17
    connected[0] = False
    assert _value(registry, "ari_agent_store_spool_depth") == 17
    assert _value(registry, "ari_agent_ari_connected") == 0
    live = {"n": 3}
    metrics.set_active_calls_function(lambda: live["n"])
    bus.emit(CallEvent(EventType.CALL_STARTED, "x", {}))  # the registry, not the events, is the truth now
    assert _value(registry, "ari_agent_active_calls") == 3


def test_ari_connected_is_unknown_until_someone_says(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, _bus = setup
    value = registry.get_sample_value("ari_agent_ari_connected")
    assert value is not None and math.isnan(value)


def test_exposition_has_the_documented_names(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    _, registry, bus = setup
    _call(bus, "a", "booked", [600.0])
    text = generate_latest(registry).decode()
    for name in [
        "ari_agent_active_calls",
        "ari_agent_calls_total",
        "ari_agent_handoffs_total",
        "ari_agent_turn_latency_seconds_bucket",
        "ari_agent_stage_latency_seconds_bucket",
        "ari_agent_barge_ins_total",
        "ari_agent_reprompts_total",
        "ari_agent_fallbacks_total",
        "ari_agent_out_of_scope_total",
        "ari_agent_asr_realtime_factor_bucket",
        "ari_agent_tts_cache_hits_total",
        "ari_agent_tts_cache_misses_total",
        "ari_agent_ari_reconnects_total",
        "ari_agent_asr_hints_total",
        "ari_agent_store_spool_depth",
        "ari_agent_errors_total",
    ]:
        # Declared even before a labelled series exists, so dashboards and rules find the family.
        assert f"# TYPE {name.removesuffix('_bucket')} " in text or f"\n{name}" in text, name
    for stage in STAGES:
        assert f'stage="{stage}"' in text


def test_a_new_metrics_object_takes_over_the_names() -> None:
    """Agents built one after another in one process (tests, reload) must not collide on the registry."""
    registry = CollectorRegistry()
    first = Metrics(registry)
    first(CallEvent(EventType.REPROMPT, "a", {}))
    second = Metrics(registry)
    second(CallEvent(EventType.REPROMPT, "a", {}))
    assert _value(registry, "ari_agent_reprompts_total") == 1  # the second object's own count
    second.close()
    assert registry.get_sample_value("ari_agent_reprompts_total") is None


def test_default_registry_has_process_metrics() -> None:
    from prometheus_client import REGISTRY

    metrics = Metrics()
    try:
        assert REGISTRY.get_sample_value("process_resident_memory_bytes") is not None
        assert REGISTRY.get_sample_value("ari_agent_active_calls") is not None
    finally:
        metrics.close()


def test_node_info_names_the_node_and_app(setup: tuple[Metrics, CollectorRegistry, EventBus]) -> None:
    metrics, registry, _ = setup
    metrics.set_node("pbx-a", "ari-agent-1")
    metrics.set_node("pbx-b", "ari-agent-2")  # renamed: one series, not two
    assert registry.get_sample_value("ari_agent_node_info", {"node": "pbx-b", "app": "ari-agent-2"}) == 1
    assert registry.get_sample_value("ari_agent_node_info", {"node": "pbx-a", "app": "ari-agent-1"}) is None
