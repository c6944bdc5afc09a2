"""Handoff planning: context policies computed as a value, nothing mutated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
import trio
import trio.testing

from trioagents.core import (
    AgentHandoff,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    LLMEvent,
    LLMTextDelta,
    LLMUsage,
    ProviderStatusError,
    ToolChoice,
    ToolSpec,
)
from trioagents.voice import (
    Custom,
    HandoffRequestContext,
    KeepLastTurns,
    Reset,
    Summarize,
    function_tool,
    plan_handoff,
)
from trioagents.voice._handoff import complete_pairs


class Agent:
    __trioagents_agent__ = True
    __trioagents_agent_base__ = True


class GreeterAgent(Agent):
    @function_tool
    async def to_booking(self) -> BookingAgent:
        """Start a booking."""
        return BookingAgent()


class BookingAgent(Agent):
    @function_tool
    async def book(self, party_size: int) -> str:
        """Book a table."""
        return "booked"


class _Events:
    def __init__(self, events: list[LLMEvent], delay: float) -> None:
        self._events = list(events)
        self._delay = delay

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> LLMEvent:
        await trio.sleep(self._delay)
        if not self._events:
            raise StopAsyncIteration
        return self._events.pop(0)


class ScriptedLLM:
    """A tiny LLM fake: answers every request with ``reply``, split into words."""

    def __init__(self, reply: str = "", *, delay: float = 0.1, error: bool = False) -> None:
        self.reply = reply
        self.delay = delay
        self.error = error
        self.requests: list[tuple[ChatContext, tuple[ToolSpec, ...], ToolChoice]] = []

    @property
    def label(self) -> str:
        return "scripted"

    @asynccontextmanager
    async def _open(
        self, chat_ctx: ChatContext, tools: Sequence[ToolSpec], tool_choice: ToolChoice
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        self.requests.append((chat_ctx.copy(), tuple(tools), tool_choice))
        if self.error:
            raise ProviderStatusError("overloaded", provider="scripted", status=503)
        events: list[LLMEvent] = [LLMTextDelta(w + " ") for w in self.reply.split()]
        events.append(LLMUsage(prompt_tokens=10, completion_tokens=len(events)))
        yield _Events(events, self.delay)

    def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
        return self._open(chat_ctx, tools, tool_choice)


def conversation() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message("system", "You are the greeter.")
    ctx.add_message("user", "Hi, a table for four tonight?")
    ctx.add_message("assistant", "Sure, let me check.")
    ctx.append(FunctionCall("c1", "check_availability", "{}"))
    ctx.append(FunctionCallOutput("c1", "check_availability", "free at 8"))
    ctx.add_message("user", "Eight is fine.")
    ctx.append(FunctionCall("c2", "to_booking", "{}"))  # the handoff call: no output yet
    return ctx


def roles(ctx: ChatContext) -> list[str]:
    out = []
    for item in ctx:
        if isinstance(item, ChatMessage):
            out.append(f"{item.role}:{item.content}")
        else:
            out.append(type(item).__name__ + ":" + item.call_id)  # type: ignore[union-attr]
    return out


async def test_keep_all_drops_instructions_and_orphans_and_mutates_nothing() -> None:
    ctx = conversation()
    before = ctx.to_dict()
    plan = await plan_handoff(old_agent=GreeterAgent(), new_agent=BookingAgent(), chat_ctx=ctx)
    assert ctx.to_dict() == before
    assert roles(plan.chat_ctx) == [
        "user:Hi, a table for four tonight?",
        "assistant:Sure, let me check.",
        "FunctionCall:c1",
        "FunctionCallOutput:c1",
        "user:Eight is fine.",
    ]
    assert plan.item.old_agent == "GreeterAgent"
    assert plan.item.new_agent == "BookingAgent"
    assert isinstance(plan.item, AgentHandoff)
    assert list(plan.tools) == ["book"]
    assert plan.chat_ctx is not ctx


async def test_reset_and_keep_last_turns() -> None:
    ctx = conversation()
    reset = await plan_handoff(
        old_agent=None, new_agent=BookingAgent(), chat_ctx=ctx, policy=Reset()
    )
    assert len(reset.chat_ctx) == 0
    assert reset.item.old_agent is None
    last = await plan_handoff(
        old_agent=GreeterAgent(), new_agent=BookingAgent(), chat_ctx=ctx, policy=KeepLastTurns(1)
    )
    assert roles(last.chat_ctx) == ["user:Eight is fine."]
    two = await plan_handoff(
        old_agent=GreeterAgent(), new_agent=BookingAgent(), chat_ctx=ctx, policy=KeepLastTurns(2)
    )
    assert roles(two.chat_ctx)[0] == "user:Hi, a table for four tonight?"
    with pytest.raises(ConfigurationError):
        KeepLastTurns(-1)


async def test_summarize_replaces_older_turns(autojump_clock: trio.testing.MockClock) -> None:
    llm = ScriptedLLM("Party of four, tonight at eight.")
    ctx = conversation()
    before = ctx.to_dict()
    plan = await plan_handoff(
        old_agent=GreeterAgent(),
        new_agent=BookingAgent(),
        chat_ctx=ctx,
        policy=Summarize(llm, keep_last_turns=1),
    )
    assert ctx.to_dict() == before
    assert plan.summary == "Party of four, tonight at eight."
    assert roles(plan.chat_ctx) == [
        "assistant:Summary of the conversation so far: Party of four, tonight at eight.",
        "user:Eight is fine.",
    ]
    [(request, tools, choice)] = llm.requests
    assert tools == ()
    assert choice == "none"
    assert roles(request)[:2] == [
        "user:Hi, a table for four tonight?",
        "assistant:Sure, let me check.",
    ]
    assert "user:Eight is fine." not in roles(request)  # kept verbatim, not summarized
    assert roles(request)[-1].startswith("system:Summarize the conversation")
    assert plan.item.created_at == trio.current_time()
    assert plan.item.created_at > 0  # stamped after the (virtual) LLM latency


async def test_summarize_without_older_turns_does_not_call_the_llm() -> None:
    llm = ScriptedLLM("unused")
    ctx = ChatContext()
    ctx.add_message("user", "hello")
    plan = await plan_handoff(
        old_agent=GreeterAgent(), new_agent=BookingAgent(), chat_ctx=ctx, policy=Summarize(llm, 1)
    )
    assert llm.requests == []
    assert roles(plan.chat_ctx) == ["user:hello"]


async def test_summarize_failure_raises_or_falls_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ctx = conversation()
    with pytest.raises(ProviderStatusError):
        await plan_handoff(
            old_agent=GreeterAgent(),
            new_agent=BookingAgent(),
            chat_ctx=ctx,
            policy=Summarize(ScriptedLLM(error=True)),
        )
    plan = await plan_handoff(
        old_agent=GreeterAgent(),
        new_agent=BookingAgent(),
        chat_ctx=ctx,
        policy=Summarize(ScriptedLLM(error=True), fallback=KeepLastTurns(1)),
    )
    assert roles(plan.chat_ctx) == ["user:Eight is fine."]
    assert plan.summary is None


async def test_cancelled_summary_changes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    ctx = conversation()
    before = ctx.to_dict()
    llm = ScriptedLLM("a long summary " * 20, delay=1.0)
    with trio.move_on_after(3) as scope:
        await plan_handoff(
            old_agent=GreeterAgent(), new_agent=BookingAgent(), chat_ctx=ctx, policy=Summarize(llm)
        )
    assert scope.cancelled_caught
    assert ctx.to_dict() == before


async def test_custom_policy_sync_and_async() -> None:
    seen: list[HandoffRequestContext] = []

    def only_user(request: HandoffRequestContext) -> ChatContext:
        seen.append(request)
        request.chat_ctx.add_message("user", "scribble")  # a copy: must not leak
        return ChatContext(m for m in request.chat_ctx.messages() if m.role == "user")

    async def note(request: HandoffRequestContext) -> ChatContext:
        await trio.lowlevel.checkpoint()
        out = ChatContext()
        out.add_message("assistant", f"Handed over with: {request.message}")
        return out

    ctx = conversation()
    before = ctx.to_dict()
    plan = await plan_handoff(
        old_agent=GreeterAgent(),
        new_agent=BookingAgent(),
        chat_ctx=ctx,
        policy=Custom(only_user),
        message="booking next",
    )
    assert ctx.to_dict() == before
    assert [m.content for m in plan.chat_ctx.messages()][-1] == "scribble"
    assert isinstance(seen[0].old_agent, GreeterAgent)
    assert seen[0].message == "booking next"
    plan = await plan_handoff(
        old_agent=GreeterAgent(),
        new_agent=BookingAgent(),
        chat_ctx=ctx,
        policy=Custom(note),
        message="hi",
    )
    assert roles(plan.chat_ctx) == ["assistant:Handed over with: hi"]
    assert plan.message == "hi"


async def test_bad_inputs_are_configuration_errors() -> None:
    ctx = conversation()
    with pytest.raises(ConfigurationError, match="must return a ChatContext"):
        await plan_handoff(
            old_agent=None,
            new_agent=BookingAgent(),
            chat_ctx=ctx,
            policy=Custom(lambda request: [1, 2]),  # type: ignore[arg-type,return-value]
        )
    with pytest.raises(ConfigurationError, match="agent instance"):
        await plan_handoff(old_agent=None, new_agent=BookingAgent, chat_ctx=ctx)
    with pytest.raises(ConfigurationError, match="unknown context policy"):
        await plan_handoff(
            old_agent=None,
            new_agent=BookingAgent(),
            chat_ctx=ctx,
            policy="keep",  # type: ignore[arg-type]
        )


async def test_explicit_tools_replace_discovery() -> None:
    @function_tool
    def extra() -> str:
        """Extra."""
        return "x"

    plan = await plan_handoff(
        old_agent=None, new_agent=BookingAgent(), chat_ctx=ChatContext(), tools=[extra]
    )
    assert list(plan.tools) == ["extra"]


def test_complete_pairs_drops_orphans_both_ways() -> None:
    ctx = ChatContext(
        [
            FunctionCallOutput("lost", "x", "?"),
            FunctionCall("ok", "y", "{}"),
            FunctionCallOutput("ok", "y", "fine"),
            FunctionCall("pending", "z", "{}"),
        ]
    )
    assert [i.call_id for i in complete_pairs(ctx)] == ["ok", "ok"]  # type: ignore[union-attr]
