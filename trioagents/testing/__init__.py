"""Layer 8: the public test kit (fakes, scripted timelines, state-machine helpers).

Hypothesis is needed only by :class:`WorkflowMachine`, which is imported on first
use (``trioagents.testing.WorkflowMachine`` or ``from trioagents.testing import
WorkflowMachine``), so the rest of the kit imports without it.
"""

from typing import TYPE_CHECKING, Any

from ._conformance import CheckResult as CheckResult
from ._conformance import ConformanceReport as ConformanceReport
from ._conformance import DeepgramFaultInjector as DeepgramFaultInjector
from ._conformance import FaultInjector as FaultInjector
from ._conformance import FaultKind as FaultKind
from ._conformance import OpenAIFaultInjector as OpenAIFaultInjector
from ._conformance import RealtimeTranscriptionFaultInjector as RealtimeTranscriptionFaultInjector
from ._conformance import check_llm_conformance as check_llm_conformance
from ._conformance import check_stt_conformance as check_stt_conformance
from ._conformance import check_tts_conformance as check_tts_conformance
from ._deepgram_faults import DeepgramFault as DeepgramFault
from ._deepgram_faults import ReportErrorAfter as ReportErrorAfter
from ._deepgram_faults import deepgram_rate_limited as deepgram_rate_limited
from ._deepgram_faults import deepgram_unauthorized as deepgram_unauthorized
from ._deepgram_faults import deepgram_unavailable as deepgram_unavailable
from ._deepgram_faults import refused_deepgram_url as refused_deepgram_url
from ._deepgram_recognizer import FakeDeepgramOptions as FakeDeepgramOptions
from ._deepgram_server import DeepgramSession as DeepgramSession
from ._deepgram_server import FakeDeepgramServer as FakeDeepgramServer
from ._deepgram_server import open_fake_deepgram as open_fake_deepgram
from ._deepgram_server import serve_fake_deepgram as serve_fake_deepgram
from ._fake_audio_output import AcceptedFrame as AcceptedFrame
from ._fake_audio_output import FakeAudioOutput as FakeAudioOutput
from ._fake_audio_output import PlayedSegment as PlayedSegment
from ._fake_llm import FakeLLM as FakeLLM
from ._fake_llm import LLMRequest as LLMRequest
from ._fake_llm import LLMScript as LLMScript
from ._fake_streaming_tts import FakeStreamingTTS as FakeStreamingTTS
from ._fake_stt import FakeSTT as FakeSTT
from ._fake_text_output import FakeTextOutput as FakeTextOutput
from ._fake_text_output import PublishedTranscript as PublishedTranscript
from ._fake_tts import FakeTTS as FakeTTS
from ._fake_tts import heard_chars as heard_chars
from ._fake_vad import FakeVAD as FakeVAD
from ._openai_server import ChatReply as ChatReply
from ._openai_server import ClientDisconnected as ClientDisconnected
from ._openai_server import Endpoint as Endpoint
from ._openai_server import OpenAIServer as OpenAIServer
from ._openai_server import OpenAIServerOptions as OpenAIServerOptions
from ._openai_server import RecordedRequest as RecordedRequest
from ._openai_server import open_openai_server as open_openai_server
from ._openai_server import serve_openai_server as serve_openai_server
from ._openai_server_faults import Fault as Fault
from ._openai_server_faults import Healthy as Healthy
from ._openai_server_faults import ResetAfter as ResetAfter
from ._openai_server_faults import RespondWithStatus as RespondWithStatus
from ._openai_server_faults import SendGarbage as SendGarbage
from ._openai_server_faults import ServeHTMLPage as ServeHTMLPage
from ._openai_server_faults import StallAfter as StallAfter
from ._openai_server_faults import TruncateBody as TruncateBody
from ._openai_server_faults import content_filtered as content_filtered
from ._openai_server_faults import rate_limited as rate_limited
from ._openai_server_faults import refused_base_url as refused_base_url
from ._openai_server_faults import server_error as server_error
from ._realtime_transcription_faults import FailTranscriptionAfter as FailTranscriptionAfter
from ._realtime_transcription_faults import RealtimeTranscriptionFault as RealtimeTranscriptionFault
from ._realtime_transcription_faults import ReportRealtimeErrorAfter as ReportRealtimeErrorAfter
from ._realtime_transcription_faults import realtime_rate_limited as realtime_rate_limited
from ._realtime_transcription_faults import realtime_unauthorized as realtime_unauthorized
from ._realtime_transcription_faults import realtime_unavailable as realtime_unavailable
from ._realtime_transcription_faults import refused_realtime_base_url as refused_realtime_base_url
from ._realtime_transcription_recognizer import (
    FakeRealtimeTranscriptionOptions as FakeRealtimeTranscriptionOptions,
)
from ._realtime_transcription_server import (
    FakeRealtimeTranscriptionServer as FakeRealtimeTranscriptionServer,
)
from ._realtime_transcription_server import (
    RealtimeTranscriptionSession as RealtimeTranscriptionSession,
)
from ._realtime_transcription_server import (
    open_fake_realtime_transcription as open_fake_realtime_transcription,
)
from ._realtime_transcription_server import (
    serve_fake_realtime_transcription as serve_fake_realtime_transcription,
)
from ._timeline import FakeAudioInput as FakeAudioInput
from ._timeline import Timeline as Timeline
from ._timeline import UserSpeech as UserSpeech
from ._timeline import noise as noise
from ._timeline import speech as speech
from ._tracking import StreamRecord as StreamRecord
from ._tracking import StreamTracker as StreamTracker
from ._websocket_faults import CloseAfter as CloseAfter
from ._websocket_faults import MalformedAfter as MalformedAfter
from ._websocket_faults import RefuseUpgrade as RefuseUpgrade
from ._websocket_faults import ResetStreamAfter as ResetStreamAfter
from ._websocket_faults import StallStreamAfter as StallStreamAfter
from ._workflow_replay import ChaosLLM as ChaosLLM
from ._workflow_replay import WorkflowViolation as WorkflowViolation

if TYPE_CHECKING:
    from ._workflow_machine import WorkflowMachine as WorkflowMachine
from ._cartesia_server import FakeCartesiaServer as FakeCartesiaServer
from ._cartesia_server import open_fake_cartesia as open_fake_cartesia
from ._conformance import TTSFaultInjector as TTSFaultInjector
from ._elevenlabs_server import FakeElevenLabsServer as FakeElevenLabsServer
from ._elevenlabs_server import open_fake_elevenlabs as open_fake_elevenlabs
from ._fake_tts_voice import FakeTTSOptions as FakeTTSOptions
from ._fake_tts_voice import TTSSession as TTSSession
from ._fake_tts_voice import TTSUtterance as TTSUtterance
from ._openai_realtime_faults import CloseDuringReply as CloseDuringReply
from ._openai_realtime_faults import ErrorForReply as ErrorForReply
from ._openai_realtime_faults import FailReply as FailReply
from ._openai_realtime_faults import MalformedDuringReply as MalformedDuringReply
from ._openai_realtime_faults import NoSessionCreated as NoSessionCreated
from ._openai_realtime_faults import RealtimeFault as RealtimeFault
from ._openai_realtime_faults import ResetDuringReply as ResetDuringReply
from ._openai_realtime_faults import StallDuringReply as StallDuringReply
from ._openai_realtime_script import FakeRealtimeConnection as FakeRealtimeConnection
from ._openai_realtime_script import FakeRealtimeOptions as FakeRealtimeOptions
from ._openai_realtime_script import RealtimeClientEvent as RealtimeClientEvent
from ._openai_realtime_script import RealtimeReply as RealtimeReply
from ._openai_realtime_script import RealtimeReplyRecord as RealtimeReplyRecord
from ._openai_realtime_script import RealtimeToolCall as RealtimeToolCall
from ._openai_realtime_server import FakeRealtimeServer as FakeRealtimeServer
from ._openai_realtime_server import RealtimeScript as RealtimeScript
from ._openai_realtime_server import open_fake_realtime as open_fake_realtime
from ._tts_faults import TTSErrorAfter as TTSErrorAfter
from ._tts_faults import TTSFault as TTSFault
from ._websocket_faults import refused_websocket_url as refused_websocket_url

__all__ = [
    "AcceptedFrame",
    "ChaosLLM",
    "ChatReply",
    "CheckResult",
    "ClientDisconnected",
    "CloseAfter",
    "CloseDuringReply",
    "ConformanceReport",
    "DeepgramFault",
    "DeepgramFaultInjector",
    "DeepgramSession",
    "Endpoint",
    "ErrorForReply",
    "FailReply",
    "FailTranscriptionAfter",
    "FakeAudioInput",
    "FakeAudioOutput",
    "FakeCartesiaServer",
    "FakeDeepgramOptions",
    "FakeDeepgramServer",
    "FakeElevenLabsServer",
    "FakeLLM",
    "FakeRealtimeConnection",
    "FakeRealtimeOptions",
    "FakeRealtimeServer",
    "FakeRealtimeTranscriptionOptions",
    "FakeRealtimeTranscriptionServer",
    "FakeSTT",
    "FakeStreamingTTS",
    "FakeTTS",
    "FakeTTSOptions",
    "FakeTextOutput",
    "FakeVAD",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "Healthy",
    "LLMRequest",
    "LLMScript",
    "MalformedAfter",
    "MalformedDuringReply",
    "NoSessionCreated",
    "OpenAIFaultInjector",
    "OpenAIServer",
    "OpenAIServerOptions",
    "PlayedSegment",
    "PublishedTranscript",
    "RealtimeClientEvent",
    "RealtimeFault",
    "RealtimeReply",
    "RealtimeReplyRecord",
    "RealtimeScript",
    "RealtimeToolCall",
    "RealtimeTranscriptionFault",
    "RealtimeTranscriptionFaultInjector",
    "RealtimeTranscriptionSession",
    "RecordedRequest",
    "RefuseUpgrade",
    "ReportErrorAfter",
    "ReportRealtimeErrorAfter",
    "ResetAfter",
    "ResetDuringReply",
    "ResetStreamAfter",
    "RespondWithStatus",
    "SendGarbage",
    "ServeHTMLPage",
    "StallAfter",
    "StallDuringReply",
    "StallStreamAfter",
    "StreamRecord",
    "StreamTracker",
    "TTSErrorAfter",
    "TTSFault",
    "TTSFaultInjector",
    "TTSSession",
    "TTSUtterance",
    "Timeline",
    "TruncateBody",
    "UserSpeech",
    "WorkflowMachine",
    "WorkflowViolation",
    "check_llm_conformance",
    "check_stt_conformance",
    "check_tts_conformance",
    "content_filtered",
    "deepgram_rate_limited",
    "deepgram_unauthorized",
    "deepgram_unavailable",
    "heard_chars",
    "noise",
    "open_fake_cartesia",
    "open_fake_deepgram",
    "open_fake_elevenlabs",
    "open_fake_realtime",
    "open_fake_realtime_transcription",
    "open_openai_server",
    "rate_limited",
    "realtime_rate_limited",
    "realtime_unauthorized",
    "realtime_unavailable",
    "refused_base_url",
    "refused_deepgram_url",
    "refused_realtime_base_url",
    "refused_websocket_url",
    "serve_fake_deepgram",
    "serve_fake_realtime_transcription",
    "serve_openai_server",
    "server_error",
    "speech",
]


def __getattr__(name: str) -> Any:
    """``WorkflowMachine`` on first use: it needs Hypothesis, nothing else here does."""
    if name != "WorkflowMachine":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from ._workflow_machine import WorkflowMachine
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] != "hypothesis":
            raise
        raise ImportError(
            "trioagents.testing.WorkflowMachine needs Hypothesis: "
            "pip install 'trioagents[testing]' (or hypothesis)"
        ) from exc
    globals()["WorkflowMachine"] = WorkflowMachine
    return WorkflowMachine
