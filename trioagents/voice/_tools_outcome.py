"""What one tool call produced, and how a step's calls are reconciled.

Every :class:`~trioagents.core.FunctionCall` gets exactly one
:class:`ToolCallOutcome`, whatever happened: success, a ``ToolError``, a
``StopResponse``, an unknown tool, invalid arguments, an unexpected exception,
cancellation or deadline expiry. The outcome carries the
:class:`~trioagents.core.FunctionCallOutput` to record, whether a reply is wanted,
and (for handoffs) the agent to switch to.

Handoff rules (:func:`reconcile_step`): a tool hands off by returning an agent or a
``(agent, message)`` pair. At most one handoff per step: if two calls return agents,
both are turned into error outputs and no handoff happens (the LLM is told why).
If the step was interrupted, a handoff does not happen either (the transition is
atomic: it is applied completely after a step that finished, or not at all).

Exception details never reach the LLM: an unexpected exception becomes a generic
"internal error" output, and the exception itself is kept in ``exception``.

Rejected alternatives: letting the first handoff win when several tools return
agents (the outcome would depend on the order the LLM happened to list the calls,
and the other agent's tool would have run for nothing, silently); resolving
handoffs as each call completes (LiveKit Agents), which makes the result depend
on tool latencies.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

from ..core import FunctionCall, FunctionCallOutput
from ._handoff_agent import agent_name, is_agent

__all__ = [
    "HandoffRequest",
    "OutcomeKind",
    "ToolCallOutcome",
    "ToolStepResult",
    "error_outcome",
    "outcome_for_value",
    "reconcile_step",
    "refuse_handoff",
]

OutcomeKind: TypeAlias = Literal[
    "ok",
    "stop_response",
    "tool_error",
    "unknown_tool",
    "invalid_arguments",
    "internal_error",
    "cancelled",
    "deadline_exceeded",
    "handoff",
    "handoff_conflict",
    "handoff_interrupted",
    "handoff_refused",
]

INTERNAL_ERROR_MESSAGE = "An internal error occurred while running the tool."
CANCELLED_MESSAGE = "The tool was cancelled by an interruption before it finished."
HANDOFF_INTERRUPTED_MESSAGE = "The agent handoff was interrupted and did not happen."


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    """A tool asked to hand the conversation to ``agent`` (with an optional message).

    ``call`` is None when session code asked (``AgentSession.update_agent``).
    """

    agent: Any
    message: str | None
    call: FunctionCall | None

    @property
    def agent_name(self) -> str:
        return agent_name(self.agent)


@dataclass(frozen=True, slots=True)
class ToolCallOutcome:
    """The single result of one call; ``exception`` is for logs, never for the LLM."""

    call: FunctionCall
    output: FunctionCallOutput
    kind: OutcomeKind
    reply_required: bool
    handoff: HandoffRequest | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ToolStepResult:
    """All outcomes of one LLM step, in call order, and the step's decision.

    ``reply_required``: the *same* agent should run another LLM step (False after a
    handoff or an interruption, or when every output declined a reply).
    """

    outcomes: tuple[ToolCallOutcome, ...]
    handoff: HandoffRequest | None
    interrupted: bool

    @property
    def reply_required(self) -> bool:
        if self.interrupted or self.handoff is not None:
            return False
        return any(outcome.reply_required for outcome in self.outcomes)

    @property
    def outputs(self) -> tuple[FunctionCallOutput, ...]:
        return tuple(outcome.output for outcome in self.outcomes)

    def chat_items(self) -> list[FunctionCall | FunctionCallOutput]:
        """The items to commit: every call, then every output, both in call order."""
        calls: list[FunctionCall | FunctionCallOutput] = [o.call for o in self.outcomes]
        return calls + [o.output for o in self.outcomes]


def _output(call: FunctionCall, text: str, *, is_error: bool, now: float) -> FunctionCallOutput:
    return FunctionCallOutput(call.call_id, call.name, text, is_error=is_error, created_at=now)


def error_outcome(
    call: FunctionCall,
    kind: OutcomeKind,
    message: str,
    *,
    now: float,
    exception: BaseException | None = None,
) -> ToolCallOutcome:
    """An error output for ``call`` (the LLM sees ``message`` and is asked to reply)."""
    output = _output(call, message, is_error=True, now=now)
    return ToolCallOutcome(call, output, kind, reply_required=True, exception=exception)


def outcome_for_value(call: FunctionCall, value: Any, *, now: float) -> ToolCallOutcome:
    """Turn a tool's return value into an outcome (handoff detection included).

    Raises TypeError when the value cannot be serialised to JSON; the caller turns
    that into an internal error.
    """
    if is_agent(value):
        text = f"Transferred to {agent_name(value)}."
        handoff = HandoffRequest(value, None, call)
        output = _output(call, text, is_error=False, now=now)
        return ToolCallOutcome(call, output, "handoff", reply_required=False, handoff=handoff)
    if isinstance(value, tuple | list) and any(is_agent(v) for v in value):
        return _handoff_with_message(call, value, now=now)
    output = _output(call, _to_text(value), is_error=False, now=now)
    return ToolCallOutcome(call, output, "ok", reply_required=True)


def _handoff_with_message(
    call: FunctionCall, value: Sequence[Any], *, now: float
) -> ToolCallOutcome:
    agents = [v for v in value if is_agent(v)]
    others = [v for v in value if not is_agent(v)]
    if len(agents) > 1 or len(others) > 1:
        return error_outcome(
            call,
            "handoff_conflict",
            "A tool may return one agent and at most one message; no handoff happened.",
            now=now,
        )
    message = _to_text(others[0]) if others else None
    text = message if message is not None else f"Transferred to {agent_name(agents[0])}."
    output = _output(call, text, is_error=False, now=now)
    handoff = HandoffRequest(agents[0], message, call)
    return ToolCallOutcome(
        call, output, "handoff", reply_required=message is not None, handoff=handoff
    )


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"tool result of type {type(value).__name__} is not JSON serialisable")


def reconcile_step(
    outcomes: Sequence[ToolCallOutcome], *, interrupted: bool, now: float
) -> ToolStepResult:
    """Apply the one-handoff-per-step and no-handoff-when-interrupted rules."""
    handoffs = [i for i, o in enumerate(outcomes) if o.handoff is not None]
    final = list(outcomes)
    if interrupted:
        for i in handoffs:
            final[i] = _demote(final[i], "handoff_interrupted", HANDOFF_INTERRUPTED_MESSAGE, now)
        return ToolStepResult(tuple(final), None, interrupted=True)
    if len(handoffs) > 1:
        names = ", ".join(outcomes[i].call.name for i in handoffs)
        message = (
            f"Several tools in the same step returned an agent ({names}); "
            "no handoff happened. Call only one handoff tool."
        )
        for i in handoffs:
            final[i] = _demote(final[i], "handoff_conflict", message, now)
        return ToolStepResult(tuple(final), None, interrupted=False)
    handoff = outcomes[handoffs[0]].handoff if handoffs else None
    return ToolStepResult(tuple(final), handoff, interrupted=False)


def _demote(
    outcome: ToolCallOutcome, kind: OutcomeKind, message: str, now: float
) -> ToolCallOutcome:
    output = replace(outcome.output, output=message, is_error=True, created_at=now)
    return ToolCallOutcome(outcome.call, output, kind, reply_required=True)


def refuse_handoff(result: ToolStepResult, message: str, *, now: float) -> ToolStepResult:
    """``result`` with its handoff turned into an error output (kind ``handoff_refused``).

    Used by the session when the workflow (or an AgentTask) does not allow the
    handoff; ``message`` is what the LLM is told.
    """
    outcomes = tuple(
        _demote(o, "handoff_refused", message, now) if o.handoff is not None else o
        for o in result.outcomes
    )
    return ToolStepResult(outcomes, None, interrupted=result.interrupted)
