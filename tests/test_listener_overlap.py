"""A reply that starts while the caller is still in a turn (heard late, or the caller went on after the end of
turn) must not freeze that turn: its words are neither lost nor glued to the caller's next sentence."""

from __future__ import annotations

import asyncio

from ari_agent.call.listener import Listener, ListenerConfig, NoInput, Utterance
from ari_agent.media.audio import FRAME_BYTES
from tests.fakes import SILENCE, FakeAsr, speech_frames

FRAMES_PER_S = 50


def _silence(seconds: float) -> list[bytes]:
    return [SILENCE] * int(seconds * FRAMES_PER_S)


async def _heard(listener: Listener) -> list[Utterance]:
    turns: list[Utterance] = []
    while True:
        try:
            turn = await asyncio.wait_for(listener.next_utterance(), 0.05)
        except TimeoutError:
            return turns
        if not isinstance(turn, NoInput):
            turns.append(turn)


async def _call(
    first_then_reply: list[bytes], during_reply: list[bytes], after: list[bytes]
) -> tuple[list[Utterance], list[float], FakeAsr]:
    asr = FakeAsr(["are you a robot", "what are your opening hours"])
    fired: list[float] = []
    listener = Listener(asr, ListenerConfig(), on_barge_in=fired.append, emit=lambda *a, **k: None)
    for frame in first_then_reply:
        await listener.feed(frame)
    listener.agent_started_speaking(True)
    for frame in during_reply:
        await listener.feed(frame)
    listener.agent_stopped_speaking()
    for frame in after:
        await listener.feed(frame)
    return await _heard(listener), fired, asr


async def test_a_reply_starting_in_the_callers_end_of_turn_wait_keeps_the_turns_apart() -> None:
    # The caller's sentence ended 200 ms before the reply started (the end-of-turn wait was still running: the
    # agent answering the turn before, or hearing the line late). The reply plays 3 s over silence, then the
    # caller asks the next question over it (the cluster test glued the two into one turn).
    first = speech_frames("Are you a robot")
    second = speech_frames("What are your opening hours")
    turns, fired, asr = await _call([*first, *_silence(0.2)], [*_silence(3), *second], _silence(2))
    assert [t.text for t in turns] == ["are you a robot", "what are your opening hours"]
    assert len(fired) == 1  # the second question
    # The first turn's audio is its own sentence, not the reply's silence and the second sentence.
    assert len(turns[0].audio) < (len(first) + 3 * FRAMES_PER_S) * FRAME_BYTES
    assert turns[0].audio_end_ms < turns[1].audio_start_ms
    # Every speech frame is decoded, none twice (a turn's trailing silence past DECODED_SILENCE_MS is not).
    assert (len(first) + len(second)) * FRAME_BYTES <= asr.stream.pushed <= sum(len(t.audio) for t in turns)


async def test_a_caller_still_talking_when_the_reply_starts_barges_in_without_hearing_audio_twice() -> None:
    first = speech_frames("Are you a robot I asked you a question")
    second = speech_frames("What are your opening hours")
    half = len(first) // 2
    turns, fired, asr = await _call(first[:half], [*first[half:], *_silence(2)], [*_silence(1), *second, *_silence(2)])
    assert len(fired) == 1  # the caller went on talking over the reply: the reply stops
    assert [t.text for t in turns] == ["are you a robot", "what are your opening hours"]
    # Every speech frame is pushed to the recogniser once (a restart from the ring pushed the overlap twice).
    assert (len(first) + len(second)) * FRAME_BYTES <= asr.stream.pushed <= sum(len(t.audio) for t in turns)


async def test_what_a_caller_says_over_the_handoff_line_is_heard_for_the_record() -> None:
    # The handoff line cannot be interrupted: it plays on, and nothing stops it. But the caller's sentences over
    # it are turns (stored with the call for the person taking it); before, they were not heard at all.
    asr = FakeAsr(["no wait i only wanted the address", "hello"])
    fired: list[float] = []
    listener = Listener(asr, ListenerConfig(), on_barge_in=fired.append, emit=lambda *a, **k: None)
    listener.agent_started_speaking(False, "I'm sorry, let me put you through to a member of our team.")
    for frame in [*_silence(0.5), *speech_frames("No wait, I only wanted the address"), *_silence(1.5)]:
        await listener.feed(frame)
    for frame in [*speech_frames("Hello"), *_silence(1.5)]:
        await listener.feed(frame)
    listener.agent_stopped_speaking()
    turns = await _heard(listener)
    assert [t.text for t in turns] == ["no wait i only wanted the address", "hello"]
    assert fired == [] and not any(t.barge_in for t in turns)  # the line was not stopped
