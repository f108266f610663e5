"""Barge-in against line echo: the agent's own prompt coming back attenuated must not interrupt it."""

from __future__ import annotations

import numpy as np

from ari_agent.call.listener import Listener, ListenerConfig
from ari_agent.media.audio import FRAME_BYTES, rms_dbfs
from tests.fakes import FakeAsr, speech_frames


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
