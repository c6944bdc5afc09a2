"""A handoff tool without a return annotation (LiveKit style) hands off, with a warning."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import AgentHandoff, ConfigurationError, FunctionCallOutput
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    UndeclaredTransitionError,
    Workflow,
    function_tool,
)


class Reception(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="reception")

    @function_tool
    async def to_sales(self):  # type: ignore[no-untyped-def]  # as ported from LiveKit
        """Transfer to sales."""
        return Sales(), "Transferring you to sales."

    @function_tool
    async def to_nobody(self):  # type: ignore[no-untyped-def]
        """Returns the generic base agent."""
        return Agent(instructions="anyone")

    @function_tool
    async def weather(self):  # type: ignore[no-untyped-def]
        """An ordinary tool without an annotation."""
        return "sunny"


class Sales(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="sales")

    @function_tool
    async def to_billing(self) -> Billing:
        """Annotated: discovered when Sales is learned."""
        return Billing()


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="billing")


def handoffs(session: AgentSession[None]) -> list[tuple[str | None, str]]:
    return [(i.old_agent, i.new_agent) for i in session.history if isinstance(i, AgentHandoff)]


async def test_an_unannotated_tool_returning_an_agent_hands_off_and_warns(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    llm = AgentLLM(
        {
            "reception": [LLMScript(tool_calls=[call("to_sales")])],
            "sales": [LLMScript(tool_calls=[call("to_billing")])],
            "billing": [LLMScript("Billing here.")],
        }
    )
    workflow = Workflow(Reception)
    assert workflow.is_open(Reception, "to_sales")
    assert workflow.is_open(Reception, "weather")  # open too, but returns no agent
    assert not workflow.is_open(Sales, "to_billing")
    session: AgentSession[None] = AgentSession(llm=llm)
    with caplog.at_level(logging.WARNING, logger="trioagents.voice.transitions"):
        async with session.start(Reception(), workflow=workflow):
            await session.run(user_input="I want to buy")
            assert session.current_agent.name == "Sales"
            await session.run(user_input="about my bill")  # Sales' own, annotated, tool
            assert session.current_agent.name == "Billing"
    assert handoffs(session) == [("Reception", "Sales"), ("Sales", "Billing")]
    [warning] = [r for r in caplog.records if "without a return annotation" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "'to_sales' on Reception" in warning.getMessage()
    assert "`-> Sales`" in warning.getMessage()
    assert {(t.source, t.target, t.tool) for t in workflow.transitions} >= {
        (Reception, Sales, "to_sales"),
        (Sales, Billing, "to_billing"),
    }


async def test_returning_the_base_agent_is_refused_and_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    llm = AgentLLM({"reception": [LLMScript(tool_calls=[call("to_nobody")]), LLMScript("Sorry.")]})
    session: AgentSession[None] = AgentSession(llm=llm)
    with caplog.at_level(logging.WARNING, logger="trioagents.voice.tools"):
        async with session.start(Reception()):
            result = await session.run(user_input="anyone")
            assert session.current_agent.name == "Reception"
    output = next(i for i in result.items if isinstance(i, FunctionCallOutput))
    assert output.is_error
    assert "base class" in output.output
    assert any("handoff refused" in r.getMessage() for r in caplog.records)


def test_learn_refuses_declared_tools_and_changes_nothing_on_failure() -> None:
    workflow = Workflow(Reception)
    with pytest.raises(UndeclaredTransitionError, match="declares its targets"):
        workflow.learn(Sales, Reception, "to_billing")
    before = (workflow.states, workflow.transitions)
    with pytest.raises(ConfigurationError, match="base class"):
        workflow.learn(Reception, Agent, "to_nobody")
    assert (workflow.states, workflow.transitions) == before
    transition = workflow.learn(Reception, Sales, "to_sales")
    assert (transition.source, transition.target) == (Reception, Sales)
    assert Billing in workflow.states  # discovered through Sales' annotated tool
    assert workflow.learn(Reception, Sales, "to_sales") == transition  # idempotent
    assert workflow.states.count(Sales) == 1
