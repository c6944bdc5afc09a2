"""Replaying a workflow test's operation list in one Trio run, checking invariants.

:class:`~trioagents.testing.WorkflowMachine` rules only *record* operations; at
teardown the whole list is replayed here in one ``trio.run`` under a
``MockClock(autojump_threshold=0)``, so an example costs one short virtual-time
run and Hypothesis still shrinks the rule sequence. Faults are injected through
:class:`ChaosLLM`, a wrapper around the user's LLM that adds latency, fails a
request with a ProviderError, or corrupts a tool call's arguments (the tool then
fails with an error output), and that records which agent each emitted event
belongs to.

Invariants (each violation is a line of :class:`WorkflowViolation`):

* no transition left pending at a quiescent point;
* no orphan tool call, and exactly one output per call;
* at most one opening speech per agent entry (before the user speaks again);
* the old agent is silent after a handoff: no LLM event of a request started by an
  agent is emitted after that agent was switched away from;
* the session settles after every operation, and closes within ``close_bound``;
* the workflow is only ever in a declared state, moved along declared transitions.

Rejected alternative: one persistent Trio run driven step by step from the rules
(a thread-hosted run needs the real clock, see feasibility notes; hypothesis-trio
is unmaintained). Replay keeps virtual time and real shrinking.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import trio
import trio.testing

from ..core import (
    LLM,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    LLMEvent,
    LLMTextDelta,
    LLMToolCall,
    ProviderStatusError,
    ToolChoice,
    ToolSpec,
)
from ..voice import (
    Agent,
    AgentHandedOff,
    AgentSession,
    ConversationItemAdded,
    ErrorOccurred,
    InterruptionNotAllowedError,
    SessionClosedError,
    SessionEvent,
    SpeechCreated,
    Workflow,
)

__all__ = [
    "ChaosLLM",
    "Disconnected",
    "Operation",
    "ProviderErrorInjected",
    "SessionCheck",
    "ToolFailureInjected",
    "UserSaid",
    "Waited",
    "WorkflowViolation",
    "replay",
]


@dataclass(frozen=True, slots=True)
class UserSaid:
    """The user says ``text``; LLM latencies for this turn; optional barge-in delay."""

    text: str
    ttft: float = 0.0
    token_delay: float = 0.0
    barge_in_after: float | None = None


@dataclass(frozen=True, slots=True)
class ToolFailureInjected:
    """The next tool call the LLM makes arrives with arguments the tool rejects."""


@dataclass(frozen=True, slots=True)
class ProviderErrorInjected:
    """The next LLM request fails with a retryable ProviderStatusError (503)."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The participant leaves: the session is closed.

    ``after=None``: once the session is idle. Otherwise ``after`` seconds into the
    previous operation, without waiting for it to settle (mid-reply, mid-tool,
    mid-transition...).
    """

    after: float | None = None


@dataclass(frozen=True, slots=True)
class Waited:
    seconds: float


Operation = UserSaid | ToolFailureInjected | ProviderErrorInjected | Disconnected | Waited


class WorkflowViolation(AssertionError):
    """One or more workflow invariants failed during a replay (``violations``)."""

    def __init__(self, violations: Sequence[str]) -> None:
        super().__init__("workflow invariants violated:\n  " + "\n  ".join(violations))
        self.violations = tuple(violations)


@dataclass(slots=True)
class _Emission:
    agent: str
    at: float


class ChaosLLM:
    """Wraps an LLM: latency, injected failures, and who emitted what (see module)."""

    def __init__(self, inner: LLM, current_agent: Callable[[], str]) -> None:
        self.inner = inner
        self.ttft = 0.0
        self.token_delay = 0.0
        self.fail_next_request = False
        self.corrupt_next_tool_call = False
        self.emissions: list[_Emission] = []
        self._current_agent = current_agent

    @property
    def label(self) -> str:
        return f"chaos({self.inner.label})"

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        agent = self._current_agent()
        if self.ttft > 0:  # the inner LLM checkpoints; a zero sleep only costs a batch
            await trio.sleep(self.ttft)
        if self.fail_next_request:
            self.fail_next_request = False
            raise ProviderStatusError("injected failure", provider=self.label, status=503)
        inner = (
            self.inner.chat(chat_ctx, tools=tools)
            if tool_choice is None  # not given: the inner LLM's own default
            else self.inner.chat(chat_ctx, tools=tools, tool_choice=tool_choice)
        )
        async with inner as events:
            yield _ChaosEvents(self, events, agent)


class _ChaosEvents:
    """The inner stream with chaos applied; zero-delay text runs arrive as one delta."""

    def __init__(self, llm: ChaosLLM, events: AsyncIterator[LLMEvent], agent: str) -> None:
        self._llm, self._events, self._agent = llm, events, agent
        self._held: LLMEvent | None = None  # read ahead while merging text

    def __aiter__(self) -> _ChaosEvents:
        return self

    async def __anext__(self) -> LLMEvent:
        event = await self._next_inner()
        if self._llm.token_delay > 0:
            await trio.sleep(self._llm.token_delay)
        elif isinstance(event, LLMTextDelta):
            event = await self._merge_text(event)
        if isinstance(event, LLMToolCall) and self._llm.corrupt_next_tool_call:
            self._llm.corrupt_next_tool_call = False
            event = replace(event, arguments="{not json")
        self._llm.emissions.append(_Emission(self._agent, trio.current_time()))
        return event

    async def _next_inner(self) -> LLMEvent:
        if self._held is not None:
            event, self._held = self._held, None
            await trio.lowlevel.checkpoint()
            return event
        return await self._events.__anext__()  # checkpoints

    async def _merge_text(self, first: LLMTextDelta) -> LLMEvent:
        """With no token delay every text delta of a run arrives at the same virtual
        instant: hand them on as one, which the session treats the same (a barge-in
        cannot land between them) for a fraction of the scheduling."""
        parts = [first.text]
        while True:
            try:
                event = await self._events.__anext__()
            except StopAsyncIteration:
                break
            if not isinstance(event, LLMTextDelta):
                self._held = event
                break
            parts.append(event.text)
        return LLMTextDelta("".join(parts))


@dataclass(slots=True)
class _Log:
    events: list[SessionEvent] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    session: AgentSession[object] | None = None


SessionCheck = Callable[[AgentSession[Any], Sequence[SessionEvent]], Iterable[str]]
"""A user invariant: the closed session and its events → violations (empty: fine)."""


def replay(
    build: Callable[[LLM], tuple[AgentSession[object], Agent]],
    base_llm: Callable[[], LLM],
    operations: Sequence[Operation],
    *,
    settle_bound: float,
    close_bound: float,
    check: SessionCheck | None = None,
) -> None:
    """Replay ``operations`` on a fresh session; raise WorkflowViolation if any failed.

    ``check(session, events)`` runs after the built-in checks, on the closed session
    and every event it published; the strings it returns are further violations.
    """
    log = _Log()
    trio.run(
        _replay,
        build,
        base_llm,
        operations,
        (settle_bound, close_bound),
        log,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    if check is not None and log.session is not None:
        log.violations.extend(check(log.session, log.events))
    if log.violations:
        raise WorkflowViolation(log.violations)


async def _replay(
    build: Callable[[LLM], tuple[AgentSession[object], Agent]],
    base_llm: Callable[[], LLM],
    operations: Sequence[Operation],
    bounds: tuple[float, float],
    log: _Log,
) -> None:
    settle_bound, close_bound = bounds
    holder: list[AgentSession[object]] = []
    llm = ChaosLLM(base_llm(), lambda: type(holder[0].current_agent).__name__)
    session, agent = build(llm)
    holder.append(session)
    log.session = session
    workflow = _discovered_workflow(type(agent))
    events = session.subscribe()  # unbounded: drained once, after the close
    closing_at: list[float] = []
    async with session.start(agent, workflow=workflow):
        with trio.move_on_after(settle_bound):
            await _wait_idle(session)  # the caller hears the opening first
        for index, operation in enumerate(operations):
            following = operations[index + 1] if index + 1 < len(operations) else None
            settle = not (isinstance(following, Disconnected) and following.after is not None)
            if isinstance(operation, Disconnected):
                await trio.sleep(operation.after or 0.0)
                closing_at.append(trio.current_time())
                session.close("participant_disconnected")
                await trio.sleep_forever()  # cancelled by the close
            await _apply(session, llm, operation, log)
            if settle:
                await _settle(session, settle_bound, log, operation)
        closing_at.append(trio.current_time())
    closed_at = trio.current_time()
    _drain(events, log.events)
    _check_close(log, closing_at, closed_at, close_bound)
    _check_history(session, log)
    _check_events(session, llm, log)


# First agent class -> its discovered workflow (None: discovery failed, so the
# session discovers, and reports, on its own). Discovery walks every tool's
# annotations; the classes do not change between examples, so it runs once.
_WORKFLOWS: weakref.WeakKeyDictionary[type, Workflow | None] = weakref.WeakKeyDictionary()


def _discovered_workflow(first: type) -> Workflow | None:
    """The workflow ``session.start(agent)`` would discover for ``first``, cached."""
    try:
        return _WORKFLOWS[first]
    except KeyError:
        pass
    try:
        workflow: Workflow | None = Workflow(first)
    except ConfigurationError:  # an agent base class, or a broken graph: not cached away
        workflow = None
    _WORKFLOWS[first] = workflow
    return workflow


async def _apply(
    session: AgentSession[object], llm: ChaosLLM, operation: Operation, log: _Log
) -> None:
    """Apply one operation (not Disconnected)."""
    if isinstance(operation, ToolFailureInjected):
        llm.corrupt_next_tool_call = True
    elif isinstance(operation, ProviderErrorInjected):
        llm.fail_next_request = True
    elif isinstance(operation, Waited):
        await trio.sleep(operation.seconds)
    elif isinstance(operation, UserSaid):
        llm.ttft, llm.token_delay = operation.ttft, operation.token_delay
        session.generate_reply(user_input=operation.text)
        if operation.barge_in_after is not None:
            await trio.sleep(operation.barge_in_after)
            # a speech that does not allow interruptions keeps playing: the user waits
            with contextlib.suppress(InterruptionNotAllowedError):
                session.interrupt()


async def _wait_idle(session: AgentSession[object]) -> None:
    """``wait_idle``; if the session ended itself (the error policy after
    ``max_unrecoverable_errors``), wait for the close to cancel the body, as it does:
    the remaining operations are moot and the closed session is checked."""
    try:
        await session.wait_idle()
    except SessionClosedError:
        await trio.sleep_forever()


async def _settle(
    session: AgentSession[object], settle_bound: float, log: _Log, operation: Operation
) -> None:
    with trio.move_on_after(settle_bound) as scope:
        await _wait_idle(session)
    if scope.cancelled_caught:
        log.violations.append(
            f"the session did not settle within {settle_bound}s after {operation}"
        )
    _check_quiescent(session, log, operation)


def _check_quiescent(session: AgentSession[object], log: _Log, operation: Operation) -> None:
    if session.transition_pending:
        log.violations.append(f"a transition was left pending after {operation}")
    state = session.workflow_state
    agent = session.current_agent
    if state is None or getattr(agent, "is_agent_task", False):
        return
    if type(agent) not in state.workflow.states or type(agent) is not state.current:
        log.violations.append(
            f"the session is in {type(agent).__name__}, the workflow in {state.current.__name__}"
        )


def _check_close(log: _Log, closing_at: list[float], closed_at: float, bound: float) -> None:
    """Close duration: from the close request, or from the error that ended the session."""
    ended = [e.created_at for e in log.events if isinstance(e, ErrorOccurred)]
    started = closing_at[0] if closing_at else (ended[-1] if ended else None)
    if started is None:
        log.violations.append("the session closed by itself without an error")
    elif closed_at - started > bound:
        log.violations.append(f"close took {closed_at - started:.2f}s > {bound:.2f}s")


def _check_history(session: AgentSession[object], log: _Log) -> None:
    calls = [i.call_id for i in session.history if isinstance(i, FunctionCall)]
    outputs = [i.call_id for i in session.history if isinstance(i, FunctionCallOutput)]
    if sorted(calls) != sorted(outputs) or len(set(outputs)) != len(outputs):
        log.violations.append(f"orphan tool calls or outputs: calls={calls} outputs={outputs}")


def _check_events(session: AgentSession[object], llm: ChaosLLM, log: _Log) -> None:
    openings = 0
    declared = _declared(session)
    for event in log.events:
        if isinstance(event, AgentHandedOff):
            openings = 0
            pair = (event.old_agent, event.new_agent)
            if event.kind == "handoff" and declared is not None and pair not in declared:
                log.violations.append(f"undeclared transition {pair[0]} -> {pair[1]}")
        elif isinstance(event, ConversationItemAdded) and _is_user(event.item):
            openings = 0
        elif isinstance(event, SpeechCreated) and event.source != "user_turn":
            openings += 1
            if openings > 1:
                log.violations.append(f"{openings} opening speeches in one agent entry")
    _check_silence(llm, log.events, log)


def _check_silence(llm: ChaosLLM, events: list[SessionEvent], log: _Log) -> None:
    switches = [e for e in events if isinstance(e, AgentHandedOff)]
    for emission in llm.emissions:
        for switch in switches:
            left, at = switch.old_agent, switch.created_at
            if emission.agent != left or emission.at <= at:
                continue
            back = [
                s for s in switches if s.new_agent == left and at <= s.created_at <= emission.at
            ]
            if not back:
                log.violations.append(
                    f"{left} emitted LLM output at {emission.at:.3f} after leaving"
                )
                return


def _declared(session: AgentSession[object]) -> set[tuple[str, str]] | None:
    state = session.workflow_state
    if state is None:
        return None
    return {(t.source.__name__, t.target.__name__) for t in state.workflow.transitions}


def _is_user(item: object) -> bool:
    return isinstance(item, ChatMessage) and item.role == "user"


def _drain(events: trio.MemoryReceiveChannel[SessionEvent], out: list[SessionEvent]) -> None:
    """Move every buffered event to ``out`` (no collector task: one less task to wake
    on every event; the subscription's buffer is unbounded, so nothing is lost)."""
    with events:
        while True:
            try:
                out.append(events.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return
