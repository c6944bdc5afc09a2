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

from trioagents.core import AgentHandoff, ChatContext, ConfigurationError, FunctionCall
from trioagents.voice import (
    ContextPolicy,
    Custom,
    HandoffRequestContext,
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


def test_to_dict_describes_the_graph_by_name() -> None:
    described = Workflow(GreeterAgent).to_dict()
    assert described["initial"] == "GreeterAgent"
    assert described["states"][-1] == "CheckoutAgent"
    assert described["transitions"][0] == {
        "source": "GreeterAgent",
        "target": "ReservationAgent",
        "tool": "start_reservation",
    }
    assert len(described["transitions"]) == 7


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


class MiniSession:
    """How the session is meant to use these units: step -> check -> plan -> swap."""

    def __init__(self, policy: ContextPolicy) -> None:
        self.state = Workflow(GreeterAgent).start()
        self.agent: Any = GreeterAgent()
        self.tools = ToolSet(find_function_tools(self.agent))
        self.chat_ctx = ChatContext()
        self.chat_ctx.add_message("user", "A table please")
        self.history = self.chat_ctx.copy()
        self.userdata: dict[str, Any] = {}
        self.policy = policy

    def context(self, call: FunctionCall) -> RunContext[dict[str, Any]]:
        return RunContext(self, None, call, self.userdata)

    def commit(self, result: ToolStepResult) -> None:
        self.chat_ctx.extend(result.chat_items())
        self.history.extend(result.chat_items())

    async def step(self, calls: list[FunctionCall]) -> ToolStepResult:
        result = await run_tool_calls(calls, self.tools, self.context, self.commit)
        if result.handoff is not None:
            handoff = result.handoff
            transition = self.state.check(handoff.agent, via=handoff.call.name)
            plan = await plan_handoff(
                old_agent=self.agent,
                new_agent=handoff.agent,
                chat_ctx=self.chat_ctx,
                policy=self.policy,
                message=handoff.message,
            )
            # the swap: synchronous, nothing can interleave
            self.state.apply(transition)
            self.agent, self.tools, self.chat_ctx = plan.new_agent, plan.tools, plan.chat_ctx
            self.history.append(plan.item)
        return result


async def test_a_session_like_driver_switches_agent_tools_and_context_atomically(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = MiniSession(KeepLastTurns(1))
    first = await session.step([FunctionCall("c1", "start_reservation", "{}")])
    assert not first.reply_required
    assert isinstance(session.agent, ReservationAgent)
    assert list(session.tools) == ["confirm_reservation", "cancel"]
    assert session.state.current is ReservationAgent
    assert [type(i).__name__ for i in session.chat_ctx] == [
        "ChatMessage",
        "FunctionCall",
        "FunctionCallOutput",
    ]

    await session.step([FunctionCall("c2", "confirm_reservation", '{"time": "20:00"}')])
    assert isinstance(session.agent, ConfirmationAgent)
    assert session.userdata == {"reservation": "20:00"}  # shared state survives handoffs
    handoffs = [i for i in session.history if isinstance(i, AgentHandoff)]
    assert [(h.old_agent, h.new_agent) for h in handoffs] == [
        ("GreeterAgent", "ReservationAgent"),
        ("ReservationAgent", "ConfirmationAgent"),
    ]


async def test_a_handoff_cancelled_while_planning_leaves_everything_as_it_was(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def slow_policy(request: HandoffRequestContext) -> ChatContext:
        await trio.sleep(10)  # e.g. a summary that takes long
        return ChatContext()

    session = MiniSession(Custom(slow_policy))
    agent, tools = session.agent, session.tools
    with trio.move_on_after(1) as turn:
        await session.step([FunctionCall("c1", "start_reservation", "{}")])
    assert turn.cancelled_caught
    assert session.agent is agent
    assert session.tools is tools
    assert session.state.current is GreeterAgent
    assert session.state.history == ()
    assert not any(isinstance(i, AgentHandoff) for i in session.history)
    # the tool step itself was committed once, before the planning started
    kinds = [type(i).__name__ for i in session.chat_ctx]
    assert kinds[-2:] == ["FunctionCall", "FunctionCallOutput"]


class BadSchema(Agent):
    @function_tool
    async def upload(self, blob: bytes) -> str:
        """Unsupported parameter type."""
        return "x"


def test_tool_schema_errors_surface_when_the_workflow_is_built() -> None:
    with pytest.raises(ConfigurationError, match="tool 'upload' parameter 'blob'"):
        Workflow(BadSchema)


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
