"""Structured logging: one line per record, call id on every line, secrets and transcripts kept out."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from ari_agent.events import CallEvent, EventBus, EventType
from ari_agent.logging_setup import SecretMasker, configure_logging, log_event

SECRET = "Zq8-ari-pass"


@pytest.fixture
def capture() -> Iterator[io.StringIO]:
    """Root logging into a buffer; restores the previous root configuration afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    for handler in root.handlers[:]:
        if handler not in saved[0]:
            root.removeHandler(handler)
    root.setLevel(saved[1])


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_one_object_per_line_with_call_id(capture: io.StringIO) -> None:
    configure_logging("json", "INFO", stream=capture)
    log = logging.getLogger("ari_agent.call.session")
    log.info("answered in %d ms", 42, extra={"call_id": "1700000000.1"})
    log.debug("not shown at INFO", extra={"call_id": "1700000000.1"})
    try:
        raise RuntimeError("multi\nline\nfailure")
    except RuntimeError:
        log.exception("stage failed", extra={"call_id": "1700000000.2"})
    lines = _lines(capture)
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == "answered in 42 ms" and first["call_id"] == "1700000000.1"
    assert first["level"] == "info" and first["logger"] == "ari_agent.call.session"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["ts"])
    assert second["call_id"] == "1700000000.2" and "RuntimeError: multi\nline" in second["exc"]


def test_logfmt_one_line_per_record_even_with_newlines(capture: io.StringIO) -> None:
    configure_logging("logfmt", "INFO", stream=capture)
    log = logging.getLogger("ari_agent.ari")
    log.warning('reconnecting "now"\nattempt %d', 3, extra={"call_id": "c-1", "backoff_s": 1.5})
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("oops", extra={"call_id": "c-2"})
    lines = _lines(capture)
    assert len(lines) == 2
    assert lines[0].startswith("ts=")
    assert (
        ' level=warning logger=ari_agent.ari msg="reconnecting \\"now\\"\\nattempt 3" call_id=c-1 backoff_s=1.5'
        in (lines[0])
    )
    assert "call_id=c-2" in lines[1] and 'exc="Traceback' in lines[1] and "ValueError: bad" in lines[1]


def test_configured_secrets_and_credentials_are_masked_everywhere(capture: io.StringIO) -> None:
    configure_logging("logfmt", "DEBUG", secrets=[SECRET, "", "ab"], stream=capture)
    log = logging.getLogger("ari_agent.store")
    log.info("ari login with %s", SECRET, extra={"call_id": "c"})
    log.info("dsn postgresql://agent:hunter22@127.0.0.1/agent ready")
    log.info('config {"password": "pw-in-json", "user": "u"} password=plain1 token: tok123 api_key=k:v&x=1')
    log.info("header Authorization: Basic YXJpOnNlY3JldA== sent")
    log.info("extra fields", extra={"url": f"http://ari:{SECRET}@127.0.0.1:8088", "password": "anything"})
    try:
        raise ConnectionError(f"auth failed for password={SECRET}")
    except ConnectionError:
        log.exception("connect")
    text = capture.getvalue()
    for leaked in [SECRET, "hunter22", "pw-in-json", "plain1", "tok123", "k:v", "YXJpOnNlY3JldA==", "anything"]:
        assert leaked not in text, leaked
    assert "postgresql://agent:***@127.0.0.1/agent" in text
    # Structure kept, value gone (quotes are escaped by logfmt).
    assert '\\"password\\": \\"***\\"' in text and '\\"user\\": \\"u\\"' in text
    assert "x=1" in text  # only the credential is cut, not the rest of the query
    assert len(_lines(capture)) == 6
    # Two-character "secrets" would mask ordinary words: they are not literal-masked.
    assert "ab" not in SecretMasker(["ab"]).secrets


def test_masker_on_structures() -> None:
    masker = SecretMasker([SECRET])
    masked = masker.mask_value({"dsn": f"postgresql://u:{SECRET}@h/db", "token": "t", "n": 3, "l": [SECRET]})
    assert masked == {"dsn": "postgresql://u:***@h/db", "token": "***", "n": 3, "l": ["***"]}


def test_reconfiguring_replaces_the_handler(capture: io.StringIO) -> None:
    configure_logging("logfmt", "INFO", stream=capture)
    configure_logging("json", "INFO", stream=capture)
    logging.getLogger("x").info("once")
    lines = _lines(capture)
    assert len(lines) == 1 and json.loads(lines[0])["msg"] == "once"
    with pytest.raises(ValueError, match="json or logfmt"):
        configure_logging("xml", "INFO", stream=capture)


def _conversation(bus: EventBus) -> None:
    call = "1700000000.7"
    bus.emit(CallEvent(EventType.CALL_STARTED, call, {"caller": "+15550100", "extension": "100"}))
    bus.emit(CallEvent(EventType.ASR_PARTIAL, call, {"text": "i would like"}))
    bus.emit(CallEvent(EventType.ASR_FINAL, call, {"text": "i would like a cleaning", "confidence": 0.9}))
    bus.emit(CallEvent(EventType.CALLER_TURN, call, {"text": "i would like a cleaning", "source": "speech"}))
    bus.emit(CallEvent(EventType.AGENT_TURN, call, {"text": "Which day suits you?"}))
    bus.emit(CallEvent(EventType.TTS_DONE, call, {"tts_ms": 0.4, "cached": True, "pcm": b"\x01\x02" * 800}))
    bus.emit(CallEvent(EventType.ERROR, call, {"code": "asr-failed", "message": "decoder crashed"}))
    bus.emit(CallEvent(EventType.CALL_ENDED, call, {"outcome": "booked"}))


def test_event_lines_at_info_carry_no_transcript_and_no_audio(capture: io.StringIO) -> None:
    configure_logging("json", "INFO", stream=capture)
    bus = EventBus()
    bus.subscribe(log_event)
    _conversation(bus)
    records = [json.loads(line) for line in _lines(capture)]
    # One line per event; the partial (speech text only, many per turn) is a DEBUG-only line.
    assert [r["event"] for r in records] == [
        "call-started",
        "asr-final",
        "caller-turn",
        "agent-turn",
        "tts-done",
        "error",
        "call-ended",
    ]
    assert all(r["call_id"] == "1700000000.7" for r in records)
    text = capture.getvalue()
    assert "cleaning" not in text and "Which day" not in text
    assert records[1]["data"] == {"text_chars": 23, "confidence": 0.9}
    assert records[4]["data"] == {"tts_ms": 0.4, "cached": True}  # the audio bytes are dropped
    assert records[5]["level"] == "warning" and records[5]["data"]["code"] == "asr-failed"


def test_event_lines_at_debug_carry_the_transcript_on_debug_records(capture: io.StringIO) -> None:
    configure_logging("logfmt", "DEBUG", stream=capture)
    bus = EventBus()
    bus.subscribe(log_event)
    _conversation(bus)
    lines = _lines(capture)
    assert len(lines) == 8
    spoken = [line for line in lines if "cleaning" in line or "Which day" in line or "i would like" in line]
    assert len(spoken) == 4 and all(" level=debug " in line for line in spoken)
    assert any('text="i would like a cleaning"' in line for line in spoken)
    assert not any("\\x01" in line or "pcm" in line for line in lines)
    started = next(line for line in lines if "msg=call-started" in line)
    assert " level=info " in started and "call_id=1700000000.7" in started and "caller=+15550100" in started
