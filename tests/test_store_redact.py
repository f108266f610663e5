"""Redaction of card numbers (digits and spoken digit words) and configured patterns; no database."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from ari_agent.store.redact import Redactor, find_card_numbers, luhn_valid, redact_value

# Published test card numbers (Luhn-valid, not real accounts).
VISA = "4111111111111111"
AMEX = "378282246310005"


def _luhn_check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("no check digit")


def test_luhn_accepts_known_numbers_and_rejects_a_changed_digit() -> None:
    assert luhn_valid(VISA)
    assert luhn_valid(AMEX)
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("41111x1111111111")


def test_card_in_digits_with_separators_is_redacted_and_context_kept() -> None:
    redact = Redactor()
    out = redact("my card is 4111 1111-1111 1111 thanks")
    assert out == "my card is [redacted] thanks"
    assert redact(f"number {AMEX}.") == "number [redacted]."


def test_card_spoken_as_words_is_redacted() -> None:
    spoken = "it is four one one one one one one one one one one one one one one one expiry"
    assert Redactor()(spoken) == "it is [redacted] expiry"


def test_card_followed_by_expiry_digits_is_found_inside_the_longer_run() -> None:
    text = f"card {VISA} 12 27"
    spans = find_card_numbers(text)
    assert [text[a:b] for a, b in spans] == [VISA]


def test_non_luhn_digit_runs_and_short_numbers_are_kept() -> None:
    redact = Redactor()
    for text in ("call me on 07700 900123", "reference 4111111111111112", "at two thirty on monday"):
        assert redact(text) == text


def test_generated_card_numbers_of_every_length_are_redacted() -> None:
    redact = Redactor(replacement="#")
    for length in range(13, 20):
        body = ("5" + "2" * (length - 2))[: length - 1]
        number = body + _luhn_check_digit(body)
        assert len(number) == length
        assert redact(f"x {number} y") == "x # y"


def test_configured_patterns_apply_and_cards_can_be_switched_off() -> None:
    redact = Redactor([r"\b[A-Z]{2}\d{6}[A-D]\b", re.compile(r"secret\w*", re.I)], cards=False)
    assert redact("NI number QQ123456C and SECRETS, card 4111111111111111") == (
        "NI number [redacted] and [redacted], card 4111111111111111"
    )


def test_bad_pattern_fails_at_construction() -> None:
    with pytest.raises(re.error):
        Redactor(["("])


def test_redact_value_walks_nested_json() -> None:
    value = {"entities": [{"entity": "card", "value": VISA, "confidence": 0.9}], "n": 3, "ok": True}
    assert redact_value(value, Redactor()) == {
        "entities": [{"entity": "card", "value": "[redacted]", "confidence": 0.9}],
        "n": 3,
        "ok": True,
    }


def test_the_recording_manifest_keeps_no_card_number(tmp_path: Path) -> None:
    from ari_agent.recording import CallRecorder, read_manifest

    recorder = CallRecorder(tmp_path, redact=Redactor().redact)
    recorder.caller_turn("c1", b"\x00" * 3200, text="my card is 4111 1111 1111 1111 thanks")
    recorder.dtmf("c1", "4111111111111111")
    text = (tmp_path / "c1" / "manifest.jsonl").read_text()
    assert "4111" not in text and "1111 1111" not in text
    assert [e["kind"] for e in read_manifest(tmp_path / "c1")] == ["speech", "dtmf"]
    # The caller's words and voice are readable by the agent's user and group only.
    for name in ("manifest.jsonl", "caller-01.wav"):
        assert stat.S_IMODE((tmp_path / "c1" / name).stat().st_mode) & 0o007 == 0, name
