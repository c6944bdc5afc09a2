"""The ElevenLabs and Cartesia cores: URLs, one utterance's messages, server messages."""

from __future__ import annotations

import base64
import json

import pytest

from trioagents.core import ConfigurationError, LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    CartesiaContext,
    CartesiaOptions,
    CharTiming,
    ElevenLabsContext,
    ElevenLabsOptions,
    TextPiece,
    TTSAudioReceived,
    TTSContextDone,
    TTSContextState,
    TTSErrorReported,
    TTSMessageIgnored,
    TTSWordsTimed,
    WordTiming,
    cartesia_url,
    elevenlabs_url,
    parse_cartesia_message,
    parse_elevenlabs_message,
)

AUDIO = base64.b64encode(b"\x01\x00\x02\x00").decode()


def test_elevenlabs_urls_carry_the_options_never_a_key() -> None:
    options = ElevenLabsOptions(voice_id="v/1", sample_rate=16000, language_code="de")
    url = elevenlabs_url(options, base_url="ws://127.0.0.1:9/v1")
    assert url.startswith("ws://127.0.0.1:9/v1/text-to-speech/v%2F1/stream-input?")
    assert "output_format=pcm_16000" in url
    assert "sync_alignment=true" in url
    assert "language_code=de" in url
    assert "/multi-stream-input?" in elevenlabs_url(options, multi=True)
    https = elevenlabs_url(options, base_url="https://api.elevenlabs.io/v1/")
    assert https.startswith("wss://api.elevenlabs.io/v1/text-to-speech/")
    with pytest.raises(ConfigurationError):
        elevenlabs_url(options, base_url="ftp://api.elevenlabs.io/v1")
    with pytest.raises(ConfigurationError):
        elevenlabs_url(options, base_url="wss://api.elevenlabs.io/v1?key=no")
    with pytest.raises(ConfigurationError):
        ElevenLabsOptions(sample_rate=12345)
    with pytest.raises(ConfigurationError):
        ElevenLabsOptions(chunk_length_schedule=(10,))


def test_an_elevenlabs_utterance_on_stream_input() -> None:
    options = ElevenLabsOptions(chunk_length_schedule=(50, 120), voice_settings={"speed": 1.1})
    context = ElevenLabsContext(options)
    first = json.loads(context.open()[0])
    assert first == {
        "text": " ",
        "voice_settings": {"speed": 1.1},
        "generation_config": {"chunk_length_schedule": [50, 120]},
    }
    assert [json.loads(m) for m in context.text(TextPiece("Hi there. ", True))] == [
        {"text": "Hi there. ", "flush": True}
    ]
    assert context.text(TextPiece("")) == []  # never an empty text mid-utterance
    end = [json.loads(m) for m in context.end("bye")]
    assert end == [{"text": "bye", "flush": True}, {"text": ""}]
    assert context.machine.state is TTSContextState.ENDING
    assert context.done() is True
    with pytest.raises(LocalProtocolError):
        context.text(TextPiece("more "))


def test_an_elevenlabs_context_on_multi_stream_input_and_its_cancel() -> None:
    context = ElevenLabsContext(ElevenLabsOptions(), "ctx1")
    assert json.loads(context.open()[0]) == {"text": " ", "context_id": "ctx1"}
    assert [json.loads(m) for m in context.end("")] == [
        {"text": "", "flush": True, "context_id": "ctx1"},
        {"close_context": True, "context_id": "ctx1"},
    ]
    other = ElevenLabsContext(ElevenLabsOptions(), "ctx2")
    other.open()
    assert [json.loads(m) for m in other.cancel()] == [
        {"text": "", "context_id": "ctx2"},  # a keep-alive: the close follows no flush
        {"close_context": True, "context_id": "ctx2"},
    ]
    assert ElevenLabsContext(ElevenLabsOptions()).cancel() == []  # stream-input: close the socket
    early = ElevenLabsContext(ElevenLabsOptions(), "ctx3")
    early.open()
    assert early.done() is False  # the server ended it before we did


def test_elevenlabs_server_messages() -> None:
    audio = {
        "audio": AUDIO,
        "alignment": {"chars": ["H", "i"], "charStartTimesMs": [0, 10], "charDurationsMs": [10, 5]},
        "contextId": "c",
    }
    assert parse_elevenlabs_message(json.dumps(audio)) == TTSAudioReceived(
        "c", b"\x01\x00\x02\x00", (CharTiming("H", 0.0, 0.01), CharTiming("i", 0.01, 0.015))
    )
    other_spelling = {
        "audio": AUDIO,
        "normalizedAlignment": {"chars": ["a"], "charsStartTimesMs": [1], "charsDurationsMs": [2]},
        "context_id": "c",
    }
    parsed = parse_elevenlabs_message(json.dumps(other_spelling))
    assert isinstance(parsed, TTSAudioReceived)
    assert parsed.alignment == (CharTiming("a", 0.001, 0.003),)
    assert parse_elevenlabs_message('{"isFinal": true}') == TTSContextDone(None)
    assert parse_elevenlabs_message('{"is_final": true, "contextId": "c"}') == TTSContextDone("c")
    error = parse_elevenlabs_message('{"error": "quota_exceeded", "message": "no"}')
    assert isinstance(error, TTSErrorReported)
    assert error.code == "quota_exceeded"
    assert parse_elevenlabs_message('{"type": "flush_done"}') == TTSMessageIgnored(
        None, "flush_done"
    )
    for bad in [
        b"binary",
        "not json",
        '{"audio": "***"}',
        '{"audio": "AAAA", "alignment": {"chars": ["a"], "charStartTimesMs": []}}',
        '{"isFinal": "yes"}',
        '{"audio": "AAAA", "isFinal": true}',
    ]:
        with pytest.raises(RemoteProtocolError):
            parse_elevenlabs_message(bad)


def test_a_cartesia_utterance() -> None:
    options = CartesiaOptions(sample_rate=16000, max_buffer_delay_ms=0)
    context = CartesiaContext(options, "ctx")
    assert context.open() == []
    request = json.loads(context.text(TextPiece("Hello "))[0])
    assert request["transcript"] == "Hello "
    assert request["continue"] is True
    assert request["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }
    assert request["add_timestamps"] is True
    assert request["max_buffer_delay_ms"] == 0
    last = json.loads(context.end("world")[0])
    assert (last["transcript"], last["continue"], last["context_id"]) == ("world", False, "ctx")
    assert [json.loads(m) for m in context.cancel()] == [{"context_id": "ctx", "cancel": True}]
    assert cartesia_url("ws://127.0.0.1:9") == "ws://127.0.0.1:9/tts/websocket"
    with pytest.raises(ConfigurationError):
        CartesiaOptions(max_buffer_delay_ms=6000)


def test_cartesia_server_messages() -> None:
    chunk = {"type": "chunk", "data": AUDIO, "done": False, "context_id": "c"}
    assert parse_cartesia_message(json.dumps(chunk)) == TTSAudioReceived("c", b"\x01\x00\x02\x00")
    stamps = {
        "type": "timestamps",
        "context_id": "c",
        "word_timestamps": {"words": ["Hello", "world"], "start": [0, 0.5], "end": [0.4, 0.9]},
    }
    assert parse_cartesia_message(json.dumps(stamps)) == TTSWordsTimed(
        "c", (WordTiming("Hello", 0.0, 0.4), WordTiming("world", 0.5, 0.9))
    )
    assert parse_cartesia_message('{"type": "done", "context_id": "c"}') == TTSContextDone("c")
    error = parse_cartesia_message(
        '{"type": "error", "status_code": 400, "error_code": "model_not_found", "done": true}'
    )
    assert isinstance(error, TTSErrorReported)
    assert (error.status, error.code) == (
        400,
        "model_not_found",
    )
    assert parse_cartesia_message('{"type": "flush_done"}') == TTSMessageIgnored(None, "flush_done")
    for bad in [
        '{"data": "AAAA"}',
        '{"type": "chunk", "data": 5}',
        '{"type": "timestamps", "word_timestamps": {"words": ["a"], "start": [], "end": []}}',
        '{"type": "timestamps", "word_timestamps": {"words": ["a"], "start": [-1], "end": [1]}}',
        '{"type": "error", "status_code": "400"}',
    ]:
        with pytest.raises(RemoteProtocolError):
            parse_cartesia_message(bad)
