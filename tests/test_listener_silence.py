"""Silence inside a turn is decoded only up to DECODED_SILENCE_MS; the rest is decoded only if the caller goes on,
so a pause inside a sentence reaches the recogniser whole and the end-of-turn wait costs no decoding."""

from __future__ import annotations

import asyncio

from ari_agent.call.listener import DECODED_SILENCE_MS, Listener, ListenerConfig, NoInput, Utterance
from ari_agent.media.audio import FRAME_BYTES, FRAME_MS
from tests.fakes import SILENCE, FakeAsr, speech_frames


async def _turns(asr: FakeAsr, frames: list[bytes]) -> list[Utterance]:
    listener = Listener(asr, ListenerConfig(), on_barge_in=lambda _ms: None, emit=lambda *a, **k: None)
    for frame in frames:
        await listener.feed(frame)
    turns: list[Utterance] = []
    while True:
        try:
            turn = await asyncio.wait_for(listener.next_utterance(), 0.05)
        except TimeoutError:
            return turns
        if not isinstance(turn, NoInput):
            turns.append(turn)


def _silence(ms: int) -> list[bytes]:
    return [SILENCE] * (ms // FRAME_MS)


async def test_the_end_of_turn_wait_is_not_decoded_past_the_limit() -> None:
    speech = speech_frames("I need an appointment for a cleaning")
    asr = FakeAsr(["i need an appointment for a cleaning"])
    # No partial from the fake recogniser: the listener waits its longest (1.3 s) before ending the turn.
    (turn,) = await _turns(asr, [*speech, *_silence(3000)])
    trailing = len(turn.audio) - len(speech) * FRAME_BYTES
    assert trailing >= 1000 // FRAME_MS * FRAME_BYTES  # the wait was long ...
    undecoded = len(turn.audio) - asr.stream.pushed
    # ... and all of it but DECODED_SILENCE_MS (and the VAD's own hang-over) was left out of the recogniser
    assert undecoded >= trailing - (DECODED_SILENCE_MS + 200) // FRAME_MS * FRAME_BYTES
    assert asr.stream.pushed >= len(speech) * FRAME_BYTES  # every frame of speech was decoded


async def test_a_long_pause_inside_the_turn_is_decoded_whole_when_the_caller_goes_on() -> None:
    first = speech_frames("I need an appointment for")
    second = speech_frames("a cleaning on Monday")
    asr = FakeAsr(["i need an appointment for a cleaning on monday"])
    # Longer than DECODED_SILENCE_MS; with the silence flite ends its sentence with, under the 1.3 s held for.
    pause = _silence(700)
    (turn,) = await _turns(asr, [*first, *pause, *second, *_silence(3000)])
    # The pause came back to the recogniser once the caller spoke again: the sentence is decoded as said.
    assert asr.stream.pushed >= (len(first) + len(pause) + len(second)) * FRAME_BYTES
    assert asr.stream.pushed < len(turn.audio)  # only the trailing wait was left out
