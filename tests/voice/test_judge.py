"""``ChatMessageAssert.judge``: an LLM decides whether a message fulfils an intent."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from trioagents.core import ChatMessage, LLMToolCall, ProviderStatusError
from trioagents.providers import OpenAIConnection, OpenAILLM, Rule, ScriptedLLM, ScriptedToolCall
from trioagents.testing import FakeLLM, LLMScript, OpenAIServerOptions, open_openai_server
from trioagents.voice import Agent, AgentSession, ChatMessageAssert, RunEvent, RunExpectations


def verdict(success: bool, reason: str) -> LLMScript:
    arguments = json.dumps({"success": success, "reason": reason})
    return LLMScript(tool_calls=[LLMToolCall("j1", "check_intent", arguments)])


def said(text: str) -> ChatMessageAssert:
    expect = RunExpectations([RunEvent.of(ChatMessage("assistant", text))])
    return expect.next_event().is_message(role="assistant")


async def test_a_yes_passes_and_the_judge_was_asked_properly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    judge = FakeLLM(default=verdict(True, "it offers help"))
    message = said("Hello! How can I help you today?")
    assert await message.judge(judge, intent="greets the user and offers help") is message
    [request] = judge.requests
    assert [spec.name for spec in request.tools] == ["check_intent"]
    assert request.tools[0].parameters["required"] == ["success", "reason"]
    assert request.tool_choice == "required"
    system, user = request.chat_ctx.messages()
    assert system.role == "system"
    assert "check_intent" in system.content
    assert "Intent:\ngreets the user and offers help" in user.content
    assert "Message:\nHello! How can I help you today?" in user.content


async def test_a_no_fails_with_the_judges_reason(autojump_clock: trio.testing.MockClock) -> None:
    judge = FakeLLM(default=verdict(False, "it never mentions the weather"))
    with pytest.raises(AssertionError) as excinfo:
        await said("Hello!").judge(judge, intent="tells the weather")
    assert type(excinfo.value) is AssertionError
    first = str(excinfo.value).splitlines()[0]
    assert first == (
        "event 0: the judge says the message does not fulfil the intent 'tells the weather': "
        "it never mentions the weather"
    )


async def test_judging_a_session_reply_with_a_scripted_judge(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def judged(pattern: str, success: bool, reason: str) -> Rule:
        arguments = json.dumps({"success": success, "reason": reason}).replace("{", "{{")
        arguments = arguments.replace("}", "}}")
        return Rule(pattern, tool_calls=[ScriptedToolCall("check_intent", arguments)])

    judge = ScriptedLLM(
        [
            judged(r"Intent:\s+asks for the party size", True, "it asks how many people"),
            judged(r"Intent:", False, "it does not do that"),
        ]
    )
    agent_llm = ScriptedLLM([Rule(r"table", "Sure! How many people?")])
    session = AgentSession(llm=agent_llm)
    async with session.start(Agent(instructions="You book tables.")):
        result = await session.run(user_input="A table, please")
    reply = result.expect.skip_next().next_event().is_message(role="assistant")
    await reply.judge(judge, intent="asks for the party size")
    with pytest.raises(AssertionError, match="it does not do that"):
        await reply.judge(judge, intent="says goodbye")


async def test_an_answer_without_the_tool_call_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(AssertionError, match=r"did not call check_intent \(it answered 'Yes\.'\)"):
        await said("Hi").judge(FakeLLM(default=LLMScript("Yes.")), intent="greets")
    bad = LLMScript(tool_calls=[LLMToolCall("j", "check_intent", '{"success": "yes"}')])
    with pytest.raises(AssertionError, match="needs a boolean success and a string reason"):
        await said("Hi").judge(FakeLLM(default=bad), intent="greets")
    garbage = LLMScript(tool_calls=[LLMToolCall("j", "check_intent", "{oops")])
    with pytest.raises(AssertionError, match="arguments are not JSON"):
        await said("Hi").judge(FakeLLM(default=garbage), intent="greets")


async def test_nothing_to_judge_fails_without_asking(
    autojump_clock: trio.testing.MockClock,
) -> None:
    judge = FakeLLM(default=verdict(True, "ok"))
    with pytest.raises(AssertionError, match="the message to judge is empty"):
        await said("  ").judge(judge, intent="greets")
    with pytest.raises(AssertionError, match="needs a non-empty intent"):
        await said("Hi").judge(judge, intent="")
    assert judge.requests == []


async def test_a_judge_that_fails_raises_its_provider_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    error = ProviderStatusError("boom", provider="fake-llm", status=500)
    with pytest.raises(ProviderStatusError):
        await said("Hi").judge(FakeLLM(default=LLMScript(error=error)), intent="greets")


async def test_judge_through_openai_llm_on_the_wire(autojump_clock: trio.testing.MockClock) -> None:
    no = LLMToolCall("call_1", "check_intent", '{"success": false, "reason": "too rude"}')
    options = OpenAIServerOptions(chat_text="", chat_tool_calls=(no,))
    async with open_openai_server(options) as server:
        connection = OpenAIConnection(base_url=server.base_url, api_key="sk-test")
        judge = OpenAILLM("gpt-judge", connection=connection)
        with pytest.raises(AssertionError, match="the intent 'is polite': too rude"):
            await said("Go away.").judge(judge, intent="is polite")
        body = server.requests_to("chat")[0].json()
    assert body["tool_choice"] == "required"
    assert [tool["function"]["name"] for tool in body["tools"]] == ["check_intent"]
    assert body["tools"][0]["function"]["parameters"]["properties"]["success"] == {
        "type": "boolean",
        "description": "Whether the message clearly fulfils the intent.",
    }
    assert body["messages"][0]["role"] == "system"
    assert "Intent:\nis polite\n\nMessage:\nGo away." in body["messages"][1]["content"]
