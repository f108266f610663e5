"""Speaking to the caller: replies played a sentence at a time, stopped the moment the caller barges in.

The speaker owns the call's playbacks: it renders each sentence through the prompt cache, plays it on the
caller's channel, follows PlaybackStarted/Finished, tells the listener when the agent's voice is on the line
(so line echo is not taken for the caller), and reports the turn latency of each reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ari_agent.ari.client import AriError
from ari_agent.ari.models import AriEvent
from ari_agent.call.deps import CallDeps, Prompt
from ari_agent.call.listener import Listener, Utterance, prompt_levels
from ari_agent.errors import StageError
from ari_agent.events import EventType


@dataclass
class _Speech:
    playback_id: str  # the reply's id (its first sentence's playback); events and barge-ins name it
    finished: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    current_id: str = ""  # the sentence playing now
    current_path: str = ""  # its file: its levels tell line echo from the caller's voice
    started_mono: float | None = None
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class _Answering:
    """The caller's turn a reply answers: its latency is measured from the end of that speech."""

    utterance: Utterance
    dialogue_ms: float


class Speaker:
    """Plays the agent's replies on one caller's channel."""

    def __init__(
        self,
        deps: CallDeps,
        call_id: str,
        channel_id: str,
        *,
        emit: Callable[..., None],
        record: Callable[..., Any],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self._deps = deps
        self._call_id = call_id
        self._channel_id = channel_id
        self._emit = emit
        self._record = record
        self._spawn = spawn
        self._speech: _Speech | None = None
        self._seq = 0
        self._answering: _Answering | None = None
        self.listener: Listener | None = None  # set once the call's media is up

    def answering(self, utterance: Utterance, dialogue_ms: float) -> None:
        """The next reply answers `utterance`: its latency is reported from the end of that speech."""
        self._answering = _Answering(utterance, dialogue_ms)

    def on_playback(self, event: AriEvent) -> None:
        """PlaybackStarted / PlaybackFinished of this channel, in order."""
        speech = self._speech
        if speech is None or speech.current_id != event.playback_id:
            return
        if event.type == "PlaybackStarted":
            if self.listener is not None and speech.current_path:
                self.listener.agent_audio_started(prompt_levels(speech.current_path))
            if speech.playback_id == event.playback_id:
                speech.started_mono = time.monotonic()
                self._emit(EventType.PLAYBACK_STARTED, playback_id=event.playback_id)
        elif event.type == "PlaybackFinished" and not speech.finished.done():
            speech.finished.set_result(event.playback_state != "failed")

    def on_barge_in(self, reaction_ms: float) -> None:
        """Called by the listener when the caller takes the turn over the agent's playback."""
        speech = self._speech
        if speech is None or speech.interrupted:
            return
        speech.interrupted = True
        self._emit(EventType.BARGE_IN, reaction_ms=reaction_ms, playback_id=speech.playback_id)
        if not speech.finished.done():
            # Urgent control: stopping the playback must not wait behind anything else.
            self._spawn(self._stop(speech), f"{self._call_id}-barge-in")

    async def stop_current(self) -> None:
        """Stop whatever is playing (Asterisk would queue the next playback behind it)."""
        speech = self._speech
        if speech is not None and speech.current_id and not speech.finished.done():
            with contextlib.suppress(AriError):
                await self._deps.ari.stop_playback(speech.current_id)

    async def _stop(self, speech: _Speech) -> None:
        with contextlib.suppress(AriError):
            await self._deps.ari.stop_playback(speech.current_id)
        if not speech.finished.done():
            speech.finished.set_result(False)

    async def speak(self, text: str, *, interruptible: bool = True) -> bool:
        """Say `text` to the caller. Returns False when the caller barged in (or playback failed).

        The reply is synthesised and played a sentence at a time: the caller hears the first sentence while
        the next one is synthesised, so the turn latency pays for one short sentence of TTS, not the reply.
        """
        sentences = split_sentences(text)
        if not sentences:
            return True
        prompts = self._deps.prompts
        timeout = self._deps.settings.call.stage_timeout_seconds
        started = time.monotonic()
        pending = asyncio.ensure_future(prompts.get(sentences[0]))
        self._seq += 1
        speech = _Speech(playback_id=f"{self._call_id}-pb{self._seq}")
        self._speech = speech
        if self.listener is not None:
            self.listener.agent_started_speaking(interruptible, text)
        try:
            finished_ok = True
            for index in range(len(sentences)):
                try:
                    async with asyncio.timeout(timeout):
                        prompt = await pending
                except TimeoutError:
                    raise StageError("tts-timeout", "speech synthesis took too long") from None
                if speech.interrupted:  # the caller barged in between two sentences
                    break
                if index + 1 < len(sentences):
                    pending = asyncio.ensure_future(prompts.get(sentences[index + 1]))
                path = self._record("agent_turn", getattr(prompt, "path", None), sentences[index])
                recorded = {"audio_path": str(path)} if path else {}
                if index == 0:
                    tts_ms = (time.monotonic() - started) * 1000
                    self._emit(EventType.AGENT_TURN, text=" ".join(sentences), **recorded)
                    self._emit(EventType.TTS_DONE, tts_ms=tts_ms, cached=bool(prompt.cached))
                finished_ok = await self._play_one(speech, prompt, index)
                if index == 0:
                    self._report_turn_latency(speech, tts_ms)
                if not finished_ok or speech.interrupted:
                    break
            self._emit(EventType.PLAYBACK_FINISHED, playback_id=speech.playback_id, interrupted=speech.interrupted)
            return finished_ok and not speech.interrupted
        finally:
            if not pending.done():
                pending.cancel()
            if self.listener is not None:
                self.listener.agent_stopped_speaking()

    async def _play_one(self, speech: _Speech, prompt: Prompt, index: int) -> bool:
        """Play one sentence of a reply; False if it failed or was stopped."""
        playback_id = speech.playback_id if index == 0 else f"{speech.playback_id}s{index}"
        speech.current_id = playback_id
        speech.current_path = str(getattr(prompt, "path", "") or "")
        speech.finished = asyncio.get_running_loop().create_future()
        try:
            await self._deps.ari.play(self._channel_id, prompt.uri, playback_id)
        except AriError as exc:
            if exc.status != 404:
                raise
            # The caller's channel is gone: they hung up and the event saying so is on its way to the session.
            return False
        # The playback's own length bounds the wait; a lost PlaybackFinished never hangs the call.
        limit = prompt.duration_ms / 1000 + self._deps.settings.call.stage_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                return await speech.finished
        except TimeoutError:
            self._emit(EventType.ERROR, code="playback-timeout", message=playback_id)
            return False

    def _report_turn_latency(self, speech: _Speech, tts_ms: float) -> None:
        answering, self._answering = self._answering, None
        if answering is None or speech.started_mono is None:
            return
        utt = answering.utterance
        playback_start_ms = (speech.started_mono - utt.ended_mono) * 1000
        # From the caller's end of speech: a loaded agent hears it `lag_ms` late, then waits out the silence.
        self._emit(
            EventType.TURN_LATENCY,
            total_ms=utt.lag_ms + utt.endpoint_wait_ms + playback_start_ms,
            lag_ms=utt.lag_ms,
            endpointing_ms=utt.endpoint_wait_ms,
            asr_ms=utt.asr_final_ms,
            dialogue_ms=answering.dialogue_ms,
            tts_ms=tts_ms,
            playback_start_ms=playback_start_ms,
        )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


def split_sentences(text: str) -> list[str]:
    """A reply cut into sentences (short fragments are kept with their neighbour)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and (len(merged[-1]) < 12 or len(part) < 12):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged
