"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

from ._openai_audio import PCMFramer as PCMFramer
from ._openai_audio import encode_wav as encode_wav
from ._openai_audio import speech_request_body as speech_request_body
from ._openai_audio import transcription_text as transcription_text
from ._openai_chat import ChatErrorReported as ChatErrorReported
from ._openai_chat import ChatFinished as ChatFinished
from ._openai_chat import ChatStreamDecoder as ChatStreamDecoder
from ._openai_chat import ChatStreamItem as ChatStreamItem
from ._openai_chat import ToolCallAssembler as ToolCallAssembler
from ._openai_chat import chat_messages as chat_messages
from ._openai_chat import chat_request_body as chat_request_body
from ._openai_errors import is_content_filter as is_content_filter
from ._openai_errors import parse_error_body as parse_error_body
from ._openai_errors import retry_after_seconds as retry_after_seconds
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import SSEDecoder as SSEDecoder

__all__ = [
    "ChatErrorReported",
    "ChatFinished",
    "ChatStreamDecoder",
    "ChatStreamItem",
    "PCMFramer",
    "SSEDecoder",
    "ServerSentEvent",
    "ToolCallAssembler",
    "chat_messages",
    "chat_request_body",
    "encode_wav",
    "is_content_filter",
    "parse_error_body",
    "retry_after_seconds",
    "speech_request_body",
    "transcription_text",
]
