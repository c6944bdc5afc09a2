"""OpenAI chat wire format: request bodies, chunk decoding, tool-call assembly."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import (
    AgentHandoff,
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    RemoteProtocolError,
    ToolSpec,
)
from trioagents.protocol import (
    ChatErrorReported,
    ChatFinished,
    ChatStreamDecoder,
    ToolCallAssembler,
    chat_request_body,
)


def sse(*chunks: dict[str, Any] | str) -> bytes:
    out = b""
    for chunk in chunks:
        data = chunk if isinstance(chunk, str) else json.dumps(chunk)
        out += b"data: " + data.encode() + b"\n\n"
    return out


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields}]}


STREAM = sse(
    delta(role="assistant", content=None),
    delta(content="Hi"),
    delta(tool_calls=[{"index": 0, "id": "call_1", "function": {"name": "get_", "arguments": ""}}]),
    delta(tool_calls=[{"index": 0, "function": {"name": "weather", "arguments": '{"city"'}}]),
    delta(tool_calls=[{"index": 1, "id": "call_2", "function": {"name": "t", "arguments": "{}"}}]),
    delta(tool_calls=[{"index": 0, "function": {"arguments": ': "Oslo"}'}}]),
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}},
    "[DONE]",
)
EXPECTED = [
    LLMTextDelta("Hi"),
    LLMToolCall("call_1", "get_weather", '{"city": "Oslo"}'),
    LLMToolCall("call_2", "t", "{}"),
    ChatFinished("tool_calls"),
    LLMUsage(5, 7),
]


def decode(chunks: list[bytes]) -> tuple[list[object], bool]:
    decoder = ChatStreamDecoder()
    items: list[object] = []
    for chunk in chunks:
        items.extend(decoder.feed(chunk))
    items.extend(decoder.end_of_stream())
    return items, decoder.complete


def test_stream_whole_and_byte_by_byte() -> None:
    assert decode([STREAM]) == (EXPECTED, True)
    assert decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == (EXPECTED, True)


@given(st.lists(st.integers(0, len(STREAM)), max_size=30))
def test_any_split(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    assert decode([STREAM[a:b] for a, b in itertools.pairwise(points)]) == (
        EXPECTED,
        True,
    )


def test_truncated_stream_is_incomplete_and_holds_back_tool_calls() -> None:
    cut = STREAM[: STREAM.index(b"finish_reason") - 40]
    items, complete = decode([cut])
    assert not complete
    assert items == [LLMTextDelta("Hi")]  # half-assembled calls are never emitted


def test_done_without_finish_reason_completes() -> None:
    assert decode([sse(delta(content="a"), "[DONE]")]) == ([LLMTextDelta("a")], True)


def test_in_stream_error_object() -> None:
    body = {"error": {"message": "overloaded", "code": 503}}
    assert decode([sse(body)])[0] == [ChatErrorReported(body["error"])]


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"choices": {"0": 1}}),
        json.dumps({"choices": ["x"]}),
        json.dumps(delta(content=5)),
        json.dumps(delta(tool_calls={"index": 0})),
        json.dumps(delta(tool_calls=[{"index": "0"}])),
        json.dumps(delta(tool_calls=[{"index": True}])),
        json.dumps(delta(tool_calls=[{"index": 0, "function": {"arguments": 3}}])),
        json.dumps({"choices": [{"delta": {}, "finish_reason": 1}]}),
        json.dumps({"choices": [], "usage": {"prompt_tokens": "many"}}),
    ],
)
def test_garbage_raises_remote_protocol_error(bad: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode([sse(bad)])
    assert info.value.payload


def test_tool_call_without_name_is_refused_at_finish() -> None:
    assembler = ToolCallAssembler()
    assembler.feed([{"index": 0, "id": "c", "function": {"arguments": "{}"}}])
    with pytest.raises(RemoteProtocolError):
        assembler.finish()


def test_missing_index_uses_position() -> None:
    assembler = ToolCallAssembler()
    assembler.feed(
        [
            {"id": "a", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "function": {"name": "g"}},
        ]
    )
    assert assembler.finish() == [LLMToolCall("a", "f", "{}"), LLMToolCall("b", "g", "{}")]


def test_request_body_maps_chat_items_and_tools() -> None:
    ctx = ChatContext()
    ctx.add_message("system", "be brief")
    ctx.append(AgentHandoff(None, "greeter"))
    ctx.add_message("user", "weather?")
    ctx.append(FunctionCall("c1", "weather", '{"city": "Oslo"}'))
    ctx.append(FunctionCall("c2", "time", "{}"))
    ctx.append(FunctionCallOutput("c1", "weather", "sunny"))
    tool = ToolSpec("weather", "Get the weather")
    body = chat_request_body(ctx, model="m", tools=[tool], tool_choice="weather", extra={"seed": 1})
    assert body["stream"] is True
    assert body["seed"] == 1
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert body["tools"][0]["function"]["name"] == "weather"
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["c1", "c2"]
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert "tools" not in chat_request_body(ctx, model="m")


def test_request_tool_fields_only_with_tools_and_settings_before_extra() -> None:
    ctx = ChatContext()
    ctx.add_message("user", "hi")
    tool = ToolSpec("weather", "Get the weather")
    with_tools = chat_request_body(
        ctx,
        model="m",
        tools=[tool],
        parallel_tool_calls=False,
        settings={"temperature": 0.2, "max_completion_tokens": 50},
        extra={"temperature": 0.9},
    )
    assert with_tools["parallel_tool_calls"] is False
    assert with_tools["max_completion_tokens"] == 50
    assert with_tools["temperature"] == 0.9  # extra is merged last
    bare = chat_request_body(ctx, model="m", tool_choice="required", parallel_tool_calls=True)
    assert "tool_choice" not in bare
    assert "parallel_tool_calls" not in bare
    assert "parallel_tool_calls" not in chat_request_body(ctx, model="m", tools=[tool])
