"""The loopback OpenAI server scripts a multi-turn tool conversation (one reply per request)."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from trioagents.core import (
    ChatContext,
    ConfigurationError,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    ProviderConnectionError,
    ProviderStatusError,
)
from trioagents.providers import OpenAIConnection, OpenAILLM
from trioagents.testing import (
    ChatReply,
    OpenAIServer,
    OpenAIServerOptions,
    ResetAfter,
    open_openai_server,
    server_error,
)
from trioagents.testing._openai_replies import chat_events
from trioagents.voice import Agent, AgentSession, function_tool

WEATHER_CALL = LLMToolCall("call_1", "get_weather", '{"city": "Oslo", "unit": "C"}')
CALLED: list[tuple[str, str]] = []


class WeatherAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You tell the weather.")

    @function_tool
    async def get_weather(self, city: str, unit: str = "F") -> str:
        """The weather in a city.

        Args:
            city: the city
            unit: C or F
        """
        CALLED.append((city, unit))
        return f"sunny and 21 {unit} in {city}"


def openai_llm(server: OpenAIServer) -> OpenAILLM:
    connection = OpenAIConnection(base_url=server.base_url, api_key="sk-test", idle_timeout=5.0)
    return OpenAILLM("gpt-test", connection=connection)


def question(text: str = "hi") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message("user", text)
    return ctx


async def complete(llm: OpenAILLM) -> list[object]:
    async with llm.chat(question()) as events:
        return [event async for event in events]


async def test_a_tool_conversation_end_to_end(autojump_clock: trio.testing.MockClock) -> None:
    CALLED.clear()
    async with open_openai_server() as server:
        server.script_chat(
            ChatReply(tool_calls=[WEATHER_CALL]),
            ChatReply("It is sunny in Oslo, 21 degrees."),
        )
        session = AgentSession(llm=openai_llm(server))
        async with session.start(WeatherAgent()):
            result = await session.run(user_input="What's the weather in Oslo?")
        first, second = [request.json() for request in server.requests_to("chat")]
        assert server.chat_replies_left == 0
    assert CALLED == [("Oslo", "C")]  # the tool ran with the streamed arguments
    result.expect.next_event().is_message(role="user")
    result.expect.next_event().is_function_call(
        name="get_weather", arguments={"city": "Oslo", "unit": "C"}
    )
    result.expect.next_event().is_function_call_output(output="sunny and 21 C in Oslo")
    reply = result.expect.next_event().is_message(role="assistant")
    assert reply.content == "It is sunny in Oslo, 21 degrees."
    result.expect.no_more_events()
    assert [tool["function"]["name"] for tool in first["tools"]] == ["get_weather"]
    assert first["messages"] == [
        {"role": "system", "content": "You tell the weather."},
        {"role": "user", "content": "What's the weather in Oslo?"},
    ]
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2:] == [  # the call and its output went back to the model
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": WEATHER_CALL.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny and 21 C in Oslo"},
    ]


async def test_replies_come_in_order_then_the_default(
    autojump_clock: trio.testing.MockClock,
) -> None:
    options = OpenAIServerOptions(chat_text="Default answer.")
    async with open_openai_server(options) as server:
        server.script_chat(ChatReply("First."), ChatReply("Second, with a call.", [WEATHER_CALL]))
        llm = openai_llm(server)
        replies = [await complete(llm) for _ in range(3)]
    assert replies[0][0] == LLMTextDelta("First.")
    assert replies[1][:5] == [
        LLMTextDelta("Second,"),
        LLMTextDelta(" with"),
        LLMTextDelta(" a"),
        LLMTextDelta(" call."),
        WEATHER_CALL,
    ]
    assert replies[2][:2] == [LLMTextDelta("Default"), LLMTextDelta(" answer.")]
    assert all(isinstance(reply[-1], LLMUsage) for reply in replies)


async def test_a_faulted_request_leaves_the_reply_for_the_retry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_openai_server() as server:
        server.script_chat(ChatReply("Scripted."))
        server.script(server_error(), ResetAfter(60), endpoint="chat")
        llm = openai_llm(server)
        with pytest.raises(ProviderStatusError):
            await complete(llm)
        with pytest.raises(ProviderConnectionError):  # reset after the headers
            await complete(llm)
        assert server.chat_replies_left == 1
        assert await complete(llm) == [LLMTextDelta("Scripted."), LLMUsage(10, 1)]
        assert server.chat_replies_left == 0


def test_a_tool_call_only_reply_streams_no_content() -> None:
    chunks = [json.loads(c[len(b"data: ") :]) for c in chat_events("", [WEATHER_CALL])[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": None}
    assert all("content" not in d for d in deltas[1:])
    assert [d["tool_calls"][0]["index"] for d in deltas[1:3]] == [0, 0]
    assert deltas[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    joined = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:3])
    assert joined == WEATHER_CALL.arguments
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_an_empty_reply_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="needs text, tool calls, or both"):
        ChatReply()
