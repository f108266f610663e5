"""CallSession logic with fakes (no Asterisk, no Rasa): turns, barge-in, DTMF, silence, failures, clean-up.

The real VAD and endpointer run on real (flite) speech; only the recogniser, the dialogue and Asterisk are fakes.
The end-to-end versions of these calls run against the real servers in test_e2e_calls.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from ari_agent.ari.models import AriEvent, Channel
from ari_agent.call.session import GOING_ROUND, CallDeps, CallSession
from ari_agent.config import CallSettings, Settings
from ari_agent.dialogue.base import DialogueResult, Handoff
from ari_agent.events import EventBus, EventRecorder, EventType
from tests.fakes import FakeAri, FakeAsr, FakeDialogue, FakePrompts, ScriptedMedia, handoff_result, speech_frames

CALLER = Channel(id="chan-1", name="PJSIP/testcaller-1", state="Ring", caller_number="+15551230000", exten="100")


@pytest.fixture(scope="module")
def speech() -> list[bytes]:
    return speech_frames()


class Harness:
    def __init__(self, texts: list[str], script: dict[str, DialogueResult], **call: Any) -> None:
        base = CallSettings()
        self.settings = Settings(call=dataclasses.replace(base, **call))
        self.ari = FakeAri()
        self.media = ScriptedMedia()
        self.dialogue = FakeDialogue(script)
        self.bus = EventBus()
        self.rec = EventRecorder()
        self.bus.subscribe(self.rec)
        deps = CallDeps(
            settings=self.settings,
            ari=self.ari,
            asr=FakeAsr(texts),
            dialogue=self.dialogue,
            prompts=FakePrompts(),
            bus=self.bus,
            media_factory=lambda host: self.media,
        )
        self.session = CallSession(deps, CALLER)
        self.ari.deliver = self.session.deliver
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        self.task = asyncio.create_task(self.session.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        async with asyncio.timeout(10):
            await self.task
        await self.ari.close()

    async def two_turns_then_hang_up(self, speech: list[bytes]) -> None:
        """The caller says something after the greeting and again after the reply, then hangs up."""
        await self.agent_finished_speaking(1)
        self.media.push(speech)
        await self.agent_finished_speaking(2)
        self.media.push(speech)
        await self.agent_finished_speaking(3)
        self.hang_up()

    async def two_sentences_heard_late(self, speech: list[bytes], push_delay_s: float) -> None:
        """After the greeting, the caller says two sentences while decoding runs slower than the line (an
        overloaded machine): the second is received long before it is heard."""
        self.session.deps.asr.stream.push_delay_s = push_delay_s  # type: ignore[attr-defined]
        await self.agent_finished_speaking(1)
        self.media.push(speech)
        self.media.push(speech)

    async def agent_finished_speaking(self, n: int) -> None:
        async with asyncio.timeout(10):
            while len(self.rec.of(EventType.PLAYBACK_FINISHED)) < n:
                await asyncio.sleep(0.005)

    def press(self, keys: str) -> None:
        """The caller presses these keys, one ChannelDtmfReceived each."""
        for key in keys:
            dtmf = AriEvent(type="ChannelDtmfReceived", application="ari-agent", channel=CALLER, digit=key)
            self.session.deliver(dtmf)

    def hang_up(self) -> None:
        self.session.deliver(AriEvent(type="StasisEnd", application="ari-agent", channel=CALLER))

    def ended(self) -> dict[str, Any]:
        return self.rec.of(EventType.CALL_ENDED)[0].data


def booked() -> DialogueResult:
    return DialogueResult(
        replies=["Booked. Goodbye."], intent="affirm", outcome="booked", booking_ref="RD-1", end_call=True
    )


async def test_a_turn_then_goodbye_books_and_leaves_nothing_behind(speech: list[bytes]) -> None:
    script = {"book a cleaning": DialogueResult(replies=["Which day?"], intent="book_appointment"), "yes": booked()}
    async with Harness(["book a cleaning", "yes"], script) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
        await h.agent_finished_speaking(2)
        h.media.push(speech)
    assert h.ended()["outcome"] == "booked"
    turns = [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)]
    assert turns == ["book a cleaning", "yes"]
    assert [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)][1:] == ["Which day?", "Booked. Goodbye."]
    # Nothing the call created outlives it: helper channels hung up, bridge destroyed, dialogue closed.
    assert h.ari.channels == set() and h.ari.bridges == set()
    assert ("hangup", "chan-1") in h.ari.calls
    assert h.dialogue.ended == [h.session.call_id]
    assert h.ari.variables[("chan-1", "CDR(userfield)")] == h.session.call_id
    assert len(h.rec.of(EventType.TURN_LATENCY)) == 2


async def test_the_answer_the_bot_asked_for_is_decoded_against_its_phrases(speech: list[bytes]) -> None:
    # The bot asks for a time: the next utterance gets a constrained second read, sent along as a hint; an
    # open question (no requested slot) turns the expectation off again.
    asks_time = DialogueResult(replies=["What time?"], intent="book_appointment", slots={"requested_slot": "time"})
    script = {"book a cleaning": asks_time, "half past do": DialogueResult(replies=["Anything else?"], intent="inform")}
    async with Harness(["book a cleaning", "half past do"], script) as h:
        await h.two_turns_then_hang_up(speech)
    stream = h.session.deps.asr.stream  # type: ignore[attr-defined]
    assert stream.expected == ["when", None]
    assert h.dialogue.hints[0] is None
    hint = h.dialogue.hints[1]
    assert hint is not None and (hint.kind, hint.text) == ("when", "hinted")
    finals = h.rec.of(EventType.ASR_FINAL)
    assert "hint" not in finals[0].data and finals[1].data["hint"]["kind"] == "when"


async def test_after_the_opening_menu_the_answer_is_decoded_against_the_menu(speech: list[bytes]) -> None:
    menu = DialogueResult(replies=["Sorry, I didn't catch that. Are you calling to book, change or cancel?"],
                          intent="nlu_fallback", expect="task")  # fmt: skip
    script = {"garble": menu, "cancel it": DialogueResult(replies=["Which name?"], intent="cancel_appointment")}
    async with Harness(["garble", "cancel it"], script) as h:
        await h.two_turns_then_hang_up(speech)
    stream = h.session.deps.asr.stream  # type: ignore[attr-defined]
    assert stream.expected == ["task", None]


async def test_caller_hangs_up_mid_sentence_ends_every_task_and_keeps_the_words(speech: list[bytes]) -> None:
    async with Harness(["never finished"], {}) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech[: len(speech) // 2], trailing_silence_ms=0)
        await h.rec.wait_for(EventType.SPEECH_STARTED, timeout=10)
        h.hang_up()
    assert h.ended()["outcome"] == "hangup" and h.ended()["hangup_by"] == "caller"
    # What the caller said up to the hangup is in the record, and nobody tried to answer it.
    [last] = h.rec.of(EventType.CALLER_TURN)
    assert last.data["text"] == "never finished" and last.data["after_hangup"] is True
    assert h.dialogue.hints == []  # one entry per turn sent to the dialogue
    assert h.ari.channels == set() and h.ari.bridges == set()
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith(h.session.call_id)]
    assert leftovers == []


async def test_an_agent_far_behind_the_line_hears_everything_said_before_the_hangup(speech: list[bytes]) -> None:
    # Decoding slower than real time (an overloaded machine): at the hangup seconds of audio are still queued.
    # Its turns are the caller's words, stored, even though hearing them takes longer than one stage timeout.
    async with Harness(["first sentence", "second sentence"], {}, stage_timeout_seconds=0.5) as h:
        await h.two_sentences_heard_late(speech, push_delay_s=0.05)
        await h.rec.wait_for(EventType.SPEECH_STARTED, timeout=10)
        h.hang_up()
    assert [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)] == ["first sentence", "second sentence"]
    assert all(e.data.get("after_hangup") for e in h.rec.of(EventType.CALLER_TURN))
    assert not [e for e in h.rec.of(EventType.ERROR) if e.data["code"] == "audio-unheard"]


async def test_words_received_before_a_reply_are_a_turn_not_talk_over_it(speech: list[bytes]) -> None:
    # An agent behind the line (decoding slower than real time): when it starts its reply to the first sentence,
    # the second has already been received, not yet heard. It was said before the reply, so it is the caller's
    # next turn, not a barge-in on the reply (nor dropped as talk over it).
    script = {"first sentence": DialogueResult(replies=["A reply."], intent="ask_price"),
              "second sentence": DialogueResult(replies=["Another reply."], intent="ask_address")}  # fmt: skip
    async with Harness(["first sentence", "second sentence"], script) as h:
        await h.two_sentences_heard_late(speech, push_delay_s=0.02)
        await h.agent_finished_speaking(3)
        h.hang_up()
    assert [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)] == ["first sentence", "second sentence"]
    assert h.rec.of(EventType.BARGE_IN) == []
    assert [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)][1:] == ["A reply.", "Another reply."]
    # The first sentence's end was heard late by the audio received behind it: counted in its reply's latency.
    first = h.rec.of(EventType.TURN_LATENCY)[0].data
    assert first["lag_ms"] >= 1000
    assert first["total_ms"] == first["lag_ms"] + first["endpointing_ms"] + first["playback_start_ms"]


async def test_a_call_heard_too_late_goes_to_a_person_with_its_words_stored(speech: list[bytes]) -> None:
    # Decoding far slower than the line: once the audio waits handoff_backlog_ms to be heard, the caller is
    # apologised to and put through (reason capacity); what they said before that is still heard and stored.
    async with Harness(["first sentence", "second sentence"], {}, handoff_backlog_ms=1000) as h:
        await h.two_sentences_heard_late(speech, push_delay_s=0.05)
    assert h.ended()["outcome"] == "handoff" and h.ended()["handoff_reason"] == "capacity"
    [error] = h.rec.of(EventType.ERROR)
    assert error.data["code"] == "behind-the-line"
    [handoff] = h.rec.of(EventType.HANDOFF)
    assert "heard the caller" in handoff.data["summary"] and handoff.data["summary"].startswith("Handoff (capacity)")
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "reception")]
    assert h.rec.of(EventType.AGENT_TURN)[-1].data["text"].startswith("I'm sorry, I'm having trouble")
    turns = h.rec.of(EventType.CALLER_TURN)
    assert [e.data["text"] for e in turns] == ["first sentence", "second sentence"]
    assert h.dialogue.hints == []  # heard for the record, not answered


async def test_a_call_handed_over_for_lag_is_heard_out_however_slow_the_recogniser(speech: list[bytes]) -> None:
    # Cluster test, a core busy: after the behind-the-line handoff every decode waited behind 60 other calls'
    # longer than the stage timeout, and the caller's words were lost as asr-timeout. Once the call has left
    # the conversation only the record waits: no stage timeout, the session's bound instead.
    async with Harness(["first sentence", "second sentence"], {}, handoff_backlog_ms=1000,
                       stage_timeout_seconds=1.0) as h:  # fmt: skip
        await h.two_sentences_heard_late(speech, push_delay_s=0.05)
        await h.rec.wait_for(EventType.ERROR, timeout=10)
        stream = h.session.deps.asr.stream  # type: ignore[attr-defined]
        stream.push_delay_s = 1.5  # the decodes in flight now wait longer than the stage timeout ...
        h.ari.playback_ms = 1400  # ... while the apology plays (1.4 s), before the transfer
        await asyncio.sleep(1.6)
        stream.push_delay_s = 0.01  # ... and the machine catches up
    assert h.ended()["handoff_reason"] == "capacity"
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["behind-the-line"]
    assert [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)] == ["first sentence", "second sentence"]


async def test_barge_in_stops_the_greeting_and_is_the_next_turn(speech: list[bytes]) -> None:
    script = {"book a cleaning": booked()}
    async with Harness(["book a cleaning"], script) as h:
        h.ari.playback_ms = 5000  # a long greeting
        await h.rec.wait_for(EventType.PLAYBACK_STARTED)
        h.media.push(speech)
    barge = h.rec.of(EventType.BARGE_IN)
    assert len(barge) == 1 and barge[0].data["reaction_ms"] <= 300
    assert h.ari.stopped == [barge[0].data["playback_id"]]
    assert [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)] == ["book a cleaning"]
    assert h.ended()["outcome"] == "booked"


async def test_dtmf_zero_hands_off_to_the_queue_with_context() -> None:
    async with Harness([], {}) as h:
        await h.agent_finished_speaking(1)
        h.press("0")
    assert h.ended()["outcome"] == "handoff" and h.ended()["handoff_reason"] == "dtmf"
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "reception")]
    assert h.ari.variables[("chan-1", "__ARI_AGENT_REASON")] == "dtmf"
    assert h.ari.variables[("chan-1", "__ARI_AGENT_CALL_ID")] == h.session.call_id
    assert h.ari.variables[("chan-1", "__ARI_AGENT_TRANSCRIPT_URL")].endswith(f"/calls/{h.session.call_id}")


async def test_silent_caller_is_reprompted_then_handed_off() -> None:
    h = Harness([], {}, no_input_seconds=1.0, max_reprompts=2)
    async with h:
        pass
    assert [e.data["count"] for e in h.rec.of(EventType.REPROMPT)] == [1, 2, 3]
    assert h.ended()["handoff_reason"] == "no_input"
    assert h.ari.continued and h.ari.continued[0][2] == "reception"


async def test_a_served_caller_who_says_nothing_more_hears_the_goodbye_not_a_transfer(speech: list[bytes]) -> None:
    answered = DialogueResult(replies=["We're at twelve River Street.", "Is there anything else I can help with?"],
                              intent="ask_address", slots={})
    async with Harness(["where are you"], {"where are you": answered}, no_input_seconds=1.0, max_reprompts=1) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    assert [e.data["count"] for e in h.rec.of(EventType.REPROMPT)] == [1, 2]
    said = [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)]
    assert said[-1] == "Thank you for calling. Goodbye."
    assert h.ended()["outcome"] == "answered" and h.ended()["hangup_by"] == "agent" and not h.ari.continued
    assert h.rec.of(EventType.HANDOFF) == []


async def test_a_caller_silent_in_the_middle_of_a_task_is_still_put_through(speech: list[bytes]) -> None:
    # Answered a question mid-booking, the form's question is open: silence there is no "done".
    answered = DialogueResult(replies=["We're at twelve River Street.", "So, which day suits you?"],
                              intent="ask_address", slots={"requested_slot": "date", "task": "book"})
    async with Harness(["where are you"], {"where are you": answered}, no_input_seconds=1.0, max_reprompts=1) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    assert h.ended()["handoff_reason"] == "no_input" and h.ari.continued


async def test_dialogue_failure_apologises_and_hands_off(speech: list[bytes]) -> None:
    async with Harness(["BOOM"], {}) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    errors = h.rec.of(EventType.ERROR)
    assert errors and errors[0].data["code"] == "dialogue-failed"
    assert h.ended()["handoff_reason"] == "error"
    said = [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)]
    assert "sorry" in said[-1].lower() and "connect" in said[-1].lower()
    assert h.ari.continued


async def test_the_same_question_again_and_again_goes_to_a_person(speech: list[bytes]) -> None:
    """A safety net under the dialogue's own counters: the fourth identical reply in a row is a handoff instead;
    a caller asking for the line again ("say that again") hears it without it counting."""
    ask = DialogueResult(replies=["Which day suits you?"], intent="inform", slots={"requested_slot": "date"})
    again = DialogueResult(replies=["Which day suits you?"], intent="repeat")
    texts = ["it's not a deal", "say that again", "it's not a deal", "it's not a deal", "it's not a deal"]
    async with Harness(texts, {"it's not a deal": ask, "say that again": again}, max_same_reply=3) as h:
        for n in range(1, 6):
            await h.agent_finished_speaking(n)
            h.media.push(speech)
    said = [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)]
    assert said[1:] == ["Which day suits you?"] * 4 + [GOING_ROUND]
    assert h.ended()["outcome"] == "handoff" and h.ended()["handoff_reason"] == "misunderstood"
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["dialogue-loop"]
    assert h.ari.continued and h.ari.continued[0][2] == "reception"


async def test_dialogue_handoff_goes_to_the_queue_it_names(speech: list[bytes]) -> None:
    script = {
        "my tooth is bleeding": DialogueResult(replies=["Connecting you now."], handoff=Handoff("urgent", "urgent"))
    }
    async with Harness(["my tooth is bleeding"], script) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "urgent")]
    assert h.ended()["handoff_reason"] == "urgent"


async def test_words_said_while_the_agent_decides_on_a_transfer_stay_in_the_record(speech: list[bytes]) -> None:
    # A loaded Rasa takes its time over "a person please"; the caller goes on talking meanwhile. The transfer
    # wins, but what the caller said before it is part of the transcript the person in the queue reads.
    script = {"a person please": handoff_result("requested")}
    async with Harness(["a person please", "it is about my crown"], script) as h:
        h.dialogue.delay_s = 2.0
        await h.agent_finished_speaking(1)
        h.media.push(speech, trailing_silence_ms=600)
        await h.rec.wait_for(EventType.CALLER_TURN, timeout=10)
        h.media.push(speech)
    assert h.ended()["outcome"] == "handoff" and h.ari.continued
    turns = h.rec.of(EventType.CALLER_TURN)
    assert [e.data["text"] for e in turns] == ["a person please", "it is about my crown"]
    assert turns[1].data["after_transfer"] is True
    assert h.dialogue.hints == [None]  # the second turn was recorded, not sent to the dialogue


async def test_what_the_caller_says_over_the_handoff_line_stays_in_the_record(speech: list[bytes]) -> None:
    # The handoff line plays to its end whatever the caller says, but what they say over it is stored with the
    # call for the person who takes it.
    script = {"a person please": handoff_result("requested")}
    async with Harness(["a person please", "it is about my crown"], script) as h:
        await h.agent_finished_speaking(1)
        h.ari.playback_ms = 3000  # the handoff line plays for 3 s
        h.media.push(speech)
        async with asyncio.timeout(10):
            while len(h.rec.of(EventType.PLAYBACK_STARTED)) < 2:
                await asyncio.sleep(0.005)
        h.media.push(speech)
        async with asyncio.timeout(10):
            while len(h.rec.of(EventType.ASR_FINAL)) < 2:
                await asyncio.sleep(0.005)
        assert len(h.rec.of(EventType.PLAYBACK_FINISHED)) == 1  # heard while the handoff line still played
    assert h.ended()["outcome"] == "handoff" and h.ari.continued
    turns = h.rec.of(EventType.CALLER_TURN)
    assert [e.data["text"] for e in turns] == ["a person please", "it is about my crown"]
    assert turns[1].data["after_transfer"] is True


def test_replies_are_cut_into_sentences_for_streaming_tts() -> None:
    from ari_agent.call.session import split_sentences

    assert split_sentences("Which day suits you?") == ["Which day suits you?"]
    assert split_sentences("Of course. I'll put you through to reception now.") == [
        "Of course. I'll put you through to reception now."
    ]
    assert split_sentences(
        "You're booked in. Your reference is E P 7 3 9. Is there anything else I can help with?"
    ) == ["You're booked in.", "Your reference is E P 7 3 9.", "Is there anything else I can help with?"]
    assert split_sentences("  ") == []


async def test_a_multi_sentence_reply_plays_sentence_by_sentence(speech: list[bytes]) -> None:
    two = DialogueResult(
        replies=["The clinic is at 12 River Street. We are open Monday to Friday from eight to six. Goodbye."],
        intent="ask_address",
        end_call=True,
    )
    async with Harness(["where are you"], {"where are you": two}) as h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    assert len(h.ari.played) == 1 + 3  # greeting + three sentences
    assert len(h.rec.of(EventType.AGENT_TURN)) == 2  # one transcript line per reply
    assert len(h.rec.of(EventType.PLAYBACK_FINISHED)) == 2
    assert h.ended()["outcome"] == "answered"


async def test_the_queue_member_hears_a_spoken_summary() -> None:
    async with Harness([], {}) as h:
        await h.agent_finished_speaking(1)
        h.press("0")
    announce = h.ari.variables[("chan-1", "ARI_AGENT_ANNOUNCE")]
    assert announce.startswith("fake/")  # the prompt's sound path, without "sound:" or an extension


async def test_a_stalled_recogniser_hands_off_instead_of_hanging(speech: list[bytes]) -> None:
    class StalledStream:
        async def push(self, pcm16: bytes) -> str | None:
            await asyncio.sleep(3600)
            return None

        async def finish(self) -> Any:
            await asyncio.sleep(3600)

        def close(self) -> None:
            return None

    h = Harness([], {}, stage_timeout_seconds=0.5)
    h.session.deps.asr.stream = StalledStream()  # type: ignore[attr-defined]
    async with h:
        await h.agent_finished_speaking(1)
        h.media.push(speech)
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["asr-timeout"]
    assert h.ended()["handoff_reason"] == "error"
    assert h.ari.continued


async def test_rasa_down_at_call_start_apologises_before_the_queue() -> None:
    h = Harness([], {})
    h.dialogue.fail_start = True
    async with h:
        pass
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["dialogue-unavailable"]
    said = [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)]
    assert said and "sorry" in said[-1].lower() and "connect" in said[-1].lower()
    assert h.ended()["outcome"] == "handoff" and h.ended()["handoff_reason"] == "error"
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "reception")]
    # The member who picks up sees which call it is and why it came, as after any handoff.
    assert h.ari.variables[("chan-1", "__ARI_AGENT_REASON")] == "error"
    assert h.ari.variables[("chan-1", "__ARI_AGENT_CALL_ID")] == h.session.call_id


async def test_a_transfer_that_fails_is_tried_again() -> None:
    async with Harness([], {}) as h:
        h.ari.continue_failures = 1
        await h.agent_finished_speaking(1)
        h.press("0")
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "reception")]
    assert h.ended()["outcome"] == "handoff" and h.ended()["handoff_reason"] == "dtmf"
    assert ("hangup", "chan-1") not in h.ari.calls


async def test_a_transfer_asterisk_keeps_refusing_ends_in_a_hangup_not_silence() -> None:
    async with Harness([], {}) as h:
        h.ari.continue_failures = 2
        await h.agent_finished_speaking(1)
        h.press("0")
    assert h.ari.continued == [] and ("hangup", "chan-1") in h.ari.calls
    assert h.ended()["outcome"] == "failed"


async def test_a_recorder_that_cannot_write_never_stops_the_call(tmp_path: Any) -> None:
    class BrokenDisk:
        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> None:
                raise OSError(28, "No space left on device")

            return fail

    h = Harness([], {})
    h.session.deps.recorder = BrokenDisk()  # type: ignore[assignment]
    async with h:
        await h.agent_finished_speaking(1)
        h.press("0")
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["recording-failed"]
    assert h.rec.of(EventType.CALL_STARTED)[0].data.get("recording_path") is None
    assert h.ended()["handoff_reason"] == "dtmf" and h.ari.continued


async def test_an_agent_stopping_mid_call_apologises_and_transfers() -> None:
    h = Harness([], {})
    await h.__aenter__()
    await h.agent_finished_speaking(1)
    assert h.task is not None
    h.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await h.task
    await h.ari.close()
    assert [e.data["code"] for e in h.rec.of(EventType.ERROR)] == ["agent-shutdown"]
    said = [e.data["text"] for e in h.rec.of(EventType.AGENT_TURN)]
    assert "sorry" in said[-1].lower()
    assert h.ari.continued == [("chan-1", "ari-agent-handoff", "reception")]
    assert h.ended()["outcome"] == "handoff"


async def test_keyed_digits_are_one_turn_until_the_hash() -> None:
    async with Harness([], {"4111111111111111": handoff_result("human")}, dtmf_interdigit_ms=2000) as h:
        await h.agent_finished_speaking(1)
        h.press("4111111111111111#")
    turns = [e.data for e in h.rec.of(EventType.CALLER_TURN)]
    assert [(t["text"], t["source"]) for t in turns] == [("4111111111111111", "dtmf")]
    assert h.ended()["handoff_reason"] == "human"


async def test_a_pause_ends_a_keyed_entry() -> None:
    async with Harness([], {"12": handoff_result("human")}, dtmf_interdigit_ms=300) as h:
        await h.agent_finished_speaking(1)
        h.press("12")
    assert [e.data["text"] for e in h.rec.of(EventType.CALLER_TURN)] == ["12"]


async def test_a_caller_gone_before_the_reply_plays_is_a_hangup_not_a_failure(speech: list[bytes]) -> None:
    script = {"book a cleaning": DialogueResult(replies=["Which day?"], intent="book_appointment")}
    async with Harness(["book a cleaning"], script) as h:
        await h.agent_finished_speaking(1)
        h.ari.gone.add(CALLER.id)  # hung up in Asterisk; the StasisEnd arrives a moment later
        h.media.push(speech)
        await h.rec.wait_for(EventType.DIALOGUE_RESULT, timeout=10)
        await asyncio.sleep(0.05)
        h.hang_up()
    assert h.ended()["hangup_by"] == "caller" and h.ended()["outcome"] == "hangup"
    assert h.rec.of(EventType.ERROR) == [] and h.ari.continued == []


async def test_a_read_back_that_names_the_caller_listens_for_a_name_too(speech: list[bytes]) -> None:
    # "Shall I book it for Helen Smith?" is answered "no, it's Helen Smith" as often as "yes": the yes/no reading
    # gets a name reading alongside. A read-back without a name (or another question) does not.
    read_back = DialogueResult(replies=["So that's Friday at ten, for Helen Smith. Shall I book it?"],
                               intent="inform", slots={"requested_slot": "confirmed", "name": "Helen Smith"})
    nameless = DialogueResult(replies=["So that's Friday at ten. Shall I cancel it?"], intent="inform",
                              slots={"requested_slot": "confirmed"})
    script = {"it's helen smith": read_back, "no it's helen smith": nameless}
    async with Harness(["it's helen smith", "no it's helen smith"], script) as h:
        await h.two_turns_then_hang_up(speech)
    stream = h.session.deps.asr.stream  # type: ignore[attr-defined]
    assert stream.expected == ["confirm", "confirm"]
    assert stream.with_name == [True, False]


async def test_the_names_the_caller_refused_are_passed_over_by_the_name_decoder(speech: list[bytes]) -> None:
    # The dialogue keeps the names read back and refused (slot names_refused); the next name reading passes over
    # them, and over the refused surname while the first name is kept ("I have Kevin. And your surname?").
    half = DialogueResult(replies=["I have Kevin. And your surname?"], intent="deny",
                          slots={"requested_slot": "name", "name_part": "Kevin", "names_refused": ["kevin love"]})
    read_back = DialogueResult(replies=["So that's Friday at ten, for Kevin Hall. Shall I book it?"],
                               intent="inform", slots={"requested_slot": "confirmed", "name": "Kevin Hall",
                                                       "names_refused": ["kevin love"]})
    script = {"no it's kevin": half, "hall": read_back}
    async with Harness(["no it's kevin", "hall"], script) as h:
        await h.two_turns_then_hang_up(speech)
    stream = h.session.deps.asr.stream  # type: ignore[attr-defined]
    assert stream.expected == ["name", "confirm"]
    assert stream.refused_names == [{("kevin", "love"), ("love",)}, {("kevin", "love")}]
