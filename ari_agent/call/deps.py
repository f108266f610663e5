"""What every call shares: settings, the long-lived engines, and the shapes of what they hand a call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ari_agent.ari.client import AriClient
from ari_agent.asr.base import AsrEngine
from ari_agent.config import Settings
from ari_agent.dialogue.base import DialogueEngine
from ari_agent.events import EventBus
from ari_agent.media.rtp import RtpReceiver
from ari_agent.recording import CallRecorder


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
