"""The caller's turns as one stream: what they said, what they keyed in, and silence when a turn was due.

Speech comes from the listener; DTMF keys from ARI events. Keys pressed together are one entry (ended by
"#", a pause of `interdigit_ms`, or `max_digits` keys), so a keyed-in card number reaches redaction and the
dialogue whole, not a digit at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ari_agent.call.listener import Listener, NoInput, Utterance


@dataclass(frozen=True, slots=True)
class KeyedIn:
    """Keys the caller pressed as one entry ("#" alone when only the terminator was pressed)."""

    digits: str


Turn = Utterance | NoInput | KeyedIn


class TurnStream:
    """Merges a call's speech turns and DTMF entries in the order the caller took them."""

    def __init__(self, listener: Listener, *, interdigit_ms: int, max_digits: int) -> None:
        self._listener = listener
        self._keys: asyncio.Queue[str] = asyncio.Queue()
        self._held: str | None = None  # a key taken off the queue while words arrived at the same moment
        self._interdigit_s = interdigit_ms / 1000
        self._max_digits = max_digits
        # The question asked is answered by this many keys at most ("press 1 for yes": 1): the entry ends with
        # them, not after a pause. 0: up to max_digits.
        self.entry_keys = 0
        self._full = False  # the last entry ended at entry_keys: a "#" after it is its terminator, not a turn

    def key_pressed(self, digit: str) -> None:
        """A DTMF key from the caller's channel (never blocks)."""
        self._keys.put_nowait(digit)

    async def next(self) -> Turn:
        """The caller's next turn."""
        if self._held is not None:
            first, self._held = self._held, None
            return await self._entry(first)
        if not self._keys.empty():
            return await self._entry(self._keys.get_nowait())
        heard = asyncio.ensure_future(self._listener.next_utterance())
        key = asyncio.ensure_future(self._keys.get())
        try:
            await asyncio.wait({heard, key}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # The losing wait is stopped and awaited with asyncio.wait, which neither raises its CancelledError
            # nor swallows one aimed at this task: suppressing CancelledError around `await task` here once
            # swallowed the session's own cancellation at a hangup, and the call never ended.
            losing = [task for task in (heard, key) if not task.done()]
            for task in losing:
                task.cancel()
            if losing:
                await asyncio.wait(losing)
        if key.done() and not key.cancelled():
            if heard.done() and not heard.cancelled() and isinstance(heard.result(), Utterance):
                # Both at once: the words come first, the key starts the next turn.
                self._held = key.result()
                return heard.result()
            return await self._entry(key.result())
        self._full = False
        return heard.result()

    async def _entry(self, first: str) -> Turn:
        if first == "#" and self._full:
            # "1 0 #" for a day of the month: the entry ended at its second key; the caller's "#" ends nothing more.
            self._full = False
            return await self.next()
        digits = "" if first == "#" else first
        limit = self.entry_keys or self._max_digits
        while first != "#" and len(digits) < limit:
            try:
                async with asyncio.timeout(self._interdigit_s):
                    key = await self._keys.get()
            except TimeoutError:
                break
            if key == "#":
                break
            digits += key
        self._full = len(digits) >= limit
        # Counted as a turn taken, like a spoken one: an offline line (replay, simulated callers) holds its audio
        # clock until then, and a keyed number mid-call had stopped it for good.
        self._listener.keyed_turn_taken()
        return KeyedIn(digits or "#")
