"""CallSession: one object owns one call, from StasisStart to its last event.

Everything the call starts (media leg, listener, playbacks, tasks) lives in one TaskGroup and is torn down in
`finally`, whatever ended the call: the caller hanging up, a handoff, a goodbye, or a failure. The session
holds the conversation policy and the endings; the media leg (call.leg), speaking (call.speaker), the stream
of caller turns (call.turns) and what a human is handed (call.handoff) live in their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from ari_agent.ari.client import AriError
from ari_agent.ari.models import AriEvent, Channel
from ari_agent.asr.base import AsrHint
from ari_agent.asr.expectations import KINDS, expectation_for, refused_names
from ari_agent.call.deps import CallDeps, MediaSource, Prompt, PromptSource
from ari_agent.call.handoff import (
    ALL_BUSY,
    CONNECTING,
    RESCUE_APOLOGY,
    CallFacts,
    say_and_wait,
    set_queue_variables,
    transcript_url,
)
from ari_agent.call.leg import MediaLeg
from ari_agent.call.listener import Listener, ListenerConfig, NoInput, Utterance
from ari_agent.call.speaker import Speaker, split_sentences
from ari_agent.call.turns import KeyedIn, Turn, TurnStream
from ari_agent.dialogue.base import CallContext, DialogueError, DialogueResult, Handoff
from ari_agent.events import CallEvent, EventType
from ari_agent.media.audio import FRAME_MS

__all__ = [
    "ALL_BUSY",
    "FIXED_PROMPTS",
    "RESCUE_APOLOGY",
    "CallDeps",
    "CallSession",
    "MediaSource",
    "Prompt",
    "PromptSource",
    "say_and_wait",
    "set_queue_variables",
    "split_sentences",
    "transcript_url",
]

_LOGGER = logging.getLogger(__name__)

HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})

APOLOGY = "I'm sorry, I'm having trouble on my side."
LAG_CHECK_S = 0.5
# Hearing out a call's backlog after it left the conversation: seconds allowed per second of audio queued. The
# machine that fell behind is still loaded (the cluster test shed 59 calls at once with a core busy), so real
# time is not enough; the transfer is done by then, and only the record waits.
HEAR_OUT_PER_AUDIO_S = 5
REPROMPT = "Are you still there? How can I help you?"
NO_INPUT_GOODBYE = "I can't hear anything, so I'll connect you with a colleague."
GOODBYE = "Thank you for calling. Goodbye."
GOING_ROUND = "I'm sorry, I don't seem to be getting this right. Let me put you through to a member of our team."
FIXED_PROMPTS = (APOLOGY, CONNECTING, REPROMPT, NO_INPUT_GOODBYE, GOODBYE, RESCUE_APOLOGY, ALL_BUSY, GOING_ROUND)


class CallerHungUp(Exception):
    """The caller's channel left Stasis: stop everything."""


class _CallFinished(Exception):
    """The conversation is over (handoff or goodbye): stop the other tasks of the call."""


@dataclass
class _Outcome:
    outcome: str | None = None
    handoff_reason: str | None = None
    booking_ref: str | None = None
    hangup_by: str = "agent"
    answered_questions: bool = False
    # The caller got what they rang for (an answer, a booking, a cancel or a move) and the agent's last reply
    # left nothing open ("Is there anything else I can help with?"): silence then means they are done.
    served: bool = False


class CallSession:
    """Owns one call."""

    def __init__(self, deps: CallDeps, channel: Channel) -> None:
        self.deps = deps
        self.channel = channel
        self.call_id = uuid.uuid4().hex[:16]
        self.inbox: asyncio.Queue[AriEvent] = asyncio.Queue()
        self._settings = deps.settings
        self._ari = deps.ari
        self._outcome = _Outcome()
        self._leg = MediaLeg(deps, self.call_id, channel.id)
        self._speaker = Speaker(deps, self.call_id, channel.id, emit=self.emit, record=self._record, spawn=self._spawn)
        self._listener: Listener | None = None
        self._turns: TurnStream | None = None
        self._ended = asyncio.Event()
        self._slots: dict[str, Any] = {}
        self._last_intent: str | None = None
        # The agent's last reply and how many times in a row it was said (`[call] max_same_reply`).
        self._last_reply = ""
        self._same_reply = 0
        self._dialogue_ms = 0.0
        self._task_group: asyncio.TaskGroup | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._transferring = False
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

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run `coro` as a task of this call (it ends with the call)."""
        if self._task_group is None:
            coro.close()
            return
        self._task_group.create_task(coro, name=name)

    @property
    def audio_backlog_ms(self) -> int:
        """How much of the caller's audio has arrived and not been heard yet (the agent is behind the line)."""
        return self._leg.backlog_ms()

    @property
    def listener(self) -> Listener | None:
        """The call's listener once media is set up (replay drives its simulated line from it)."""
        return self._listener

    def deliver(self, event: AriEvent) -> None:
        """Called by the manager (never blocks): urgent control is acted on at once, the rest is queued."""
        if event.type == "StasisStart" and self._leg.entered_stasis(event.channel_id):
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
            node=self._settings.ari.node_name(),
            **recording,
        )
        shutting_down = False
        try:
            async with asyncio.timeout(self._settings.call.max_call_seconds), asyncio.TaskGroup() as tg:
                self._task_group = tg
                tg.create_task(self._pump_events(), name=f"{self.call_id}-events")
                self._main_task = tg.create_task(self._main(tg), name=f"{self.call_id}-main")
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
            self._store_pending(unanswered=True)
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
        receiver = await self._leg.open()
        self._listen(tg, receiver)
        if self._settings.call.handoff_backlog_ms:
            tg.create_task(self._watch_the_lag(), name=f"{self.call_id}-lag")
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

    def _listen(self, tg: asyncio.TaskGroup, receiver: MediaSource) -> None:
        call = self._settings.call
        listener = Listener(
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
                noise_suppression=self._settings.asr.noise_suppression,
            ),
            on_barge_in=self._speaker.on_barge_in,
            emit=self.emit,
            backlog_ms=self._leg.backlog_ms,
        )
        self._listener = self._speaker.listener = listener
        self._turns = TurnStream(listener, interdigit_ms=call.dtmf_interdigit_ms, max_digits=call.dtmf_max_digits)
        self._listen_task = tg.create_task(listener.run(receiver.frames()), name=f"{self.call_id}-listen")
        self.emit(EventType.LISTEN_STARTED, rtp_port=receiver.port)

    async def _watch_the_lag(self) -> None:
        """Hand the call to a person once the agent hears it too late to hold a conversation.

        On a machine past its capacity a call's audio can wait tens of seconds to be heard (25 s was measured
        with a core taken away in the cluster test); its caller waits as long for every reply, and the
        recogniser's stage timeout ends such a call in an error anyway, its last words unheard. Handed over
        here, the audio already received is still heard and stored (handoff hears the rest).
        """
        limit = self._settings.call.handoff_backlog_ms
        while True:
            await asyncio.sleep(LAG_CHECK_S)
            behind = self.audio_backlog_ms
            if behind >= limit and not self._transferring and self._outcome.outcome != "handoff":
                break
        why = f"the agent heard the caller {behind / 1000:.1f} s late (handoff_backlog_ms = {limit})"
        self.emit(EventType.ERROR, code="behind-the-line", message=why)
        if self._main_task is not None:
            self._main_task.cancel()
            await asyncio.wait([self._main_task])
        summary = f"{self._facts().summary('capacity')}; {why}"
        await self.handoff(Handoff("capacity", summary=summary), say=f"{APOLOGY} {CONNECTING}")

    async def _pump_events(self) -> None:
        """Acts on this call's ARI events in order; the caller hanging up ends the call."""
        while True:
            event = await self.inbox.get()
            if event.type in HANGUP_EVENTS and event.channel_id == self.channel.id:
                if self._transferring:
                    return  # the channel left for the queue: the handoff finishes the record, then the call
                if self._outcome.hangup_by == "agent-hanging-up":
                    raise _CallFinished()
                self._outcome.hangup_by = "caller"
                await self._keep_last_words()
                raise CallerHungUp()
            if event.type == "ChannelDtmfReceived" and event.channel_id == self.channel.id:
                self.emit(EventType.DTMF, digit=event.digit)
                if self._turns is not None:
                    self._turns.key_pressed(event.digit)
            elif event.type in ("PlaybackStarted", "PlaybackFinished"):
                self._speaker.on_playback(event)

    async def _keep_last_words(self) -> None:
        """The caller hung up: what they said before that is still part of the record.

        No reply can reach them, so the conversation stops; the audio already received is heard to its end (a
        loaded agent may be seconds behind the line) and its turns are stored without a reply. Bounded by the
        stage timeout; audio still unheard then is counted in an ERROR event, never dropped silently.
        """
        if self._main_task is not None:
            self._main_task.cancel()
        await self._hear_the_rest("hangup", after_hangup=True)

    async def _hear_the_rest(self, moment: str, **flag: bool) -> None:
        """Stop listening and hear the audio already received to its end: its turns are stored, not answered.

        An overloaded agent can be many seconds behind the line (11 s was seen with the machine's two cores
        shared by two Asterisk nodes, four agents and a test load): that audio is what the caller said before
        the call left the agent. A decode waiting behind other calls' is no failure here (Listener.hear_out);
        the whole wait is bounded by the stage timeout plus HEAR_OUT_PER_AUDIO_S seconds per second of backlog,
        so a stalled recogniser cannot hold the call's clean-up for ever; audio still unheard then is counted in
        an ERROR event, never dropped silently.
        """
        listener, listening = self._listener, self._listen_task
        if listener is None or listening is None:
            return
        queued = self._leg.stop_listening()
        listener.hear_out()
        try:
            bound = self._settings.call.stage_timeout_seconds + HEAR_OUT_PER_AUDIO_S * queued * FRAME_MS / 1000
            async with asyncio.timeout(bound):
                await asyncio.shield(listening)
        except TimeoutError:
            self.emit(EventType.ERROR, code="audio-unheard", message=f"{queued} frames queued at {moment}")
        except Exception as exc:  # the recogniser failed on the last words: say so, the call is over anyway
            self.emit(EventType.ERROR, code=getattr(exc, "code", "internal-error"), message=str(exc)[:500])
        self._store_pending(**flag)

    def _store_pending(self, **flag: bool) -> None:
        """Turns heard but never answered stay in the record, marked by `flag`: the caller spoke while the agent
        was deciding on a transfer (or failing, or the call ended), and the person taking the call may need to
        read what was said."""
        if self._listener is None:
            return
        for turn in self._listener.take_pending():
            if turn.text.strip():
                self._store_heard(turn, **flag)

    def _store_heard(self, turn: Utterance, **extra: Any) -> bool:
        """Record a recognised turn's audio and emit it as the caller's turn; False (and no turn) when the
        recogniser made nothing of it: noise is recorded, never answered."""
        heard = bool(turn.text.strip())
        recorded: dict[str, Any] = {}
        if turn.audio:
            path = self._record("caller_turn", turn.audio, text=turn.text, barge_in=turn.barge_in, heard=heard)
            if path:
                recorded["audio_path"] = str(path)
        if not heard:
            return False
        if turn.hint is not None:
            recorded["hint"] = turn.hint.as_dict()
        self.emit(EventType.CALLER_TURN, text=turn.text, confidence=turn.confidence, source=turn.source,
                  **recorded, **extra)  # fmt: skip
        return True

    async def speak(self, text: str, *, interruptible: bool = True) -> bool:
        """Say `text` to the caller. Returns False when the caller barged in (or playback failed)."""
        return await self._speaker.speak(text, interruptible=interruptible)

    # --- the conversation -----------------------------------------------------------------------------
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
                    if not self._outcome.served:
                        await self.handoff(Handoff("no_input"), say=NO_INPUT_GOODBYE)
                        return
                    # A served caller who says nothing more is not put through to a colleague (who would pick up
                    # a silent line): the call ends with the goodbye.
                    await self.speak(GOODBYE, interruptible=False)
                    await self._hangup_by_agent()
                await self.speak(REPROMPT)
                continue
            reprompts = 0
            if isinstance(turn, KeyedIn):
                self._record("dtmf", turn.digits)
                if turn.digits == self._settings.call.operator_digit:
                    await self.handoff(Handoff("dtmf"))
                    return
                self.emit(EventType.CALLER_TURN, text=turn.digits, confidence=1.0, source="dtmf")
                text, confidence, hint, unsure = turn.digits, 1.0, None, 0.0
            else:
                if not self._store_heard(turn):
                    continue  # noise the recogniser made nothing of: keep listening, do not answer noise
                text, confidence, hint, unsure = turn.text, turn.confidence, turn.hint, turn.unsure
            result = await self._understand(text, confidence, hint, unsure)
            if result is None:
                return
            if not isinstance(turn, KeyedIn):
                self._speaker.answering(turn, self._dialogue_ms)
            if self._listener is not None:
                asked = result.slots.get("requested_slot")
                expected = result.expect if result.expect in KINDS else expectation_for(result.slots)
                # A read-back that names the caller is corrected by saying the name again ("no, it's Helen
                # Smith"): the open decoder mangles names, so the name decoder listens alongside the yes/no one.
                with_name = asked == "confirmed" and bool(result.slots.get("name"))
                self._listener.expect(
                    expected,
                    asked if isinstance(asked, str) else None,
                    with_name=with_name,
                    refused_names=refused_names(result.slots),
                )
            reply = " ".join(result.replies)
            if self._turns is not None:
                self._turns.entry_keys = result.entry_keys
            if result.handoff is not None:
                await self.handoff(result.handoff, say=reply or CONNECTING)
                return
            if self._going_round(reply, result.intent):
                # Whatever the dialogue's own counters say, a caller asked the very same thing again and again
                # gets nowhere by answering once more: a person takes over (a dialogue rule that kept resetting
                # its count asked "What would you like to change?" ten times in a simulated call).
                self.emit(EventType.ERROR, code="dialogue-loop", message=f"the same reply {self._same_reply} "
                          f"times in a row: {reply[:200]}")  # fmt: skip
                await self.handoff(Handoff("misunderstood"), say=GOING_ROUND)
                return
            if result.outcome:
                self._outcome.outcome = result.outcome
                self._outcome.booking_ref = result.booking_ref
                self.emit(EventType.BOOKING, action=result.outcome, reference=result.booking_ref or "")
            elif result.intent in ("ask_opening_hours", "ask_address", "ask_price"):
                self._outcome.answered_questions = True
            self._outcome.served = bool(
                (self._outcome.outcome or self._outcome.answered_questions)
                and not result.slots.get("requested_slot")
                and result.expect is None
            )
            await self.speak(reply)
            if result.end_call:
                await self._hangup_by_agent()
                return

    def _going_round(self, reply: str, intent: str | None) -> bool:
        """Whether `reply` would be said more than `max_same_reply` times in a row. A caller who asks for the line
        again ("say that again") hears it again without it counting."""
        limit = self._settings.call.max_same_reply
        if intent == "repeat":
            return False
        self._same_reply = self._same_reply + 1 if reply == self._last_reply else 1
        self._last_reply = reply
        return limit > 0 and self._same_reply > limit

    async def _next_turn(self) -> Turn:
        """The caller's next turn: what they said, what they keyed in, or no input at all."""
        assert self._turns is not None
        return await self._turns.next()

    async def _understand(
        self, text: str, confidence: float, hint: AsrHint | None = None, unsure: float = 0.0
    ) -> DialogueResult | None:
        started = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(self._settings.dialogue.timeout_seconds + 1):
                result = await self.deps.dialogue.send(self.call_id, text, confidence, hint=hint, unsure=unsure)
        except (DialogueError, TimeoutError) as exc:
            code = exc.code if isinstance(exc, DialogueError) else "dialogue-timeout"
            self.emit(EventType.ERROR, code=code, message=str(exc)[:500])
            await self.handoff(Handoff("error", summary=f"dialogue failed: {code}"), say=f"{APOLOGY} {CONNECTING}")
            return None
        self._dialogue_ms = (asyncio.get_running_loop().time() - started) * 1000
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
    def _facts(self) -> CallFacts:
        return CallFacts(self.call_id, self.channel.caller_number, dict(self._slots), self._last_intent)

    async def handoff(self, handoff: Handoff, *, say: str = CONNECTING) -> None:
        """Transfer the caller to a queue with the context a human needs; never leaves dead air."""
        call = self._settings.call
        queue = handoff.queue or call.default_queue
        facts = self._facts()
        summary = handoff.summary or facts.summary(handoff.reason)
        self._outcome.outcome = "handoff"
        self._outcome.handoff_reason = handoff.reason
        self.emit(EventType.HANDOFF, reason=handoff.reason, queue=queue, summary=summary)
        if self._listener is not None:
            # From here on what the caller says is for the record only: a decode waiting behind other calls'
            # during the goodbye is no failure (a loaded machine lost words that way in the cluster test).
            self._listener.hear_out()
        with contextlib.suppress(Exception):
            await self.speak(say, interruptible=False)
        variables = facts.queue_variables(self._settings, handoff.reason, summary)
        if call.announce_summary:
            # The queue member hears who is calling and why before being bridged (Queue announceoverride).
            try:
                async with asyncio.timeout(call.stage_timeout_seconds):
                    prompt = await self.deps.prompts.get(facts.announcement(handoff.reason))
                variables["ARI_AGENT_ANNOUNCE"] = str(prompt.uri).removeprefix("sound:")
            except Exception as exc:  # the transfer matters more than the announcement
                _LOGGER.warning("handoff announcement failed: %r", exc, extra={"call_id": self.call_id})
        await set_queue_variables(self._ari, self.channel.id, variables)
        # The channel leaving Stasis for the queue comes back as StasisEnd: not the caller hanging up.
        self._transferring = True
        await self._ari.continue_in_dialplan(self.channel.id, call.handoff_context, queue)
        self._transferred = True
        await self._hear_the_rest("transfer", after_transfer=True)
        raise _CallFinished()

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
            facts = self._facts()
            variables = facts.queue_variables(self._settings, "error", facts.summary(f"error: {reason}"))
            await set_queue_variables(self._ari, self.channel.id, variables)
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
        # Asterisk queues a new playback behind one still playing (the greeting, say): stop it first, or the
        # transfer would cut the apology off before the caller heard it.
        await self._speaker.stop_current()
        await say_and_wait(self.deps, self.channel.id, f"{APOLOGY} {CONNECTING}", f"{self.call_id}-apology",
                           said=lambda text: self.emit(EventType.AGENT_TURN, text=text))  # fmt: skip

    async def _cleanup(self) -> None:
        """Tear down everything the call created in Asterisk and close the dialogue."""
        await self._leg.close()
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
            media=self._leg.stats(),
        )

    async def wait_ended(self) -> None:
        """Wait until the call is over and cleaned up."""
        await self._ended.wait()
