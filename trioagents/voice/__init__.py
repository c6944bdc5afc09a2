"""Layer 5: sessions, agents, turns, speech, interruption, tools, handoffs."""

from ._agent import Agent as Agent
from ._agent import HasToolSpec as HasToolSpec
from ._agent_providers import AgentProviders as AgentProviders
from ._agent_providers import AgentTurnDetection as AgentTurnDetection
from ._agent_task import AgentTask as AgentTask
from ._agent_task import AgentTaskCancelledError as AgentTaskCancelledError
from ._audio_io import AudioInput as AudioInput
from ._audio_io import AudioOutput as AudioOutput
from ._audio_io import PlaybackFinished as PlaybackFinished
from ._audio_io import PushAudioInput as PushAudioInput
from ._audio_io import TextOutput as TextOutput
from ._audio_io import UtteranceSink as UtteranceSink
from ._events import AgentHandedOff as AgentHandedOff
from ._events import AgentState as AgentState
from ._events import AgentStateChanged as AgentStateChanged
from ._events import ConversationItemAdded as ConversationItemAdded
from ._events import ErrorOccurred as ErrorOccurred
from ._events import FalseInterruptionDetected as FalseInterruptionDetected
from ._events import FunctionToolsExecuted as FunctionToolsExecuted
from ._events import HandoffKind as HandoffKind
from ._events import SessionClosed as SessionClosed
from ._events import SessionEvent as SessionEvent
from ._events import SessionUsageUpdated as SessionUsageUpdated
from ._events import SpeechCreated as SpeechCreated
from ._events import SpeechSource as SpeechSource
from ._events import TurnMetricsCollected as TurnMetricsCollected
from ._events import UserInputTranscribed as UserInputTranscribed
from ._events import UserState as UserState
from ._events import UserStateChanged as UserStateChanged
from ._generation import ToolCallExecutor as ToolCallExecutor
from ._generation import ToolStepOutcome as ToolStepOutcome
from ._generation import record_unconfigured_tool_calls as record_unconfigured_tool_calls
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
from ._hooks import HookAttribute as HookAttribute
from ._hooks import HookScopeKind as HookScopeKind
from ._hooks import SessionObserver as SessionObserver
from ._hooks import ToolCallGuard as ToolCallGuard
from ._hooks import TurnCommitted as TurnCommitted
from ._listeners import EventName as EventName
from ._model_settings import current_tool_choice as current_tool_choice
from ._options import DEFAULT_BACKCHANNEL_WORDS as DEFAULT_BACKCHANNEL_WORDS
from ._options import EndpointingMode as EndpointingMode
from ._options import MidStreamFailover as MidStreamFailover
from ._options import SessionOptions as SessionOptions
from ._options import TTSInput as TTSInput
from ._options import TurnDetectionMode as TurnDetectionMode
from ._recognition import InlineVADStream as InlineVADStream
from ._run_assert import AgentHandoffAssert as AgentHandoffAssert
from ._run_assert import ChatMessageAssert as ChatMessageAssert
from ._run_assert import EventAssert as EventAssert
from ._run_assert import FunctionCallAssert as FunctionCallAssert
from ._run_assert import FunctionCallOutputAssert as FunctionCallOutputAssert
from ._run_assert import RunEvent as RunEvent
from ._run_assert import RunEventType as RunEventType
from ._run_context import RunContext as RunContext
from ._run_expect import EventRangeAssert as EventRangeAssert
from ._run_expect import RunExpectations as RunExpectations
from ._run_result import RunResult as RunResult
from ._session import AgentSession as AgentSession
from ._speech_handle import CircularWaitError as CircularWaitError
from ._speech_handle import InterruptionNotAllowedError as InterruptionNotAllowedError
from ._speech_handle import SessionClosedError as SessionClosedError
from ._speech_handle import SpeechHandle as SpeechHandle
from ._speech_queue import SpeechPriority as SpeechPriority
from ._tool_mocks import mock_tools as mock_tools
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
from ._transcript_sync import SpeakingRate as SpeakingRate
from ._transcript_sync import TranscriptSynchronizer as TranscriptSynchronizer
from ._turn_detection import UserTurn as UserTurn
from ._turn_detection import VADProgress as VADProgress
from ._turn_detector import TurnDetector as TurnDetector
from ._usage import ModelUsage as ModelUsage
from ._usage import SessionUsage as SessionUsage
from ._workflow import Transition as Transition
from ._workflow import UndeclaredTransitionError as UndeclaredTransitionError
from ._workflow import Workflow as Workflow
from ._workflow import WorkflowState as WorkflowState

__all__ = [
    "AGENT_BASE_MARKER",
    "AGENT_MARKER",
    "DEFAULT_BACKCHANNEL_WORDS",
    "DEFAULT_INTERRUPT_DEADLINE",
    "DEFAULT_MAX_TOOL_STEPS",
    "Agent",
    "AgentHandedOff",
    "AgentHandoffAssert",
    "AgentProviders",
    "AgentSession",
    "AgentState",
    "AgentStateChanged",
    "AgentTask",
    "AgentTaskCancelledError",
    "AgentTurnDetection",
    "AudioInput",
    "AudioOutput",
    "ChatMessageAssert",
    "CircularWaitError",
    "ContextPolicy",
    "ConversationItemAdded",
    "Custom",
    "EndpointingMode",
    "ErrorOccurred",
    "EventAssert",
    "EventName",
    "EventRangeAssert",
    "FalseInterruptionDetected",
    "FunctionCallAssert",
    "FunctionCallOutputAssert",
    "FunctionTool",
    "FunctionToolsExecuted",
    "HandoffKind",
    "HandoffPlan",
    "HandoffRequest",
    "HandoffRequestContext",
    "HasToolSpec",
    "HookAttribute",
    "HookScopeKind",
    "InlineVADStream",
    "InterruptPolicy",
    "InterruptionNotAllowedError",
    "KeepAll",
    "KeepLastTurns",
    "MidStreamFailover",
    "ModelUsage",
    "OutcomeKind",
    "PlaybackFinished",
    "PushAudioInput",
    "Reset",
    "RunContext",
    "RunEvent",
    "RunEventType",
    "RunExpectations",
    "RunResult",
    "SessionClosed",
    "SessionClosedError",
    "SessionEvent",
    "SessionObserver",
    "SessionOptions",
    "SessionUsage",
    "SessionUsageUpdated",
    "SpeakingRate",
    "SpeechCreated",
    "SpeechHandle",
    "SpeechPriority",
    "SpeechSource",
    "StopResponse",
    "Summarize",
    "TextOutput",
    "ToolArgumentsError",
    "ToolCallExecutor",
    "ToolCallGuard",
    "ToolCallOutcome",
    "ToolOptions",
    "ToolSet",
    "ToolStepOutcome",
    "ToolStepResult",
    "TranscriptSynchronizer",
    "Transition",
    "TurnCommitted",
    "TurnDetectionMode",
    "TurnDetector",
    "TurnMetricsCollected",
    "UndeclaredTransitionError",
    "UserInputTranscribed",
    "UserState",
    "UserStateChanged",
    "UserTurn",
    "UtteranceSink",
    "VADProgress",
    "Workflow",
    "WorkflowState",
    "current_tool_choice",
    "find_function_tools",
    "function_tool",
    "is_agent",
    "is_agent_class",
    "mock_tools",
    "plan_handoff",
    "record_unconfigured_tool_calls",
    "run_tool_calls",
    "tool_choice_for_step",
]
