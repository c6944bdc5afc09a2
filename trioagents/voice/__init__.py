"""Layer 5: sessions, agents, turns, speech, interruption, tools, handoffs."""

from ._handoff import ContextPolicy as ContextPolicy
from ._handoff import Custom as Custom
from ._handoff import HandoffPlan as HandoffPlan
from ._handoff import HandoffRequestContext as HandoffRequestContext
from ._handoff import KeepAll as KeepAll
from ._handoff import KeepLastTurns as KeepLastTurns
from ._handoff import Reset as Reset
from ._handoff import Summarize as Summarize
from ._handoff import plan_handoff as plan_handoff
from ._handoff_agent import AGENT_BASE_MARKER as AGENT_BASE_MARKER
from ._handoff_agent import AGENT_MARKER as AGENT_MARKER
from ._handoff_agent import is_agent as is_agent
from ._handoff_agent import is_agent_class as is_agent_class
from ._run_context import RunContext as RunContext
from ._tools import DEFAULT_INTERRUPT_DEADLINE as DEFAULT_INTERRUPT_DEADLINE
from ._tools import FunctionTool as FunctionTool
from ._tools import InterruptPolicy as InterruptPolicy
from ._tools import StopResponse as StopResponse
from ._tools import ToolOptions as ToolOptions
from ._tools import ToolSet as ToolSet
from ._tools import find_function_tools as find_function_tools
from ._tools import function_tool as function_tool
from ._tools_args import ToolArgumentsError as ToolArgumentsError
from ._tools_exec import DEFAULT_MAX_TOOL_STEPS as DEFAULT_MAX_TOOL_STEPS
from ._tools_exec import run_tool_calls as run_tool_calls
from ._tools_exec import tool_choice_for_step as tool_choice_for_step
from ._tools_outcome import HandoffRequest as HandoffRequest
from ._tools_outcome import OutcomeKind as OutcomeKind
from ._tools_outcome import ToolCallOutcome as ToolCallOutcome
from ._tools_outcome import ToolStepResult as ToolStepResult
from ._workflow import Transition as Transition
from ._workflow import UndeclaredTransitionError as UndeclaredTransitionError
from ._workflow import Workflow as Workflow
from ._workflow import WorkflowState as WorkflowState

__all__ = [
    "AGENT_BASE_MARKER",
    "AGENT_MARKER",
    "DEFAULT_INTERRUPT_DEADLINE",
    "DEFAULT_MAX_TOOL_STEPS",
    "ContextPolicy",
    "Custom",
    "FunctionTool",
    "HandoffPlan",
    "HandoffRequest",
    "HandoffRequestContext",
    "InterruptPolicy",
    "KeepAll",
    "KeepLastTurns",
    "OutcomeKind",
    "Reset",
    "RunContext",
    "StopResponse",
    "Summarize",
    "ToolArgumentsError",
    "ToolCallOutcome",
    "ToolOptions",
    "ToolSet",
    "ToolStepResult",
    "Transition",
    "UndeclaredTransitionError",
    "Workflow",
    "WorkflowState",
    "find_function_tools",
    "function_tool",
    "is_agent",
    "is_agent_class",
    "plan_handoff",
    "run_tool_calls",
    "tool_choice_for_step",
]
