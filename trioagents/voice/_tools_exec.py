"""Running the tool calls of one LLM step: in parallel, committed in call order.

:func:`run_tool_calls` owns one nursery for the step. Each call runs in its own
task, inside its own *shielded* cancel scope, so that the only thing that can
cancel a tool is this function applying that tool's policy:

* while the step runs normally, every tool runs until it returns;
* when the caller's scope is cancelled (the turn was interrupted, or the session
  is closing), the waiting parent task notices at once and, synchronously, cancels
  the scopes of ``on_interrupt="cancel"`` tools and gives every
  ``on_interrupt="complete"`` tool a deadline of ``interrupt_deadline`` seconds from
  now. The nursery then waits for them; no tool outlives the call.

So the "wider scope" a completing tool lives in is its own shielded scope, owned
by this function's nursery, which sits in the caller's task: an interrupted turn
therefore takes up to the largest ``interrupt_deadline`` of its running tools to
unwind. Nothing else of the turn runs meanwhile (LLM, TTS and playout were
cancelled with the turn), so the old reply cannot speak; the session only has to
not wait on the old turn before listening again, which is its business.

A tool that awaits a speech nested in its turn (``await ctx.session.say(...)``)
when that turn is interrupted is cancelled at that await, whatever its policy: the
speech and the tool waiting on it end together (:mod:`._nested_speech`). A
:class:`SessionClosedError` raised in a tool while the session closes is its
cancellation too, not an internal error.

Exactly-once commit: ``commit`` is called once, synchronously, with the outcomes in
call order, before this function returns *or* re-raises the cancellation. Calls
that fail before running (unknown tool, invalid arguments) are decided without a
task and committed with the rest.

Rejected alternatives: running completing tools in a session-level nursery (it
would let a tool outlive the turn that owns its output and make "committed once"
depend on a callback racing the next turn); waiting for completing tools without a
deadline (LiveKit Agents): an interruption must never become a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import trio

from ..core import ConfigurationError, FunctionCall, ToolChoice, ToolError
from ._hooks import ToolCallGuard
from ._run_context import RunContext
from ._speech_handle import SessionClosedError
from ._tools import FunctionTool, StopResponse
from ._tools_args import ToolArgumentsError
from ._tools_outcome import (
    CANCELLED_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    ToolCallOutcome,
    ToolStepResult,
    error_outcome,
    outcome_for_value,
    reconcile_step,
)

__all__ = ["DEFAULT_MAX_TOOL_STEPS", "TOOL_SCOPE", "run_tool_calls", "tool_choice_for_step"]

logger = logging.getLogger("trioagents.voice.tools")

DEFAULT_MAX_TOOL_STEPS = 3
_MAX_NAME_IN_MESSAGE = 64

TOOL_SCOPE: ContextVar[trio.CancelScope | None] = ContextVar("trioagents_tool_scope", default=None)
"""The cancel scope of the tool running in this task (set by :func:`run_tool_calls`)."""


class _PendingCall:
    """One call's task state: its tool, arguments, scope and (eventually) outcome."""

    __slots__ = ("arguments", "call", "outcome", "scope", "tool")

    def __init__(self, call: FunctionCall) -> None:
        self.call = call
        self.tool: FunctionTool | None = None
        self.arguments: dict[str, Any] = {}
        self.scope = trio.CancelScope(shield=True)
        self.outcome: ToolCallOutcome | None = None


async def run_tool_calls(
    calls: Sequence[FunctionCall],
    tools: Mapping[str, FunctionTool],
    make_context: Callable[[FunctionCall], RunContext[Any]],
    commit: Callable[[ToolStepResult], None],
    guard: ToolCallGuard | None = None,
) -> ToolStepResult:
    """Run ``calls`` in parallel; commit and return one outcome per call, in order.

    ``make_context`` builds the :class:`RunContext` for a call (an exception there
    is that call's internal error). ``commit`` receives the step result exactly
    once. If the caller is cancelled, the tools' interrupt policies are applied,
    the result (``interrupted=True``, no handoff) is committed, and ``Cancelled``
    propagates. Checkpoints: the wait for the tools. Raises only what ``commit``
    raises, or ``Cancelled``. ``guard``, if given, wraps each tool's invocation
    (see :data:`ToolCallGuard`); it runs inside the tool's shielded scope.
    """
    step = _Step(calls, tools, make_context, guard)
    cancelled: trio.Cancelled | None = None
    async with trio.open_nursery() as nursery:
        step.start(nursery)
        try:
            await step.all_done.wait()
        except trio.Cancelled as exc:
            cancelled = exc  # re-raised below, once every call has its outcome
            step.apply_interrupt_policies()
    result = step.result(interrupted=cancelled is not None)
    commit(result)
    if cancelled is not None:
        raise cancelled
    return result


class _Step:
    """The calls of one step and the count of tool tasks still running."""

    __slots__ = ("_guard", "_make_context", "_pending", "_remaining", "all_done")

    def __init__(
        self,
        calls: Sequence[FunctionCall],
        tools: Mapping[str, FunctionTool],
        make_context: Callable[[FunctionCall], RunContext[Any]],
        guard: ToolCallGuard | None,
    ) -> None:
        self._guard = guard
        self._pending = [_PendingCall(call) for call in calls]
        for entry in self._pending:
            _prepare(entry, tools)
        self._make_context = make_context
        self._remaining = 0
        self.all_done = trio.Event()

    def start(self, nursery: trio.Nursery) -> None:
        """Start one task per runnable call (no checkpoint)."""
        for entry in self._pending:
            if entry.outcome is None:
                self._remaining += 1
                nursery.start_soon(self._run_one, entry)
        if self._remaining == 0:
            self.all_done.set()

    async def _run_one(self, entry: _PendingCall) -> None:
        await _run_call(entry, self._make_context, self._guard)
        self._remaining -= 1
        if self._remaining == 0:
            self.all_done.set()

    def apply_interrupt_policies(self) -> None:
        """Cancel ``"cancel"`` tools; give ``"complete"`` tools their deadline. No checkpoint."""
        now = trio.current_time()
        for entry in self._pending:
            if entry.outcome is not None or entry.tool is None:
                continue
            options = entry.tool.options
            if options.on_interrupt == "cancel":
                entry.scope.cancel()
            else:
                entry.scope.deadline = min(entry.scope.deadline, now + options.interrupt_deadline)

    def result(self, *, interrupted: bool) -> ToolStepResult:
        outcomes = [entry.outcome for entry in self._pending]
        finished = [outcome for outcome in outcomes if outcome is not None]
        assert len(finished) == len(outcomes), "every call has an outcome"
        return reconcile_step(finished, interrupted=interrupted, now=trio.current_time())


def _prepare(entry: _PendingCall, tools: Mapping[str, FunctionTool]) -> None:
    """Resolve the tool and validate arguments; failures become outcomes now."""
    call = entry.call
    now = trio.current_time()
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        name = call.name[:_MAX_NAME_IN_MESSAGE]
        message = f"Unknown tool {name!r}. Available tools: {available}."
        entry.outcome = error_outcome(call, "unknown_tool", message, now=now)
        return
    try:
        entry.arguments = tool.parse_arguments(call.arguments)
    except ToolArgumentsError as exc:
        message = f"Invalid arguments for tool {tool.name!r}: {exc}"
        entry.outcome = error_outcome(call, "invalid_arguments", message, now=now, exception=exc)
        return
    except Exception as exc:  # a tool whose signature cannot be analysed
        _log_failure(tool, call, exc)
        entry.outcome = error_outcome(
            call, "internal_error", INTERNAL_ERROR_MESSAGE, now=now, exception=exc
        )
        return
    entry.tool = tool


async def _run_call(
    entry: _PendingCall,
    make_context: Callable[[FunctionCall], RunContext[Any]],
    guard: ToolCallGuard | None = None,
) -> None:
    """Run one tool inside its shielded scope; always leaves an outcome."""
    assert entry.tool is not None
    call, tool = entry.call, entry.tool
    with entry.scope:
        TOOL_SCOPE.set(entry.scope)  # this tool's own task
        try:
            context = make_context(call)

            async def invoke() -> Any:
                return await tool.invoke(entry.arguments, context)

            value = await (invoke() if guard is None else guard(call, tool.name, invoke))
            entry.outcome = outcome_for_value(call, value, now=trio.current_time())
        except StopResponse as exc:
            entry.outcome = _stop_outcome(call, exc)
        except SessionClosedError:
            pass  # the session is closing: this tool's cancellation
        except ToolError as exc:
            now = trio.current_time()
            entry.outcome = error_outcome(call, "tool_error", str(exc), now=now, exception=exc)
        except Exception as exc:
            _log_failure(tool, call, exc)
            now = trio.current_time()
            entry.outcome = error_outcome(
                call, "internal_error", INTERNAL_ERROR_MESSAGE, now=now, exception=exc
            )
    if entry.outcome is None:
        entry.outcome = _cancelled_outcome(entry)


def _log_failure(tool: FunctionTool, call: FunctionCall, exc: Exception) -> None:
    logger.warning(
        "tool raised an unexpected exception",
        exc_info=exc,
        extra={"tool": tool.name, "call_id": call.call_id},
    )


def _stop_outcome(call: FunctionCall, exc: StopResponse) -> ToolCallOutcome:
    outcome = outcome_for_value(call, exc.output, now=trio.current_time())
    return ToolCallOutcome(outcome.call, outcome.output, "stop_response", reply_required=False)


def _cancelled_outcome(entry: _PendingCall) -> ToolCallOutcome:
    assert entry.tool is not None
    now = trio.current_time()
    if entry.tool.options.on_interrupt == "cancel":
        return error_outcome(entry.call, "cancelled", CANCELLED_MESSAGE, now=now)
    if entry.scope.deadline > now:  # cancelled, not timed out
        return error_outcome(entry.call, "cancelled", CANCELLED_MESSAGE, now=now)
    deadline = entry.tool.options.interrupt_deadline
    message = (
        f"The tool did not finish within {deadline:g}s after an interruption and was cancelled."
    )
    return error_outcome(entry.call, "deadline_exceeded", message, now=now)


def tool_choice_for_step(
    step: int,
    *,
    max_tool_steps: int = DEFAULT_MAX_TOOL_STEPS,
    requested: ToolChoice | None = "auto",
) -> ToolChoice | None:
    """The ``tool_choice`` for LLM generation number ``step`` (1-based) of one reply.

    Generations ``1..max_tool_steps`` may call tools (``requested`` is passed
    through); generation ``max_tool_steps + 1`` is the last one and is forced to
    text with ``"none"``; a reply never needs more. ``requested="none"`` stays
    ``"none"``. A forced single tool (``requested`` = a tool name) or
    ``"required"`` applies to the first generation only, then ``"auto"``, so a
    forced call cannot loop. ``requested=None`` (the reply named no choice) gives
    None on the first generation -- the LLM's own default, which may force a call
    -- and ``"auto"`` after it, as LiveKit Agents does. Pure; raises
    ConfigurationError for a bad step or limit.
    """
    if max_tool_steps < 0:
        raise ConfigurationError("max_tool_steps must be >= 0")
    if step < 1:
        raise ConfigurationError("LLM steps are numbered from 1")
    if step > max_tool_steps or requested == "none":
        return "none"
    if step > 1 and requested != "auto":
        return "auto"
    return requested
