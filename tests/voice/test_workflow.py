"""The workflow state machine: discovery, start-up validation, Mermaid, run-time checks.

The restaurant-like agents below are the example drawn in ``docs/workflows.md``; a
test keeps the diagram there identical to what :meth:`Workflow.to_mermaid` emits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from trioagents.core import ChatContext, ConfigurationError, FunctionCall
from trioagents.voice import (
    KeepLastTurns,
    RunContext,
    ToolSet,
    ToolStepResult,
    Transition,
    UndeclaredTransitionError,
    Workflow,
    find_function_tools,
    function_tool,
    plan_handoff,
    run_tool_calls,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


class Agent:
    """Stands in for the session's Agent base class (same marker attributes)."""

    __trioagents_agent__ = True
    __trioagents_agent_base__ = True


class GreeterAgent(Agent):
    @function_tool
    async def start_reservation(self) -> ReservationAgent:
        """The caller wants to book a table."""
        return ReservationAgent()

    @function_tool
    async def start_takeaway(self) -> tuple[TakeawayAgent, str]:
        """The caller wants to order food to take away."""
        return TakeawayAgent(), "Let me take your order."

    @function_tool
    async def opening_hours(self) -> str:
        """Tell the opening hours."""
        return "Open 12:00-23:00"


class ReservationAgent(Agent):
    @function_tool
    async def confirm_reservation(
        self, ctx: RunContext[dict[str, Any]], time: str
    ) -> ConfirmationAgent:
        """Confirm the reservation time."""
        ctx.userdata["reservation"] = time
        return ConfirmationAgent()

    @function_tool
    async def cancel(self) -> GreeterAgent | None:
        """The caller changed their mind."""
        return GreeterAgent()


class TakeawayAgent(Agent):
    @function_tool
    async def checkout(self, items: list[str]) -> CheckoutAgent | str:
        """Go to payment, or explain why the order is not possible."""
        return CheckoutAgent() if items else "Nothing ordered yet."


class CheckoutAgent(Agent):
    @function_tool(transitions=["GreeterAgent"])
    async def finish(self) -> Any:
        """Payment done; back to the front desk."""
        return GreeterAgent()


class ConfirmationAgent(Agent):
    @function_tool(transitions=[GreeterAgent])
    async def done(self) -> object:
        """Everything confirmed."""
        return GreeterAgent()


RESTAURANT_MERMAID = """\
stateDiagram-v2
    [*] --> GreeterAgent
    GreeterAgent --> ReservationAgent: start_reservation
    GreeterAgent --> TakeawayAgent: start_takeaway
    ReservationAgent --> ConfirmationAgent: confirm_reservation
    ReservationAgent --> GreeterAgent: cancel
    TakeawayAgent --> CheckoutAgent: checkout
    ConfirmationAgent --> GreeterAgent: done
    CheckoutAgent --> GreeterAgent: finish
"""


def test_discovers_states_and_transitions_from_annotations_and_declarations() -> None:
    workflow = Workflow(GreeterAgent)
    assert workflow.initial is GreeterAgent
    assert [s.__name__ for s in workflow.states] == [
        "GreeterAgent",
        "ReservationAgent",
        "TakeawayAgent",
        "ConfirmationAgent",
        "CheckoutAgent",
    ]
    assert Transition(GreeterAgent, TakeawayAgent, "start_takeaway") in workflow.transitions
    assert workflow.targets_of(ReservationAgent) == (ConfirmationAgent, GreeterAgent)
    assert workflow.targets_of(CheckoutAgent) == (GreeterAgent,)
    assert len(workflow.transitions) == 7


def test_mermaid_export_is_deterministic_and_in_the_docs() -> None:
    text = Workflow(GreeterAgent).to_mermaid()
    assert text == RESTAURANT_MERMAID
    assert Workflow(GreeterAgent).to_mermaid() == text
    assert "```mermaid\n" + RESTAURANT_MERMAID + "```" in DOCS.read_text(encoding="utf-8")


def test_run_time_state_follows_declared_transitions_and_refuses_others() -> None:
    state = Workflow(GreeterAgent).start()
    assert state.current is GreeterAgent
    taken = state.transition(ReservationAgent(), via="start_reservation")
    assert taken == Transition(GreeterAgent, ReservationAgent, "start_reservation")
    assert state.current is ReservationAgent
    with pytest.raises(UndeclaredTransitionError) as info:
        state.transition(CheckoutAgent(), via="confirm_reservation")
    message = str(info.value)
    assert (
        "ReservationAgent may not hand off to CheckoutAgent through tool 'confirm_reservation'"
        in message
    )
    assert "declared targets: ConfirmationAgent, GreeterAgent" in message
    assert state.current is ReservationAgent  # a refused transition changes nothing
    with pytest.raises(UndeclaredTransitionError):
        state.check(GreeterAgent, via="confirm_reservation")  # right target, wrong tool
    stale = state.check(GreeterAgent, via="cancel")
    state.apply(state.check(ConfirmationAgent))
    with pytest.raises(UndeclaredTransitionError, match="call check\\(\\) again"):
        state.apply(stale)
    assert [t.target for t in state.history] == [ReservationAgent, ConfirmationAgent]
    assert state.workflow.initial is GreeterAgent


def test_workflow_level_transitions_are_usable_from_session_code() -> None:
    workflow = Workflow(GreeterAgent, transitions=[(TakeawayAgent, "ReservationAgent")])
    assert Transition(TakeawayAgent, ReservationAgent, None) in workflow.transitions
    assert "TakeawayAgent --> ReservationAgent\n" in workflow.to_mermaid()
    state = workflow.start()
    state.transition(TakeawayAgent, via="start_takeaway")
    state.transition(ReservationAgent)  # no tool involved


# ------------------------------------------------------------- start-up errors


class Lonely(Agent):
    pass


class Typo(Agent):
    @function_tool(transitions=["GreeterAgnet"])
    async def go(self) -> Any:
        """Go."""
        return None


class Vague(Agent):
    @function_tool
    async def go(self) -> Agent:
        """Hands off to *some* agent."""
        return GreeterAgent()


class NotAnAgent:
    pass


def test_unreachable_state_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        Workflow(GreeterAgent, states=[Lonely])
    assert "Lonely cannot be reached from GreeterAgent" in str(info.value)
    assert "add a tool returning them" in str(info.value)


def test_unknown_target_name_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        Workflow(Typo)
    message = str(info.value)
    assert "tool 'go' on Typo hands off to unknown agent 'GreeterAgnet'" in message
    assert "Check the spelling" in message


def test_generic_agent_annotation_is_ambiguous() -> None:
    with pytest.raises(ConfigurationError, match="agent base class Agent"):
        Workflow(Vague)


def test_non_agent_and_abstract_states_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an agent class"):
        Workflow(NotAnAgent)
    with pytest.raises(ConfigurationError, match="base class"):
        Workflow(Agent)
    with pytest.raises(ConfigurationError, match="not an agent class"):
        Workflow(GreeterAgent, transitions=[(GreeterAgent, NotAnAgent)])


def test_local_classes_resolve_through_states_or_fail_with_a_fix() -> None:
    class Second(Agent):
        pass

    class First(Agent):
        @function_tool
        async def next(self) -> Second:
            """Next."""
            return Second()

    with pytest.raises(ConfigurationError) as info:
        Workflow(First)
    assert "cannot evaluate the return annotation of tool 'next' on First" in str(info.value)
    assert "Workflow(states=[...])" in str(info.value)
    workflow = Workflow(First, states=[Second])
    assert workflow.targets_of(First) == (Second,)


def test_duplicate_state_names_are_refused() -> None:
    def make() -> type:
        class GreeterAgent(Agent):
            pass

        return GreeterAgent

    with pytest.raises(ConfigurationError, match="two agent classes are named 'GreeterAgent'"):
        Workflow(GreeterAgent, states=[make()])


# ------------------------------------------------------------- the session seam


async def test_a_session_like_driver_switches_agent_tools_and_context_atomically(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """How the session is meant to use these units: step -> check -> plan -> swap."""
    state = Workflow(GreeterAgent).start()
    agent: Any = GreeterAgent()
    tools = ToolSet(find_function_tools(agent))
    chat_ctx = ChatContext()
    chat_ctx.add_message("user", "A table please")
    history = chat_ctx.copy()
    userdata: dict[str, Any] = {}

    async def step(calls: list[FunctionCall]) -> ToolStepResult:
        nonlocal agent, tools, chat_ctx
        committed: list[ToolStepResult] = []

        def context(call: FunctionCall) -> RunContext[dict[str, Any]]:
            return RunContext(None, None, call, userdata)

        result = await run_tool_calls(calls, tools, context, committed.append)
        chat_ctx.extend(result.chat_items())
        history.extend(result.chat_items())
        if result.handoff is not None:
            transition = state.check(result.handoff.agent, via=result.handoff.call.name)
            plan = await plan_handoff(
                old_agent=agent,
                new_agent=result.handoff.agent,
                chat_ctx=chat_ctx,
                policy=KeepLastTurns(1),
            )
            # the swap: synchronous, nothing can interleave
            state.apply(transition)
            agent, tools, chat_ctx = plan.new_agent, plan.tools, plan.chat_ctx
            history.append(plan.item)
        return result

    first = await step([FunctionCall("c1", "start_reservation", "{}")])
    assert not first.reply_required
    assert isinstance(agent, ReservationAgent)
    assert list(tools) == ["confirm_reservation", "cancel"]
    assert state.current is ReservationAgent
    assert [type(i).__name__ for i in chat_ctx] == [
        "ChatMessage",
        "FunctionCall",
        "FunctionCallOutput",
    ]

    await step([FunctionCall("c2", "confirm_reservation", '{"time": "20:00"}')])
    assert isinstance(agent, ConfirmationAgent)
    assert userdata == {"reservation": "20:00"}  # shared state survives the handoffs
    handoffs = [i for i in history if type(i).__name__ == "AgentHandoff"]
    assert [(h.old_agent, h.new_agent) for h in handoffs] == [  # type: ignore[union-attr]
        ("GreeterAgent", "ReservationAgent"),
        ("ReservationAgent", "ConfirmationAgent"),
    ]


# ------------------------------------------------------------- run-time property

STATES = Workflow(GreeterAgent).states
TOOL_NAMES = sorted({t.tool for t in Workflow(GreeterAgent).transitions if t.tool})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(STATES), st.none() | st.sampled_from(TOOL_NAMES)),
        max_size=20,
    )
)
def test_workflow_state_moves_only_along_declared_edges(
    attempts: list[tuple[type, str | None]],
) -> None:
    workflow = Workflow(GreeterAgent)
    edges = {(t.source, t.target, t.tool) for t in workflow.transitions}
    state = workflow.start()
    expected = GreeterAgent
    for target, via in attempts:
        allowed = any((expected, target, tool) in edges for tool in ([via] if via else TOOL_NAMES))
        if allowed:
            taken = state.transition(target(), via=via)
            assert (taken.source, taken.target) == (expected, target)
            expected = target
        else:
            with pytest.raises(UndeclaredTransitionError):
                state.transition(target, via=via)
        assert state.current is expected
    if state.history:
        assert state.history[0].source is GreeterAgent
        assert state.history[-1].target is expected
    pairs = zip(state.history, state.history[1:], strict=False)
    assert all(a.target is b.source for a, b in pairs)
