"""TurnStream: the caller's speech, keyed-in entries and silences as one stream, in the order taken."""

from __future__ import annotations

import asyncio
from typing import Any

from ari_agent.call.listener import NoInput, Utterance
from ari_agent.call.turns import KeyedIn, TurnStream


class _Heard:
    """Stands in for the Listener: turns are put in by the test; a cancelled wait loses nothing."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Utterance | NoInput] = asyncio.Queue()
        self.waits = 0
        self.keyed = 0

    def keyed_turn_taken(self) -> None:
        self.keyed += 1

    async def next_utterance(self) -> Utterance | NoInput:
        self.waits += 1
        return await self.queue.get()


def _said(text: str) -> Utterance:
    return Utterance(text, 0.9, 0, 1000, 600, 20.0, 0.0)


def _stream(heard: _Heard, interdigit_ms: int = 100, max_digits: int = 20) -> TurnStream:
    listener: Any = heard
    return TurnStream(listener, interdigit_ms=interdigit_ms, max_digits=max_digits)


async def test_keys_pressed_together_are_one_entry_ended_by_a_pause() -> None:
    heard = _Heard()
    turns = _stream(heard)
    for key in "4111":
        turns.key_pressed(key)
    assert await turns.next() == KeyedIn("4111")
    assert heard.keyed == 1  # counted as a turn taken: an offline line's clock waits on that


async def test_hash_ends_an_entry_and_alone_is_its_own_turn() -> None:
    heard = _Heard()
    turns = _stream(heard, interdigit_ms=5000)
    for key in "12#":
        turns.key_pressed(key)
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("12")
    turns.key_pressed("#")
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("#")


async def test_a_question_one_key_answers_takes_the_key_without_waiting() -> None:
    heard = _Heard()
    turns = _stream(heard, interdigit_ms=5000)
    turns.entry_keys = 1  # "Press 1 for yes, or 2 for no."
    turns.key_pressed("1")
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("1")
    turns.entry_keys = 0
    for key in "12#":
        turns.key_pressed(key)
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("12")  # then "#" or a pause ends an entry again


async def test_a_hash_after_a_full_entry_is_its_terminator_not_a_turn() -> None:
    heard = _Heard()
    turns = _stream(heard, interdigit_ms=5000)
    turns.entry_keys = 2  # "You can also key in the day of the month."
    for key in "10#":
        turns.key_pressed(key)
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("10")
    turns.entry_keys = 0
    waiting = asyncio.ensure_future(turns.next())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the "#" was swallowed: the stream waits for the caller's next turn
    heard.queue.put_nowait(_said("yes"))
    assert await asyncio.wait_for(waiting, 1) == _said("yes")


async def test_an_entry_stops_at_the_expected_length() -> None:
    heard = _Heard()
    turns = _stream(heard, interdigit_ms=200, max_digits=4)
    for key in "123456":
        turns.key_pressed(key)
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("1234")
    assert await asyncio.wait_for(turns.next(), 1) == KeyedIn("56")


async def test_a_key_pressed_while_waiting_for_speech_wakes_the_wait() -> None:
    heard = _Heard()
    turns = _stream(heard)
    waiting = asyncio.ensure_future(turns.next())
    await asyncio.sleep(0.01)
    assert heard.waits == 1 and not waiting.done()
    turns.key_pressed("0")
    assert await asyncio.wait_for(waiting, 1) == KeyedIn("0")
    # The speech wait was cancelled without taking anything: the next utterance is still delivered.
    heard.queue.put_nowait(_said("hello"))
    assert await asyncio.wait_for(turns.next(), 1) == _said("hello")


async def test_words_and_a_key_at_the_same_moment_lose_neither() -> None:
    heard = _Heard()
    turns = _stream(heard)
    heard.queue.put_nowait(_said("my number is"))
    turns.key_pressed("7")
    first = await asyncio.wait_for(turns.next(), 1)
    second = await asyncio.wait_for(turns.next(), 1)
    assert {type(first), type(second)} == {Utterance, KeyedIn}
    assert _said("my number is") in (first, second) and KeyedIn("7") in (first, second)


async def test_silence_is_a_turn_of_its_own() -> None:
    heard = _Heard()
    turns = _stream(heard)
    heard.queue.put_nowait(NoInput(6000))
    assert await asyncio.wait_for(turns.next(), 1) == NoInput(6000)


async def test_a_cancelled_call_stays_cancelled_while_the_stream_tidies_up() -> None:
    # The caller hung up just as a turn arrived: the session cancels its conversation while next() is still
    # cancelling its wait for keys. That cancellation must not be swallowed there, or the conversation goes on
    # answering a caller who has gone, and the call never ends (seen in the cluster test: a row left open).
    class _SlowToStop(asyncio.Queue[str]):
        async def get(self) -> str:
            try:
                return await super().get()
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)  # tidying up takes a moment
                raise

    heard = _Heard()
    turns = _stream(heard)
    turns._keys = _SlowToStop()
    task = asyncio.ensure_future(turns.next())
    await asyncio.sleep(0.01)
    heard.queue.put_nowait(_said("how much is a filling"))
    await asyncio.sleep(0.02)  # next() has its words and is now waiting for the key wait to stop
    task.cancel()
    try:
        result = await task
    except asyncio.CancelledError:
        result = None
    assert result is None and task.cancelled()
