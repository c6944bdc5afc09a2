"""The Deepgram live transcription core: URL, control messages, server messages, states."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from trioagents.core import ConfigurationError, LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    DEEPGRAM_TRANSITIONS,
    DeepgramErrorReported,
    DeepgramMessageIgnored,
    DeepgramMetadataReceived,
    DeepgramOptions,
    DeepgramProtocol,
    DeepgramSpeechStarted,
    DeepgramState,
    DeepgramTranscribed,
    DeepgramUtteranceEnded,
    listen_url,
)

# A Results message as Deepgram documents it (trimmed of words and model details).
RESULTS = {
    "type": "Results",
    "channel_index": [0, 1],
    "duration": 1.25,
    "start": 2.5,
    "is_final": True,
    "speech_final": True,
    "from_finalize": False,
    "channel": {
        "alternatives": [
            {
                "transcript": "turn on the lights",
                "confidence": 0.98,
                "words": [{"word": "turn", "start": 2.6, "end": 2.8, "confidence": 0.99}],
            }
        ]
    },
    "metadata": {"request_id": "r-1", "model_info": {"name": "nova-3"}},
}


def test_listen_url_carries_every_option() -> None:
    options = DeepgramOptions(
        model="nova-3",
        language="en-GB",
        sample_rate=24000,
        endpointing_ms=300,
        utterance_end_ms=1000,
        smart_format=True,
        keyterms=("trioagents", "LiveKit"),
        extra={"diarize": "true"},
    )
    url = listen_url(options, base_url="ws://127.0.0.1:9/v1/listen", language="fr")
    parts = urlsplit(url)
    assert (parts.scheme, parts.path) == ("ws", "/v1/listen")
    query = parse_qs(parts.query)
    assert query["model"] == ["nova-3"]
    assert query["language"] == ["fr"]  # the per-stream language wins
    assert query["encoding"] == ["linear16"]
    assert query["sample_rate"] == ["24000"]
    assert query["channels"] == ["1"]
    assert query["interim_results"] == ["true"]
    assert query["endpointing"] == ["300"]
    assert query["utterance_end_ms"] == ["1000"]
    assert query["vad_events"] == ["true"]
    assert query["smart_format"] == ["true"]
    assert query["keyterm"] == ["trioagents", "LiveKit"]
    assert query["diarize"] == ["true"]


def test_every_query_parameter_is_a_named_one() -> None:
    from trioagents.protocol._deepgram import _NAMED_PARAMETERS

    options = DeepgramOptions(utterance_end_ms=1000, keyterms=("a",))
    assert {name for name, _ in options.query()} == _NAMED_PARAMETERS


def test_endpointing_off_and_defaults() -> None:
    query = parse_qs(urlsplit(listen_url(DeepgramOptions(endpointing_ms=None))).query)
    assert query["endpointing"] == ["false"]
    assert query["language"] == ["en-US"]
    assert "utterance_end_ms" not in query
    assert listen_url(DeepgramOptions()).startswith("wss://api.deepgram.com/v1/listen?")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sample_rate": 100},
        {"channels": 0},
        {"endpointing_ms": 0},
        {"utterance_end_ms": 1000, "interim_results": False},
        {"keyterms": "oops"},
        {"extra": {"encoding": "mulaw"}},
        {"extra": {"keyterm": "x"}},
    ],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        DeepgramOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["https://x/v1/listen", "ws:///v1/listen", "ws://h/l?key=1"])
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        listen_url(DeepgramOptions(), base_url=url)


def test_control_messages_are_documented_json() -> None:
    protocol = DeepgramProtocol()
    assert json.loads(protocol.keep_alive()) == {"type": "KeepAlive"}
    assert json.loads(protocol.finalize()) == {"type": "Finalize"}
    assert protocol.send_audio(b"\x01\x00\x02\x00") == b"\x01\x00\x02\x00"
    assert json.loads(protocol.close_stream()) == {"type": "CloseStream"}
    assert protocol.state is DeepgramState.CLOSING


def test_nothing_is_sent_after_close_stream() -> None:
    protocol = DeepgramProtocol()
    protocol.close_stream()
    for send in (protocol.keep_alive, protocol.finalize, protocol.close_stream):
        with pytest.raises(LocalProtocolError):
            send()
    with pytest.raises(LocalProtocolError):
        protocol.send_audio(b"\x00\x00")


def test_half_samples_are_refused() -> None:
    with pytest.raises(LocalProtocolError):
        DeepgramProtocol().send_audio(b"\x00")
    with pytest.raises(LocalProtocolError):
        DeepgramProtocol(channels=2).send_audio(b"\x00\x00")


def test_close_is_expected_only_after_close_stream() -> None:
    early = DeepgramProtocol()
    closed = early.connection_closed(1000, None)
    assert not closed.expected
    assert early.state is DeepgramState.CLOSED
    asked = DeepgramProtocol()
    asked.close_stream()
    assert asked.connection_closed(1000, None).expected
    dropped = DeepgramProtocol()
    dropped.close_stream()
    assert not dropped.connection_closed(1006, None).expected
    after_metadata = DeepgramProtocol()
    after_metadata.close_stream()
    after_metadata.receive('{"type": "Metadata", "request_id": "r"}')
    assert after_metadata.connection_closed(1006, None).expected


def test_bad_audio_close_reason() -> None:
    protocol = DeepgramProtocol()
    assert protocol.connection_closed(1008, "DATA-0000").bad_audio
    assert not DeepgramProtocol().connection_closed(1011, "NET-0001").bad_audio


def test_transition_table_is_the_behaviour() -> None:
    actions = {
        "audio": lambda p: p.send_audio(b""),
        "KeepAlive": DeepgramProtocol.keep_alive,
        "Finalize": DeepgramProtocol.finalize,
        "CloseStream": DeepgramProtocol.close_stream,
        "closed": lambda p: p.connection_closed(1000, None),
    }
    for state in DeepgramState:
        for action, run in actions.items():
            protocol = DeepgramProtocol()
            protocol.state = state
            target = DEEPGRAM_TRANSITIONS.get((state, action))
            if target is None:
                with pytest.raises(LocalProtocolError):
                    run(protocol)
            else:
                run(protocol)
                assert protocol.state is target


def test_results_message() -> None:
    event = DeepgramProtocol().receive(json.dumps(RESULTS))
    assert event == DeepgramTranscribed(
        transcript="turn on the lights",
        is_final=True,
        speech_final=True,
        from_finalize=False,
        start=2.5,
        duration=1.25,
        confidence=0.98,
    )
    assert isinstance(event, DeepgramTranscribed)
    assert event.end == 3.75


def test_results_with_detected_language_and_no_alternatives() -> None:
    body = json.loads(json.dumps(RESULTS))
    body["channel"]["alternatives"][0]["languages"] = ["de"]
    event = DeepgramProtocol().receive(json.dumps(body))
    assert isinstance(event, DeepgramTranscribed)
    assert event.language == "de"
    body["channel"]["alternatives"] = []
    empty = DeepgramProtocol().receive(json.dumps(body))
    assert isinstance(empty, DeepgramTranscribed)
    assert empty.transcript == ""


def test_other_server_messages() -> None:
    protocol = DeepgramProtocol()
    started = protocol.receive('{"type": "SpeechStarted", "channel": [0, 1], "timestamp": 1.5}')
    assert started == DeepgramSpeechStarted(1.5)
    ended = protocol.receive('{"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 3.1}')
    assert ended == DeepgramUtteranceEnded(3.1)
    metadata = protocol.receive('{"type": "Metadata", "request_id": "abc", "duration": 0.0}')
    assert metadata == DeepgramMetadataReceived("abc")
    error = protocol.receive('{"type": "Error", "variant": "DATA-0000", "description": "bad"}')
    assert isinstance(error, DeepgramErrorReported)
    assert error.code == "DATA-0000"
    assert error.body["description"] == "bad"
    assert protocol.receive('{"type": "FutureThing", "x": 1}') == DeepgramMessageIgnored(
        "FutureThing"
    )


@pytest.mark.parametrize(
    "message",
    [
        b'{"type": "Results"}',  # a binary frame
        "{not json",
        "[1, 2]",
        '{"no": "type"}',
        '{"type": 7}',
        '{"type": "Results"}',  # no channel
        '{"type": "Results", "channel": []}',
        '{"type": "Results", "channel": {"alternatives": {}}}',
        '{"type": "Results", "channel": {"alternatives": [7]}}',
        '{"type": "Results", "channel": {"alternatives": [{"transcript": 7}]}}',
        '{"type": "Results", "is_final": 1, "channel": {"alternatives": []}}',
        '{"type": "Results", "start": true, "channel": {"alternatives": []}}',
        '{"type": "Results", "start": -1, "channel": {"alternatives": []}}',
        '{"type": "Results", "start": NaN, "channel": {"alternatives": []}}',
        '{"type": "Results", "start": 1e999, "channel": {"alternatives": []}}',
        '{"type": "Results", "start": 1' + "0" * 400 + ', "channel": {"alternatives": []}}',
        '{"type": "SpeechStarted", "timestamp": "soon"}',
        '{"type": "Metadata", "request_id": 5}',
        "[" * 100_000,
    ],
)
def test_malformed_messages_are_remote_protocol_errors(message: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        DeepgramProtocol().receive(message)
    assert info.value.payload is not None
    assert len(info.value.payload) <= 4096
