"""Prometheus collectors fed only from the CallEvent stream (plus two gauges read from their owners)."""

from __future__ import annotations

import logging
import math
import re
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import Collector

from ari_agent.asr.expectations import KINDS
from ari_agent.events import CallEvent, EventType

_LOGGER = logging.getLogger(__name__)

_C = TypeVar("_C", bound=Collector)

# End of caller speech -> first reply audio: the budget is p50 0.6 s / p95 0.9 s, so resolve 0.1-3 s finely.
TURN_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
# Single stages are mostly tens of ms (Rasa, cached TTS) up to the endpointing wait (hundreds of ms).
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
BARGE_IN_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)

STAGES = ("lag", "endpointing", "asr", "dialogue", "tts", "playback_start")

# Label values come from our own code, but a bug must not explode the series count: cap distinct values.
_MAX_LABEL_VALUES = 50
_LABEL_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# One Metrics object owns the ari_agent_* names of a registry at a time (a process may build several
# Agents, e.g. in tests): the newest takes the names over.
_OWNERS: weakref.WeakKeyDictionary[CollectorRegistry, Metrics] = weakref.WeakKeyDictionary()
_OWNERS_LOCK = threading.Lock()


def _ms_to_s(value: Any) -> float | None:
    """A non-negative finite millisecond value as seconds, or None when absent or malformed."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value) / 1000.0


class _LabelGuard:
    """Maps free-form label values to a bounded set ('other' past the cap or when malformed)."""

    def __init__(self, limit: int = _MAX_LABEL_VALUES):
        self._seen: set[str] = set()
        self._limit = limit

    def __call__(self, value: Any, default: str = "unknown") -> str:
        if value is None or value == "":
            return default
        text = str(value)
        if not _LABEL_RE.match(text):
            return "other"
        if text in self._seen:
            return text
        if len(self._seen) >= self._limit:
            return "other"
        self._seen.add(text)
        return text


class Metrics:
    """Prometheus collectors of the agent; subscribe the object itself to the EventBus."""

    def __init__(self, registry: CollectorRegistry | None = None):
        # The default registry already carries the process_* and python_* collectors.
        self.registry = registry if registry is not None else REGISTRY
        self._collectors: list[Collector] = []
        self._active: set[str] = set()
        self._active_from_events = True
        self._labels = {"outcome": _LabelGuard(), "reason": _LabelGuard(), "code": _LabelGuard()}
        with _OWNERS_LOCK:
            previous = _OWNERS.get(self.registry)
            if previous is not None:
                previous.close()
            self._build()
            _OWNERS[self.registry] = self

    def _add(self, collector: _C) -> _C:
        self._collectors.append(collector)
        return collector

    def _build(self) -> None:
        r = self.registry
        self.active_calls = self._add(Gauge("ari_agent_active_calls", "Calls in progress", registry=r))
        self.calls = self._add(Counter("ari_agent_calls", "Calls ended, by outcome", ["outcome"], registry=r))
        self.handoffs = self._add(
            Counter("ari_agent_handoffs", "Calls handed to a human, by reason", ["reason"], registry=r)
        )
        self.turn_latency = self._add(
            Histogram(
                "ari_agent_turn_latency_seconds",
                "End of the caller's speech to the start of the reply's playback",
                buckets=TURN_BUCKETS,
                registry=r,
            )
        )
        self.stage_latency = self._add(
            Histogram(
                "ari_agent_stage_latency_seconds",
                "Per-stage part of the turn latency",
                ["stage"],
                buckets=STAGE_BUCKETS,
                registry=r,
            )
        )
        self.barge_ins = self._add(Counter("ari_agent_barge_ins", "Agent playbacks interrupted", registry=r))
        self.barge_in_reaction = self._add(
            Histogram(
                "ari_agent_barge_in_reaction_seconds",
                "Caller speech onset to the agent's playback stopped",
                buckets=BARGE_IN_BUCKETS,
                registry=r,
            )
        )
        self.reprompts = self._add(Counter("ari_agent_reprompts", "Reprompts after silence", registry=r))
        self.overlaps_ignored = self._add(
            Counter(
                "ari_agent_overlaps_ignored",
                "Quiet speech over the agent's replies decoded as their own echo or as nothing (a line with echo)",
                registry=r,
            )
        )
        self.fallbacks = self._add(Counter("ari_agent_fallbacks", "Turns the NLU did not understand", registry=r))
        self.out_of_scope = self._add(Counter("ari_agent_out_of_scope", "Out-of-scope requests", registry=r))
        self.asr_rtf = self._add(
            Histogram(
                "ari_agent_asr_realtime_factor",
                "ASR final-result wall time divided by the utterance's audio time",
                buckets=RTF_BUCKETS,
                registry=r,
            )
        )
        self.tts_hits = self._add(
            Counter("ari_agent_tts_cache_hits", "Prompts served from the prompt cache", registry=r)
        )
        self.tts_misses = self._add(
            Counter("ari_agent_tts_cache_misses", "Prompts that had to be synthesised", registry=r)
        )
        self.ari_reconnects = self._add(
            Counter("ari_agent_ari_reconnects", "ARI events WebSocket reconnections", registry=r)
        )
        self.asr_hints = self._add(
            Counter(
                "ari_agent_asr_hints",
                "Expected answers also read against their phrases, by kind and fit (complete, partial, empty)",
                ["kind", "fit"],
                registry=r,
            )
        )
        self.ari_connected = self._add(
            Gauge("ari_agent_ari_connected", "1 while the ARI events WebSocket is connected", registry=r)
        )
        self.audio_backlog = self._add(
            Gauge(
                "ari_agent_audio_backlog_seconds",
                "Longest wait of any call's received audio to be heard (the agent is behind the line)",
                registry=r,
            )
        )
        self.spool_depth = self._add(
            Gauge("ari_agent_store_spool_depth", "Transcript writes waiting in the spool", registry=r)
        )
        self.errors = self._add(Counter("ari_agent_errors", "Errors, by code", ["code"], registry=r))
        self.bookings = self._add(
            Counter("ari_agent_bookings", "Appointments booked/cancelled/rescheduled", ["action"], registry=r)
        )
        # Which Asterisk node and Stasis app this process serves: join on it (`* on(instance) group_left(node)`)
        # when the scrape config does not label the target with its node.
        self.node_info = self._add(
            Gauge("ari_agent_node_info", "1, labelled with the Asterisk node and ARI app this agent serves",
                  ["node", "app"], registry=r)
        )
        # Unknown until an owner says otherwise: NaN shows "no data" rather than a false "disconnected".
        self.ari_connected.set(math.nan)
        for stage in STAGES:
            self.stage_latency.labels(stage=stage)  # export zeroed series so rate() works from the start

    def close(self) -> None:
        """Unregister every collector of this object from its registry."""
        for collector in self._collectors:
            try:
                self.registry.unregister(collector)
            except KeyError:
                pass
        self._collectors.clear()

    # --- hooks for state the event stream does not carry ----------------------------------------------
    def set_node(self, node: str, app: str) -> None:
        """Name the node and app in ari_agent_node_info."""
        self.node_info.clear()
        self.node_info.labels(node=node, app=app).set(1)

    def set_spool_depth_function(self, fn: Callable[[], float]) -> None:
        """Read the transcript writer's spool depth at scrape time."""
        self.spool_depth.set_function(fn)

    def set_audio_backlog_function(self, fn: Callable[[], float]) -> None:
        """Read the calls' audio backlog (seconds) at scrape time."""
        self.audio_backlog.set_function(fn)

    def set_active_calls_function(self, fn: Callable[[], float]) -> None:
        """Read active calls from the call registry at scrape time instead of counting events."""
        self._active_from_events = False
        self.active_calls.set_function(fn)

    def set_ari_connected_function(self, fn: Callable[[], bool]) -> None:
        """Read the ARI WebSocket state at scrape time (1 connected, 0 not)."""
        self.ari_connected.set_function(lambda: 1.0 if fn() else 0.0)

    # --- the subscriber --------------------------------------------------------------------------------
    def __call__(self, event: CallEvent) -> None:
        """Update the collectors from one CallEvent (EventBus subscriber)."""
        handler = self._HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)

    def _call_started(self, event: CallEvent) -> None:
        self._active.add(event.call_id)
        if self._active_from_events:
            self.active_calls.set(len(self._active))

    def _call_ended(self, event: CallEvent) -> None:
        if event.call_id in self._active:
            self._active.discard(event.call_id)
        if self._active_from_events:
            self.active_calls.set(len(self._active))
        self.calls.labels(outcome=self._labels["outcome"](event.data.get("outcome"))).inc()

    def _handoff(self, event: CallEvent) -> None:
        self.handoffs.labels(reason=self._labels["reason"](event.data.get("reason"))).inc()

    def _turn_latency(self, event: CallEvent) -> None:
        data = event.data
        total = _ms_to_s(data.get("total_ms"))
        if total is not None:
            self.turn_latency.observe(total)
        # Stages are top-level `<stage>_ms` keys; a nested `breakdown` dict is accepted too.
        nested = data.get("breakdown")
        breakdown: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
        for stage in STAGES:
            raw = data.get(f"{stage}_ms", breakdown.get(f"{stage}_ms", breakdown.get(stage)))
            seconds = _ms_to_s(raw)
            if seconds is not None:
                self.stage_latency.labels(stage=stage).observe(seconds)

    def _barge_in(self, event: CallEvent) -> None:
        self.barge_ins.inc()
        reaction = _ms_to_s(event.data.get("reaction_ms"))
        if reaction is not None:
            self.barge_in_reaction.observe(reaction)

    def _asr_final(self, event: CallEvent) -> None:
        asr = _ms_to_s(event.data.get("asr_ms"))
        audio = _ms_to_s(event.data.get("audio_ms"))
        if asr is not None and audio:
            self.asr_rtf.observe(asr / audio)
        hint = event.data.get("hint")
        if isinstance(hint, dict):
            kind = hint.get("kind") if hint.get("kind") in KINDS else "other"  # a label value of our own only
            fit = "complete" if hint.get("complete") else ("partial" if hint.get("text") else "empty")
            self.asr_hints.labels(kind=kind, fit=fit).inc()

    def _tts_done(self, event: CallEvent) -> None:
        (self.tts_hits if event.data.get("cached") else self.tts_misses).inc()

    def _error(self, event: CallEvent) -> None:
        self.errors.labels(code=self._labels["code"](event.data.get("code"))).inc()

    def _booking(self, event: CallEvent) -> None:
        action = event.data.get("action")
        if action in ("booked", "cancelled", "rescheduled"):
            self.bookings.labels(action=action).inc()

    _HANDLERS: ClassVar[dict[EventType, Callable[[Metrics, CallEvent], None]]] = {
        EventType.CALL_STARTED: _call_started,
        EventType.CALL_ENDED: _call_ended,
        EventType.HANDOFF: _handoff,
        EventType.TURN_LATENCY: _turn_latency,
        EventType.BARGE_IN: _barge_in,
        EventType.REPROMPT: lambda self, _e: self.reprompts.inc(),
        EventType.OVERLAP_IGNORED: lambda self, _e: self.overlaps_ignored.inc(),
        EventType.FALLBACK: lambda self, _e: self.fallbacks.inc(),
        EventType.OUT_OF_SCOPE: lambda self, _e: self.out_of_scope.inc(),
        EventType.ASR_FINAL: _asr_final,
        EventType.TTS_DONE: _tts_done,
        EventType.ARI_RECONNECTED: lambda self, _e: self.ari_reconnects.inc(),
        EventType.ERROR: _error,
        EventType.BOOKING: _booking,
    }
