"""Turn-taking decisions as pure functions of audio time.

Both state machines are fed one 20 ms frame at a time and never read a clock: a replayed call (or a test
timeline) produces exactly the decisions a live one did, at the same audio millisecond.
"""

from __future__ import annotations

import collections
import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from ari_agent.media.turn_end import Completeness

_LOGGER = logging.getLogger(__name__)


class EndpointEventType(enum.StrEnum):
    """What the endpointer decided."""

    SPEECH_START = "speech-start"
    END_OF_TURN = "end-of-turn"
    MAX_UTTERANCE = "max-utterance"
    NO_INPUT = "no-input"


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Endpointing thresholds, all in audio milliseconds."""

    frame_ms: int = 20
    # Speech must last this long before a turn starts: clicks and pops never open a turn.
    min_speech_ms: int = 120
    # VAD flicker tolerated inside an onset before the candidate is dropped.
    onset_gap_ms: int = 40
    # Trailing silence that ends a turn.
    end_silence_ms: int = 700
    # Shorter trailing silence, used once the ASR partial has not changed for this long either: the words
    # are in, waiting longer only adds latency.
    stable_end_silence_ms: int = 400
    # How long the partial must have stayed the same for it to count as stable: one ~100 ms batch. The decoder
    # often settles the last word ~200 ms into the silence; at 200 ms here a clearly heard answer waited ~410
    # ms instead of 350 (make bench p50 506 -> 473 ms at 100). On 200 simulated calls (seed 6161) success was
    # unchanged (74.5%) and talk-over for pausing callers went from 1 to 2 of 78 turns.
    partial_stable_ms: int = 100
    max_utterance_ms: int = 15000
    no_input_ms: int = 6000
    # When the words so far cannot end a sentence ("... for", "... and", half a phone number): a pause this
    # long is still inside the turn. Real callers pause 0.5-1.0 s mid-sentence.
    hold_end_silence_ms: int = 1300
    # When the words so far are whole but callers usually go on (a task request, a day without its time).
    likely_more_end_silence_ms: int = 1300
    # When the words so far are a whole answer to the question asked ("yes", "no thanks"), once settled.
    complete_end_silence_ms: int = 350


@dataclass(frozen=True, slots=True)
class EndpointEvent:
    """A decision, stamped in audio time since listening began."""

    type: EndpointEventType
    audio_ms: int  # when the decision was taken (end of the frame that triggered it)
    speech_start_ms: int | None = None  # first frame of the speech run
    speech_end_ms: int | None = None  # end of the last speech frame (END_OF_TURN / MAX_UTTERANCE)

    @property
    def endpoint_wait_ms(self) -> int:
        """Audio between the end of speech and the decision: the latency endpointing adds to the turn."""
        return 0 if self.speech_end_ms is None else self.audio_ms - self.speech_end_ms


class Endpointer:
    """Listening-phase state machine: onset, end of turn, overlong utterance, or no input at all."""

    def __init__(
        self, config: EndpointConfig | None = None, judge: Callable[[str], Completeness] | None = None
    ) -> None:
        self.config = config or EndpointConfig()
        # Reads the partial transcript (media.turn_end): whether the sentence can be over. Pure, so decisions
        # stay a function of the audio.
        self.judge = judge
        self.reset()

    def reset(self) -> None:
        """Start a new listening phase; audio time restarts at 0."""
        self.audio_ms = 0
        self.in_speech = False
        self.done = False
        self._cand_start: int | None = None
        self._cand_speech_ms = 0
        self._cand_gap_ms = 0
        self.speech_start_ms: int | None = None
        self._speech_end_ms = 0
        self._silence_ms = 0
        self._partial = ""
        self._partial_changed_ms = 0
        self._revised_floor_ms = 0  # the wait a partial asked for before the recogniser rewrote it in the silence

    def feed(self, is_speech: bool, partial: str | None = None) -> EndpointEvent | None:
        """Advance one frame; `partial` is the latest ASR partial (None: no news). Returns a decision or None."""
        if self.done:
            return None
        cfg = self.config
        start = self.audio_ms
        self.audio_ms += cfg.frame_ms
        now = self.audio_ms
        if partial is not None:
            text = partial.strip()
            if text != self._partial:
                if self.in_speech and self._silence_ms > 0 and self._partial \
                        and not f"{text} ".startswith(f"{self._partial} "):
                    # In the silence the recogniser rewrote its words rather than adding to them: "well on
                    # thursday" (a day, its time to come) became "well on thirty may" 300 ms into a pause, which
                    # looked whole, and the agent spoke into the pause (fresh seed 7979). A rewrite is no new speech:
                    # the wait the words before it asked for still holds. Words added at the end ("... in the" ->
                    # "... in the morning", the recogniser catching up) are judged as they are.
                    self._revised_floor_ms = max(self._revised_floor_ms, self._needed_silence_ms(now))
                self._partial = text
                self._partial_changed_ms = now

        if not self.in_speech:
            if is_speech:
                if self._cand_start is None:
                    self._cand_start = start
                    self._cand_speech_ms = 0
                self._cand_speech_ms += cfg.frame_ms
                self._cand_gap_ms = 0
                if self._cand_speech_ms >= cfg.min_speech_ms:
                    self.in_speech = True
                    self.speech_start_ms = self._cand_start
                    self._speech_end_ms = now
                    self._silence_ms = 0
                    return EndpointEvent(EndpointEventType.SPEECH_START, now, speech_start_ms=self._cand_start)
            elif self._cand_start is not None:
                self._cand_gap_ms += cfg.frame_ms
                if self._cand_gap_ms > cfg.onset_gap_ms:
                    self._cand_start = None
            if self._cand_start is None and now >= cfg.no_input_ms:
                self.done = True
                return EndpointEvent(EndpointEventType.NO_INPUT, now)
            return None

        assert self.speech_start_ms is not None
        if is_speech:
            self._silence_ms = 0
            self._speech_end_ms = now
            self._revised_floor_ms = 0
        else:
            self._silence_ms += cfg.frame_ms
        if now - self.speech_start_ms >= cfg.max_utterance_ms:
            return self._finish(EndpointEventType.MAX_UTTERANCE)
        if self._silence_ms == 0:
            return None
        if self._silence_ms >= max(self._needed_silence_ms(now), self._revised_floor_ms):
            return self._finish(EndpointEventType.END_OF_TURN)
        return None

    def _needed_silence_ms(self, now: int) -> int:
        """Trailing silence that ends the turn now, from what the words so far say."""
        cfg = self.config
        stable = self._partial != "" and now - self._partial_changed_ms >= cfg.partial_stable_ms
        if self.judge is None:
            verdict = Completeness.UNKNOWN
        elif self._partial:
            verdict = self.judge(self._partial)
        else:
            # Speech, but no word yet: the recogniser has not caught up (a busy machine, a noisy line) or could
            # spell nothing so far. Nothing of an answer has been heard: measured, ending such turns after the
            # usual silence cut pausing callers off after their first words.
            verdict = Completeness.LIKELY_MORE
        if verdict is Completeness.INCOMPLETE:
            return max(cfg.hold_end_silence_ms, cfg.end_silence_ms)
        if verdict is Completeness.LIKELY_MORE:
            return max(cfg.likely_more_end_silence_ms, cfg.end_silence_ms)
        if stable and verdict is Completeness.COMPLETE:
            return min(cfg.complete_end_silence_ms, cfg.stable_end_silence_ms)
        return cfg.stable_end_silence_ms if stable else cfg.end_silence_ms

    def _finish(self, type_: EndpointEventType) -> EndpointEvent:
        self.done = True
        return EndpointEvent(type_, self.audio_ms, self.speech_start_ms, self._speech_end_ms)


# --- barge-in --------------------------------------------------------------------------------------------
# Backchannels: while the agent talks, these mean "go on", not "stop".
# "the" and "a" are what a small Vosk model usually makes of a cough or a breath.
DEFAULT_FILLERS = frozenset("mhm mm mmm hmm hm uh um huh uhhuh ah oh er erm yeah yep okay ok right the a".split())


@dataclass(frozen=True, slots=True)
class BargeInConfig:
    """Barge-in thresholds (audio milliseconds and dB)."""

    frame_ms: int = 20
    # Qualifying speech must be sustained this long: a cough or a click is shorter.
    min_speech_ms: int = 180
    # Dips (VAD or level) tolerated inside a run before it restarts.
    gap_tolerance_ms: int = 60
    # A frame qualifies only this far above the adaptive noise floor.
    margin_db: float = 10.0
    initial_floor_dbfs: float = -60.0
    # The floor never drops below this: on a digitally silent line any hiss would otherwise qualify.
    min_floor_dbfs: float = -55.0
    # Per-frame smoothing of the floor: falls fast, rises slowly (steady noise raises it, speech does not).
    floor_fall: float = 0.3
    floor_rise: float = 0.02
    # When the agent's own outgoing level is known (ref_dbfs), caller audio must beat its expected echo:
    # ref - assumed echo return loss + margin. The echo path delays it, hence the max over a short tail.
    assumed_erl_db: float = 12.0
    echo_margin_db: float = 3.0
    echo_tail_ms: int = 200
    # Optionally wait for an ASR partial with a real word; sustained speech wins anyway after a while.
    confirm_with_asr: bool = False
    max_unconfirmed_ms: int = 800
    fillers: frozenset[str] = DEFAULT_FILLERS


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The caller is taking the turn."""

    audio_ms: int  # decision time since the agent started speaking
    onset_ms: int  # first qualifying frame of the run
    confirmed_by_asr: bool
    text: str = ""

    @property
    def reaction_ms(self) -> int:
        """Audio between the caller's onset and the decision."""
        return self.audio_ms - self.onset_ms


_WORD = re.compile(r"[a-z']+")


def has_content_word(text: str, fillers: frozenset[str] = DEFAULT_FILLERS) -> bool:
    """True when `text` holds a word that is not a backchannel / filler."""
    return any(w not in fillers for w in _WORD.findall(text.lower().replace("-", "")))


class BargeInDetector:
    """Decides, while the agent speaks, that the caller really is taking the turn. One decision per reset."""

    def __init__(self, config: BargeInConfig | None = None) -> None:
        self.config = config or BargeInConfig()
        self.floor_dbfs = self.config.initial_floor_dbfs
        self.reset()

    def reset(self) -> None:
        """The agent starts a new utterance: forget the previous run and decision (the noise floor stays)."""
        self.audio_ms = 0
        self.fired: BargeIn | None = None
        self._run_start: int | None = None
        self._run_ms = 0
        self._gap_ms = 0
        self._partial = ""
        tail = max(1, self.config.echo_tail_ms // self.config.frame_ms)
        self._ref: collections.deque[float] = collections.deque(maxlen=tail)

    def qualifies(self, is_speech: bool, energy_dbfs: float, ref_dbfs: float | None = None) -> bool:
        """Whether one frame counts as the caller's speech (pure: does not change state)."""
        cfg = self.config
        if not is_speech or energy_dbfs < self.floor_dbfs + cfg.margin_db:
            return False
        refs = [*self._ref, ref_dbfs] if ref_dbfs is not None else list(self._ref)
        if refs:
            echo = max(refs) - cfg.assumed_erl_db
            if energy_dbfs < echo + cfg.echo_margin_db:
                return False
        return True

    def feed(
        self, is_speech: bool, energy_dbfs: float, ref_dbfs: float | None = None, partial: str | None = None
    ) -> BargeIn | None:
        """Advance one frame (VAD flag, caller level, agent's outgoing level, latest partial)."""
        cfg = self.config
        start = self.audio_ms
        self.audio_ms += cfg.frame_ms
        if partial is not None:
            self._partial = partial.strip()
        if self.fired is not None:
            return None
        ok = self.qualifies(is_speech, energy_dbfs, ref_dbfs)
        if ref_dbfs is not None:
            self._ref.append(ref_dbfs)
        if not ok:
            self._track_floor(energy_dbfs)
            if self._run_start is not None:
                self._gap_ms += cfg.frame_ms
                if self._gap_ms > cfg.gap_tolerance_ms:
                    self._run_start = None
            return None
        if self._run_start is None:
            self._run_start = start
            self._run_ms = 0
        self._run_ms += cfg.frame_ms
        self._gap_ms = 0
        if self._run_ms < cfg.min_speech_ms:
            return None
        confirmed = has_content_word(self._partial, cfg.fillers)
        if cfg.confirm_with_asr and not confirmed and self._run_ms < cfg.max_unconfirmed_ms:
            return None
        self.fired = BargeIn(self.audio_ms, self._run_start, confirmed, self._partial)
        return self.fired

    def _track_floor(self, energy_dbfs: float) -> None:
        cfg = self.config
        rate = cfg.floor_fall if energy_dbfs < self.floor_dbfs else cfg.floor_rise
        self.floor_dbfs = max(cfg.min_floor_dbfs, self.floor_dbfs + rate * (energy_dbfs - self.floor_dbfs))
