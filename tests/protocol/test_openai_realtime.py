"""The OpenAI Realtime client core: events built, events parsed, states followed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from trioagents.core import ConfigurationError, LocalProtocolError, RemoteProtocolError, ToolSpec
from trioagents.protocol import (
    OpenAIRealtimeOptions,
    OpenAIRealtimeProtocol,
    RealtimeAudioDelta,
    RealtimeErrorReported,
    RealtimeEventIgnored,
    RealtimeFunctionCallDone,
    RealtimeInputCommitted,
    RealtimeInputTranscribed,
    RealtimeItemAdded,
    RealtimeOutputItemAdded,
    RealtimeRateLimitsUpdated,
    RealtimeResponseDone,
    RealtimeSpeechStarted,
    RealtimeState,
    RealtimeTextDelta,
    RealtimeTranscriptDelta,
    RealtimeUsage,
    SemanticVAD,
    ServerVAD,
    parse_realtime_event,
    realtime_url,
)

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ready(options: OpenAIRealtimeOptions | None = None) -> OpenAIRealtimeProtocol:
    protocol = OpenAIRealtimeProtocol(options or OpenAIRealtimeOptions())
    protocol.receive(json.dumps({"type": "session.created", "session": {"id": "sess_1"}}))
    return protocol


def sent(text: str) -> dict[str, Any]:
    body = json.loads(text)
    assert isinstance(body, dict)
    assert body["event_id"].startswith("evt_")
    return body


# ---------------------------------------------------------------- client events


def test_the_first_session_update_configures_audio_turns_and_tools_ga() -> None:
    session = sent(ready().session_update("Be brief.", [WEATHER], "auto", full=True))["session"]
    assert session["type"] == "realtime"
    assert session["instructions"] == "Be brief."
    assert session["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": WEATHER.parameters,
        }
    ]
    audio_in = session["audio"]["input"]
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_in["turn_detection"]["type"] == "server_vad"
    # the client asks for every response and cancels it itself
    assert audio_in["turn_detection"]["create_response"] is False
    assert audio_in["turn_detection"]["interrupt_response"] is False
    assert audio_in["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
    }


def test_later_updates_leave_voice_and_audio_alone() -> None:
    session = sent(ready().session_update("Now a travel agent.", [], "none"))["session"]
    assert set(session) == {"type", "instructions", "tools", "tool_choice"}
    assert session["tool_choice"] == "none"


def test_turn_detection_off_and_semantic() -> None:
    off = ready(OpenAIRealtimeOptions(turn_detection=None, input_transcription_model=None))
    audio_in = sent(off.session_update("", [], full=True))["session"]["audio"]["input"]
    assert audio_in["turn_detection"] is None
    assert audio_in["transcription"] is None
    semantic = ready(OpenAIRealtimeOptions(turn_detection=SemanticVAD("high")))
    turns = sent(semantic.session_update("", [], full=True))["session"]["audio"]["input"]
    assert turns["turn_detection"]["type"] == "semantic_vad"
    assert turns["turn_detection"]["eagerness"] == "high"


def test_beta_session_shape() -> None:
    options = OpenAIRealtimeOptions(api="beta", temperature=0.7, voice="alloy")
    session = sent(ready(options).session_update("x", [WEATHER], "get_weather", full=True))[
        "session"
    ]
    assert "type" not in session
    assert session["modalities"] == ["text", "audio"]
    assert session["input_audio_format"] == session["output_audio_format"] == "pcm16"
    assert session["voice"] == "alloy"
    assert session["temperature"] == 0.7
    assert session["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert options.headers() == [("OpenAI-Beta", "realtime=v1")]


def test_audio_items_truncate_and_responses() -> None:
    protocol = ready()
    append = sent(protocol.append_audio(b"\x01\x00\x02\x00"))
    assert base64.b64decode(append["audio"]) == b"\x01\x00\x02\x00"
    assert sent(protocol.commit_audio())["type"] == "input_audio_buffer.commit"
    assert sent(protocol.clear_audio())["type"] == "input_audio_buffer.clear"
    user = sent(protocol.create_message("item_1", "user", "hello"))["item"]
    assert user == {
        "id": "item_1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hello"}],
    }
    assistant = sent(protocol.create_message("item_2", "assistant", "hi"))["item"]
    assert assistant["content"] == [{"type": "output_text", "text": "hi"}]
    output = sent(protocol.create_function_call_output("item_3", "call_1", '{"ok": true}'))
    assert output["item"] == {
        "id": "item_3",
        "type": "function_call_output",
        "call_id": "call_1",
        "output": '{"ok": true}',
    }
    truncate = sent(protocol.truncate("item_2", 1234))
    assert (truncate["item_id"], truncate["content_index"], truncate["audio_end_ms"]) == (
        "item_2",
        0,
        1234,
    )
    create = sent(protocol.create_response(instructions="Say hi.", tool_choice="none"))
    assert create["response"] == {"instructions": "Say hi.", "tool_choice": "none"}
    assert protocol.state is RealtimeState.REQUESTED


def test_beta_assistant_text_is_text() -> None:
    protocol = ready(OpenAIRealtimeOptions(api="beta"))
    item = sent(protocol.create_message("item_2", "assistant", "hi"))["item"]
    assert item["content"] == [{"type": "text", "text": "hi"}]


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.append_audio(b"\x01"),
        lambda p: p.create_message("x" * 33, "user", "hi"),
        lambda p: p.create_message("item_1", "tool", "hi"),
        lambda p: p.truncate("item_1", -1),
        lambda p: p.cancel_response(),
    ],
)
def test_bad_client_events_are_local_errors(call: Any) -> None:
    protocol = ready()
    with pytest.raises(LocalProtocolError):
        call(protocol)
    assert protocol.state is RealtimeState.IDLE


def test_nothing_is_sent_before_session_created() -> None:
    protocol = OpenAIRealtimeProtocol(OpenAIRealtimeOptions())
    with pytest.raises(LocalProtocolError):
        protocol.session_update("x", [])
    with pytest.raises(LocalProtocolError):
        protocol.create_response()


def test_one_response_at_a_time() -> None:
    protocol = ready()
    protocol.create_response()
    with pytest.raises(LocalProtocolError):
        protocol.create_response()
    protocol.receive('{"type": "response.created", "response": {"id": "resp_1"}}')
    assert (protocol.state, protocol.response_id) == (RealtimeState.ACTIVE, "resp_1")
    cancel = sent(protocol.cancel_response())
    assert cancel["response_id"] == "resp_1"
    done = protocol.receive(
        '{"type": "response.done", "response": {"id": "resp_1", "status": "cancelled"}}'
    )
    assert done == RealtimeResponseDone("resp_1", "cancelled")
    assert (protocol.state, protocol.response_id) == (RealtimeState.IDLE, None)


def test_an_error_answering_response_create_frees_the_slot() -> None:
    protocol = ready()
    event_id = sent(protocol.create_response())["event_id"]
    other = {"type": "invalid_request_error", "event_id": "evt_999"}
    protocol.receive(json.dumps({"type": "error", "error": other}))
    assert protocol.state is RealtimeState.REQUESTED
    mine = {"type": "invalid_request_error", "code": "x", "event_id": event_id}
    error = protocol.receive(json.dumps({"type": "error", "error": mine, "event_id": "e"}))
    assert isinstance(error, RealtimeErrorReported)
    assert protocol.caused_by(error) == "response.create"
    assert protocol.state is RealtimeState.IDLE


def test_closed_refuses_everything() -> None:
    protocol = ready()
    protocol.connection_closed()
    with pytest.raises(LocalProtocolError):
        protocol.append_audio(b"\x00\x00")


def test_options_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="beta"):
        OpenAIRealtimeOptions(temperature=0.8)
    with pytest.raises(ConfigurationError):
        OpenAIRealtimeOptions(speed=3.0)
    with pytest.raises(ConfigurationError):
        ServerVAD(threshold=2.0)
    with pytest.raises(ConfigurationError):
        SemanticVAD("eager")  # type: ignore[arg-type]


def test_url() -> None:
    options = OpenAIRealtimeOptions(model="gpt-realtime-mini")
    assert realtime_url(options, "https://api.openai.com/v1/") == (
        "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini"
    )
    assert realtime_url(options, "http://127.0.0.1:8000/v1", {"a": "b"}) == (
        "ws://127.0.0.1:8000/v1/realtime?model=gpt-realtime-mini&a=b"
    )
    with pytest.raises(ConfigurationError):
        realtime_url(options, "ftp://host/v1")


# ---------------------------------------------------------------- server events


@pytest.mark.parametrize(
    ("kind", "alias"),
    [
        ("response.output_audio.delta", "response.audio.delta"),
        ("response.output_audio_transcript.delta", "response.audio_transcript.delta"),
        ("response.output_text.delta", "response.text.delta"),
        ("conversation.item.added", "conversation.item.created"),
    ],
)
def test_beta_names_parse_as_ga(kind: str, alias: str) -> None:
    body: dict[str, Any] = {
        "response_id": "resp_1",
        "item_id": "item_1",
        "delta": base64.b64encode(b"\x05\x00").decode(),
        "item": {"id": "item_1", "type": "message", "role": "user"},
    }
    assert parse_realtime_event(json.dumps({"type": kind, **body})) == parse_realtime_event(
        json.dumps({"type": alias, **body})
    )


def test_server_events_round_trip() -> None:
    pcm = b"\x01\x00\xff\x7f"
    cases: list[tuple[dict[str, Any], object]] = [
        (
            {"type": "input_audio_buffer.speech_started", "audio_start_ms": 120, "item_id": "i"},
            RealtimeSpeechStarted("i", 120),
        ),
        (
            {"type": "input_audio_buffer.committed", "item_id": "i", "previous_item_id": None},
            RealtimeInputCommitted("i", None),
        ),
        (
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": "i",
                "content_index": 0,
                "transcript": "hello there",
            },
            RealtimeInputTranscribed("i", "hello there"),
        ),
        (
            {
                "type": "response.output_item.added",
                "response_id": "r",
                "item": {"id": "fc", "type": "function_call", "call_id": "c", "name": "f"},
            },
            RealtimeOutputItemAdded("r", "fc", "function_call", "c", "f"),
        ),
        (
            {
                "type": "response.output_audio.delta",
                "response_id": "r",
                "item_id": "m",
                "output_index": 0,
                "content_index": 0,
                "delta": base64.b64encode(pcm).decode(),
            },
            RealtimeAudioDelta("r", "m", pcm),
        ),
        (
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": "r",
                "item_id": "m",
                "delta": "Hel",
            },
            RealtimeTranscriptDelta("r", "m", "Hel"),
        ),
        (
            {
                "type": "response.output_text.delta",
                "response_id": "r",
                "item_id": "m",
                "delta": "a",
            },
            RealtimeTextDelta("r", "m", "a"),
        ),
        (
            {
                "type": "response.function_call_arguments.done",
                "response_id": "r",
                "item_id": "fc",
                "call_id": "c",
                "arguments": '{"city": "Paris"}',
            },
            RealtimeFunctionCallDone("r", "fc", "c", '{"city": "Paris"}'),
        ),
        (
            {
                "type": "response.done",
                "response": {
                    "id": "r",
                    "status": "completed",
                    "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
                },
            },
            RealtimeResponseDone("r", "completed", RealtimeUsage(10, 20)),
        ),
        (
            {"type": "conversation.item.done", "item": {"id": "x", "type": "function_call"}},
            RealtimeItemAdded("x", "function_call"),
        ),
        (
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "tokens", "limit": 9, "remaining": 5, "reset_seconds": 1.5}
                ],
            },
            RealtimeRateLimitsUpdated((("tokens", 5.0, 1.5),)),
        ),
        (
            {"type": "response.mcp_call.in_progress"},
            RealtimeEventIgnored("response.mcp_call.in_progress"),
        ),
    ]
    for body, expected in cases:
        assert parse_realtime_event(json.dumps(body)) == expected


@pytest.mark.parametrize(
    "message",
    [
        b'{"type": "error"}',
        "not json",
        "[1, 2]",
        '{"no": "type"}',
        '{"type": "response.output_audio.delta", "item_id": "m", "delta": "!!"}',
        '{"type": "response.output_audio.delta", "item_id": "m", "delta": "AQ=="}',
        '{"type": "input_audio_buffer.speech_started", "audio_start_ms": -1}',
        '{"type": "input_audio_buffer.speech_started", "audio_start_ms": true}',
        '{"type": "response.done", "response": {"id": 5}}',
        '{"type": "response.created", "response": {"id": "r", "metadata": {"a": 1}}}',
        '{"type": "error", "error": "boom"}',
        '{"type": "input_audio_buffer.committed", "item_id": NaN}',
    ],
)
def test_malformed_events_are_remote_errors(message: str | bytes) -> None:
    protocol = ready()
    with pytest.raises(RemoteProtocolError) as caught:
        protocol.receive(message)
    assert caught.value.payload is not None
    assert protocol.state is RealtimeState.IDLE
