"""PromptCache: keys, files Asterisk can read, one synthesis per text, failures and restarts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ari_agent.tts.base import TtsError
from ari_agent.tts.cache import PromptCache, prompt_key
from ari_agent.tts.flite import FliteTts


class ToneTts:
    """A TtsEngine fake: 50 ms of tone per character, so durations follow from the text."""

    name = "tone"

    def __init__(self, voice: str = "a", sample_rate: int = 16000, delay: float = 0.0, fail: bool = False):
        self.voice = voice
        self.sample_rate = sample_rate
        self.delay = delay
        self.fail = fail
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None

    async def synthesize(self, text: str) -> bytes:
        self.calls.append(text)
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise TtsError("tone: broken on purpose")
        n = len(text) * self.sample_rate // 20
        t = np.arange(n) / self.sample_rate
        return (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


@pytest.fixture
def umask_077() -> Iterator[None]:
    """Deployments with a strict umask must still produce prompts Asterisk (another user) can read."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


async def test_miss_then_hit_with_the_documented_name_uri_and_duration(tmp_path: Path) -> None:
    engine = ToneTts()
    cache = PromptCache(engine, tmp_path / "prompts", "/var/lib/asterisk/sounds/agent/")
    text = "Hello and welcome"
    key = hashlib.sha256("\0".join(["tone", "a", "16000", text]).encode()).hexdigest()[:20]
    first = await cache.get(text)
    assert first.path == tmp_path / "prompts" / f"{key}.wav16"
    assert first.uri == f"sound:/var/lib/asterisk/sounds/agent/{key}"
    assert first.duration_ms == len(text) * 50
    assert not first.cached and first.tts_ms > 0
    second = await cache.get(text)
    assert second.cached and second.tts_ms == 0.0
    assert (second.path, second.uri, second.duration_ms) == (first.path, first.uri, first.duration_ms)
    assert engine.calls == [text]
    assert (cache.hits, cache.misses, cache.syntheses) == (1, 1, 1)


async def test_file_is_16bit_mono_wav_at_engine_rate_and_world_readable(tmp_path: Path, umask_077: None) -> None:
    cache = PromptCache(ToneTts(sample_rate=8000), tmp_path / "p")
    prompt = await cache.get("Sure")
    with wave.open(str(prompt.path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert wav.getnframes() == 4 * 8000 // 20
    assert stat.S_IMODE(prompt.path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o755
    # asterisk_dir defaults to the directory itself.
    assert prompt.uri == f"sound:{tmp_path / 'p'}/{prompt.path.stem}"


async def test_key_depends_on_engine_voice_rate_and_text(tmp_path: Path) -> None:
    a = ToneTts(voice="a")
    keys = {
        prompt_key(a, "hi"),
        prompt_key(a, "hi "),
        prompt_key(ToneTts(voice="b"), "hi"),
        prompt_key(ToneTts(sample_rate=8000), "hi"),
        prompt_key(FliteTts(), "hi"),
    }
    assert len(keys) == 5
    # Surrounding whitespace is not part of what is said: get() strips it.
    cache = PromptCache(a, tmp_path)
    assert (await cache.get("  hi\n")).path == (await cache.get("hi")).path


async def test_concurrent_requests_for_one_text_synthesise_once(tmp_path: Path) -> None:
    engine = ToneTts()
    engine.gate = asyncio.Event()
    cache = PromptCache(engine, tmp_path)
    waiters = [asyncio.create_task(cache.get("One moment please")) for _ in range(10)]
    other = asyncio.create_task(cache.get("Goodbye"))
    await asyncio.sleep(0.05)
    engine.gate.set()
    prompts = await asyncio.gather(*waiters)
    await other
    assert sorted(engine.calls) == ["Goodbye", "One moment please"]
    assert len({p.path for p in prompts}) == 1
    assert not any(p.cached for p in prompts)  # none was ready when asked for
    assert (cache.misses, cache.syntheses, cache.hits) == (11, 2, 0)


async def test_a_caller_hanging_up_does_not_cancel_the_others_synthesis(tmp_path: Path) -> None:
    engine = ToneTts()
    engine.gate = asyncio.Event()
    cache = PromptCache(engine, tmp_path)
    leaving = asyncio.create_task(cache.get("Please hold"))
    staying = asyncio.create_task(cache.get("Please hold"))
    await asyncio.sleep(0.02)
    leaving.cancel()
    engine.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    prompt = await staying
    assert prompt.path.exists()
    assert engine.calls == ["Please hold"]


async def test_failure_reaches_every_waiter_leaves_no_file_and_is_retried(tmp_path: Path) -> None:
    engine = ToneTts(fail=True, delay=0.02)
    cache = PromptCache(engine, tmp_path)
    results = await asyncio.gather(cache.get("Broken"), cache.get("Broken"), return_exceptions=True)
    assert all(isinstance(r, TtsError) for r in results)
    assert engine.calls == ["Broken"]
    assert list(tmp_path.iterdir()) == []
    engine.fail = False
    prompt = await cache.get("Broken")
    assert prompt.path.exists() and not prompt.cached
    assert engine.calls == ["Broken", "Broken"]


async def test_engine_returning_no_audio_is_an_error(tmp_path: Path) -> None:
    class Mute(ToneTts):
        async def synthesize(self, text: str) -> bytes:
            return b""

    with pytest.raises(TtsError, match="no audio"):
        await PromptCache(Mute(), tmp_path).get("anything")
    assert list(tmp_path.iterdir()) == []


async def test_a_restarted_agent_finds_prompts_on_disk(tmp_path: Path) -> None:
    first = PromptCache(ToneTts(), tmp_path)
    made = await first.get("Welcome back")
    engine = ToneTts()
    second = PromptCache(engine, tmp_path)
    found = await second.get("Welcome back")
    assert found.cached and found.duration_ms == made.duration_ms
    assert engine.calls == []


async def test_unreadable_file_on_disk_is_replaced(tmp_path: Path) -> None:
    engine = ToneTts()
    cache = PromptCache(engine, tmp_path)
    cache.path_for("Fresh").write_bytes(b"garbage, not a wav")
    prompt = await cache.get("Fresh")
    assert not prompt.cached and engine.calls == ["Fresh"]
    with wave.open(str(prompt.path)) as wav:
        assert wav.getnframes() == 5 * 16000 // 20


async def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    cache = PromptCache(ToneTts(), tmp_path)
    await asyncio.gather(*(cache.get(f"prompt number {i}") for i in range(20)))
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 20 and all(n.endswith(".wav16") and not n.startswith(".") for n in names)


async def test_prerender_keeps_order_and_synthesises_each_text_once(tmp_path: Path) -> None:
    engine = ToneTts(delay=0.01)
    cache = PromptCache(engine, tmp_path)
    texts = ["Hello", "Sorry, I did not catch that", "Hello", "Goodbye"]
    prompts = await cache.prerender(texts)
    assert [p.text for p in prompts] == texts
    assert sorted(engine.calls) == ["Goodbye", "Hello", "Sorry, I did not catch that"]
    again = await cache.prerender(texts)
    assert all(p.cached for p in again)
    assert len(engine.calls) == 3


async def test_prerender_fails_loudly_when_the_engine_is_broken(tmp_path: Path) -> None:
    cache = PromptCache(ToneTts(fail=True), tmp_path)
    with pytest.raises(ExceptionGroup) as info:
        await cache.prerender(["Hello"])
    assert info.group_contains(TtsError)


async def test_real_flite_prompt_round_trip(tmp_path: Path) -> None:
    cache = PromptCache(FliteTts(), tmp_path / "flite")
    prompt = await cache.get("Your appointment is booked for Tuesday at ten.")
    with wave.open(str(prompt.path)) as wav:
        assert wav.getframerate() == 16000
        assert prompt.duration_ms == wav.getnframes() * 1000 // 16000
    assert 1500 < prompt.duration_ms < 6000
    assert (await cache.get("Your appointment is booked for Tuesday at ten.")).cached


async def test_aclose_cancels_pending_syntheses(tmp_path: Path) -> None:
    engine = ToneTts()
    engine.gate = asyncio.Event()
    cache = PromptCache(engine, tmp_path)
    waiter = asyncio.create_task(cache.get("never finished"))
    await asyncio.sleep(0.02)
    await cache.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert list(tmp_path.iterdir()) == []
