"""Agent transitions inside a running session: handoffs and AgentTask switches.

A transition has two halves. The *decision* is synchronous: the tool runner's
commit callback sees a step whose handoff survived reconciliation, checks it
against the workflow and calls :meth:`Switcher.decide_handoff`. From that moment
the old agent says nothing more: the turn that made the decision gets no further
LLM step, and the scheduler performs the transition (:meth:`Switcher.run_handoff`)
before it takes the next speech.

The *switch* is planned, then applied:

1. ``plan_handoff`` computes the new agent's context (it may await an LLM for a
   summary); cancellation or failure there changes nothing;
2. the old agent's ``on_exit`` runs, shielded and bounded by ``close_grace``;
3. with no checkpoint in between: the new agent's context is its seed, the plan's
   context and the items recorded *during* steps 1-2 (a user who spoke during the
   transition is not lost); the workflow state moves; the activity's agent, tools
   and reply environment are replaced; the handoff item is recorded in history; an
   :class:`AgentHandedOff` event is published; the new agent's ``on_enter`` is
   started in its own task of the activity nursery.

While a transition is decided or running the switcher is *busy*: the scheduler
holds the next speech, user-turn replies wait, no preemptive generation starts.
A barge-in during a transition therefore does not cancel it (there is no old
speech left to cancel); the user's words reach the new agent.

Rejected alternatives: running the transition inside the turn's cancel scope (a
barge-in after the decision would leave "Transferred to X" in the context with no
transfer); LiveKit's drain-then-close of the old activity (a half-switched session
is observable between the two).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ..core import AgentHandoff, ChatContext, ChatItem, ConfigurationError, ProviderError
from ._agent import Agent
from ._events import AgentHandedOff, HandoffKind
from ._handoff import ContextPolicy, HandoffPlan, plan_handoff
from ._handoff_agent import agent_name
from ._tools import FunctionTool
from ._tools_outcome import HandoffRequest
from ._workflow import Transition, UndeclaredTransitionError, WorkflowState

if TYPE_CHECKING:
    from ._activity import AgentActivity

__all__ = [
    "CALLER_AGENT",
    "CURRENT_ACTIVITY",
    "IN_ENTER",
    "IN_TURN",
    "PlannedSwitch",
    "Switcher",
]

logger = logging.getLogger("trioagents.voice.transitions")

CURRENT_ACTIVITY: ContextVar[AgentActivity | None] = ContextVar(
    "trioagents_current_activity", default=None
)
"""The activity whose tasks run in this context (set by ``AgentActivity.run``)."""

IN_TURN: ContextVar[bool] = ContextVar("trioagents_in_turn", default=False)
"""True inside a turn's task tree (tools included), False in ``on_enter`` tasks."""

IN_ENTER: ContextVar[bool] = ContextVar("trioagents_in_enter", default=False)
"""True inside an ``on_enter`` task (counted as busy by the activity)."""

CALLER_AGENT: ContextVar[Agent | None] = ContextVar("trioagents_caller_agent", default=None)
"""The agent whose tool or ``on_enter`` runs in this task (the parent of an AgentTask)."""


class Switcher:
    """The transitions of one activity: pending decision, busy state, entries."""

    def __init__(self, activity: AgentActivity, workflow: WorkflowState | None) -> None:
        self._activity = activity
        self.workflow = workflow
        self._pending: tuple[HandoffRequest, Transition | None] | None = None
        self._requested = False  # update_agent asked; decided once the floor is free
        self.transitioning = False  # a decided handoff is being performed
        self._holds = 0
        self._settled = trio.Event()
        self._settled.set()
        self.entering = 0
        self._task_scopes: set[trio.CancelScope] = set()
        self._closing = False
        self._task_slots: weakref.WeakKeyDictionary[Agent, trio.Lock] = weakref.WeakKeyDictionary()

    # ------------------------------------------------------------ busy state
    @property
    def busy(self) -> bool:
        return self._holds > 0

    @property
    def handoff_decided(self) -> bool:
        """A handoff was decided and not yet run (:meth:`run_handoff` will run it)."""
        return self._pending is not None

    def hold(self) -> None:
        """Mark a transition as decided or running (synchronous)."""
        self._holds += 1
        self._settled = trio.Event() if self._settled.is_set() else self._settled
        self._activity.notify()

    def release(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._settled.set()
        self._activity.notify()

    async def wait_settled(self) -> None:
        """Return once no transition is decided or running (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while self._holds:
            await self._settled.wait()

    # ------------------------------------------------------------ handoffs
    def check_handoff(self, request: HandoffRequest) -> Transition | None:
        """The workflow transition for ``request`` (pure); raises ConfigurationError.

        ``UndeclaredTransitionError`` when the workflow does not declare it (a tool
        with no return annotation is learned instead, with a warning); a plain
        ConfigurationError when the current agent is an AgentTask (it completes
        instead of handing off) or a handoff is already decided.
        """
        if getattr(self._activity.agent, "is_agent_task", False):
            raise ConfigurationError(
                "an AgentTask cannot hand off; call complete() to return to its caller"
            )
        if self._pending is not None or self._requested:
            raise ConfigurationError("a handoff is already decided for this turn")
        if self.workflow is None:
            return None
        via = request.call.name if request.call is not None else None
        try:
            return self.workflow.check(request.agent, via=via)
        except UndeclaredTransitionError:
            source = self.workflow.current
            if via is None or not self.workflow.workflow.is_open(source, via):
                raise
        return self._learn(source, type(request.agent), via)

    def _learn(self, source: type, target: type, via: str) -> Transition:
        """A handoff through a tool without a return annotation: accept it (LiveKit's
        rule), add it to the workflow, and say how to declare it (see ``_workflow.py``).
        """
        workflow = self.workflow
        assert workflow is not None
        workflow.workflow.learn(source, target, via)
        logger.warning(
            "tool %r on %s handed off to %s without a return annotation; the workflow "
            "accepted it at run time, unchecked at start-up. Annotate the tool "
            "`-> %s` (or @function_tool(transitions=[%s])) so it is validated",
            via,
            source.__name__,
            target.__name__,
            target.__name__,
            target.__name__,
            extra={"tool": via, "old_agent": source.__name__, "new_agent": target.__name__},
        )
        return workflow.check(target, via=via)

    def decide_handoff(self, request: HandoffRequest, transition: Transition | None) -> None:
        """Record the decision (synchronous); the scheduler runs it after the turn."""
        self._pending = (request, transition)
        self.hold()

    async def run_handoff(self) -> None:
        """Perform the decided handoff, if any (see the module docstring).

        Checkpoints in planning and ``on_exit``. On cancellation (session close) or
        a planning failure nothing is switched. Raises nothing but ``Cancelled``.
        """
        if self._pending is None:
            return
        (request, transition), self._pending = self._pending, None
        self.transitioning = True
        try:
            await self._handoff(request, transition)
        finally:
            self.transitioning = False
            self.release()

    async def _handoff(self, request: HandoffRequest, transition: Transition | None) -> None:
        activity = self._activity
        old, new = activity.agent, request.agent
        plan = await self.plan(old, new, old.chat_ctx, new.context_policy, request.message)
        if plan is None:
            return
        snapshot = len(plan.source)
        await self.exit(old)
        # ---- no checkpoint from here: the switch is atomic ----
        if transition is not None and self.workflow is not None:
            self.workflow.apply(transition)
        items = [*plan.handoff.chat_ctx, *old.chat_ctx.items[snapshot:]]
        self.swap(new, items, plan.handoff.item, "handoff")
        self.start_entering(new)

    # ------------------------------------------------------------ session code
    def request_switch(self, agent: Agent) -> None:
        """``AgentSession.update_agent``: validate now, switch when the floor is free.

        Raises (synchronously) what a tool handoff would: ConfigurationError for an
        AgentTask in charge or a decided handoff, UndeclaredTransitionError for a
        transition the workflow does not declare. The switch itself waits until no
        speech plays or finishes and no transition runs (the current speech ends
        first, as LiveKit's drain does; queued ones are then spoken by ``agent``),
        then runs like a tool's handoff: planned, on_exit, one atomic swap, on_enter.
        """
        if not isinstance(agent, Agent):
            raise ConfigurationError(f"update_agent needs an Agent, got {type(agent).__name__}")
        request = HandoffRequest(agent, None, None)
        self.check_handoff(request)
        # held from now: no new speech starts, no tool handoff is decided, not idle
        self._requested = True
        self.hold()
        self._activity.spawn(self._switch_when_free, request)

    async def _switch_when_free(self, request: HandoffRequest) -> None:
        activity = self._activity
        transition: Transition | None = None
        decided = False
        try:
            await activity.wait_switchable()
            self._requested = False
            transition = self.check_handoff(request)
            decided = True
        except ConfigurationError as exc:  # e.g. an AgentTask took over meanwhile
            logger.warning(
                "update_agent dropped: the switch is no longer allowed",
                exc_info=exc,
                extra={"new_agent": agent_name(request.agent)},
            )
        finally:
            if not decided:  # dropped, or cancelled by the session's close: give the hold back
                self._requested = False
                self.release()
        if not decided:
            return
        self._pending = (request, transition)  # decided; the hold taken above is its hold
        await activity.run_decided_handoff()

    # ------------------------------------------------------------ building blocks
    async def plan(
        self,
        old: Agent,
        new: Agent,
        chat_ctx: ChatContext,
        policy: ContextPolicy | None,
        message: str | None = None,
    ) -> PlannedSwitch | None:
        """Plan a switch from ``old`` to ``new``; None (logged) when planning failed."""
        source = ChatContext(chat_ctx.items)
        tools = [tool for tool in new.tools if isinstance(tool, FunctionTool)]
        try:
            handoff = await plan_handoff(
                old_agent=old,
                new_agent=new,
                chat_ctx=source,
                policy=policy,
                message=message,
                tools=tools,
            )
        except (ProviderError, ConfigurationError) as exc:
            logger.warning(
                "agent transition planning failed; the current agent stays",
                exc_info=exc,
                extra={"old_agent": old.name, "new_agent": new.name},
            )
            return None
        return PlannedSwitch(handoff, source)

    async def exit(self, agent: Agent) -> None:
        """Run ``agent.on_exit()`` shielded and bounded by ``close_grace``."""
        grace = self._activity.session.options.close_grace
        with trio.CancelScope(shield=True), trio.move_on_after(grace):
            await agent.on_exit()

    def swap(
        self, new: Agent, items: Sequence[ChatItem], item: AgentHandoff, kind: HandoffKind
    ) -> None:
        """Switch agent, tools and context in one step (no checkpoint); announce it.

        ``items`` are appended to ``new``'s context; ``item`` goes to the history.
        """
        activity = self._activity
        old = activity.agent
        new.chat_ctx.extend(items)
        activity.replace_agent(new)
        activity.record_history(item)
        now = trio.current_time()
        names = (agent_name(old), agent_name(new))
        activity.session.bus.publish(AgentHandedOff(*names, kind, now, agent=new))

    def start_entering(self, agent: Agent) -> None:
        """Start ``agent.on_enter()`` in its own task of the activity nursery."""
        self.entering += 1
        self._activity.spawn(self._enter, agent)

    async def _enter(self, agent: Agent) -> None:
        from ._agent_task import AgentTaskCancelledError

        IN_TURN.set(False)
        IN_ENTER.set(True)
        CALLER_AGENT.set(agent)
        try:
            await agent.on_enter()
        except AgentTaskCancelledError:
            pass  # the session closed while on_enter awaited a task
        finally:
            self.entering -= 1
            self._activity.notify()

    def task_slot(self, parent: Agent) -> trio.Lock:
        """The lock an AgentTask of ``parent`` holds from entry until control is back."""
        return self._task_slots.setdefault(parent, trio.Lock())

    @contextmanager
    def closing_scope(self) -> Iterator[trio.CancelScope]:
        """A cancel scope that session close cancels (AgentTask waits live in one)."""
        with trio.CancelScope() as scope:
            if self._closing:
                scope.cancel()
            self._task_scopes.add(scope)
            try:
                yield scope
            finally:
                self._task_scopes.discard(scope)

    def cancel_tasks(self) -> None:
        """Cancel every pending AgentTask wait, now and later (session closing)."""
        self._closing = True
        for scope in list(self._task_scopes):
            scope.cancel()


@dataclass(frozen=True, slots=True)
class PlannedSwitch:
    """A planned switch and the context snapshot (``source``) it was computed from."""

    handoff: HandoffPlan
    source: ChatContext
