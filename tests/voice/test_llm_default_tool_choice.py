"""An LLM's own default ``tool_choice`` applies to the replies that name none.

LiveKit Agents' rule, kept: the first generation of a reply that did not ask for a
choice leaves it to the LLM (``openai.LLM(tool_choice=...)``); an explicit
``generate_reply(tool_choice=...)`` wins; after tools ran the session says
``"auto"`` (a forced call cannot loop) and at the step limit ``"none"``.
"""

from __future__ import annotations

import trio

from trioagents.core import LLMToolCall
from trioagents.providers import OpenAIChatOptions, OpenAIConnection, OpenAILLM
from trioagents.testing import OpenAIServerOptions, open_openai_server
from trioagents.voice import Agent, AgentSession, RunContext, SessionOptions, function_tool

CALL = LLMToolCall("call_1", "get_weather", '{"city": "Oslo"}')


class Forecaster(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Be brief.")

    @function_tool
    async def get_weather(self, context: RunContext[None], city: str) -> str:
        """The weather in a city."""
        return "sunny"


async def test_the_llm_default_applies_unless_the_reply_names_a_choice(
    autojump_clock: trio.abc.Clock,
) -> None:
    replies = OpenAIServerOptions(chat_text="Checking.", chat_tool_calls=(CALL,))
    async with open_openai_server(replies) as server:
        llm = OpenAILLM(
            "m",
            connection=OpenAIConnection(base_url=server.base_url),
            options=OpenAIChatOptions(tool_choice="required"),
        )
        session = AgentSession(llm=llm, options=SessionOptions(max_tool_steps=1))
        async with session.start(Forecaster()):
            await session.run(user_input="weather?")
            await session.generate_reply(user_input="and tomorrow?", tool_choice="auto")
        bodies = [request.json() for request in server.requests_to("chat")]
    # reply 1: the LLM's default, then the step limit (no tools, so no tool_choice)
    # reply 2: the explicit choice wins over the default, then the step limit
    assert [body.get("tool_choice") for body in bodies] == ["required", None, "auto", None]
    assert ["tools" in body for body in bodies] == [True, False, True, False]
