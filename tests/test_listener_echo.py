"""Barge-in against line echo: the agent's own prompt coming back attenuated must not interrupt it."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from ari_agent.asr.base import AsrEngine
from ari_agent.asr.vosk import VoskEngine
from ari_agent.call.listener import Listener, ListenerConfig, Utterance, callers_words
from ari_agent.config import DEFAULT_CACHE
from ari_agent.events import EventType
from ari_agent.media.audio import FRAME_BYTES, rms_dbfs
from tests.fakes import SILENCE, FakeAsr, speech_frames


def attenuate(frame: bytes, db: float) -> bytes:
    x = np.frombuffer(frame, dtype="<i2").astype(np.float64) * 10 ** (db / 20)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


async def run(caller: list[bytes], prompt: list[bytes]) -> list[float]:
    fired: list[float] = []
    listener = Listener(FakeAsr([]), ListenerConfig(), on_barge_in=fired.append, emit=lambda *a, **k: None)
    listener.agent_started_speaking(True)
    listener.agent_audio_started([rms_dbfs(f) for f in prompt])
    for frame in caller:
        await listener.feed(frame)
    return fired


async def test_echo_of_the_agents_prompt_does_not_barge_in() -> None:
    prompt = speech_frames("Hello, you have reached Riverside Dental Clinic. How can I help you today?")
    # Line echo: the prompt itself, 28 dB down (the default assumes at least 25) and 60 ms late.
    echo = [b"\x00" * FRAME_BYTES] * 3 + [attenuate(f, -28) for f in prompt]
    assert await run(echo, prompt) == []


async def test_the_caller_talking_over_the_prompt_does_barge_in() -> None:
    prompt = speech_frames("Hello, you have reached Riverside Dental Clinic. How can I help you today?")
    caller = speech_frames("I need an appointment for a cleaning please")
    # The caller speaks 12 dB below the prompt's level, with the prompt's echo 28 dB down.
    mixed = []
    for i, frame in enumerate(caller):
        echo = attenuate(prompt[i], -28) if i < len(prompt) else b"\x00" * FRAME_BYTES
        quiet = attenuate(frame, -12)
        a = np.frombuffer(quiet, dtype="<i2").astype(np.int32) + np.frombuffer(echo, dtype="<i2")
        mixed.append(np.clip(a, -32768, 32767).astype("<i2").tobytes())
    fired = await run(mixed, prompt)
    assert len(fired) == 1 and fired[0] <= 300


# --- quiet speech over the agent: decoded, and judged by its words -------------------------------------------
REPLY = "I have a filling for Harry Jackson on Tuesday the eighth of December at three o'clock. Shall I cancel it?"


def mix(*tracks: list[bytes]) -> list[bytes]:
    """Frames summed sample by sample (the longest track sets the length)."""
    out = []
    for i in range(max(len(t) for t in tracks)):
        acc = np.zeros(FRAME_BYTES // 2, dtype=np.int32)
        for track in tracks:
            if i < len(track):
                acc += np.frombuffer(track[i], dtype="<i2")
        out.append(np.clip(acc, -32768, 32767).astype("<i2").tobytes())
    return out


async def overlap_call(
    asr: AsrEngine, line: list[bytes], prompt: list[bytes]
) -> tuple[list[Utterance], list[float], list[tuple[EventType, dict[str, Any]]]]:
    """The agent says REPLY (`prompt`) while `line` arrives; then 1.5 s of silence. Turns, barge-ins, events."""
    fired: list[float] = []
    events: list[tuple[EventType, dict[str, Any]]] = []
    listener = Listener(
        asr, ListenerConfig(), on_barge_in=fired.append, emit=lambda kind, **data: events.append((kind, data))
    )
    listener.agent_started_speaking(True, REPLY)
    listener.agent_audio_started([rms_dbfs(f) for f in prompt])
    for i, frame in enumerate(line + [SILENCE] * (len(prompt) - len(line))):
        if i == len(prompt) and not fired:
            listener.agent_stopped_speaking()
        await listener.feed(frame)
    if not fired:
        listener.agent_stopped_speaking()
    for _ in range(75):
        await listener.feed(SILENCE)
    return listener.take_pending(), fired, events


def test_words_over_a_reply_are_the_callers_when_enough_of_them_are_not_the_replys() -> None:
    reply = frozenset(REPLY.lower().replace(".", "").replace("?", "").split())
    assert callers_words("yes", 0.9, reply)
    assert callers_words("yes cancel it", 0.9, reply)  # a third of the words are new
    assert not callers_words("shall i cancel it", 0.9, reply)  # the reply's own words: echo
    assert not callers_words("i have a feeling for harry jackson on tuesday", 0.95, reply)  # echo, one misheard
    assert not callers_words("um uh", 0.9, reply)  # hesitations alone are nobody's answer
    assert not callers_words("hi", 0.35, reply)  # line noise under echo decoded at low confidence
    assert not callers_words("", 0.0, reply)


async def test_a_quiet_caller_over_the_reply_is_heard_when_the_words_are_theirs() -> None:
    prompt = speech_frames(REPLY)
    # The caller answers a second into the reply, 24 dB below it: under the echo the level test allows for.
    caller = [SILENCE] * 50 + [attenuate(f, -24) for f in speech_frames("Yes, that's right")]
    turns, fired, events = await overlap_call(FakeAsr(["yes that's right"]), caller, prompt)
    assert [t.text for t in turns] == ["yes that's right"]
    assert turns[0].barge_in and len(fired) == 1  # the reply stops for the caller's answer
    assert not [e for e in events if e[0] is EventType.OVERLAP_IGNORED]


async def test_quiet_speech_over_the_reply_that_is_its_own_words_is_no_turn() -> None:
    prompt = speech_frames(REPLY)
    echo = [SILENCE] * 3 + [attenuate(f, -30) for f in prompt]
    turns, fired, events = await overlap_call(FakeAsr(["shall i cancel it"] * 5), echo, prompt)
    assert turns == [] and fired == []
    ignored = [data for kind, data in events if kind is EventType.OVERLAP_IGNORED]
    assert ignored and ignored[0]["text"] == "shall i cancel it"


@pytest.fixture(scope="module")
def vosk() -> AsrEngine:
    return VoskEngine(os.environ.get("ARI_AGENT_VOSK_MODEL", str(DEFAULT_CACHE / "vosk-model-en")))


@pytest.mark.parametrize("echo_db", [-25, -30, -35])
async def test_real_echo_of_the_reply_decoded_by_vosk_is_no_turn(vosk: AsrEngine, echo_db: int) -> None:
    prompt = speech_frames(REPLY)
    echo = [SILENCE] * 3 + [attenuate(f, echo_db) for f in prompt]
    turns, fired, _ = await overlap_call(vosk, echo, prompt)
    assert turns == [] and fired == []


@pytest.mark.parametrize("answer", ["Yes, that's right", "Yes, please cancel it"])
async def test_a_quiet_caller_over_real_echo_is_heard_by_vosk(vosk: AsrEngine, answer: str) -> None:
    prompt = speech_frames(REPLY)
    # What an echo canceller leaves (35 dB down), and a caller 24 dB under the agent answering at the question's
    # end: too quiet to pass for more than echo by level, so before this their answer was lost.
    echo = [SILENCE] * 3 + [attenuate(f, -35) for f in prompt]
    caller = [SILENCE] * (len(prompt) - 60) + [attenuate(f, -24) for f in speech_frames(answer)]
    turns, _, _ = await overlap_call(vosk, mix(echo, caller), prompt)
    assert len(turns) == 1 and "yes" in turns[0].text.split()


# --- echo does not outlast its reply ---------------------------------------------------
GARBLED = "shall i cancel it yes"  # the caller's answer glued to the reply's tail, decoded at low confidence


async def test_a_caller_answering_as_the_reply_ends_is_heard_whatever_the_words() -> None:
    # The cluster test lost such an answer: it began over the greeting's last words (quiet, so no barge-in),
    # the greeting's tail garbled it to confidence 0.4 and it was ignored as the greeting's echo.
    prompt = speech_frames(REPLY)
    echo = [SILENCE] * 3 + [attenuate(f, -30) for f in prompt]
    answer = [attenuate(f, -24) for f in speech_frames("Yes, I would like to book a filling on Friday morning")]
    caller = [SILENCE] * (len(prompt) - 40) + answer
    asr = FakeAsr(["shall i cancel it", GARBLED], confidence=0.4)
    turns, _, events = await overlap_call(asr, mix(echo, caller), prompt)
    assert [t.text for t in turns] == [GARBLED]
    assert turns[0].audio_start_ms < len(prompt) * 20  # it did begin over the reply
    # The reply's echo alone, earlier, was still judged by its words and ignored.
    assert [data["text"] for kind, data in events if kind is EventType.OVERLAP_IGNORED] == ["shall i cancel it"]


async def test_echo_heard_a_little_after_the_reply_stopped_is_still_no_turn() -> None:
    # The prompt's end reaches the line after PlaybackFinished (network, jitter buffer): its last 200 ms of echo
    # come after the agent stopped speaking, and are still the reply's own words.
    prompt = speech_frames(REPLY)
    echo = [SILENCE] * 13 + [attenuate(f, -30) for f in prompt]
    turns, fired, events = await overlap_call(FakeAsr(["shall i cancel it"] * 5), echo, prompt)
    assert turns == [] and fired == []
    assert [data for kind, data in events if kind is EventType.OVERLAP_IGNORED]

