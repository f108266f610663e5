"""Process wiring: builds the engines once, connects to Asterisk, serves HTTP, drains on SIGTERM.

`Agent` is an async context manager so that tests, the demo and `ari-agent run` start the very same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from ari_agent import memdiag
from ari_agent.ari.client import AriClient, EventListener
from ari_agent.asr.base import AsrEngine
from ari_agent.call.manager import CallManager
from ari_agent.call.session import FIXED_PROMPTS, CallDeps
from ari_agent.config import Settings
from ari_agent.dialogue.base import DialogueEngine
from ari_agent.events import EventBus
from ari_agent.tts.base import TtsEngine
from ari_agent.web.health import Readiness, add_health_routes

_LOGGER = logging.getLogger(__name__)


def make_tts(settings: Settings) -> TtsEngine:
    """The configured TTS engine."""
    tts = settings.tts
    if tts.engine == "coqui":
        from ari_agent.tts.coqui import CoquiTts

        return CoquiTts(tts.coqui_model_path, tts.coqui_config_path)
    if tts.engine == "espeak":
        from ari_agent.tts.flite import EspeakTts

        return EspeakTts(voice=tts.voice)
    from ari_agent.tts.flite import FliteTts

    return FliteTts(voice=tts.voice)


class Agent:
    """Everything one agent process runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        bus: EventBus | None = None,
        asr: AsrEngine | None = None,
        dialogue: DialogueEngine | None = None,
        serve_http: bool = True,
        store: bool = True,
        scope: str = "live",
    ) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        self._asr = asr
        self._dialogue = dialogue
        self._serve_http = serve_http
        self._store = store
        self._scope = scope  # bookings scope: tests and replays keep their bookings apart from live ones
        self._stack = contextlib.AsyncExitStack()
        self.manager: CallManager | None = None
        self.listener: EventListener | None = None
        self.readiness = Readiness()
        self.writer: Any = None  # the TranscriptWriter, when the store is on

    async def __aenter__(self) -> Agent:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        s = self.settings
        from ari_agent.metrics import Metrics
        from ari_agent.tts.cache import PromptCache

        metrics = Metrics()
        metrics.set_node(s.ari.node_name(), s.ari.app)
        self._stack.callback(self.bus.subscribe(metrics))
        from ari_agent.logging_setup import log_event

        self._stack.callback(self.bus.subscribe(log_event))

        if self._store:
            from ari_agent.store.redact import Redactor
            from ari_agent.store.writer import TranscriptWriter

            writer = TranscriptWriter.from_settings(s.database, Redactor(s.database.redact_patterns).redact)
            self.writer = writer
            await writer.start()
            self._stack.push_async_callback(writer.close)
            self._stack.callback(self.bus.subscribe(writer))
            metrics.set_spool_depth_function(lambda: writer.spool_depth)

            async def store_ready() -> str | None:
                return writer.not_ready_reason()

            self.readiness.add("store", store_ready)

        if self._asr is None:
            from ari_agent.asr.vosk import VoskEngine

            self._asr = VoskEngine(
                s.asr.vosk_model_path, sample_rate=s.asr.sample_rate, expectation_hints=s.asr.expectation_hints,
                alternatives=s.asr.alternatives, beam=s.asr.beam, max_active=s.asr.max_active,
            )

        if self._dialogue is None:
            from ari_agent.dialogue.rasa import RasaDialogue

            rasa = RasaDialogue(s.dialogue.rasa_url, timeout=s.dialogue.timeout_seconds, auth_token=s.dialogue.token())
            self._stack.push_async_callback(rasa.close)
            self._dialogue = rasa
        probe = getattr(self._dialogue, "not_ready_reason", None)
        if probe is not None:
            self.readiness.add("rasa", probe)

        prompts = PromptCache(make_tts(s), Path(s.tts.cache_dir), s.tts.asterisk_sound_dir)
        await prompts.prerender([s.call.greeting, *FIXED_PROMPTS])

        ari = AriClient(
            s.ari.url, s.ari.username, s.ari.password, s.ari.app, timeout=s.ari.request_timeout_seconds
        )
        self._stack.push_async_callback(ari.close)
        recorder = None
        if s.recording.enabled:
            from ari_agent.recording import CallRecorder, prune_older_than

            recordings = Path(s.recording.directory)
            pruned = prune_older_than(recordings, s.recording.retention_days)
            _LOGGER.info("recording calls to %s (%d expired recordings deleted)", recordings, pruned)
            from ari_agent.store.redact import Redactor

            recorder = CallRecorder(recordings, redact=Redactor(s.database.redact_patterns).redact)
        deps = CallDeps(
            settings=s,
            ari=ari,
            asr=self._asr,
            dialogue=self._dialogue,
            prompts=prompts,
            bus=self.bus,
            scope=self._scope,
            recorder=recorder,
        )
        self.manager = manager = CallManager(deps, close_unfinished=self._unfinished_closer())
        metrics.set_active_calls_function(lambda: manager.active_calls)
        metrics.set_audio_backlog_function(lambda: manager.audio_backlog_ms() / 1000)
        self.listener = listener = EventListener(
            ari, manager.dispatch, manager.resync, max_backoff=s.ari.reconnect_max_seconds
        )
        metrics.set_ari_connected_function(listener.connected.is_set)
        task = asyncio.create_task(listener.run(), name="ari-events")

        async def stop_listener() -> None:
            await manager.drain(timeout=0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._stack.push_async_callback(stop_listener)

        async def ari_ready() -> str | None:
            return None if listener.connected.is_set() else "ARI events WebSocket not connected"

        async def model_ready() -> str | None:
            return None if self._asr is not None else "ASR model not loaded"

        async def capacity_ready() -> str | None:
            return manager.full()

        self.readiness.add("ari", ari_ready)
        self.readiness.add("capacity", capacity_ready)
        self.readiness.add("asr", model_ready)

        if self._serve_http:
            app = web.Application()
            add_health_routes(app, self.readiness)
            self._add_pages(app)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            self._stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, s.http.host, s.http.port)
            await site.start()
            _LOGGER.info("HTTP on http://%s:%s/ (/metrics /healthz /readyz)", s.http.host, s.http.port)

    def _unfinished_closer(self) -> Callable[[set[str]], Awaitable[object]] | None:
        """What closes the `calls` rows a previous run left open (None without the store)."""
        writer = self.writer
        if writer is None:
            return None
        from ari_agent.store.queries import close_unfinished

        started = datetime.now(UTC)
        dsn = self.settings.database.dsn
        node = self.settings.ari.node_name()

        async def close(alive: set[str]) -> object:
            # What the previous run spooled goes in first: a call it did finish must not be closed as failed.
            await writer.flush(5.0)
            return await close_unfinished(dsn, started, alive, "the agent restarted during the call", node)

        return close

    def _add_pages(self, app: web.Application) -> None:
        try:
            from ari_agent.web.pages import add_pages
        except ImportError:
            return
        add_pages(app, self.settings)

    async def drain(self, timeout: float) -> None:
        """Stop taking calls and wait for live ones to finish."""
        if self.manager is not None:
            await self.manager.drain(timeout)


async def serve(settings: Settings) -> None:
    """`ari-agent run`: serve until SIGTERM/SIGINT, then drain live calls."""
    from ari_agent.logging_setup import configure_logging

    configure_logging(settings.logging.format, settings.logging.level, secrets=settings.secrets())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    memdiag.install(loop)
    async with Agent(settings) as agent:
        _LOGGER.info("ari-agent serving Stasis app %r at %s", settings.ari.app, settings.ari.url)
        await stop.wait()
        _LOGGER.info("stopping: draining live calls")
        await agent.drain(timeout=settings.call.drain_seconds)
