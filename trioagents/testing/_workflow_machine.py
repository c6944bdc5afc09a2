"""WorkflowMachine: property-test your own multi-agent workflow with Hypothesis.

Subclass it, say how to build your session and which LLM drives it, and give the
user's possible utterances::

    class RestaurantMachine(WorkflowMachine):
        utterances = st.sampled_from(["book a table", "Ada, 4 people at 7pm", "yes"])

        def build_session(self, llm):
            return build_session(llm)          # -> (AgentSession, first agent)

        def base_llm(self):
            return ScriptedLLM(RULES)

    TestRestaurant = RestaurantMachine.TestCase

Built-in rules: the user says something (with random LLM latencies, optionally
barging in after a random delay: before the first word, mid-reply, during a tool
or a transition, depending on where the delay lands), a tool call fails, the LLM
fails, the participant disconnects, time passes. Built-in invariants: see
:mod:`._workflow_replay`. Add your own rules that append operations, and your own
invariants by overriding :meth:`check_session` (the closed session and every event
it published → a list of violations).

Rules record operations; the whole list is replayed in one virtual-time Trio run
at teardown, so each example is fast and Hypothesis shrinks a failing sequence to
a minimal one (printed as the rule steps).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from ..core import LLM
from ..voice import Agent, AgentSession, SessionEvent
from ._workflow_replay import (
    Disconnected,
    Operation,
    ProviderErrorInjected,
    ToolFailureInjected,
    UserSaid,
    Waited,
    replay,
)

__all__ = ["WorkflowMachine"]

_LATENCY = st.sampled_from([0.0, 0.05, 0.3, 1.0])
_BARGE_IN = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 3.0]),
    st.floats(min_value=0.0, max_value=3.0, allow_nan=False),
)


class WorkflowMachine(RuleBasedStateMachine):
    """Base class; subclass and implement :meth:`build_session` and :meth:`base_llm`.

    ``settle_bound``: virtual seconds the session may take to become idle after an
    operation. ``close_bound``: virtual seconds closing may take (a tool with
    ``on_interrupt="complete"`` may hold it up to its ``interrupt_deadline``).
    """

    utterances: ClassVar[st.SearchStrategy[str]] = st.sampled_from(["hello"])
    settle_bound: ClassVar[float] = 120.0
    close_bound: ClassVar[float] = 20.0

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[Operation] = []
        self.disconnected = False

    # ------------------------------------------------------------ to implement
    def build_session(self, llm: LLM) -> tuple[AgentSession[Any], Agent]:
        """A fresh, unstarted session using ``llm``, and its first agent."""
        raise NotImplementedError

    def base_llm(self) -> LLM:
        """A fresh LLM for one example (wrapped with latency and fault injection)."""
        raise NotImplementedError

    def check_session(
        self, session: AgentSession[Any], events: Sequence[SessionEvent]
    ) -> Iterable[str]:
        """Your invariants, checked after the built-in ones at the end of each example.

        ``session`` is closed (``history``, ``userdata``, ``current_agent`` hold the
        outcome); ``events`` is everything it published. Return one string per
        violation; any makes the example fail (and Hypothesis shrink it).
        """
        return ()

    # ------------------------------------------------------------ rules
    @rule(
        text=st.runner().flatmap(lambda machine: machine.utterances),
        ttft=_LATENCY,
        token_delay=st.sampled_from([0.0, 0.02, 0.1]),
        barge_in_after=_BARGE_IN,
    )
    def user_says(
        self, text: str, ttft: float, token_delay: float, barge_in_after: float | None
    ) -> None:
        self.operations.append(UserSaid(text, ttft, token_delay, barge_in_after))

    @rule()
    def tool_fails(self) -> None:
        self.operations.append(ToolFailureInjected())

    @rule()
    def provider_fails(self) -> None:
        self.operations.append(ProviderErrorInjected())

    @rule(seconds=st.sampled_from([0.1, 1.0, 5.0]))  # always possible: keeps the machine live
    def time_passes(self, seconds: float) -> None:
        self.operations.append(Waited(seconds))

    @precondition(lambda self: not self.disconnected)
    @rule(after=_BARGE_IN)
    def disconnect(self, after: float | None) -> None:
        self.operations.append(Disconnected(after))
        self.disconnected = True

    # ------------------------------------------------------------ checking
    def teardown(self) -> None:
        """Replay the operations and check every invariant (raises WorkflowViolation)."""
        if not self.operations:
            return
        replay(
            self._build_checked,
            self.base_llm,
            self.operations,
            settle_bound=self.settle_bound,
            close_bound=self.close_bound,
            check=self.check_session,
        )

    def _build_checked(self, llm: LLM) -> tuple[AgentSession[Any], Agent]:
        session, agent = self.build_session(llm)
        return session, agent
