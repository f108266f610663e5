"""Vosk engine: the real English model on flite speech, clean, over a phone line and in noise.

The model comes from scripts/setup-vosk.sh (path: $ARI_AGENT_VOSK_MODEL, default
~/.cache/ari-agent/vosk-model-en). A missing model FAILS these tests: it is a broken set-up, not a skip.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ari_agent.asr import vosk as vosk_module
from ari_agent.asr.base import AsrResult
from ari_agent.asr.vosk import VoskEngine, VoskModelError, check_model_dir, hint_from_words
from ari_agent.config import DEFAULT_CACHE
from ari_agent.media import audio as A
from ari_agent.media.vad import Vad, VadGate
from tests.audio_fixtures import noise, tts

MODEL = os.environ.get("ARI_AGENT_VOSK_MODEL", str(DEFAULT_CACHE / "vosk-model-en"))
SENTENCE = "I would like to book an appointment for tomorrow morning at ten"
KEYWORDS = {"book", "appointment", "tomorrow", "morning", "ten"}


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VoskModelError, match=str(tmp_path / "nope")):
        VoskEngine(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(VoskModelError, match="not a Vosk model"):
        check_model_dir(tmp_path / "empty")


def test_a_narrower_search_is_the_model_linked_with_a_conf_of_its_own(tmp_path: Path) -> None:
    model = tmp_path / "model"
    for part in ("am", "graph", "conf"):
        (model / part).mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(b"am")
    (model / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n")
    (model / "conf" / "model.conf").write_text("--min-active=200\n--max-active=3000\n--beam=10.0\n--lattice-beam=2.0\n")
    assert vosk_module.searched_model(model, tmp_path / "out") == model  # nothing asked: the model as it is
    tuned = vosk_module.searched_model(model, tmp_path / "out", beam=8.0)
    conf = (tuned / "conf" / "model.conf").read_text().splitlines()
    assert conf == ["--min-active=200", "--max-active=3000", "--lattice-beam=2.0", "--beam=8"]
    assert (tuned / "am" / "final.mdl").read_bytes() == b"am" and (tuned / "am").is_symlink()
    assert (tuned / "conf" / "mfcc.conf").read_text() == "--sample-frequency=16000\n"
    again = vosk_module.searched_model(model, tmp_path / "out", beam=8.0, max_active=1500)  # idempotent per setting
    assert "--max-active=1500" in (again / "conf" / "model.conf").read_text().splitlines()
    (model / "conf" / "model.conf").unlink()
    with pytest.raises(VoskModelError, match="set both to 0"):
        vosk_module.searched_model(model, tmp_path / "out", beam=8.0)


def check_model_dir_or_fail() -> str:
    """The model path; fails the test (never skips) with a clear message when the model is missing."""
    try:
        return str(check_model_dir(MODEL))
    except VoskModelError as exc:
        pytest.fail(f"{exc}. Set ARI_AGENT_VOSK_MODEL or run scripts/setup-vosk.sh", pytrace=False)


@pytest.fixture(scope="module")
def engine() -> Iterator[VoskEngine]:
    eng = VoskEngine(check_model_dir_or_fail())
    yield eng
    eng.close()


async def recognise(engine: VoskEngine, pcm: bytes, chunk_ms: int = 100) -> tuple[str, float, list[str], float]:
    """Stream PCM in chunks; returns final text, confidence, partials seen, decode seconds."""
    stream = engine.new_stream()
    partials: list[str] = []
    step = chunk_ms * 32
    for i in range(0, len(pcm), step):
        partial = await stream.push(pcm[i : i + step])
        if partial is not None:
            partials.append(partial)
    result = await stream.finish()
    stream.close()
    assert result.audio_ms == len(pcm) // 32
    return result.text, result.confidence, partials, result.decode_ms / 1000


def words_found(text: str) -> set[str]:
    """Keywords present in the hypothesis."""
    return KEYWORDS & set(text.split())


def padded(pcm: bytes) -> bytes:
    """Speech with the quiet lead-in and tail of a real turn."""
    return noise(300, dbfs=-65) + pcm + noise(500, dbfs=-65, seed=9)


@pytest.mark.integration
async def test_recognises_clean_flite_speech(engine: VoskEngine) -> None:
    pcm = padded(tts(SENTENCE))
    text, conf, partials, decode_s = await recognise(engine, pcm)
    print(f"clean: {text!r} conf={conf:.2f} RTF={decode_s / (len(pcm) / 32000):.3f}")
    assert words_found(text) >= {"book", "appointment", "tomorrow", "morning"}, text
    assert 0.5 < conf <= 1.0
    assert partials and "appointment" in " ".join(partials)


@pytest.mark.integration
async def test_recognises_speech_through_the_telephone_band(engine: VoskEngine) -> None:
    pcm = A.telephone_roundtrip(padded(tts(SENTENCE)))
    text, conf, _, _ = await recognise(engine, pcm)
    print(f"8 kHz mu-law: {text!r} conf={conf:.2f}")
    assert {"appointment", "tomorrow", "morning"} <= words_found(text), text


NOISY_SENTENCES = {
    SENTENCE: KEYWORDS,
    "Can I book a table for four people on Friday evening": {"book", "table", "four", "people", "friday", "evening"},
    "I need to reschedule my appointment to next Tuesday": {"reschedule", "appointment", "next", "tuesday"},
}


async def keyword_recall(engine: VoskEngine, condition: Callable[[bytes], bytes]) -> tuple[float, list[str]]:
    """Fraction of the keywords of NOISY_SENTENCES recognised under a degradation."""
    found = total = 0
    texts = []
    for sentence, keywords in NOISY_SENTENCES.items():
        text, _, _, _ = await recognise(engine, condition(padded(tts(sentence))))
        found += len(keywords & set(text.split()))
        total += len(keywords)
        texts.append(text)
    return found / total, texts


@pytest.mark.integration
async def test_recognises_speech_in_noise_at_15_db_snr(engine: VoskEngine) -> None:
    # Pink noise (room-like) at 15 dB SNR on wideband audio. Measured recall: 0.60 with this seed, 0.73 over 3.
    recall, texts = await keyword_recall(engine, lambda pcm: A.mix_noise(pcm, 15.0, seed=0, colour="pink"))
    print(f"pink noise 15 dB: recall {recall:.2f} {texts}")
    assert recall >= 0.5, texts


@pytest.mark.integration
async def test_recognises_noisy_telephone_speech_with_band_fill() -> None:
    # Noise at the caller's end, then the 8 kHz mu-law line: the hardest case for a wideband model. Without
    # the high-band fill recall was 0.20 (3 seeds); with it 0.56.
    def phone(pcm: bytes) -> bytes:
        return A.telephone_roundtrip(A.mix_noise(pcm, 15.0, seed=0, colour="pink"))

    filled = VoskEngine(check_model_dir_or_fail(), band_fill_dbfs=-50.0)
    try:
        recall, texts = await keyword_recall(filled, phone)
    finally:
        filled.close()
    print(f"phone + pink noise 15 dB, band fill: recall {recall:.2f} {texts}")
    assert recall >= 0.4, texts


@pytest.mark.integration
async def test_stream_is_reusable_and_streams_run_concurrently(engine: VoskEngine) -> None:
    first, second = tts("I want to cancel my booking"), tts("Can I speak to a person")
    stream = engine.new_stream()
    for pcm, expect in ((first, {"cancel", "booking"}), (second, {"speak", "person"})):
        await stream.push(padded(pcm))
        result = await stream.finish()
        assert expect <= set(result.text.split()), result.text
    stream.close()
    with pytest.raises(RuntimeError):
        await stream.push(b"\x00" * 640)
    texts = await asyncio.gather(*(recognise(engine, padded(p)) for p in (first, second)))
    assert "cancel" in texts[0][0] and "person" in texts[1][0]


@pytest.mark.integration
async def test_a_call_cut_off_mid_sentence_is_released_and_the_next_call_decodes_cleanly(engine: VoskEngine) -> None:
    cut = engine.new_stream()
    await cut.push(padded(tts("I want to cancel my booking"))[: 32 * 900])  # hung up mid-sentence
    first = cut._rec
    cut.close()
    assert cut._rec is None and cut.closed
    nxt = engine.new_stream()
    assert nxt._rec is not first  # never a recogniser another call used
    await nxt.push(padded(tts("Can I speak to a person")))
    result = await nxt.finish()
    nxt.close()
    assert {"speak", "person"} <= set(result.text.split()) and "cancel" not in result.text, result.text


@pytest.mark.integration
async def test_gated_decoding_keeps_the_words_and_saves_cpu(engine: VoskEngine) -> None:
    audio = noise(3000, dbfs=-60) + tts(SENTENCE) + noise(3000, dbfs=-60, seed=3)
    vad, gate = Vad(), VadGate(preroll_ms=300, hangover_ms=400)
    gated = b"".join(b"".join(gate.push(f, vad.is_speech(f))) for f in A.frames(audio))
    full_text, _, _, full_s = await recognise(engine, audio)
    gated_text, _, _, gated_s = await recognise(engine, gated)
    print(f"ungated {full_s:.2f} s CPU for {len(audio) // 32} ms; gated {gated_s:.2f} s for {len(gated) // 32} ms")
    assert words_found(gated_text) >= words_found(full_text) - {"ten"}
    assert len(gated) < len(audio) * 0.6


@pytest.mark.integration
def test_model_load_time_rss_and_real_time_factor(engine: VoskEngine) -> None:
    """Measures (and prints) what a deployment needs to know; bounds are generous sanity checks."""
    probe = (
        "import resource,time,sys\n"
        "def rss():\n"
        "    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) // 1024\n"
        "from ari_agent.asr.vosk import VoskEngine\n"
        "before = rss(); t = time.perf_counter(); e = VoskEngine(sys.argv[1])\n"
        "print(time.perf_counter() - t, before, rss())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, MODEL], check=True, capture_output=True, text=True)
    load_s, rss_before, rss_after = out.stdout.split()
    pcm = padded(tts(SENTENCE)) * 3
    started = time.perf_counter()
    text, _, _, decode_s = asyncio.run(recognise(engine, pcm))
    wall = time.perf_counter() - started
    audio_s = len(pcm) / 32000
    print(
        f"model load {float(load_s):.2f} s, RSS +{int(rss_after) - int(rss_before)} MB (process {rss_after} MB); "
        f"RTF decode {decode_s / audio_s:.3f}, wall {wall / audio_s:.3f} on {audio_s:.1f} s of audio"
    )
    assert float(load_s) < 30 and decode_s / audio_s < 1.0
    assert "appointment" in text


def test_a_hint_keeps_only_confident_words_and_says_whether_the_turn_fitted() -> None:
    words = [{"word": "[unk]", "conf": 1.0}, {"word": "half", "conf": 1.0}, {"word": "two", "conf": 0.7}]
    assert hint_from_words(words) == ("half two", False)
    assert hint_from_words([{"word": "march", "conf": 0.44}, {"word": "two", "conf": 0.9}]) == ("two", False)
    assert hint_from_words([{"word": "yes", "conf": 1.0}, {"word": "please", "conf": 0.8}]) == ("yes please", True)
    assert hint_from_words([]) == ("", False)


@pytest.mark.integration
async def test_an_expected_answer_gets_a_constrained_second_read(engine: VoskEngine) -> None:
    assert engine.supports_grammar  # the small English model has a dynamic graph
    stream = engine.new_stream()

    async def turn(sentence: str, kind: str | None, phone: bool = True) -> AsrResult:
        stream.expect(kind)
        pcm = padded(tts(sentence))
        await stream.push(A.telephone_roundtrip(pcm) if phone else pcm)
        return await stream.finish()

    clean = await turn("Next Tuesday at half past two", "when", phone=False)
    assert clean.hint is not None and clean.hint.kind == "when" and clean.hint.complete, clean.hint
    assert clean.hint.text == "next tuesday at half past two"
    # Over the phone band the free transcript loses the day ("next to the at half past year" here); the
    # constrained reading keeps it. (Its "two" scores ~0.6-0.7, at the keep/drop line: not asserted.)
    when = await turn("Next Tuesday at half past two", "when")
    assert when.hint is not None and when.hint.kind == "when"
    assert "tuesday" in when.hint.text and "half past" in when.hint.text, when.hint
    yes = await turn("Yes please", "yes_no")
    assert yes.hint is not None and yes.hint.complete and "yes" in yes.hint.text.split(), yes.hint
    # Speech that is not an answer: the constrained read marks it as not fitting rather than forcing a yes.
    other = await turn("I would like to speak to somebody about my bill", "yes_no")
    assert other.hint is not None and not other.hint.complete and "yes" not in other.hint.text, other.hint
    plain = await turn("Can I speak to a person", None)
    assert plain.hint is None and "person" in plain.text
    # "I need ..." leads an answer as often as "I'd like ...": without it in the phrases the service reading
    # forced "need" onto hours and days ("eight a check up", "wednesday the cleaning please", or nothing).
    service = await turn("I need a check-up", "service", phone=False)
    assert service.hint is not None and service.hint.text == "i need a check up" and service.hint.complete
    stream.close()


@pytest.mark.integration
async def test_names_are_listened_for_alongside_a_yes_no_when_asked(engine: VoskEngine) -> None:
    stream = engine.new_stream()
    # Asked for the name: the name decoder is the hint itself.
    stream.expect("name")
    await stream.push(padded(tts("My name is Helen Smith")))
    named = await stream.finish()
    assert named.hint is not None and named.hint.kind == "name" and "smith" in named.hint.text.split(), named.hint
    # A read-back answered with a correction: the yes/no reading and the name reading of the same audio.
    stream.expect("yes_no", with_name=True)
    await stream.push(padded(tts("No, my name is Helen Smith")))
    corrected = await stream.finish()
    assert corrected.hint is not None and corrected.hint.kind == "yes_no" and "no" in corrected.hint.text.split()
    assert "smith" in corrected.hint.name.split(), corrected.hint
    assert corrected.hint.as_dict()["name"] == corrected.hint.name
    # Not asked for: no name reading, and the hint's shape is the one it always had.
    stream.expect("yes_no")
    await stream.push(padded(tts("Yes please")))
    plain = await stream.finish()
    assert plain.hint is not None and plain.hint.name == "" and "name" not in plain.hint.as_dict()
    stream.close()


async def test_grammar_phrases_keep_only_words_the_model_knows(
    engine: VoskEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vosk_module, "phrases", lambda kind: ("half past two", "zorblatt two"))
    monkeypatch.setattr(engine, "_grammars", {})
    assert engine.grammar_phrases("when") == ("half past two",)
    assert engine.grammar_phrases(None) == ()
    monkeypatch.setattr(engine, "expectation_hints", False)  # [asr] expectation_hints = false
    assert engine.grammar_phrases("when") == ()
    stream = engine.new_stream()
    stream.expect("when")
    await stream.push(noise(500, dbfs=-40))
    assert (await stream.finish()).hint is None
    stream.close()


@pytest.mark.integration
async def test_an_expectation_set_mid_utterance_waits_for_the_next_one(engine: VoskEngine) -> None:
    # The caller may still be talking when the bot's turn sets the next expectation: the constrained decoder
    # must not start halfway through that utterance (it would read a fragment), only with the next one.
    stream = engine.new_stream()
    pcm = padded(tts("Next Tuesday at half past two"))
    half = len(pcm) // 2 // 2 * 2
    await stream.push(pcm[:half])
    stream.expect("when")
    await stream.push(pcm[half:])
    assert (await stream.finish()).hint is None
    await stream.push(pcm)
    hint = (await stream.finish()).hint
    assert hint is not None and "tuesday" in hint.text, hint
    stream.close()


@pytest.mark.integration
async def test_the_same_audio_decodes_the_same_every_time(engine: VoskEngine) -> None:
    """Kaldi's unseeded dither made replays differ; the set-up model has it off and the stream adds a seeded one."""
    assert not engine.dithers, "scripts/setup-vosk.sh writes --dither=0.0 into the model's conf/mfcc.conf"
    pcm = A.telephone_roundtrip(padded(tts("what time do you open on saturday please", voice="kal16")))
    runs = [await recognise(engine, pcm) for _ in range(3)]
    assert len({(text, conf) for text, conf, _, _ in runs}) == 1, runs
