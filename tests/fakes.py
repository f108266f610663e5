"""Fakes that subclass or satisfy the real interfaces, for fast CallSession tests without Asterisk or Rasa.

Integration tests use the real servers; these only make the call logic cheap to exercise.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_agent.ari.client import AriClient, AriError
from ari_agent.ari.models import AriEvent, Channel
from ari_agent.asr.base import AsrHint, AsrResult
from ari_agent.dialogue.base import CallContext, DialogueError, DialogueResult, Handoff
from ari_agent.media.audio import FRAME_BYTES, read_wav


def speech_frames(text: str = "I would like to book a cleaning please") -> list[bytes]:
    """Real speech (flite) as 20 ms frames of 16 kHz PCM, so the real VAD sees real speech."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(wav)], check=True)
        pcm = read_wav(wav)
    pcm = pcm[: len(pcm) // FRAME_BYTES * FRAME_BYTES]
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


SILENCE = b"\x00" * FRAME_BYTES


class ScriptedMedia:
    """A media source whose frames the test pushes; silence flows when nothing is pushed (like the RTP clock)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False
        self.port = 40000

    async def start(self) -> None:
        return None

    async def frames(self) -> AsyncIterator[bytes]:
        # Like the RTP receiver: frames already received are delivered after close(), then the stream ends.
        while True:
            try:
                item = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                if self.closed:
                    return
                # Audio time runs 10x faster than real time, so silence timeouts take 0.1x as long.
                await asyncio.sleep(0.002)
                item = SILENCE
            if item is None:
                return
            yield item

    def push(self, frames: list[bytes], trailing_silence_ms: int = 1000) -> None:
        for f in frames:
            self.queue.put_nowait(f)
        for _ in range(trailing_silence_ms // 20):
            self.queue.put_nowait(SILENCE)

    @property
    def queued_frames(self) -> int:
        """Frames received and not yet read (as the RTP receiver reports them)."""
        return self.queue.qsize()

    def close(self) -> None:
        self.closed = True
        self.queue.put_nowait(None)


@dataclass
class FakeAsrStream:
    texts: list[str]
    pushed: int = 0
    expected: list[str | None] = field(default_factory=list)  # every expect() call, in order
    with_name: list[bool] = field(default_factory=list)  # ... and whether it listened for a name too
    refused_names: list[frozenset[tuple[str, ...]]] = field(default_factory=list)  # ... and the names it avoided
    hint_text: str = "hinted"  # what the "constrained decoder" reads when an answer is expected
    push_delay_s: float = 0.0
    confidence: float = 0.9  # of every non-empty result

    async def push(self, pcm16: bytes) -> str | None:
        self.pushed += len(pcm16)
        if self.push_delay_s:
            await asyncio.sleep(self.push_delay_s)  # a loaded machine: decoding slower than the line
        return None

    async def finish(self) -> AsrResult:
        text = self.texts.pop(0) if self.texts else ""
        kind = self.expected[-1] if self.expected else None
        hint = AsrHint(kind, self.hint_text, complete=False) if kind else None
        return AsrResult(
            text=text, confidence=self.confidence if text else 0.0, audio_ms=self.pushed // 32, decode_ms=1.0, hint=hint
        )

    def expect(
        self, kind: str | None, *, with_name: bool = False, refused_names: frozenset[tuple[str, ...]] = frozenset()
    ) -> None:
        self.expected.append(kind)
        self.with_name.append(with_name)
        self.refused_names.append(refused_names)

    def close(self) -> None:
        return None


class FakeAsr:
    sample_rate = 16000

    def __init__(self, texts: list[str], confidence: float = 0.9) -> None:
        self.stream = FakeAsrStream(list(texts), confidence=confidence)

    def new_stream(self) -> FakeAsrStream:
        return self.stream


@dataclass
class FakeDialogue:
    """Maps caller text to results; raises for text 'BOOM'."""

    script: dict[str, DialogueResult]
    started: list[CallContext] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    hints: list[AsrHint | None] = field(default_factory=list)  # the hint sent with each turn

    fail_start: bool = False  # Rasa down when the call starts
    delay_s: float = 0.0  # a loaded Rasa: each turn takes this long

    async def start(self, conversation_id: str, context: CallContext) -> None:
        if self.fail_start:
            raise DialogueError("dialogue-unavailable", "cannot reach Rasa")
        self.started.append(context)

    async def send(
        self,
        conversation_id: str,
        text: str,
        asr_confidence: float = 1.0,
        *,
        hint: AsrHint | None = None,
        unsure: float = 0.0,
    ) -> DialogueResult:
        self.hints.append(hint)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if text == "BOOM":
            raise DialogueError("dialogue-failed", "rasa is down")
        return self.script.get(text, DialogueResult(replies=["Sorry?"], intent="nlu_fallback"))

    async def end(self, conversation_id: str) -> None:
        self.ended.append(conversation_id)


@dataclass
class FakePrompt:
    uri: str
    duration_ms: int = 500
    cached: bool = False


class FakePrompts:
    async def get(self, text: str) -> FakePrompt:
        return FakePrompt(uri=f"sound:fake/{abs(hash(text))}")


class FakeAri(AriClient):
    """Records what the agent asked of Asterisk and answers like Asterisk would (events via `deliver`)."""

    def __init__(self) -> None:
        super().__init__("http://fake", "u", "p", "ari-agent")
        self.calls: list[tuple[str, Any]] = []
        self.channels: set[str] = set()
        self.bridges: set[str] = set()
        self.variables: dict[tuple[str, str], str] = {}
        self.deliver: Any = None  # set by the test: session.deliver
        self.playback_ms = 30
        self.played: list[str] = []
        self.stopped: list[str] = []
        self.continued: list[tuple[str, str, str]] = []
        self.continue_failures = 0  # how many continue requests Asterisk refuses before one works
        self.gone: set[str] = set()  # channels hung up in Asterisk whose StasisEnd the session has not read yet
        self.held: set[str] = set()  # GET /applications/{app} channel_ids
        self.claims: list[str] = []  # StasisBroadcast offers this app claimed
        self.claim_result = True  # False: another app was first (409)
        self._playbacks: dict[str, asyncio.Task[None]] = {}

    def _event(self, type_: str, **kw: Any) -> None:
        self.deliver(AriEvent(type=type_, application="ari-agent", **kw))

    async def answer(self, channel_id: str) -> None:
        self.calls.append(("answer", channel_id))

    async def claim(self, channel_id: str) -> bool:
        self.claims.append(channel_id)
        return self.claim_result

    async def app_channel_ids(self) -> set[str]:
        return set(self.held)

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        self.variables[(channel_id, name)] = value

    async def get_var(self, channel_id: str, name: str) -> str:
        return self.variables.get((channel_id, name), "")

    async def external_media(self, channel_id: str, external_host: str, fmt: str) -> Channel:
        self.channels.add(channel_id)
        ch = Channel(id=channel_id, name="UnicastRTP/x", state="Up")
        asyncio.get_running_loop().call_soon(lambda: self._event("StasisStart", channel=ch))
        return ch

    async def snoop(self, channel_id: str, snoop_id: str, spy: str = "in") -> Channel:
        self.channels.add(snoop_id)
        ch = Channel(id=snoop_id, name="Snoop/x", state="Up")
        asyncio.get_running_loop().call_soon(lambda: self._event("StasisStart", channel=ch))
        return ch

    async def create_bridge(self, bridge_id: str, kind: str = "mixing") -> None:
        self.bridges.add(bridge_id)

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        assert bridge_id in self.bridges and all(c in self.channels for c in channel_ids)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.bridges.discard(bridge_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.calls.append(("hangup", channel_id))
        self.channels.discard(channel_id)

    async def play(self, channel_id: str, media: str, playback_id: str) -> None:
        if channel_id in self.gone:
            raise AriError(404, f"POST /channels/{channel_id}/play/{playback_id}: 404 Channel not found")
        self.played.append(media)
        target = Channel(id=channel_id, name="", state="")

        async def run() -> None:
            self._event("PlaybackStarted", channel=target, playback_id=playback_id, playback_state="playing")
            await asyncio.sleep(self.playback_ms / 1000)
            self._event("PlaybackFinished", channel=target, playback_id=playback_id, playback_state="done")

        self._playbacks[playback_id] = asyncio.create_task(run())

    async def stop_playback(self, playback_id: str) -> None:
        self.stopped.append(playback_id)
        task = self._playbacks.get(playback_id)
        if task is not None and not task.done():
            task.cancel()
            self._event("PlaybackFinished", playback_id=playback_id, playback_state="done")

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, priority: int = 1) -> None:
        if self.continue_failures > 0:
            self.continue_failures -= 1
            raise AriError(500, f"POST /channels/{channel_id}/continue: 500 Internal Server Error")
        self.continued.append((channel_id, context, extension))

    async def close(self) -> None:
        for task in self._playbacks.values():
            task.cancel()


def handoff_result(reason: str, queue: str | None = None) -> DialogueResult:
    return DialogueResult(replies=["Let me get you someone."], intent="request_human", handoff=Handoff(reason, queue))


__all__ = ["AriError"]
