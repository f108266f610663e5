"""CallSession: one object owns one call, from StasisStart to its last event.

Everything the call starts (media receiver, snoop, externalMedia, bridge, tasks) lives in one TaskGroup and is
torn down in `finally`, whatever ended the call: the caller hanging up, a handoff, a goodbye, or a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ari_agent.ari.client import AriClient, AriError
from ari_agent.ari.models import AriEvent, Channel
from ari_agent.asr.base import AsrEngine, AsrHint
from ari_agent.asr.expectations import expectation_for
from ari_agent.call.listener import Listener, ListenerConfig, NoInput, Utterance, prompt_levels
from ari_agent.config import Settings
from ari_agent.dialogue.base import CallContext, DialogueEngine, DialogueError, DialogueResult, Handoff
from ari_agent.errors import StageError
from ari_agent.events import CallEvent, EventBus, EventType
from ari_agent.media.rtp import RtpReceiver
from ari_agent.recording import CallRecorder

_LOGGER = logging.getLogger(__name__)

HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})

APOLOGY = "I'm sorry, I'm having trouble on my side."
CONNECTING = "Let me connect you with a member of our team. One moment please."
REPROMPT = "Are you still there? How can I help you?"
NO_INPUT_GOODBYE = "I can't hear anything, so I'll connect you with a colleague."
GOODBYE = "Thank you for calling. Goodbye."
HANDOFF_REASONS_SPOKEN = {
    "requested": "asked for a person",
    "dtmf": "pressed zero for the operator",
    "urgent": "has an urgent problem",
    "misunderstood": "was not understood twice",
    "out_of_scope": "asked for something this line cannot help with",
    "frustration": "sounded frustrated",
    "error": "hit a technical problem",
    "no_input": "did not say anything",
}
# To a caller found waiting after the agent restarted: short, they have already waited in silence.
RESCUE_APOLOGY = "Sorry, something went wrong on our side. Connecting you to a colleague."
# To a caller over the agent's call limit ([call] max_concurrent_calls).
ALL_BUSY = "All our lines are busy right now. Connecting you to a colleague."
FIXED_PROMPTS = (APOLOGY, CONNECTING, REPROMPT, NO_INPUT_GOODBYE, GOODBYE, RESCUE_APOLOGY, ALL_BUSY)


class Prompt(Protocol):
    """A rendered prompt, as the prompt cache returns it."""

    @property
    def uri(self) -> str:
        """The sound URI Asterisk plays."""
        ...

    @property
    def duration_ms(self) -> int:
        """Its length."""
        ...

    @property
    def cached(self) -> bool:
        """Whether it came from the cache."""
        ...


class PromptSource(Protocol):
    """The prompt cache: text -> a file Asterisk can play."""

    async def get(self, text: str) -> Prompt:
        """Render (or find) the prompt for `text`."""
        ...


class MediaSource(Protocol):
    """Where the caller's audio arrives: the RTP receiver in production, a scripted source in tests."""

    @property
    def port(self) -> int:
        """The local port Asterisk's externalMedia channel sends to."""
        ...

    async def start(self) -> None:
        """Bind and start the audio clock."""
        ...

    def frames(self) -> AsyncIterator[bytes]:
        """20 ms frames of 16 kHz s16le until closed."""
        ...

    def close(self) -> None:
        """Stop."""
        ...


def _rtp_receiver(host: str) -> MediaSource:
    return RtpReceiver(host=host, port=0)


class CallerHungUp(Exception):
    """The caller's channel left Stasis: stop everything."""


class _CallFinished(Exception):
    """The conversation is over (handoff or goodbye): stop the other tasks of the call."""


@dataclass
class CallDeps:
    """What every CallSession shares: settings and the long-lived engines."""

    settings: Settings
    ari: AriClient
    asr: AsrEngine
    dialogue: DialogueEngine
    prompts: PromptSource
    bus: EventBus
    now: Callable[[], datetime] = datetime.now
    scope: str = "live"  # booking scope passed to the dialogue (replay isolates cases with it)
    media_factory: Callable[[str], MediaSource] = _rtp_receiver
    recorder: CallRecorder | None = None  # None: calls are not recorded


@dataclass
class _Outcome:
    outcome: str | None = None
    handoff_reason: str | None = None
    booking_ref: str | None = None
    hangup_by: str = "agent"
    answered_questions: bool = False


@dataclass
class _Speech:
    playback_id: str  # the reply's id (its first sentence's playback); events and barge-ins name it
    finished: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    current_id: str = ""  # the sentence playing now
    current_path: str = ""  # its file: its levels tell line echo from the caller's voice
    started_mono: float | None = None
    interrupted: bool = False


class CallSession:
    """Owns one call."""

    def __init__(self, deps: CallDeps, channel: Channel) -> None:
        self.deps = deps
        self.channel = channel
        self.call_id = uuid.uuid4().hex[:16]
        self.inbox: asyncio.Queue[AriEvent] = asyncio.Queue()
        self.channel_ids: set[str] = {channel.id}
        self.bridge_id = f"{self.call_id}-bridge"
        self._settings = deps.settings
        self._ari = deps.ari
        self._outcome = _Outcome()
        self._speech: _Speech | None = None
        self._playback_seq = 0
        self._dtmf: asyncio.Queue[str] = asyncio.Queue()
        self._stasis_started: dict[str, asyncio.Event] = {}
        self._listener: Listener | None = None
        self._turn_started_mono: float | None = None
        self._last_utterance: Utterance | None = None
        self._ended = asyncio.Event()
        self._slots: dict[str, Any] = {}
        self._last_intent: str | None = None
        self._task_group: asyncio.TaskGroup | None = None
        self._transferring = False
        self._media: MediaSource | None = None
        self._recording_off = False
        self._transferred = False  # the caller has left for the queue (continue succeeded)

    # --- observation ----------------------------------------------------------------------------------
    def emit(self, type_: EventType, **data: Any) -> None:
        """Emit one CallEvent for this call."""
        self.deps.bus.emit(CallEvent(type_, self.call_id, data))

    def _record(self, what: str, *args: Any, **kwargs: Any) -> Any:
        """Call the recorder's `what` for this call. Recording is a record of the call, never a reason to lose
        it: a full disk or a permission error turns recording off for this call (one ERROR event) and the
        conversation goes on."""
        recorder = self.deps.recorder
        if recorder is None or self._recording_off:
            return None
        try:
            return getattr(recorder, what)(self.call_id, *args, **kwargs)
        except OSError as exc:
            self._recording_off = True
            _LOGGER.error("recording failed, the call goes on unrecorded: %r", exc, extra={"call_id": self.call_id})
            self.emit(EventType.ERROR, code="recording-failed", message=f"{exc}"[:500])
            return None

    @property
    def listener(self) -> Listener | None:
        """The call's listener once media is set up (replay drives its simulated line from it)."""
        return self._listener

    def deliver(self, event: AriEvent) -> None:
        """Called by the manager (never blocks): urgent control is acted on at once, the rest is queued."""
        if event.type == "StasisStart" and event.channel_id in self._stasis_started:
            self._stasis_started[event.channel_id].set()
            return
        self.inbox.put_nowait(event)

    # --- lifecycle ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """The whole call. Returns when the call is over and everything it started is gone."""
        ch = self.channel
        started = self._record("start")
        recording = {"recording_path": str(started)} if started else {}
        self.emit(
            EventType.CALL_STARTED,
            channel_id=ch.id,
            linkedid=ch.linkedid,
            sip_call_id=ch.protocol_id,
            caller=ch.caller_number,
            caller_name=ch.caller_name,
            extension=ch.exten,
            scope=self.deps.scope,
            **recording,
        )
        shutting_down = False
        try:
            async with asyncio.timeout(self._settings.call.max_call_seconds), asyncio.TaskGroup() as tg:
                self._task_group = tg
                tg.create_task(self._pump_events(), name=f"{self.call_id}-events")
                tg.create_task(self._main(tg), name=f"{self.call_id}-main")
        except* CallerHungUp:
            self._outcome.hangup_by = "caller"
        except* _CallFinished:
            pass
        except* TimeoutError:
            self.emit(EventType.ERROR, code="call-too-long", message="maximum call duration reached")
            await self._safe_handoff_after_failure("call-too-long")
        except* Exception as group:
            for exc in group.exceptions:
                code = getattr(exc, "code", "internal-error")
                _LOGGER.error("call failed: %r", exc, extra={"call_id": self.call_id}, exc_info=exc)
                self.emit(EventType.ERROR, code=code, message=str(exc)[:500])
            await self._safe_handoff_after_failure("error")
        except* asyncio.CancelledError:
            # The agent is stopping (SIGTERM after the drain period): a caller still here is apologised to and
            # put through to the queue, not left in dead air.
            shutting_down = True
        finally:
            if shutting_down:
                self.emit(EventType.ERROR, code="agent-shutdown", message="the agent stopped during the call")
                await asyncio.shield(self._safe_handoff_after_failure("agent-shutdown"))
            await asyncio.shield(self._cleanup())
            self._ended.set()
        if shutting_down:
            raise asyncio.CancelledError()

    async def _main(self, tg: asyncio.TaskGroup) -> None:
        await self._ari.answer(self.channel.id)
        self.emit(EventType.CALL_ANSWERED)
        # Our call id in the CDR links Asterisk's record of the call to our transcript.
        with contextlib.suppress(AriError):
            await self._ari.set_var(self.channel.id, "CDR(userfield)", self.call_id)
        await self._setup_media(tg)
        await self.deps.dialogue.start(
            self.call_id,
            CallContext(
                now=self.deps.now(),
                caller_number=self.channel.caller_number,
                caller_name=self.channel.caller_name,
                call_id=self.call_id,
                scope=self.deps.scope,
            ),
        )
        await self._conversation()

    async def _setup_media(self, tg: asyncio.TaskGroup) -> None:
        settings = self._settings
        receiver = self.deps.media_factory(settings.media.bind_host)
        self._media = receiver
        await receiver.start()
        tg.create_task(self._close_on_end(receiver), name=f"{self.call_id}-rtp-close")
        media_id = f"{self.call_id}-media"
        snoop_id = f"{self.call_id}-snoop"
        for cid in (media_id, snoop_id):
            self.channel_ids.add(cid)
            self._stasis_started[cid] = asyncio.Event()
        await self._ari.external_media(
            media_id, f"{settings.media.external_host}:{receiver.port}", settings.media.format
        )
        await self._ari.snoop(self.channel.id, snoop_id, spy="in")
        # externalMedia returns before the channel is in Stasis; adding it to a bridge earlier gives 422.
        try:
            async with asyncio.timeout(settings.call.stage_timeout_seconds):
                for cid in (media_id, snoop_id):
                    await self._stasis_started[cid].wait()
        except TimeoutError:
            raise StageError("media-timeout", "snoop/externalMedia channels never entered Stasis") from None
        for cid in (media_id, snoop_id):
            with contextlib.suppress(AriError):
                await self._ari.set_var(cid, "CDR_PROP(disable)", "1")
        await self._ari.create_bridge(self.bridge_id)
        await self._ari.add_to_bridge(self.bridge_id, [snoop_id, media_id])
        call = settings.call
        self._listener = Listener(
            self.deps.asr,
            ListenerConfig(
                end_of_turn_ms=call.end_of_turn_ms,
                fast_end_of_turn_ms=call.fast_end_of_turn_ms,
                hold_end_of_turn_ms=call.hold_end_of_turn_ms,
                likely_more_end_of_turn_ms=call.likely_more_end_of_turn_ms,
                complete_end_of_turn_ms=call.complete_end_of_turn_ms,
                min_speech_ms=call.min_speech_ms,
                barge_in_ms=call.barge_in_ms,
                no_input_ms=int(call.no_input_seconds * 1000),
                max_utterance_ms=int(call.max_utterance_seconds * 1000),
                stage_timeout_s=call.stage_timeout_seconds,
                echo_return_loss_db=call.echo_return_loss_db,
            ),
            on_barge_in=self._on_barge_in,
            emit=self.emit,
        )
        tg.create_task(self._listener.run(receiver.frames()), name=f"{self.call_id}-listen")
        self.emit(EventType.LISTEN_STARTED, rtp_port=receiver.port)

    async def _close_on_end(self, receiver: MediaSource) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            receiver.close()

    async def _pump_events(self) -> None:
        """Acts on this call's ARI events in order; the caller hanging up ends the call."""
        while True:
            event = await self.inbox.get()
            if event.type in HANGUP_EVENTS and event.channel_id == self.channel.id:
                if self._outcome.hangup_by == "agent-hanging-up" or self._transferring:
                    raise _CallFinished()
                raise CallerHungUp()
            if event.type == "ChannelDtmfReceived" and event.channel_id == self.channel.id:
                self.emit(EventType.DTMF, digit=event.digit)
                self._dtmf.put_nowait(event.digit)
                if self._listener is not None:
                    self._listener.interrupt_wait()
            elif event.type == "PlaybackStarted":
                speech = self._speech
                if speech is not None and speech.current_id == event.playback_id:
                    if self._listener is not None and speech.current_path:
                        self._listener.agent_audio_started(prompt_levels(speech.current_path))
                    if speech.playback_id == event.playback_id:
                        speech.started_mono = time.monotonic()
                        self.emit(EventType.PLAYBACK_STARTED, playback_id=event.playback_id)
            elif event.type == "PlaybackFinished":
                speech = self._speech
                if speech is not None and speech.current_id == event.playback_id:
                    if not speech.finished.done():
                        speech.finished.set_result(event.playback_state != "failed")

    # --- speaking -------------------------------------------------------------------------------------
    def _on_barge_in(self, reaction_ms: float) -> None:
        """Called by the listener when the caller takes the turn over the agent's playback."""
        speech = self._speech
        if speech is None or speech.interrupted:
            return
        speech.interrupted = True
        self.emit(EventType.BARGE_IN, reaction_ms=reaction_ms, playback_id=speech.playback_id)
        if self._task_group is not None and not speech.finished.done():
            # Urgent control: stopping the playback must not wait behind anything else.
            self._task_group.create_task(self._stop_playback(speech), name=f"{self.call_id}-barge-in")

    async def _stop_playback(self, speech: _Speech) -> None:
        with contextlib.suppress(AriError):
            await self._ari.stop_playback(speech.current_id)
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
        timeout = self._settings.call.stage_timeout_seconds
        started = time.monotonic()
        pending = asyncio.ensure_future(self.deps.prompts.get(sentences[0]))
        self._playback_seq += 1
        speech = _Speech(playback_id=f"{self.call_id}-pb{self._playback_seq}")
        self._speech = speech
        if self._listener is not None:
            self._listener.agent_started_speaking(interruptible)
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
                    pending = asyncio.ensure_future(self.deps.prompts.get(sentences[index + 1]))
                recorded: dict[str, str] = {}
                path = self._record("agent_turn", getattr(prompt, "path", None), sentences[index])
                recorded = {"audio_path": str(path)} if path else {}
                if index == 0:
                    tts_ms = (time.monotonic() - started) * 1000
                    self.emit(EventType.AGENT_TURN, text=" ".join(sentences), **recorded)
                    self.emit(EventType.TTS_DONE, tts_ms=tts_ms, cached=bool(prompt.cached))
                finished_ok = await self._play_one(speech, prompt, index)
                if index == 0:
                    self._report_turn_latency(speech, tts_ms)
                if not finished_ok or speech.interrupted:
                    break
            self.emit(EventType.PLAYBACK_FINISHED, playback_id=speech.playback_id, interrupted=speech.interrupted)
            return finished_ok and not speech.interrupted
        finally:
            if not pending.done():
                pending.cancel()
            if self._listener is not None:
                self._listener.agent_stopped_speaking()

    async def _play_one(self, speech: _Speech, prompt: Prompt, index: int) -> bool:
        """Play one sentence of a reply; False if it failed or was stopped."""
        playback_id = speech.playback_id if index == 0 else f"{speech.playback_id}s{index}"
        speech.current_id = playback_id
        speech.current_path = str(getattr(prompt, "path", "") or "")
        speech.finished = asyncio.get_running_loop().create_future()
        await self._ari.play(self.channel.id, prompt.uri, playback_id)
        # The playback's own length bounds the wait; a lost PlaybackFinished never hangs the call.
        limit = prompt.duration_ms / 1000 + self._settings.call.stage_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                return await speech.finished
        except TimeoutError:
            self.emit(EventType.ERROR, code="playback-timeout", message=playback_id)
            return False

    def _report_turn_latency(self, speech: _Speech, tts_ms: float) -> None:
        utt = self._last_utterance
        if utt is None or speech.started_mono is None or self._turn_started_mono is None:
            return
        self._last_utterance = None
        playback_start_ms = (speech.started_mono - self._turn_started_mono) * 1000
        self.emit(
            EventType.TURN_LATENCY,
            total_ms=utt.endpoint_wait_ms + playback_start_ms,
            endpointing_ms=utt.endpoint_wait_ms,
            asr_ms=utt.asr_final_ms,
            dialogue_ms=self._dialogue_ms,
            tts_ms=tts_ms,
            playback_start_ms=playback_start_ms,
        )

    # --- the conversation -----------------------------------------------------------------------------
    _dialogue_ms: float = 0.0

    async def _conversation(self) -> None:
        await self.speak(self._settings.call.greeting)
        reprompts = 0
        while True:
            turn = await self._next_turn()
            if isinstance(turn, NoInput):
                self._record("no_input", turn.waited_ms)
                self.emit(EventType.REPROMPT, count=reprompts + 1)
                reprompts += 1
                if reprompts > self._settings.call.max_reprompts:
                    await self.handoff(Handoff("no_input"), say=NO_INPUT_GOODBYE)
                    return
                await self.speak(REPROMPT)
                continue
            reprompts = 0
            recorded: dict[str, Any] = {}
            if isinstance(turn, str):  # DTMF
                self._record("dtmf", turn)
                if turn == self._settings.call.operator_digit:
                    await self.handoff(Handoff("dtmf"))
                    return
                text, confidence, source, hint, unsure = turn, 1.0, "dtmf", None, 0.0
            else:
                text, confidence, source, hint = turn.text, turn.confidence, turn.source, turn.hint
                unsure = turn.unsure
                if turn.audio:
                    path = self._record(
                        "caller_turn", turn.audio, text=text, barge_in=turn.barge_in, heard=bool(text.strip())
                    )
                    recorded = {"audio_path": str(path)} if path else {}
                if not text.strip():
                    continue  # noise the recogniser made nothing of: keep listening, do not answer noise
            if hint is not None:
                recorded["hint"] = hint.as_dict()
            self.emit(EventType.CALLER_TURN, text=text, confidence=confidence, source=source, **recorded)
            result = await self._understand(text, confidence, hint, unsure)
            if result is None:
                return
            if self._listener is not None:
                self._listener.expect(expectation_for(result.slots))
            if result.handoff is not None:
                reply = " ".join(result.replies)
                await self.handoff(result.handoff, say=reply or CONNECTING)
                return
            if result.outcome:
                self._outcome.outcome = result.outcome
                self._outcome.booking_ref = result.booking_ref
                self.emit(EventType.BOOKING, action=result.outcome, reference=result.booking_ref or "")
            elif result.intent in ("ask_opening_hours", "ask_address", "ask_price"):
                self._outcome.answered_questions = True
            await self.speak(" ".join(result.replies))
            if result.end_call:
                await self._hangup_by_agent()
                return

    async def _next_turn(self) -> Utterance | NoInput | str:
        """The caller's next turn: an utterance, a DTMF digit, or no input at all."""
        assert self._listener is not None
        if not self._dtmf.empty():
            return await self._keyed_in(self._dtmf.get_nowait())
        while True:
            result = await self._listener.next_utterance()
            if not self._dtmf.empty():
                return await self._keyed_in(self._dtmf.get_nowait())
            if result is not None:
                break
        if isinstance(result, Utterance):
            self._turn_started_mono = result.ended_mono
            self._last_utterance = result
        return result

    async def _keyed_in(self, first: str) -> str:
        """Every key of one entry as one turn: until "#", a pause of dtmf_interdigit_ms, or dtmf_max_digits keys.

        One key per turn sent a keyed-in card number to the dialogue a digit at a time, past the redactor.
        """
        call = self._settings.call
        digits = "" if first == "#" else first
        while first != "#" and len(digits) < call.dtmf_max_digits:
            try:
                async with asyncio.timeout(call.dtmf_interdigit_ms / 1000):
                    key = await self._dtmf.get()
            except TimeoutError:
                break
            if key == "#":
                break
            digits += key
        return digits or "#"

    async def _understand(
        self, text: str, confidence: float, hint: AsrHint | None = None, unsure: float = 0.0
    ) -> DialogueResult | None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._settings.dialogue.timeout_seconds + 1):
                result = await self.deps.dialogue.send(self.call_id, text, confidence, hint=hint, unsure=unsure)
        except (DialogueError, TimeoutError) as exc:
            code = exc.code if isinstance(exc, DialogueError) else "dialogue-timeout"
            self.emit(EventType.ERROR, code=code, message=str(exc)[:500])
            await self.handoff(Handoff("error", summary=f"dialogue failed: {code}"), say=f"{APOLOGY} {CONNECTING}")
            return None
        self._dialogue_ms = (time.monotonic() - started) * 1000
        self._slots.update({k: v for k, v in result.slots.items() if v not in (None, "", [])})
        self._last_intent = result.intent
        self.emit(
            EventType.DIALOGUE_RESULT,
            intent=result.intent,
            intent_confidence=result.intent_confidence,
            entities=result.entities,
            slots=result.slots,
            replies=result.replies,
            handoff=result.handoff.reason if result.handoff else None,
            dialogue_ms=self._dialogue_ms,
        )
        if result.intent == "nlu_fallback":
            self.emit(EventType.FALLBACK)
        elif result.intent == "out_of_scope":
            self.emit(EventType.OUT_OF_SCOPE)
        return result

    # --- endings --------------------------------------------------------------------------------------
    async def handoff(self, handoff: Handoff, *, say: str = CONNECTING) -> None:
        """Transfer the caller to a queue with the context a human needs; never leaves dead air."""
        call = self._settings.call
        queue = handoff.queue or call.default_queue
        summary = handoff.summary or self._summary(handoff.reason)
        self._outcome.outcome = "handoff"
        self._outcome.handoff_reason = handoff.reason
        self.emit(EventType.HANDOFF, reason=handoff.reason, queue=queue, summary=summary)
        with contextlib.suppress(Exception):
            await self.speak(say, interruptible=False)
        variables = self._queue_variables(handoff.reason, summary)
        if call.announce_summary:
            # The queue member hears who is calling and why before being bridged (Queue announceoverride).
            try:
                async with asyncio.timeout(call.stage_timeout_seconds):
                    prompt = await self.deps.prompts.get(self._announcement(handoff.reason))
                variables["ARI_AGENT_ANNOUNCE"] = str(prompt.uri).removeprefix("sound:")
            except Exception as exc:  # the transfer matters more than the announcement
                _LOGGER.warning("handoff announcement failed: %r", exc, extra={"call_id": self.call_id})
        await set_queue_variables(self._ari, self.channel.id, variables)
        # The channel leaving Stasis for the queue comes back as StasisEnd: not the caller hanging up.
        self._transferring = True
        await self._ari.continue_in_dialplan(self.channel.id, call.handoff_context, queue)
        self._transferred = True
        raise _CallFinished()

    def _queue_variables(self, reason: str, summary: str) -> dict[str, str]:
        """What the queue member's side sees (the queue log, a screen pop): who, why, and the transcript."""
        return {
            # A double underscore makes Asterisk copy the variable to the queue member's channel.
            "__ARI_AGENT_CALL_ID": self.call_id,
            "__ARI_AGENT_REASON": reason,
            "__ARI_AGENT_INTENT": self._last_intent or "",
            "__ARI_AGENT_SUMMARY": summary,
            "__ARI_AGENT_CALLER": self._caller_details(),
            "__ARI_AGENT_TRANSCRIPT_URL": transcript_url(self._settings, self.call_id),
        }

    def _announcement(self, reason: str) -> str:
        """What the queue member hears before the caller is put through."""
        why = HANDOFF_REASONS_SPOKEN.get(reason, reason.replace("_", " "))
        parts = [f"Transferred call. The caller {why}."]
        wanted = [str(self._slots[k]) for k in ("service", "date", "time") if self._slots.get(k)]
        if wanted:
            parts.append("They were booking: " + ", ".join(wanted) + ".")
        if self._slots.get("name"):
            parts.append(f"Name: {self._slots['name']}.")
        return " ".join(parts)

    def _caller_details(self) -> str:
        parts = [f"number={self.channel.caller_number}"] if self.channel.caller_number else []
        parts += [f"{k}={v}" for k, v in sorted(self._slots.items()) if k in ("name", "service", "date", "time")]
        return " ".join(parts)

    def _summary(self, reason: str) -> str:
        slots = ", ".join(f"{k} {v}" for k, v in sorted(self._slots.items()) if k in ("service", "date", "time"))
        said = self._last_intent or "nothing understood"
        return f"Handoff ({reason}); last intent {said}" + (f"; {slots}" if slots else "")

    async def _hangup_by_agent(self) -> None:
        # Our own hangup comes back as StasisEnd: it must not be mistaken for the caller leaving.
        self._outcome.hangup_by = "agent-hanging-up"
        await self._ari.hangup(self.channel.id)
        raise _CallFinished()

    async def _safe_handoff_after_failure(self, reason: str) -> None:
        """After an internal failure: apologise and put the caller in a queue rather than leave dead air.

        Also after a handoff whose transfer itself failed: the caller is still here, so it is tried again
        (without a second announcement), and hung up on only when Asterisk refuses that too.
        """
        if self._outcome.hangup_by == "caller" or self._transferred:
            return
        call = self._settings.call
        if self._outcome.outcome != "handoff":
            self._outcome.outcome = "handoff"
            self._outcome.handoff_reason = "error"
            self.emit(EventType.HANDOFF, reason="error", queue=call.default_queue, summary=reason)
            await self._apologise()
            summary = self._summary(f"error: {reason}")
            await set_queue_variables(self._ari, self.channel.id, self._queue_variables("error", summary))
        self._transferring = True
        try:
            async with asyncio.timeout(3):
                await self._ari.continue_in_dialplan(self.channel.id, call.handoff_context, call.default_queue)
            self._transferred = True
        except (AriError, TimeoutError) as exc:
            _LOGGER.error("handoff after failure failed: %r", exc, extra={"call_id": self.call_id})
            self._outcome.outcome = "failed"
            with contextlib.suppress(AriError, TimeoutError):
                await self._ari.hangup(self.channel.id)

    async def _apologise(self) -> None:
        """Say the apology without the event pump (it is gone after a failure)."""
        speech = self._speech
        if speech is not None and speech.current_id and not speech.finished.done():
            # Asterisk queues a new playback behind one still playing (the greeting, say): stop it first,
            # or the transfer would cut the apology off before the caller heard it.
            with contextlib.suppress(AriError):
                await self._ari.stop_playback(speech.current_id)
        await say_and_wait(self.deps, self.channel.id, f"{APOLOGY} {CONNECTING}", f"{self.call_id}-apology",
                           said=lambda text: self.emit(EventType.AGENT_TURN, text=text))

    async def _cleanup(self) -> None:
        """Tear down everything the call created in Asterisk and close the dialogue."""
        # Made one at a time: a coroutine made up front and never reached (cleanup cut short) only warns.
        steps: tuple[Callable[[], Awaitable[None]], ...] = (
            lambda: self._ari.destroy_bridge(self.bridge_id),
            lambda: self._ari.hangup(f"{self.call_id}-snoop"),
            lambda: self._ari.hangup(f"{self.call_id}-media"),
        )
        for step in steps:
            try:
                async with asyncio.timeout(2):
                    await step()
            except (AriError, TimeoutError) as exc:
                _LOGGER.warning("cleanup step failed: %r", exc, extra={"call_id": self.call_id})
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self.deps.dialogue.end(self.call_id)
        self._record("finish")
        outcome = self._outcome
        if outcome.hangup_by == "agent-hanging-up":
            outcome.hangup_by = "agent"
        final = outcome.outcome
        if final is None:
            final = "answered" if outcome.answered_questions else "hangup"
        self.emit(
            EventType.CALL_ENDED,
            outcome=final,
            handoff_reason=outcome.handoff_reason,
            booking_ref=outcome.booking_ref,
            hangup_by=outcome.hangup_by,
            media=self._media_stats(),
        )

    def _media_stats(self) -> dict[str, int]:
        """Audio health of the call: packets received, loss concealed, frames the agent was too slow for."""
        stats = getattr(self._media, "stats", None)
        if stats is None:
            return {}
        return {
            "packets": int(stats.packets),
            "concealed_ms": int(stats.concealed_ms),
            "dropped_frames": int(stats.dropped_frames),
            "foreign_packets": int(getattr(stats, "foreign_packets", 0)),
        }

    async def wait_ended(self) -> None:
        """Wait until the call is over and cleaned up."""
        await self._ended.wait()


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


def transcript_url(settings: Settings, call_id: str) -> str:
    """The supervisor page of one call: the link the human who takes a handoff is given."""
    return f"{settings.http.public_url.rstrip('/')}/calls/{call_id}"


async def set_queue_variables(ari: AriClient, channel_id: str, variables: dict[str, str]) -> None:
    """Set the variables the queue side reads (best effort: the transfer matters more than any one of them)."""
    for name, value in variables.items():
        with contextlib.suppress(AriError, TimeoutError):
            async with asyncio.timeout(2):
                await ari.set_var(channel_id, name, _dialplan_safe(value))


async def say_and_wait(
    deps: CallDeps, channel_id: str, text: str, playback_id: str, *, said: Callable[[str], None] | None = None
) -> None:
    """Play a fixed line to a channel whose playback events nobody reads (a failed call, a caller the agent is
    about to transfer), then wait the prompt's length: leaving Stasis stops a playback, so a transfer right
    after would cut it off. `said(text)` is called once the playback is under way. Never raises: the
    transfer that follows matters more than the line."""
    try:
        async with asyncio.timeout(deps.settings.call.stage_timeout_seconds):
            prompt = await deps.prompts.get(text)
            await deps.ari.play(channel_id, prompt.uri, playback_id)
    except Exception as exc:
        _LOGGER.warning("could not play %r to %s: %r", text, channel_id, exc)
        return
    if said is not None:
        said(text)
    await asyncio.sleep(prompt.duration_ms / 1000 + 0.2)


def _dialplan_safe(value: str) -> str:
    # Commas and pipes split dialplan application arguments; newlines break the queue log.
    return value.replace("\n", " ").replace(",", ";").replace("|", "/")[:400]
