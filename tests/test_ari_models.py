"""ARI JSON <-> models, without a network."""

from __future__ import annotations

import pytest

from ari_agent.ari.models import AriFormatError, channel_to_json, parse_channel, parse_event

CHANNEL = {
    "id": "1732550000.42",
    "name": "PJSIP/testcaller-00000001",
    "state": "Ring",
    "protocol_id": "abc@127.0.0.1",
    "caller": {"name": "Jane", "number": "+15551230000"},
    "connected": {"name": "", "number": ""},
    "dialplan": {
        "context": "ari-agent-incoming",
        "exten": "100",
        "priority": 1,
        "app_name": "Stasis",
        "app_data": "ari-agent",
    },
    "channelvars": {"CHANNEL(linkedid)": "1732550000.41", "CDR(userfield)": ""},
}


def test_channel_round_trip() -> None:
    channel = parse_channel(CHANNEL)
    assert channel.caller_number == "+15551230000"
    assert channel.linkedid == "1732550000.41"
    assert channel.protocol_id == "abc@127.0.0.1"
    assert channel.app_name == "Stasis"
    assert parse_channel(channel_to_json(channel)) == channel


def test_stasis_start_and_dtmf() -> None:
    ev = parse_event({"type": "StasisStart", "application": "ari-agent", "args": ["x"], "channel": CHANNEL})
    assert ev.channel_id == "1732550000.42" and ev.args == ["x"]
    ev = parse_event({"type": "ChannelDtmfReceived", "digit": "0", "duration_ms": 100, "channel": CHANNEL})
    assert ev.digit == "0"


def test_playback_event_names_its_channel_from_target_uri() -> None:
    ev = parse_event(
        {
            "type": "PlaybackFinished",
            "playback": {"id": "abc-pb1", "state": "done", "target_uri": "channel:1732550000.42"},
        }
    )
    assert ev.playback_id == "abc-pb1"
    assert ev.playback_state == "done"
    assert ev.channel_id == "1732550000.42"


@pytest.mark.parametrize("bad", [None, [], {"no": "type"}, {"type": "StasisStart", "channel": {"name": "x"}}])
def test_malformed_events_raise_format_error(bad: object) -> None:
    with pytest.raises(AriFormatError):
        parse_event(bad)
