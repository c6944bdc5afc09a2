"""The rule-based LLM used for demos and offline defaults."""

from __future__ import annotations

import pytest
import trio

from trioagents.core import (
    LLM,
    ChatContext,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    LLMTextDelta,
    LLMToolCall,
    ToolSpec,
)
from trioagents.providers import Rule, ScriptedLLM, ScriptedToolCall

WEATHER = ToolSpec("get_weather", "Weather for a city")
LLM_RULES = [
    Rule(r"\bhello\b", text="Hi! How can I help?"),
    Rule(
        r"weather in (?P<city>\w+)",
        text="Let me check {city}.",
        tool_calls=[ScriptedToolCall("get_weather", '{{"city": "{city}"}}')],
    ),
    Rule(r"(?P<sky>sunny|rainy)", text="It is {sky} there.", on="tool"),
]


def text_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, LLMTextDelta))


def ctx(*user: str) -> ChatContext:
    chat = ChatContext()
    chat.add_message("system", "You are a test.")
    for line in user:
        chat.add_message("user", line)
    return chat


async def test_streams_word_by_word_and_is_an_llm(autojump_clock: trio.abc.Clock) -> None:
    llm = ScriptedLLM(LLM_RULES)
    assert isinstance(llm, LLM)
    async with llm.chat(ctx("well HELLO there")) as events:
        got = [event async for event in events]
    deltas = [e for e in got if isinstance(e, LLMTextDelta)]
    assert len(deltas) == 5
    assert text_of(got) == "Hi! How can I help?"


def test_tool_call_with_captured_arguments_then_tool_answer() -> None:
    llm = ScriptedLLM(LLM_RULES)
    chat = ctx("what's the weather in Oslo")
    events = llm.reply_for(chat, tools=[WEATHER])
    calls = [e for e in events if isinstance(e, LLMToolCall)]
    assert text_of(events) == "Let me check Oslo."
    assert calls == [LLMToolCall("call_1", "get_weather", '{"city": "Oslo"}')]
    chat.append(FunctionCall("call_1", "get_weather", calls[0].arguments))
    chat.append(FunctionCallOutput("call_1", "get_weather", "sunny, 21 C"))
    assert text_of(llm.reply_for(chat, tools=[WEATHER])) == "It is sunny there."


def test_tools_not_offered_or_disabled_are_left_out() -> None:
    llm = ScriptedLLM(LLM_RULES)
    chat = ctx("weather in Oslo")
    assert not [e for e in llm.reply_for(chat) if isinstance(e, LLMToolCall)]
    none = llm.reply_for(chat, tools=[WEATHER], tool_choice="none")
    assert not [e for e in none if isinstance(e, LLMToolCall)]


def test_default_reply_and_latest_user_message_wins() -> None:
    llm = ScriptedLLM(LLM_RULES, default="Pardon?")
    assert text_of(llm.reply_for(ctx("hello", "something else"))) == "Pardon?"
    assert text_of(llm.reply_for(ChatContext())) == "Pardon?"


def test_bad_rules_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Rule("(unclosed", text="x")
    with pytest.raises(ConfigurationError):
        Rule("ok")
