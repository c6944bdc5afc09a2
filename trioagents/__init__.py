"""trioagents: realtime voice AI agents for LiveKit rooms, on Trio.

The names here are the everyday API: agents, sessions, tools, the data types they
exchange, and the error tree. Everything else lives in its layer's subpackage:
``trioagents.rtc`` (rooms and media), ``trioagents.worker`` (jobs),
``trioagents.providers`` (VAD/STT/LLM/TTS), ``trioagents.devserver``,
``trioagents.persistence``, ``trioagents.observability`` and the test kit
``trioagents.testing``.

Importing this package starts nothing: no event loop, no thread, no socket.
"""

from .core import AgentHandoff as AgentHandoff
from .core import AudioFrame as AudioFrame
from .core import ChatContext as ChatContext
from .core import ChatMessage as ChatMessage
from .core import ConfigurationError as ConfigurationError
from .core import ContentFilterError as ContentFilterError
from .core import EndSession as EndSession
from .core import ErrorContext as ErrorContext
from .core import FallBack as FallBack
from .core import FunctionCall as FunctionCall
from .core import FunctionCallOutput as FunctionCallOutput
from .core import ProviderError as ProviderError
from .core import RetryRequest as RetryRequest
from .core import SayMessage as SayMessage
from .core import SkipTurn as SkipTurn
from .core import ToolError as ToolError
from .core import TrioAgentsError as TrioAgentsError
from .voice import Agent as Agent
from .voice import AgentSession as AgentSession
from .voice import AgentStateChanged as AgentStateChanged
from .voice import AudioInput as AudioInput
from .voice import AudioOutput as AudioOutput
from .voice import CircularWaitError as CircularWaitError
from .voice import ConversationItemAdded as ConversationItemAdded
from .voice import Custom as Custom
from .voice import ErrorOccurred as ErrorOccurred
from .voice import FalseInterruptionDetected as FalseInterruptionDetected
from .voice import InterruptionNotAllowedError as InterruptionNotAllowedError
from .voice import KeepAll as KeepAll
from .voice import KeepLastTurns as KeepLastTurns
from .voice import PlaybackFinished as PlaybackFinished
from .voice import Reset as Reset
from .voice import RunContext as RunContext
from .voice import RunResult as RunResult
from .voice import SessionClosed as SessionClosed
from .voice import SessionClosedError as SessionClosedError
from .voice import SessionOptions as SessionOptions
from .voice import SpeechCreated as SpeechCreated
from .voice import SpeechHandle as SpeechHandle
from .voice import SpeechPriority as SpeechPriority
from .voice import StopResponse as StopResponse
from .voice import Summarize as Summarize
from .voice import TurnDetector as TurnDetector
from .voice import TurnMetricsCollected as TurnMetricsCollected
from .voice import UserInputTranscribed as UserInputTranscribed
from .voice import UserStateChanged as UserStateChanged
from .voice import Workflow as Workflow
from .voice import function_tool as function_tool

__all__ = [
    "Agent",
    "AgentHandoff",
    "AgentSession",
    "AgentStateChanged",
    "AudioFrame",
    "AudioInput",
    "AudioOutput",
    "ChatContext",
    "ChatMessage",
    "CircularWaitError",
    "ConfigurationError",
    "ContentFilterError",
    "ConversationItemAdded",
    "Custom",
    "EndSession",
    "ErrorContext",
    "ErrorOccurred",
    "FallBack",
    "FalseInterruptionDetected",
    "FunctionCall",
    "FunctionCallOutput",
    "InterruptionNotAllowedError",
    "KeepAll",
    "KeepLastTurns",
    "PlaybackFinished",
    "ProviderError",
    "Reset",
    "RetryRequest",
    "RunContext",
    "RunResult",
    "SayMessage",
    "SessionClosed",
    "SessionClosedError",
    "SessionOptions",
    "SkipTurn",
    "SpeechCreated",
    "SpeechHandle",
    "SpeechPriority",
    "StopResponse",
    "Summarize",
    "ToolError",
    "TrioAgentsError",
    "TurnDetector",
    "TurnMetricsCollected",
    "UserInputTranscribed",
    "UserStateChanged",
    "Workflow",
    "function_tool",
]
