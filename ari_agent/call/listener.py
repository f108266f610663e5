"""The listening stage of a call: caller audio -> VAD -> endpointing / barge-in -> streaming ASR -> turns.

Decisions are taken on audio time (frames), never wall-clock time, so replayed audio behaves exactly like a
live call. Only speech plus a short pre-roll reaches the recogniser: silence costs no decoding.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ari_agent.asr.base import AsrEngine, AsrHint
from ari_agent.errors import StageError
from ari_agent.events import EventType
from ari_agent.lexicon import words as lexicon_words
from ari_agent.media.audio import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, read_wav, rms_dbfs
from ari_agent.media.denoise import suppressor
from ari_agent.media.endpoint import (
    BargeInConfig,
    BargeInDetector,
    EndpointConfig,
    Endpointer,
    EndpointEventType,
)
from ari_agent.media.turn_end import completeness
from ari_agent.media.vad import Vad

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

PREROLL_MS = 300
ASR_BATCH_FRAMES = 5  # 100 ms per decode call: fewer thread hops, partials still arrive 10x a second
# Silence inside a turn is decoded up to this long; the rest waits, and is decoded only if the caller speaks again
# (so a pause inside a sentence decodes exactly as before). The end-of-turn wait after the last word (up to 1.3 s)
# was decoded in full, at the cost of speech: the open decoder's search is most of the agent's CPU. The partial
# result settles within ~200-300 ms of the speech's end (EndpointConfig.partial_stable_ms), before this.
DECODED_SILENCE_MS = 400
# Quiet speech over a reply that turned out to be its echo: decoded again at most this often per reply, so a line
# with strong echo does not decode every prompt twice.
MAX_OVERLAPS_IGNORED = 3
# A decoded overlap is the caller's when at least this share of its words are not the reply's. Echo decoded by
# Vosk (flite voices, echo 20-30 dB down, with and without noise) came back with at most a fifth of other words.
OVERLAP_NEW_SHARE = 1 / 3
OVERLAP_MIN_CONFIDENCE = 0.5  # echo in line noise decoded as a lone "hi" at 0.2-0.45
# Quiet speech over a reply is decoded only this far below the loudest echo the line is assumed to have: the echo a
# working canceller leaves (40 dB and more down) is not decoded at all, a caller 18-24 dB under the agent is.
OVERLAP_BELOW_ECHO_DB = 10.0
# Echo does not outlast its reply. Speech that began over a reply and goes on this long after the reply stopped is
# the caller's whatever its words: the margin covers the prompt's end reaching the line after PlaybackFinished
# (network, jitter buffer). A caller answering the greeting as it ended was lost as its echo (cluster test: the
# turn, glued to the greeting's tail, decoded at confidence 0.4).
OVERLAP_AFTER_REPLY_MS = 400
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """Turn-taking thresholds (audio milliseconds)."""

    end_of_turn_ms: int = 600
    fast_end_of_turn_ms: int = 350  # once the recogniser's partial result has settled
    hold_end_of_turn_ms: int = 1300  # after words that cannot end a sentence (media.turn_end)
    likely_more_end_of_turn_ms: int = 1300  # after a task request or a day without its time
    complete_end_of_turn_ms: int = 350  # after a whole answer to the question asked
    min_speech_ms: int = 120
    barge_in_ms: int = 180
    no_input_ms: int = 6000
    max_utterance_ms: int = 20000
    # How far below the agent's prompt line echo is assumed to be: caller audio quieter than that, while a
    # prompt plays, is taken for echo. 25 dB suits networks with echo cancellation (G.168); lower it for lines
    # with strong echo, at the price of callers needing to speak up to interrupt.
    echo_return_loss_db: float = 25.0
    stage_timeout_s: float = 8.0  # a push or final result of the recogniser taking longer is a failure
    noise_suppression: int = 0  # the recogniser hears the caller through media.denoise at this level (0: off)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller turn, recognised."""

    text: str
    confidence: float
    audio_start_ms: int  # since the call's audio began
    audio_end_ms: int
    endpoint_wait_ms: int  # trailing silence waited before deciding the turn was over
    asr_final_ms: float  # time to get the final result after the endpoint
    ended_mono: float  # monotonic time at which the end of speech was decided
    barge_in: bool = False
    capped: bool = False  # the caller talked past the maximum utterance length
    # The 16 kHz PCM the recogniser heard (pre-roll to end): what call recording keeps of the turn.
    audio: bytes = field(default=b"", repr=False)
    source: str = "speech"  # speech | text (a replayed text-only turn that bypassed the recogniser)
    hint: AsrHint | None = None  # the expectation-constrained reading, when an answer was expected
    unsure: float = 0.0  # share of words the recogniser was unsure of (AsrResult.unsure)
    # Audio received and not yet heard when the end was decided: how late the agent heard the caller's end.
    lag_ms: int = 0


@dataclass(frozen=True, slots=True)
class NoInput:
    """The caller said nothing for the no-input time."""

    waited_ms: int


def callers_words(text: str, confidence: float, reply_words: frozenset[str]) -> bool:
    """Whether speech decoded while the agent spoke is the caller's, not the reply's own words coming back."""
    said = [w for w in _WORD.findall(text.lower()) if w not in lexicon_words("hesitations")]
    new = [w for w in said if w not in reply_words]
    return confidence >= OVERLAP_MIN_CONFIDENCE and bool(new) and len(new) >= OVERLAP_NEW_SHARE * len(said)


@functools.lru_cache(maxsize=512)
def prompt_levels(path: str) -> list[float]:
    """Level (dBFS) of each 20 ms frame of a prompt file: the reference for echo-robust barge-in."""
    try:
        pcm = read_wav(path)
    except (OSError, ValueError, EOFError):
        return []
    return [rms_dbfs(pcm[i : i + FRAME_BYTES]) for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]


class Listener:
    """Owns the recogniser of one call and turns its audio into utterances."""

    def __init__(
        self,
        asr: AsrEngine,
        config: ListenerConfig,
        *,
        on_barge_in: Callable[[float], None],
        emit: Callable[..., None],
        backlog_ms: Callable[[], int] = lambda: 0,
    ) -> None:
        self.config = config
        self._backlog_ms = backlog_ms
        self._asr = asr.new_stream()
        self._vad = Vad()
        self._endpointer = Endpointer(
            EndpointConfig(
                frame_ms=FRAME_MS,
                min_speech_ms=config.min_speech_ms,
                end_silence_ms=config.end_of_turn_ms,
                stable_end_silence_ms=min(config.fast_end_of_turn_ms, config.end_of_turn_ms),
                max_utterance_ms=config.max_utterance_ms,
                no_input_ms=config.no_input_ms,
                hold_end_silence_ms=config.hold_end_of_turn_ms,
                likely_more_end_silence_ms=config.likely_more_end_of_turn_ms,
                complete_end_silence_ms=config.complete_end_of_turn_ms,
            ),
            judge=lambda partial: completeness(partial, self._expected, self._asked),
        )
        self._barge = BargeInDetector(
            BargeInConfig(
                frame_ms=FRAME_MS, min_speech_ms=config.barge_in_ms, assumed_erl_db=config.echo_return_loss_db
            )
        )
        # Speech over the agent too quiet to pass for more than its echo: a quiet caller's "yes" over a read-back
        # was lost whole (simulated calls on a line 18 dB down). It is decoded, and the words judge it instead.
        self._overlap_detector = BargeInDetector(
            BargeInConfig(
                frame_ms=FRAME_MS,
                min_speech_ms=config.barge_in_ms,
                assumed_erl_db=config.echo_return_loss_db + OVERLAP_BELOW_ECHO_DB,
            )
        )
        self._overlap = False  # the turn in progress began as quiet speech over a reply: the caller's or echo
        self._overlaps_ignored = 0
        self._overlap_after_reply_ms = 0  # speech of the overlap in progress heard once the reply had stopped
        self._reply_words: frozenset[str] = frozenset()
        self._on_barge_in = on_barge_in
        self._emit = emit
        self._denoise = suppressor(config.noise_suppression, SAMPLE_RATE)
        # (the line's frame, the frame the recogniser hears, speech?) for the pre-roll of a turn.
        self._ring: collections.deque[tuple[bytes, bytes, bool]] = collections.deque(
            maxlen=(PREROLL_MS + config.barge_in_ms + config.min_speech_ms) // FRAME_MS + 1
        )
        self._utterances: asyncio.Queue[Utterance | NoInput] = asyncio.Queue()
        self._expected: str | None = None
        self._asked: str | None = None
        self._speaking = False
        self._interruptible = False
        self._ref_levels: list[float] = []  # levels of the agent's prompt now playing, per 20 ms frame
        self._ref_start_ms = 0
        self._barged = False
        self._waiting = False
        self._asr_active = False
        self._batch: list[bytes] = []
        self._held: list[bytes] = []  # silence past DECODED_SILENCE_MS, not decoded unless speech follows
        self._silent_ms = 0
        self._audio_ms = 0  # audio clock of the whole call
        self._phase_start_ms = 0  # audio clock when the endpointer was last reset
        self._partial = ""
        self._audio: list[bytes] = []  # the current utterance's frames, for recording
        self._returned = 0  # turns handed to the session so far
        # The agent's speaking state, queued to the audio position it applies from (see _on_the_audio_clock).
        self._changes: collections.deque[tuple[int, Callable[[], None]]] = collections.deque()
        self._stage_timeout_s: float | None = config.stage_timeout_s
        self._stage_deadline: asyncio.Timeout | None = None  # the recogniser call now waited for, if any

    # --- state for replay: the simulated line pauses audio time while the agent thinks ---------------
    @property
    def waiting_idle(self) -> bool:
        """The session waits for the caller's next turn and no turn is in progress or queued."""
        return self._waiting and not self._asr_active and self._utterances.empty()

    @property
    def consumes_audio(self) -> bool:
        """Audio matters now: the session waits for a turn or a turn is being recognised."""
        return self._waiting or self._asr_active

    @property
    def turns_returned(self) -> int:
        """How many turns the session has taken: results of next_utterance() (early wake-ups too) and keyed
        entries (`keyed_turn_taken`). An offline line waits on it before its audio clock runs on."""
        return self._returned

    def keyed_turn_taken(self) -> None:
        """The session took a keyed entry instead of a spoken turn (call.turns.TurnStream)."""
        self._returned += 1

    def put_text(self, text: str, *, barge_in: bool = False) -> None:
        """A turn given as text (replayed text-only turns): bypasses VAD and the recogniser."""
        self._catch_up()
        if barge_in and self._speaking and self._interruptible and not self._barged:
            self._barged = True
            self._on_barge_in(0.0)
        self._reset_endpointer()
        self._utterances.put_nowait(
            Utterance(
                text=text,
                confidence=1.0,
                audio_start_ms=self._audio_ms,
                audio_end_ms=self._audio_ms,
                endpoint_wait_ms=0,
                asr_final_ms=0.0,
                ended_mono=time.monotonic(),
                barge_in=barge_in,
                source="text",
            )
        )

    # --- control from the session ---------------------------------------------------------------------
    def expect(
        self,
        kind: str | None,
        asked: str | None = None,
        *,
        with_name: bool = False,
        refused_names: frozenset[tuple[str, ...]] = frozenset(),
    ) -> None:
        """What the caller's next turn is expected to answer (asr.expectations), and the slot asked for (None:
        an open question): for a constrained second read, and for the end of turn (a whole answer may end it
        sooner; a turn with nothing of the answer yet waits longer). `with_name`: the answer may correct the
        caller's name (a read-back): names are listened for too; `refused_names`: names the caller said were
        wrong (asr.expectations.refused_names)."""
        self._expected = kind
        self._asked = asked
        self._asr.expect(kind, with_name=with_name, refused_names=refused_names)

    def agent_started_speaking(self, interruptible: bool, text: str = "") -> None:
        """The agent starts talking (saying `text`); with `interruptible` the caller may barge in."""
        self._on_the_audio_clock(lambda: self._started_speaking(interruptible, text))

    def agent_audio_started(self, levels_dbfs: list[float]) -> None:
        """The agent's prompt started playing: its per-frame levels tell line echo from the caller's voice."""
        self._on_the_audio_clock(lambda: self._audio_started(levels_dbfs))

    def agent_stopped_speaking(self) -> None:
        """The agent stopped talking: a fresh listening phase (the no-input clock starts now)."""
        self._on_the_audio_clock(self._stopped_speaking)

    def _on_the_audio_clock(self, change: Callable[[], None]) -> None:
        """Apply `change` from the audio that arrives after this moment on.

        A loaded agent hears the line late (seconds, on a busy machine): the frames already received and not
        yet heard were spoken before the agent started (or stopped) talking. Applied to them, a caller's
        sentence from before the reply was treated as talk over it: dropped unless it passed for a barge-in.
        """
        self._catch_up()
        behind = self._backlog_ms()
        if behind > 0:
            self._changes.append((self._audio_ms + behind, change))
        else:
            change()

    def _catch_up(self) -> None:
        while self._changes and self._changes[0][0] <= self._audio_ms:
            self._changes.popleft()[1]()

    def _started_speaking(self, interruptible: bool, text: str) -> None:
        self._speaking = True
        self._interruptible = interruptible
        self._barged = False
        self._barge.reset()
        self._overlap_detector.reset()
        self._overlaps_ignored = 0
        words = frozenset(_WORD.findall(text.lower()))
        # An overlap still being heard may hold the previous reply's echo.
        self._reply_words = self._reply_words | words if self._overlap else words

    def _audio_started(self, levels_dbfs: list[float]) -> None:
        self._ref_levels = levels_dbfs
        self._ref_start_ms = self._audio_ms

    def _ref_dbfs(self) -> float | None:
        index = (self._audio_ms - self._ref_start_ms) // FRAME_MS
        return self._ref_levels[index] if 0 <= index < len(self._ref_levels) else None

    def _stopped_speaking(self) -> None:
        was_speaking = self._speaking
        self._speaking = False
        self._interruptible = False
        self._ref_levels = []
        if was_speaking and not self._barged and not self._asr_active:
            self._reset_endpointer()

    async def next_utterance(self) -> Utterance | NoInput:
        """The next caller turn. Cancelling the wait (a key was pressed instead) loses nothing."""
        self._waiting = True
        try:
            turn = await self._utterances.get()
        finally:
            self._waiting = False
        self._returned += 1
        return turn

    # --- the audio loop -------------------------------------------------------------------------------
    async def run(self, frames: AsyncIterator[bytes]) -> None:
        """Consume 20 ms frames of 16 kHz s16le until cancelled or the audio ends."""
        try:
            async for frame in frames:
                await self.feed(frame)
            if self._asr_active:
                # The line closed mid-sentence (the caller hung up while speaking): what was said is a turn.
                onset = self._phase_start_ms + (self._endpointer.speech_start_ms or 0)
                await self._finish_utterance(0, start_ms=onset, end_ms=self._audio_ms, capped=False)
        finally:
            self._asr.close()

    def hear_out(self) -> None:
        """The call has left the conversation (handed over, hung up): the audio already received is still heard,
        however long the recogniser's queue. On a machine past its capacity each decode waits behind every other
        call's, and the stage timeout, which is there to end a live turn that stalls, lost those last words
        (cluster test, with a core busy). The session bounds the whole wait instead (_hear_the_rest)."""
        self._stage_timeout_s = None
        if self._stage_deadline is not None:
            self._stage_deadline.reschedule(None)

    def take_pending(self) -> list[Utterance]:
        """The utterances recognised but not yet taken by the session (after the call ended, for the record)."""
        pending: list[Utterance] = []
        while not self._utterances.empty():
            turn = self._utterances.get_nowait()
            if isinstance(turn, Utterance):
                pending.append(turn)
        return pending

    async def feed(self, frame: bytes) -> None:
        """Process one 20 ms frame."""
        if self._changes:
            self._catch_up()
        vf = self._vad.classify(frame)
        self._audio_ms += FRAME_MS
        heard = frame if self._denoise is None else self._denoise.process(frame)
        self._ring.append((frame, heard, vf.is_speech))
        is_speech = vf.is_speech
        if self._speaking and not self._barged:
            ref = self._ref_dbfs()
            if not self._interruptible and not self._asr_active:
                # A reply that cannot be interrupted (the handoff line) plays on, but what the caller says over it
                # is still a turn, for the record: the person taking the call may need it ("no wait, I only
                # wanted ..."). Before, it was not heard at all.
                if self._barge.feed(vf.is_speech, vf.energy_dbfs, ref) is not None:
                    await self._start_utterance_from_ring(barge_in=False)
                    return
            elif self._interruptible:
                barge = self._barge.feed(vf.is_speech, vf.energy_dbfs, ref)
                if barge is not None:
                    self._barged = True
                    self._on_barge_in(float(barge.reaction_ms))
                    if self._overlap:
                        # Quiet speech was being heard, maybe the reply's echo: the caller's voice over it now
                        # starts the turn, as any barge-in does (the echo glued before it garbled the turn).
                        self._overlap = False
                        await self._drop_utterance()
                    if not self._asr_active:
                        await self._start_utterance_from_ring()
                        return
                elif (
                    self._overlap_detector.feed(vf.is_speech, vf.energy_dbfs, ref) is not None
                    and not self._asr_active
                    and self._overlaps_ignored < MAX_OVERLAPS_IGNORED
                ):
                    self._overlap = True
                    self._overlap_after_reply_ms = 0
                    await self._start_utterance_from_ring(barge_in=False)
                    return
            if not self._asr_active:
                return
            # The caller was already in a turn when the reply began (they went on after the end-of-turn wait
            # started, or a loaded agent heard them late): that turn is still heard to its end. Frozen until the
            # caller barged in, it was glued to their next sentence (cluster test), and a restart from the ring
            # fed the recogniser the overlap twice. The reply's own echo counts as silence, not as the caller;
            # a quiet overlap is heard by voice and a level within OVERLAP_BELOW_ECHO_DB of the echo's, and its
            # words decide later whose it was.
            if self._overlap:
                is_speech = self._overlap_detector.qualifies(vf.is_speech, vf.energy_dbfs, ref)
            else:
                is_speech = self._barged or self._barge.qualifies(vf.is_speech, vf.energy_dbfs, ref)
        elif self._speaking and not self._asr_active:
            return
        if self._asr_active:
            if self._overlap and is_speech and not self._speaking:
                self._overlap_after_reply_ms += FRAME_MS
            self._audio.append(frame)
            self._silent_ms = 0 if is_speech else self._silent_ms + FRAME_MS
            if self._silent_ms > DECODED_SILENCE_MS:
                self._held.append(heard)
            else:
                if self._held:  # the caller went on after a long pause: it is part of the turn
                    self._batch.extend(self._held)
                    self._held = []
                self._batch.append(heard)
                if len(self._batch) >= ASR_BATCH_FRAMES:
                    await self._flush_batch()
        decision = self._endpointer.feed(is_speech, self._partial if self._asr_active else None)
        if decision is None:
            return
        if decision.type is EndpointEventType.SPEECH_START:
            self._emit(EventType.SPEECH_STARTED, audio_ms=self._audio_ms)
            await self._start_asr(decision.speech_start_ms or 0)
        elif decision.type in (EndpointEventType.END_OF_TURN, EndpointEventType.MAX_UTTERANCE):
            await self._finish_utterance(
                decision.endpoint_wait_ms,
                start_ms=self._phase_start_ms + (decision.speech_start_ms or 0),
                end_ms=self._phase_start_ms + (decision.speech_end_ms or decision.audio_ms),
                capped=decision.type is EndpointEventType.MAX_UTTERANCE,
            )
        elif decision.type is EndpointEventType.NO_INPUT:
            waited = decision.audio_ms
            self._reset_endpointer()
            if self._waiting:
                self._utterances.put_nowait(NoInput(waited))

    def _reset_endpointer(self) -> None:
        self._endpointer.reset()
        self._phase_start_ms = self._audio_ms

    async def _start_asr(self, speech_start_phase_ms: int) -> None:
        # Feed the pre-roll: the frames from a little before the detected onset, which the VAD flags late.
        onset_call_ms = self._phase_start_ms + speech_start_phase_ms
        first_ms = onset_call_ms - PREROLL_MS
        frames = list(self._ring)
        oldest_ms = self._audio_ms - len(frames) * FRAME_MS
        preroll = [(line, heard) for i, (line, heard, _) in enumerate(frames) if oldest_ms + i * FRAME_MS >= first_ms]
        self._batch = [heard for _, heard in preroll]
        self._held, self._silent_ms = [], 0
        self._asr_active = True
        self._partial = ""
        self._audio = [line for line, _ in preroll]
        await self._flush_batch()

    async def _start_utterance_from_ring(self, *, barge_in: bool = True) -> None:
        """After a barge-in (or quiet speech over the agent): the speech so far starts the caller's next turn."""
        self._reset_endpointer()
        self._phase_start_ms = self._audio_ms - len(self._ring) * FRAME_MS
        for _, _, is_speech in self._ring:
            self._endpointer.feed(is_speech)
        if not self._endpointer.in_speech:
            # The detector's run was sustained speech, so this is rare (VAD flicker): force the onset.
            self._endpointer.feed(True)
        self._emit(EventType.SPEECH_STARTED, audio_ms=self._audio_ms, barge_in=barge_in)
        self._batch = []
        await self._start_asr(max(0, (self._endpointer.speech_start_ms or 0)))

    async def _drop_utterance(self) -> None:
        """Forget the turn being recognised (its final result is not wanted)."""
        self._batch, self._held = [], []
        try:
            await self._in_time(self._asr.finish())
        except TimeoutError:
            raise StageError("asr-timeout", "the recogniser gave no final result") from None
        self._asr_active = False
        self._audio = []
        self._partial = ""

    async def _in_time(self, step: Awaitable[_T]) -> _T:
        """A recogniser call, within the stage timeout (none once the call is heard out)."""
        async with asyncio.timeout(self._stage_timeout_s) as deadline:
            self._stage_deadline = deadline
            try:
                return await step
            finally:
                self._stage_deadline = None

    async def _flush_batch(self) -> None:
        if not self._batch:
            return
        chunk = b"".join(self._batch)
        self._batch = []
        # A recogniser that stalls must not hang the call: the session turns this into a handoff.
        try:
            partial = await self._in_time(self._asr.push(chunk))
        except TimeoutError:
            raise StageError("asr-timeout", "the recogniser did not keep up with the audio") from None
        if partial is not None and partial != self._partial:
            self._partial = partial
            self._emit(EventType.ASR_PARTIAL, text=partial)

    async def _finish_utterance(self, endpoint_wait_ms: int, *, start_ms: int, end_ms: int, capped: bool) -> None:
        ended = time.monotonic()
        lag_ms = self._backlog_ms()
        self._held = []  # the turn's trailing silence: nothing more to hear in it
        await self._flush_batch()
        try:
            result = await self._in_time(self._asr.finish())
        except TimeoutError:
            raise StageError("asr-timeout", "the recogniser gave no final result") from None
        asr_ms = (time.monotonic() - ended) * 1000
        barge_in = self._barged
        audio = b"".join(self._audio)
        self._audio = []
        self._asr_active = False
        self._barged = False
        self._partial = ""
        self._reset_endpointer()
        if self._speaking and not self._interruptible:
            self._barge.reset()  # the next sentence over the handoff line is heard too
        if self._overlap:
            self._overlap = False
            if self._overlap_after_reply_ms < OVERLAP_AFTER_REPLY_MS and not callers_words(
                result.text, result.confidence, self._reply_words
            ):
                # The reply's own words coming back, or nothing: not a turn. Another overlap may be the caller.
                self._overlaps_ignored += 1
                self._overlap_detector.reset()
                self._emit(EventType.OVERLAP_IGNORED, text=result.text, confidence=result.confidence,
                           audio_ms=end_ms)  # fmt: skip
                return
            if self._speaking:
                self._on_barge_in(float(self._audio_ms - start_ms))
                barge_in = True
        data: dict[str, Any] = {
            "text": result.text,
            "confidence": result.confidence,
            "asr_ms": asr_ms,
            "audio_ms": result.audio_ms,
            "decode_ms": result.decode_ms,
        }
        if result.hint is not None:
            data["hint"] = result.hint.as_dict()
        self._emit(EventType.SPEECH_ENDED, audio_ms=end_ms, endpoint_wait_ms=endpoint_wait_ms, capped=capped)
        self._emit(EventType.ASR_FINAL, **data)
        self._utterances.put_nowait(
            Utterance(
                text=result.text,
                confidence=result.confidence,
                unsure=result.unsure,
                audio_start_ms=start_ms,
                audio_end_ms=end_ms,
                endpoint_wait_ms=endpoint_wait_ms,
                asr_final_ms=asr_ms,
                ended_mono=ended,
                barge_in=barge_in,
                capped=capped,
                audio=audio,
                hint=result.hint,
                lag_ms=lag_ms,
            )
        )
