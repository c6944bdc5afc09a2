"""The session's built-in tool executor: ``run_tool_calls`` wired to a running activity.

For the tool calls of one LLM step, :class:`SessionToolRunner`:

* runs them with :func:`~trioagents.voice.run_tool_calls` (parallel, committed in
  call order, per-tool interruption policy) against the current agent's
  :class:`~trioagents.voice.FunctionTool` objects, each call receiving a
  :class:`~trioagents.voice.RunContext` (session, speech handle, call, userdata);
* records the calls and their outputs *inside the commit callback*, which runs
  exactly once and synchronously even when the turn is cancelled, so an
  interrupted step still leaves one output per call and never an orphan;
* publishes :class:`~trioagents.voice.FunctionToolsExecuted` from it, once per step;
* makes the handoff decision in that same callback: the handoff is checked against
  the workflow (an undeclared target, or a handoff from an AgentTask, turns that
  call's output into an error the LLM sees, and is logged as a WARNING; a tool with
  no return annotation hands off and the workflow learns it, see ``_workflow.py``)
  and handed to the activity's
  :class:`~trioagents.voice._transitions.Switcher`. The step then asks for no
  further reply, so the old agent says nothing more.

A tool of an :class:`~trioagents.voice.AgentTask` that called ``complete()`` ends
the task's turn the same way.

Each invocation goes through the session's hooks (a ``tool`` scope per call,
child of the turn, when observers are attached; like LiveKit Agents' spans it
carries the call's arguments and a text output as attributes) and ``session.tool_call_guard``
(the journal's replay of recorded results), both inside the tool's shielded scope.
Tools replaced by a test's ``mock_tools`` (:mod:`._tool_mocks`) run their mock
through the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from ..core import ConfigurationError, FunctionCall, LLMToolCall
from ._agent import Agent
from ._events import FunctionToolsExecuted
from ._generation import ToolStepOutcome
from ._hooks import SessionHooks, ToolCallGuard
from ._run_context import RunContext
from ._speech_handle import SpeechHandle
from ._tool_mocks import apply_tool_mocks
from ._tools import FunctionTool, ToolSet
from ._tools_exec import run_tool_calls
from ._tools_outcome import ToolStepResult, refuse_handoff
from ._transitions import CALLER_AGENT

if TYPE_CHECKING:
    from ._activity import AgentActivity

__all__ = ["SessionToolRunner"]

logger = logging.getLogger("trioagents.voice.tools")


class SessionToolRunner:
    """A :data:`~trioagents.voice.ToolCallExecutor` bound to one activity."""

    def __init__(self, activity: AgentActivity) -> None:
        self._activity = activity

    async def __call__(
        self, agent: Agent, speech: SpeechHandle, llm_calls: Sequence[LLMToolCall]
    ) -> ToolStepOutcome:
        """Run the step's calls; see the module docstring.

        Cancelled with the turn (tools follow their policy, the result is still
        committed). Raises nothing else: tool failures are outputs.
        """
        now = trio.current_time()
        calls = [FunctionCall(c.call_id, c.name, c.arguments, created_at=now) for c in llm_calls]
        tools = ToolSet(tool for tool in agent.tools if isinstance(tool, FunctionTool))
        tools = apply_tool_mocks(agent, tools)  # a test's mock_tools(), if any
        session = self._activity.session
        userdata = session.userdata_or_none

        def make_context(call: FunctionCall) -> RunContext[Any]:
            CALLER_AGENT.set(agent)  # runs in the tool's own task: an AgentTask's parent
            return RunContext(session, speech, call, userdata)

        def commit(result: ToolStepResult) -> None:
            result = self._decide(result)
            for item in result.chat_items():
                speech.chat_items.append(item)
                self._activity.record_item(item)
            session.bus.publish(
                FunctionToolsExecuted(
                    speech.id,
                    tuple(o.call for o in result.outcomes),
                    result.outputs,
                    result.interrupted,
                    result.reply_required,
                    trio.current_time(),
                )
            )

        guard = _guard_for(session.hooks, session.tool_call_guard, speech)
        result = await run_tool_calls(calls, tools, make_context, commit, guard)
        task_done = bool(getattr(agent, "done", False))
        reply = result.reply_required and not task_done and not self._activity.switcher.busy
        return ToolStepOutcome((), reply_required=reply)

    def _decide(self, result: ToolStepResult) -> ToolStepResult:
        """Check the step's handoff and, if it stands, decide it (synchronous)."""
        request = result.handoff
        if request is None:
            return result
        switcher = self._activity.switcher
        try:
            transition = switcher.check_handoff(request)
        except ConfigurationError as exc:
            # the LLM is told (its output), and so is the developer: the message says
            # which tool and how to declare the handoff
            logger.warning(
                "handoff refused: %s",
                exc,
                extra={"tool": request.call.name if request.call else None},
            )
            return refuse_handoff(result, str(exc), now=trio.current_time())
        switcher.decide_handoff(request, transition)
        return result


def _guard_for(
    hooks: SessionHooks, guard: ToolCallGuard | None, speech: SpeechHandle
) -> ToolCallGuard | None:
    """The session's guard, reported as a ``tool`` scope when observers are attached."""
    if not hooks.active:
        return guard

    async def observed(call: FunctionCall, name: str, invoke: Callable[[], Awaitable[Any]]) -> Any:
        attributes = {
            "lk.function_tool.name": name,
            "lk.function_tool.id": call.call_id,
            "lk.function_tool.arguments": call.arguments,
        }
        with hooks.scope("tool", speech.id, attributes, cancel_reason=_tool_cancel_reason) as note:
            value = await (invoke() if guard is None else guard(call, name, invoke))
            if isinstance(value, str):  # a handoff's agent is no output
                note.attributes["lk.function_tool.output"] = value
            return value

    return observed


def _tool_cancel_reason() -> str:
    return "tool_interrupted"
