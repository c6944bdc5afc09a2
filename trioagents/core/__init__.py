"""Layer 0: data types and protocols shared by every layer. No I/O; no trio task but
the ticker's, owned by the caller's ``async with open_ticker()``."""

from ._async_cm import AsyncWithOnly as AsyncWithOnly
from ._async_cm import AsyncWithRequiredError as AsyncWithRequiredError
from ._async_cm import async_with_only as async_with_only
from ._audio import AudioFrame as AudioFrame
from ._audio import concat_frames as concat_frames
from ._audio import silence as silence
from ._chat import AgentHandoff as AgentHandoff
from ._chat import ChatContext as ChatContext
from ._chat import ChatItem as ChatItem
from ._chat import ChatMessage as ChatMessage
from ._chat import ChatRole as ChatRole
from ._chat import FunctionCall as FunctionCall
from ._chat import FunctionCallOutput as FunctionCallOutput
from ._error_handling import EndSession as EndSession
from ._error_handling import ErrorAction as ErrorAction
from ._error_handling import ErrorContext as ErrorContext
from ._error_handling import ErrorHandler as ErrorHandler
from ._error_handling import ErrorSource as ErrorSource
from ._error_handling import FallBack as FallBack
from ._error_handling import RetryRequest as RetryRequest
from ._error_handling import SayMessage as SayMessage
from ._error_handling import SkipTurn as SkipTurn
from ._error_handling import SupportsFailover as SupportsFailover
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ConnectError as ConnectError
from ._errors import ConnectionClosedError as ConnectionClosedError
from ._errors import ContentFilterError as ContentFilterError
from ._errors import JobError as JobError
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import ProtocolError as ProtocolError
from ._errors import ProviderConnectionError as ProviderConnectionError
from ._errors import ProviderError as ProviderError
from ._errors import ProviderStatusError as ProviderStatusError
from ._errors import ProviderTimeoutError as ProviderTimeoutError
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import ToolError as ToolError
from ._errors import TransportError as TransportError
from ._errors import TrioAgentsError as TrioAgentsError
from ._exception_groups import collapse_single_error as collapse_single_error
from ._exception_groups import exception_leaves as exception_leaves
from ._exception_groups import is_cancellation as is_cancellation
from ._ids import short_id as short_id
from ._providers import LLM as LLM
from ._providers import STT as STT
from ._providers import TTS as TTS
from ._providers import VAD as VAD
from ._providers import BatchSTT as BatchSTT
from ._providers import LLMEvent as LLMEvent
from ._providers import LLMTextDelta as LLMTextDelta
from ._providers import LLMToolCall as LLMToolCall
from ._providers import LLMUsage as LLMUsage
from ._providers import SpeechEvent as SpeechEvent
from ._providers import SpeechEventType as SpeechEventType
from ._providers import StreamingTTS as StreamingTTS
from ._providers import STTStream as STTStream
from ._providers import ToolChoice as ToolChoice
from ._providers import ToolSpec as ToolSpec
from ._providers import TTSStream as TTSStream
from ._providers import VADEvent as VADEvent
from ._providers import VADEventType as VADEventType
from ._providers import VADStream as VADStream
from ._providers import streams_text_input as streams_text_input
from ._realtime import InputCommitted as InputCommitted
from ._realtime import InputSpeechStarted as InputSpeechStarted
from ._realtime import InputSpeechStopped as InputSpeechStopped
from ._realtime import InputTranscribed as InputTranscribed
from ._realtime import InputTranscriptionFailed as InputTranscriptionFailed
from ._realtime import RealtimeInputEvent as RealtimeInputEvent
from ._realtime import RealtimeLLM as RealtimeLLM
from ._realtime import RealtimeResponse as RealtimeResponse
from ._realtime import RealtimeResponseEvent as RealtimeResponseEvent
from ._realtime import RealtimeSession as RealtimeSession
from ._realtime import ResponseAudio as ResponseAudio
from ._realtime import ResponseText as ResponseText
from ._sentences import SentenceSplitter as SentenceSplitter
from ._sentences import split_sentences as split_sentences
from ._ticker import Alarm as Alarm
from ._ticker import Ticker as Ticker
from ._ticker import current_ticker as current_ticker
from ._ticker import open_ticker as open_ticker
from ._ticker import pace_until as pace_until

__all__ = [
    "LLM",
    "STT",
    "TTS",
    "VAD",
    "AgentHandoff",
    "Alarm",
    "AsyncWithOnly",
    "AsyncWithRequiredError",
    "AudioFrame",
    "BatchSTT",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "ConfigurationError",
    "ConnectError",
    "ConnectionClosedError",
    "ContentFilterError",
    "EndSession",
    "ErrorAction",
    "ErrorContext",
    "ErrorHandler",
    "ErrorSource",
    "FallBack",
    "FunctionCall",
    "FunctionCallOutput",
    "InputCommitted",
    "InputSpeechStarted",
    "InputSpeechStopped",
    "InputTranscribed",
    "InputTranscriptionFailed",
    "JobError",
    "LLMEvent",
    "LLMTextDelta",
    "LLMToolCall",
    "LLMUsage",
    "LocalProtocolError",
    "ProtocolError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeoutError",
    "RealtimeInputEvent",
    "RealtimeLLM",
    "RealtimeResponse",
    "RealtimeResponseEvent",
    "RealtimeSession",
    "RemoteProtocolError",
    "ResponseAudio",
    "ResponseText",
    "RetryRequest",
    "STTStream",
    "SayMessage",
    "SentenceSplitter",
    "SkipTurn",
    "SpeechEvent",
    "SpeechEventType",
    "StreamingTTS",
    "SupportsFailover",
    "TTSStream",
    "Ticker",
    "ToolChoice",
    "ToolError",
    "ToolSpec",
    "TransportError",
    "TrioAgentsError",
    "VADEvent",
    "VADEventType",
    "VADStream",
    "async_with_only",
    "collapse_single_error",
    "concat_frames",
    "current_ticker",
    "exception_leaves",
    "is_cancellation",
    "open_ticker",
    "pace_until",
    "short_id",
    "silence",
    "split_sentences",
    "streams_text_input",
]
