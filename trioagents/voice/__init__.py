"""Layer 5: sessions, agents, turns, speech, interruption, tools, handoffs."""

from ._agent import Agent as Agent
from ._agent import HasToolSpec as HasToolSpec
from ._audio_io import AudioInput as AudioInput
from ._audio_io import AudioOutput as AudioOutput
from ._audio_io import PlaybackFinished as PlaybackFinished
from ._audio_io import TextOutput as TextOutput
from ._audio_io import UtteranceSink as UtteranceSink
from ._events import AgentState as AgentState
from ._events import AgentStateChanged as AgentStateChanged
from ._events import ConversationItemAdded as ConversationItemAdded
from ._events import ErrorOccurred as ErrorOccurred
from ._events import FalseInterruptionDetected as FalseInterruptionDetected
from ._events import SessionClosed as SessionClosed
from ._events import SessionEvent as SessionEvent
from ._events import SpeechCreated as SpeechCreated
from ._events import SpeechSource as SpeechSource
from ._events import TurnMetricsCollected as TurnMetricsCollected
from ._events import UserInputTranscribed as UserInputTranscribed
from ._events import UserState as UserState
from ._events import UserStateChanged as UserStateChanged
from ._generation import ToolCallExecutor as ToolCallExecutor
from ._generation import ToolStepOutcome as ToolStepOutcome
from ._generation import record_unconfigured_tool_calls as record_unconfigured_tool_calls
from ._options import SessionOptions as SessionOptions
from ._recognition import InlineVADStream as InlineVADStream
from ._run_result import EventAssert as EventAssert
from ._run_result import RunExpectations as RunExpectations
from ._run_result import RunResult as RunResult
from ._session import AgentSession as AgentSession
from ._speech_handle import InterruptionNotAllowedError as InterruptionNotAllowedError
from ._speech_handle import SpeechHandle as SpeechHandle
from ._transcript_sync import TranscriptSynchronizer as TranscriptSynchronizer
from ._turn_detection import TurnDetector as TurnDetector
from ._turn_detection import UserTurn as UserTurn

__all__ = [
    "Agent",
    "AgentSession",
    "AgentState",
    "AgentStateChanged",
    "AudioInput",
    "AudioOutput",
    "ConversationItemAdded",
    "ErrorOccurred",
    "EventAssert",
    "FalseInterruptionDetected",
    "HasToolSpec",
    "InlineVADStream",
    "InterruptionNotAllowedError",
    "PlaybackFinished",
    "RunExpectations",
    "RunResult",
    "SessionClosed",
    "SessionEvent",
    "SessionOptions",
    "SpeechCreated",
    "SpeechHandle",
    "SpeechSource",
    "TextOutput",
    "ToolCallExecutor",
    "ToolStepOutcome",
    "TranscriptSynchronizer",
    "TurnDetector",
    "TurnMetricsCollected",
    "UserInputTranscribed",
    "UserState",
    "UserStateChanged",
    "UserTurn",
    "UtteranceSink",
    "record_unconfigured_tool_calls",
]
