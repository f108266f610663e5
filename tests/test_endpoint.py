"""Turn-taking decisions on scripted frame timelines and on generated audio (audio time only, no clocks)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ari_agent.media import audio as A
from ari_agent.media.endpoint import (
    BargeIn,
    BargeInConfig,
    BargeInDetector,
    EndpointConfig,
    Endpointer,
    EndpointEvent,
    EndpointEventType,
    has_content_word,
)
from ari_agent.media.vad import Vad
from tests.audio_fixtures import cough, first_active_ms, mix, noise, scale, tts

S, Q = True, False  # a speech frame, a quiet frame


def timeline(*parts: tuple[bool, int]) -> list[bool]:
    """(is_speech, ms) segments -> one flag per 20 ms frame."""
    return [flag for flag, ms in parts for _ in range(ms // 20)]


def run(ep: Endpointer, flags: Sequence[bool], partials: dict[int, str] | None = None) -> list[EndpointEvent]:
    """Feed flags (and partials keyed by frame index); collect the decisions."""
    events = []
    for i, flag in enumerate(flags):
        ev = ep.feed(flag, (partials or {}).get(i))
        if ev is not None:
            events.append(ev)
    return events


def test_onset_and_end_of_turn() -> None:
    ep = Endpointer(EndpointConfig(min_speech_ms=120, end_silence_ms=700))
    events = run(ep, timeline((Q, 500), (S, 1000), (Q, 1000)))
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.END_OF_TURN]
    start, end = events
    assert (start.audio_ms, start.speech_start_ms) == (620, 500)
    assert (end.audio_ms, end.speech_start_ms, end.speech_end_ms) == (2200, 500, 1500)
    assert end.endpoint_wait_ms == 700


def test_click_and_short_cough_do_not_start_a_turn() -> None:
    ep = Endpointer(EndpointConfig(min_speech_ms=120, no_input_ms=3000))
    flags = timeline((Q, 400), (S, 40), (Q, 600), (S, 100), (Q, 3000))
    events = run(ep, flags)
    assert [e.type for e in events] == [EndpointEventType.NO_INPUT]
    assert events[0].audio_ms == 3000


def test_onset_tolerates_vad_flicker() -> None:
    ep = Endpointer(EndpointConfig(min_speech_ms=120, onset_gap_ms=40))
    events = run(ep, timeline((Q, 100), (S, 60), (Q, 20), (S, 60), (Q, 20), (S, 40)))
    assert events and events[0].type is EndpointEventType.SPEECH_START
    assert events[0].speech_start_ms == 100
    ep2 = Endpointer(EndpointConfig(min_speech_ms=120, onset_gap_ms=40))
    assert run(ep2, timeline((Q, 100), (S, 100), (Q, 60), (S, 100))) == []  # gap too long: restart


def test_pause_shorter_than_end_silence_keeps_the_turn() -> None:
    ep = Endpointer(EndpointConfig(end_silence_ms=700))
    events = run(ep, timeline((S, 600), (Q, 600), (S, 600), (Q, 800)))
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.END_OF_TURN]
    assert events[1].speech_end_ms == 1800 and events[1].audio_ms == 2500


def test_stable_partial_ends_the_turn_sooner() -> None:
    cfg = EndpointConfig(end_silence_ms=700, stable_end_silence_ms=400, partial_stable_ms=400)
    flags = timeline((S, 1000), (Q, 1000))
    stable = run(Endpointer(cfg), flags, {10: "book a", 45: "book a table"})
    assert stable[-1].type is EndpointEventType.END_OF_TURN and stable[-1].endpoint_wait_ms == 400
    # The partial still changes 200 ms into the silence: the words are not in yet, wait longer.
    moving = run(Endpointer(cfg), flags, {10: "book a", 45: "book a table", 60: "book a table for"})
    assert moving[-1].audio_ms == 60 * 20 + 20 + 400 and moving[-1].endpoint_wait_ms == 620
    no_partial = run(Endpointer(cfg), flags)
    assert no_partial[-1].endpoint_wait_ms == 700


def test_max_utterance_caps_a_caller_who_keeps_talking() -> None:
    ep = Endpointer(EndpointConfig(max_utterance_ms=5000))
    events = run(ep, timeline((Q, 200), (S, 8000)))
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.MAX_UTTERANCE]
    assert events[1].audio_ms == 5200


def test_no_input_and_reset() -> None:
    ep = Endpointer(EndpointConfig(no_input_ms=2000))
    events = run(ep, timeline((Q, 3000)))
    assert [(e.type, e.audio_ms) for e in events] == [(EndpointEventType.NO_INPUT, 2000)]
    assert ep.feed(True) is None  # done until reset
    ep.reset()
    assert ep.audio_ms == 0
    assert [e.type for e in run(ep, timeline((S, 200)))] == [EndpointEventType.SPEECH_START]


def test_endpointer_on_flite_speech() -> None:
    vad = Vad()
    speech = tts("I would like to book an appointment for tomorrow")
    audio = noise(800, dbfs=-60) + speech + noise(1500, dbfs=-60, seed=4)
    ep = Endpointer(EndpointConfig(min_speech_ms=120, end_silence_ms=700))
    events = run(ep, [vad.is_speech(f) for f in A.frames(audio)])
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.END_OF_TURN]
    onset = 800 + first_active_ms(speech)
    last_active = 800 + len(speech) // 32 - first_active_ms(A.array_to_pcm(A.pcm_to_array(speech)[::-1]))
    assert abs(events[0].speech_start_ms - onset) <= 60  # type: ignore[operator]
    assert events[0].audio_ms - onset <= 200
    assert abs(events[1].speech_end_ms - last_active) <= 80  # type: ignore[operator]
    assert events[1].endpoint_wait_ms == 700


# --- barge-in --------------------------------------------------------------------------------------------
def feed_audio(
    det: BargeInDetector,
    caller: bytes,
    agent: bytes | None = None,
    partials: dict[int, str] | None = None,
) -> BargeIn | None:
    """Run the detector over caller audio (with the agent's outgoing audio as echo reference, if given)."""
    vad = Vad()
    agent_frames = A.frames(agent) if agent is not None else []
    for i, frame in enumerate(A.frames(caller)):
        vf = vad.classify(frame)
        ref = A.rms_dbfs(agent_frames[i]) if i < len(agent_frames) else None
        hit = det.feed(vf.is_speech, vf.energy_dbfs, ref, (partials or {}).get(i))
        if hit is not None:
            return hit
    return None


def test_barge_in_reaction_on_generated_speech() -> None:
    caller = tts("Sorry, I need to change my booking")
    audio = noise(1000, dbfs=-60) + caller + noise(500, dbfs=-60, seed=5)
    hit = feed_audio(BargeInDetector(BargeInConfig(min_speech_ms=200)), audio)
    assert hit is not None
    onset = 1000 + first_active_ms(caller)
    reaction = hit.audio_ms - onset
    print(f"barge-in reaction: {reaction} audio ms after the caller's onset")
    assert 200 <= reaction <= 320
    assert abs(hit.onset_ms - onset) <= 60


def test_cough_and_click_do_not_barge_in() -> None:
    audio = noise(500, dbfs=-60) + cough(150) + noise(800, dbfs=-60) + cough(60, seed=7) + noise(500, dbfs=-60)
    assert feed_audio(BargeInDetector(), audio) is None


def test_backchannel_needs_asr_confirmation() -> None:
    mhm = tts("mhm")  # flite draws it out to ~800 ms of voicing: long enough to pass the duration test
    audio = noise(500, dbfs=-60) + mhm + noise(1000, dbfs=-60)
    partials = {25 + len(mhm) // 640 // 2: "mhm"}
    assert feed_audio(BargeInDetector(), audio, partials=partials) is not None  # duration alone is fooled
    confirm = BargeInConfig(confirm_with_asr=True, max_unconfirmed_ms=1200)
    assert feed_audio(BargeInDetector(confirm), audio, partials=partials) is None
    # The same detector fires on real words once the partial shows them.
    sentence = tts("wait, I want Tuesday instead")
    audio2 = noise(500, dbfs=-60) + sentence + noise(500, dbfs=-60)
    onset = 500 + first_active_ms(sentence)
    partial_frame = (onset + 300) // 20
    hit = feed_audio(BargeInDetector(confirm), audio2, partials={partial_frame: "wait i want"})
    assert hit is not None and hit.confirmed_by_asr and hit.text == "wait i want"
    assert hit.audio_ms == partial_frame * 20 + 20


def test_line_echo_of_the_agent_does_not_barge_in_but_the_caller_does() -> None:
    agent = tts("Your appointment is booked for Tuesday at ten. Is there anything else I can help you with?")
    echo = scale(A.silence(40) + agent, -20)[: len(agent)]  # 40 ms echo path, 20 dB return loss
    line = mix(noise(len(agent) // 32, dbfs=-60), echo)
    assert feed_audio(BargeInDetector(), line, agent=agent) is None
    caller = tts("No, I need to cancel it")
    talk_at = 1500
    over = mix(line, scale(caller, -3), offset_ms=talk_at)
    hit = feed_audio(BargeInDetector(), over, agent=agent + A.silence(len(over) - len(agent)))
    assert hit is not None
    reaction = hit.audio_ms - (talk_at + first_active_ms(caller))
    print(f"barge-in over echo: reaction {reaction} audio ms")
    assert BargeInConfig().min_speech_ms <= reaction <= 500


def test_adaptive_floor_follows_steady_noise() -> None:
    det = BargeInDetector()
    for _ in range(500):  # 10 s of steady -35 dBFS noise (that the VAD calls speech)
        det.feed(False, -35.0)
    assert det.floor_dbfs > -37
    assert not det.qualifies(True, -30.0)
    assert det.qualifies(True, -20.0)


@pytest.mark.parametrize(
    ("text", "content"), [("mhm", False), ("uh huh yeah", False), ("", False), ("cancel", True), ("yeah wait", True)]
)
def test_filler_words(text: str, content: bool) -> None:
    assert has_content_word(text) is content


def test_a_partial_that_settled_shortly_after_the_speech_still_ends_the_turn_fast() -> None:
    cfg = EndpointConfig(end_silence_ms=600, stable_end_silence_ms=350, partial_stable_ms=200)
    flags = timeline((S, 1000), (Q, 1000))
    # The last word lands 100 ms into the silence (frame 55), then the partial stays put.
    events = run(Endpointer(cfg), flags, {10: "book a", 55: "book a table"})
    assert events[-1].type is EndpointEventType.END_OF_TURN and events[-1].endpoint_wait_ms == 360


# --- the words so far decide how long a pause may be (media.turn_end) -----------------------------------
def test_completeness_reads_the_words_so_far() -> None:
    from ari_agent.media.turn_end import Completeness, completeness

    for text in ("i'd like to book a check up for", "on monday at", "um", "my name is", "it's twenty", "and"):
        assert completeness(text) is Completeness.INCOMPLETE, text
    assert completeness("monday at ten", "when") is Completeness.UNKNOWN
    assert completeness("jennifer wood", None, "name") is Completeness.UNKNOWN
    # A verb just after a given name, asked for the name, is the surname misheard (Wood -> "would"); elsewhere, and
    # after anything but a given name, it is a clause under way.
    assert completeness("my name is jennifer would", "name", "name") is Completeness.UNKNOWN
    assert completeness("my name is jennifer would", "when", "date") is Completeness.INCOMPLETE
    assert completeness("my name is jennifer it would", "name", "name") is Completeness.UNKNOWN  # its partial
    assert completeness("i would", "name", "name") is Completeness.INCOMPLETE
    assert completeness("my name is jennifer i would", "name", "name") is Completeness.INCOMPLETE
    assert completeness("my name is jennifer and", "name", "name") is Completeness.INCOMPLETE
    assert completeness("what are your opening hours") is Completeness.UNKNOWN
    # Nothing of the answer asked for yet: the caller is still thinking, or only garble came through so far.
    for text, expected, asked in (
        ("this is robert taylor", None, None),  # the request is still to come
        ("air", None, None),
        ("the malo", "when", "time"),
        ("oh before us", "service", "service"),
        ("let me be", None, "name"),
        ("jack", None, "name"),  # the surname is still to come
        ("i see", "yes_no", "confirmed"),
    ):
        assert completeness(text, expected, asked) is Completeness.LIKELY_MORE, text
    for text, expected, asked in (
        ("do you sell concert tickets", None, None),
        ("hello can i begin to see the dentist", None, None),  # a question after the greeting
        ("no that's fine", None, None),
        ("a filling", "service", "service"),
        ("quarter past nine", "when", "time"),
    ):
        assert completeness(text, expected, asked) is not Completeness.LIKELY_MORE, text
    # A task request or a day without its time: whole, but callers usually go on.
    assert completeness("i'd like to book a check up") is Completeness.LIKELY_MORE
    # An opening naming a service is a booking request (its verb often garbled); a question about one is whole.
    assert completeness("hello this is karen more as i'd like an examination") is Completeness.LIKELY_MORE
    assert completeness("hi i'd like to be shunned examination") is Completeness.LIKELY_MORE
    for question in ("how much is a filling", "hi do you do cleanings", "what does a check up cost"):
        assert completeness(question) is Completeness.UNKNOWN, question
    assert completeness("a cleaning", "service", "service") is Completeness.UNKNOWN  # asked for: the answer
    assert completeness("the second of december", "when") is Completeness.LIKELY_MORE
    assert completeness("the second of december at noon", "when") is Completeness.UNKNOWN
    assert completeness("multiple seven", "when", "date") is Completeness.LIKELY_MORE  # asked the day: the day
    assert completeness("seven", "when", "time") is Completeness.UNKNOWN  # asked the time: the time
    assert completeness("what all", "spelling", "name") is Completeness.LIKELY_MORE  # "W, A, L ... K, E, R"
    assert completeness("um let me see") is Completeness.INCOMPLETE
    # Half a phone number at another question (a read-back, "What would you like to change?"): more is coming.
    assert completeness("not quite my number is zero seven two two six", "yes_no") is Completeness.INCOMPLETE
    assert completeness("my number is zero seven one two nine", "service") is Completeness.INCOMPLETE
    assert completeness("yes at two", "yes_no") is not Completeness.INCOMPLETE  # one number is no phone number
    assert completeness("december the twenty second at two", "when") is not Completeness.INCOMPLETE
    assert completeness("let me see oh before that", "when", "time") is Completeness.INCOMPLETE  # a question next
    assert completeness("hello by the way", "name", "name") is Completeness.INCOMPLETE
    assert completeness("well") is Completeness.INCOMPLETE  # only a hesitation so far
    assert completeness("can i book for next tuesday so") is Completeness.INCOMPLETE  # a filler before the time
    assert completeness("yes i think so", "yes_no") is not Completeness.INCOMPLETE
    assert completeness("i'm not feeling well") is not Completeness.INCOMPLETE  # "well" ends a sentence here
    assert completeness("that's wrong the first", "yes_no") is Completeness.LIKELY_MORE  # a correction under way
    # ... after hesitations too: "Uh, hmm no, on the twelfth ... at ten", "Let me see, no, sorry, I said on
    # Saturday the fifth ... at midday" (simulated seeds 4040, 6161: the agent read back over the time).
    assert completeness("uh hmm no on the twelfth", "yes_no") is Completeness.LIKELY_MORE
    assert completeness("let me see no sorry i said on saturday the fifth", "yes_no") is Completeness.LIKELY_MORE
    assert completeness("hmm yes", "confirm") is not Completeness.LIKELY_MORE
    # Asked what to change, a day without its time goes on like an answer to the day question.
    assert completeness("i said on december the fourth", "service", "confirmed") is Completeness.LIKELY_MORE
    assert completeness("i said on december the fourth at eleven", "service", "confirmed") is Completeness.UNKNOWN
    assert completeness("yes", "confirm") is Completeness.COMPLETE  # a read-back's yes is the whole answer
    # ... the scope question's is followed by what the call is about ("yes. I want to renew my passport").
    assert completeness("yes", "yes_no") is Completeness.LIKELY_MORE
    assert completeness("let me see yes", "yes_no") is Completeness.LIKELY_MORE  # fresh seed 9090, twice
    assert completeness("so yes", "yes_no") is Completeness.LIKELY_MORE
    # ... and a yes or no heard in other words: "Um, no. My gum won't stop ..." heard "i'm not" (fresh seed 9595).
    assert completeness("i'm not", "yes_no") is Completeness.LIKELY_MORE
    # "Um, no, on Monday the thirtieth ... ten o'clock" heard "i'm no on ...": the small model's "um" (seed 9797).
    assert completeness("i'm no on monday the thirty years", "confirm") is Completeness.LIKELY_MORE
    # "Which is wrong: ...?" - "The name, ... it's John Young": the new value follows the detail (seed 9797).
    assert completeness("the name", "detail", "confirmed") is Completeness.LIKELY_MORE
    # "am" is the time's after an hour, and no time after "i" ("Uh, um, well ... at eight a m" heard "i am well").
    assert completeness("at nine am", "when", "time") is Completeness.UNKNOWN
    assert completeness("i am well", "when", "time") is Completeness.LIKELY_MORE
    assert completeness("yes", None) is Completeness.LIKELY_MORE  # "yes ... I'd like to book": the request is to come
    assert completeness("no thank you", None) is Completeness.COMPLETE
    # "Anything else?" "No, that's it ... thanks, bye": the thanks usually follows (simulated seed 5151: 10 of 14
    # talk-overs were the agent's goodbye over it).
    assert completeness("no that's it", None) is Completeness.LIKELY_MORE
    assert completeness("well that's everything", None) is Completeness.LIKELY_MORE
    assert completeness("no that's it thanks bye", None) is Completeness.COMPLETE
    assert completeness("no that's all thank you", None) is Completeness.LIKELY_MORE  # "... bye" (seed 5151)
    assert completeness("a filling thank you", "service", "service") is Completeness.COMPLETE
    assert completeness("a cleaning please") is Completeness.COMPLETE
    assert completeness("oh seven seven double nine", "digits") is Completeness.INCOMPLETE
    assert completeness("oh seven seven double nine one two three four five", "digits") is Completeness.COMPLETE
    # Asked for the number, words with no digit in them yet: the number is still to come.
    assert completeness("it's narrow family or a long time", "digits") is Completeness.LIKELY_MORE
    assert completeness("it's oh seven won", "digits") is Completeness.INCOMPLETE
    assert completeness("it's me okay man free long", "digits") is Completeness.INCOMPLETE  # "three", garbled
    assert completeness("") is Completeness.UNKNOWN


def _judged(expected: str | None = None) -> Endpointer:
    from ari_agent.media.turn_end import completeness

    config = EndpointConfig(end_silence_ms=600, stable_end_silence_ms=350, partial_stable_ms=200)
    return Endpointer(config, judge=lambda partial: completeness(partial, expected))


def test_a_pause_after_an_unfinished_sentence_does_not_end_the_turn() -> None:
    ep = _judged()
    flags = timeline((S, 1500), (Q, 900), (S, 700), (Q, 1500))
    events = run(ep, flags, {40: "i'd like to book a check up for", 140: "i'd like to book a check up for monday"})
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.END_OF_TURN]
    end = events[-1]
    assert end.speech_end_ms == 3100  # the whole sentence, across the 900 ms pause
    assert end.endpoint_wait_ms == 1300  # a task request: callers often add a time, so the longer wait


def test_words_the_recogniser_rewrites_in_a_pause_keep_the_wait_they_asked_for() -> None:
    # Fresh seed 7979: "Well, on Thursday ... at half past two": "well on thursday" (its time to come) became "well on
    # thirty may" 300 ms into the pause, which looked whole, and the agent spoke into the pause.
    ep = _judged("when")
    flags = timeline((S, 1500), (Q, 800), (S, 900), (Q, 1500))
    said = {40: "well on thursday", 90: "well on thirty may", 140: "well on thursday at half past two"}
    events = run(ep, flags, said)
    assert [e.type for e in events] == [EndpointEventType.SPEECH_START, EndpointEventType.END_OF_TURN]
    assert events[-1].speech_end_ms == 3200  # across the pause
    # Words added at the end in the silence (the recogniser catching up) are judged as they are.
    ep = _judged("when")
    caught_up = {40: "next monday at nine in the", 80: "next monday at nine in the morning"}
    events = run(ep, timeline((S, 1500), (Q, 1500)), caught_up)
    assert events[-1].type is EndpointEventType.END_OF_TURN and events[-1].endpoint_wait_ms < 1300


def test_without_the_words_the_same_pause_ends_the_turn() -> None:
    ep = Endpointer(EndpointConfig(end_silence_ms=600, stable_end_silence_ms=350, partial_stable_ms=200))
    flags = timeline((S, 1500), (Q, 900), (S, 700), (Q, 1000))
    events = run(ep, flags, {40: "i'd like to book a check up for"})
    assert events[1].type is EndpointEventType.END_OF_TURN and events[1].speech_end_ms == 1500


def test_an_unfinished_sentence_still_ends_after_the_hold() -> None:
    ep = _judged()
    events = run(ep, timeline((S, 1000), (Q, 2000)), {30: "i'd like an appointment on"})
    assert events[-1].type is EndpointEventType.END_OF_TURN
    assert events[-1].endpoint_wait_ms == 1300


def test_a_whole_answer_ends_the_turn_at_the_configured_wait() -> None:
    from ari_agent.media.turn_end import completeness

    # By default no sooner than a settled partial (synthetic voices pause 300 ms at "yes, | cancel it")...
    ep = _judged("confirm")
    events = run(ep, timeline((S, 500), (Q, 1000)), {20: "yes"})
    assert events[-1].endpoint_wait_ms == 360
    # ...and sooner only where it is configured so.
    config = EndpointConfig(end_silence_ms=600, stable_end_silence_ms=350, complete_end_silence_ms=250)
    eager = Endpointer(config, judge=lambda partial: completeness(partial, "confirm"))
    events = run(eager, timeline((S, 500), (Q, 1000)), {20: "yes"})
    assert events[-1].endpoint_wait_ms == 260


def test_an_opening_with_a_day_and_no_time_waits_for_the_time_but_a_question_does_not() -> None:
    from ari_agent.media.turn_end import Completeness, completeness

    # Fresh seed 9393: "Hi, can I book a check-up for on December the ninth ... four thirty p m?", heard "... for on
    # december ninth", had the menu question over its time; "... booked a silly john for december seventh at five
    # ... It's for Susan Carter" the service question over its name.
    for text in ("hi can i get such as a for on december ninth", "hi can i booked a silly john for december seventh "
                 "at five", "can i come in on tuesday"):
        assert completeness(text) is Completeness.LIKELY_MORE, text
    for text in ("are you open on saturday", "what time do you close tomorrow", "can i come in on tuesday at three"):
        assert completeness(text) is not Completeness.LIKELY_MORE, text
