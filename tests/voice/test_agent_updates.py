"""``Agent.update_instructions`` / ``update_chat_ctx``: the next LLM request sees them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import call
from trioagents.core import (
    ChatContext,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
)
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import Agent, AgentSession, RunContext, function_tool


class Concierge(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a concierge.")

    @function_tool
    async def speak_french(self, context: RunContext[None]) -> str:
        """Switch to French."""
        await self.update_instructions("Tu es un concierge. Réponds en français.")
        return "switched"

    @function_tool
    async def forget(self, context: RunContext[None]) -> str:
        """Forget the conversation so far."""
        await self.update_chat_ctx(ChatContext())
        return "forgotten"


def system_of(llm: FakeLLM, index: int) -> list[str]:
    return [m.content for m in llm.requests[index].chat_ctx.messages() if m.role == "system"]


async def test_instructions_updated_by_a_tool_apply_to_the_next_llm_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(
        {
            "french please": [
                LLMScript("", tool_calls=[call("speak_french")]),
                LLMScript("Bien sûr."),
            ],
            "merci": LLMScript("De rien."),
        }
    )
    session: AgentSession[None] = AgentSession(llm=llm)
    async with session.start(Concierge()):
        await session.run(user_input="french please")
        await session.run(user_input="merci")
    assert system_of(llm, 0) == ["You are a concierge."]
    assert system_of(llm, 1) == ["Tu es un concierge. Réponds en français."]  # same turn
    assert system_of(llm, 2) == ["Tu es un concierge. Réponds en français."]
    assert session.current_agent.instructions.startswith("Tu es")
    # nothing about the change in the session's record
    assert all(not (isinstance(i, ChatMessage) and i.role == "system") for i in session.history)


async def test_update_chat_ctx_replaces_the_agents_memory_not_the_history(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(
        {
            "my name is Ada": LLMScript("Hello Ada."),
            "forget me": [LLMScript("", tool_calls=[call("forget")]), LLMScript("Done.")],
            "who am I": LLMScript("I don't know."),
        }
    )
    session: AgentSession[None] = AgentSession(llm=llm)
    async with session.start(Concierge()) as running:
        await running.run(user_input="my name is Ada")
        await running.run(user_input="forget me")
        await running.run(user_input="who am I")
    last = [f"{m.role}:{m.content}" for m in llm.requests[-1].chat_ctx.messages()]
    # the step after the tool saw only the tool's own call/output (recorded after the
    # replacement); the next turn sees that, the reply and the new question -- no Ada
    assert not any("Ada" in line for line in last)
    assert last[0] == "system:You are a concierge."
    assert last[-1] == "user:who am I"
    history = [i.content for i in session.history if isinstance(i, ChatMessage)]
    assert history[:2] == ["my name is Ada", "Hello Ada."]  # the record keeps everything
    assert history[-2:] == ["who am I", "I don't know."]


async def test_update_chat_ctx_before_start_seeds_the_first_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(default=LLMScript("Welcome back."))
    agent = Agent(instructions="be kind")
    seeded = ChatContext()
    seeded.add_message("system", "be kind")  # e.g. from llm_input(): not doubled
    seeded.add_message("user", "earlier question")
    seeded.add_message("assistant", "earlier answer")
    seeded.append(FunctionCall("orphan", "lookup", "{}"))  # no output: dropped
    seeded.append(FunctionCallOutput("lonely", "lookup", "x"))  # no call: dropped
    await agent.update_chat_ctx(seeded)
    session: AgentSession[None] = AgentSession(llm=llm)
    async with session.start(agent):
        await session.run(user_input="hi again")
    items = llm.requests[0].chat_ctx.items
    assert [type(i).__name__ for i in items] == ["ChatMessage"] * 4
    assert [i.content for i in items if isinstance(i, ChatMessage)] == [
        "be kind",
        "earlier question",
        "earlier answer",
        "hi again",
    ]


async def test_keeping_unpaired_calls_on_request_and_refusing_bad_arguments() -> None:
    agent = Agent(instructions="x")
    ctx = ChatContext([FunctionCall("orphan", "lookup", "{}")])
    await agent.update_chat_ctx(ctx, exclude_invalid_function_calls=False)
    assert len(agent.chat_ctx) == 1
    assert agent.chat_ctx is not ctx  # a copy
    with pytest.raises(ConfigurationError):
        await agent.update_chat_ctx([])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        await agent.update_instructions(None)  # type: ignore[arg-type]


async def test_a_cancelled_update_changes_nothing() -> None:
    agent = Agent(instructions="old")
    with trio.CancelScope() as scope:
        scope.cancel()
        await agent.update_instructions("new")
    assert agent.instructions == "old"
