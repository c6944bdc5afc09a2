"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

from ._cartesia import CARTESIA_API_URL as CARTESIA_API_URL
from ._cartesia import CARTESIA_SAMPLE_RATES as CARTESIA_SAMPLE_RATES
from ._cartesia import CARTESIA_VERSION as CARTESIA_VERSION
from ._cartesia import CartesiaContext as CartesiaContext
from ._cartesia import CartesiaOptions as CartesiaOptions
from ._cartesia import cartesia_url as cartesia_url
from ._cartesia import parse_cartesia_message as parse_cartesia_message
from ._codec import MAX_MESSAGE_SIZE as MAX_MESSAGE_SIZE
from ._codec import decode_envelope as decode_envelope
from ._codec import decode_server_message as decode_server_message
from ._codec import decode_signal_request as decode_signal_request
from ._codec import decode_signal_response as decode_signal_response
from ._codec import decode_worker_message as decode_worker_message
from ._codec import decode_worker_registration as decode_worker_registration
from ._deepgram import DEEPGRAM_LISTEN_URL as DEEPGRAM_LISTEN_URL
from ._deepgram import DEEPGRAM_TRANSITIONS as DEEPGRAM_TRANSITIONS
from ._deepgram import DeepgramClosed as DeepgramClosed
from ._deepgram import DeepgramErrorReported as DeepgramErrorReported
from ._deepgram import DeepgramEvent as DeepgramEvent
from ._deepgram import DeepgramMessageIgnored as DeepgramMessageIgnored
from ._deepgram import DeepgramMetadataReceived as DeepgramMetadataReceived
from ._deepgram import DeepgramOptions as DeepgramOptions
from ._deepgram import DeepgramProtocol as DeepgramProtocol
from ._deepgram import DeepgramSpeechStarted as DeepgramSpeechStarted
from ._deepgram import DeepgramState as DeepgramState
from ._deepgram import DeepgramTranscribed as DeepgramTranscribed
from ._deepgram import DeepgramUtteranceEnded as DeepgramUtteranceEnded
from ._deepgram import listen_url as listen_url
from ._elevenlabs import ELEVENLABS_API_URL as ELEVENLABS_API_URL
from ._elevenlabs import ELEVENLABS_SAMPLE_RATES as ELEVENLABS_SAMPLE_RATES
from ._elevenlabs import ElevenLabsContext as ElevenLabsContext
from ._elevenlabs import ElevenLabsOptions as ElevenLabsOptions
from ._elevenlabs import elevenlabs_close_socket as elevenlabs_close_socket
from ._elevenlabs import elevenlabs_url as elevenlabs_url
from ._elevenlabs import parse_elevenlabs_message as parse_elevenlabs_message
from ._openai_audio import PCMFramer as PCMFramer
from ._openai_audio import TranscriptionBody as TranscriptionBody
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
from ._openai_realtime import REALTIME_TRANSITIONS as REALTIME_TRANSITIONS
from ._openai_realtime import OpenAIRealtimeProtocol as OpenAIRealtimeProtocol
from ._openai_realtime import RealtimeState as RealtimeState
from ._openai_realtime_events import RealtimeAudioDelta as RealtimeAudioDelta
from ._openai_realtime_events import RealtimeAudioDone as RealtimeAudioDone
from ._openai_realtime_events import RealtimeErrorReported as RealtimeErrorReported
from ._openai_realtime_events import RealtimeEvent as RealtimeEvent
from ._openai_realtime_events import RealtimeEventIgnored as RealtimeEventIgnored
from ._openai_realtime_events import (
    RealtimeFunctionArgumentsDelta as RealtimeFunctionArgumentsDelta,
)
from ._openai_realtime_events import RealtimeFunctionCallDone as RealtimeFunctionCallDone
from ._openai_realtime_events import RealtimeInputCleared as RealtimeInputCleared
from ._openai_realtime_events import RealtimeInputCommitted as RealtimeInputCommitted
from ._openai_realtime_events import RealtimeInputTranscribed as RealtimeInputTranscribed
from ._openai_realtime_events import RealtimeInputTranscriptDelta as RealtimeInputTranscriptDelta
from ._openai_realtime_events import (
    RealtimeInputTranscriptionFailed as RealtimeInputTranscriptionFailed,
)
from ._openai_realtime_events import RealtimeItemAdded as RealtimeItemAdded
from ._openai_realtime_events import RealtimeItemDeleted as RealtimeItemDeleted
from ._openai_realtime_events import RealtimeItemTruncated as RealtimeItemTruncated
from ._openai_realtime_events import RealtimeOutputItemAdded as RealtimeOutputItemAdded
from ._openai_realtime_events import RealtimeOutputItemDone as RealtimeOutputItemDone
from ._openai_realtime_events import RealtimeRateLimitsUpdated as RealtimeRateLimitsUpdated
from ._openai_realtime_events import RealtimeResponseCreated as RealtimeResponseCreated
from ._openai_realtime_events import RealtimeResponseDone as RealtimeResponseDone
from ._openai_realtime_events import RealtimeSessionCreated as RealtimeSessionCreated
from ._openai_realtime_events import RealtimeSessionUpdated as RealtimeSessionUpdated
from ._openai_realtime_events import RealtimeSpeechStarted as RealtimeSpeechStarted
from ._openai_realtime_events import RealtimeSpeechStopped as RealtimeSpeechStopped
from ._openai_realtime_events import RealtimeTextDelta as RealtimeTextDelta
from ._openai_realtime_events import RealtimeTranscriptDelta as RealtimeTranscriptDelta
from ._openai_realtime_events import RealtimeTranscriptDone as RealtimeTranscriptDone
from ._openai_realtime_events import RealtimeUsage as RealtimeUsage
from ._openai_realtime_options import REALTIME_SAMPLE_RATE as REALTIME_SAMPLE_RATE
from ._openai_realtime_options import OpenAIRealtimeOptions as OpenAIRealtimeOptions
from ._openai_realtime_options import RealtimeTurnDetection as RealtimeTurnDetection
from ._openai_realtime_options import realtime_url as realtime_url
from ._openai_realtime_parse import parse_realtime_event as parse_realtime_event
from ._realtime_transcription import (
    REALTIME_TRANSCRIPTION_SAMPLE_RATE as REALTIME_TRANSCRIPTION_SAMPLE_RATE,
)
from ._realtime_transcription import RealtimeTranscriptionOptions as RealtimeTranscriptionOptions
from ._realtime_transcription import SemanticVAD as SemanticVAD
from ._realtime_transcription import ServerVAD as ServerVAD
from ._realtime_transcription import TranscriptionAudioCleared as TranscriptionAudioCleared
from ._realtime_transcription import TranscriptionAudioCommitted as TranscriptionAudioCommitted
from ._realtime_transcription import TranscriptionCompleted as TranscriptionCompleted
from ._realtime_transcription import TranscriptionDeltaReceived as TranscriptionDeltaReceived
from ._realtime_transcription import TranscriptionErrorReported as TranscriptionErrorReported
from ._realtime_transcription import TranscriptionEvent as TranscriptionEvent
from ._realtime_transcription import TranscriptionFailed as TranscriptionFailed
from ._realtime_transcription import TranscriptionMessageIgnored as TranscriptionMessageIgnored
from ._realtime_transcription import (
    TranscriptionSessionConfigured as TranscriptionSessionConfigured,
)
from ._realtime_transcription import TranscriptionSpeechStarted as TranscriptionSpeechStarted
from ._realtime_transcription import TranscriptionSpeechStopped as TranscriptionSpeechStopped
from ._realtime_transcription import append_message as append_message
from ._realtime_transcription import parse_transcription_event as parse_transcription_event
from ._realtime_transcription import realtime_transcription_url as realtime_transcription_url
from ._realtime_transcription import session_update_message as session_update_message
from ._realtime_transcription_client import COMMIT_EMPTY as COMMIT_EMPTY
from ._realtime_transcription_client import TRANSCRIPTION_TRANSITIONS as TRANSCRIPTION_TRANSITIONS
from ._realtime_transcription_client import (
    RealtimeTranscriptionProtocol as RealtimeTranscriptionProtocol,
)
from ._realtime_transcription_client import TranscriptFinalized as TranscriptFinalized
from ._realtime_transcription_client import TranscriptionClosed as TranscriptionClosed
from ._realtime_transcription_client import TranscriptionOutput as TranscriptionOutput
from ._realtime_transcription_client import TranscriptionState as TranscriptionState
from ._realtime_transcription_client import TranscriptUpdated as TranscriptUpdated
from ._signal import SIGNAL_PROTOCOL_VERSION as SIGNAL_PROTOCOL_VERSION
from ._signal import SignalClient as SignalClient
from ._signal import SignalConnectOptions as SignalConnectOptions
from ._signal import SignalState as SignalState
from ._signal import signal_url as signal_url
from ._signal_events import IceCandidateReceived as IceCandidateReceived
from ._signal_events import JoinAccepted as JoinAccepted
from ._signal_events import LeaveRequested as LeaveRequested
from ._signal_events import LocalTrackPublished as LocalTrackPublished
from ._signal_events import LocalTrackSubscribed as LocalTrackSubscribed
from ._signal_events import LocalTrackUnpublished as LocalTrackUnpublished
from ._signal_events import ParticipantsUpdated as ParticipantsUpdated
from ._signal_events import PongReceived as PongReceived
from ._signal_events import PublisherAnswerReceived as PublisherAnswerReceived
from ._signal_events import Reconnected as Reconnected
from ._signal_events import RequestAnswered as RequestAnswered
from ._signal_events import RoomUpdated as RoomUpdated
from ._signal_events import SignalEvent as SignalEvent
from ._signal_events import SubscriberOfferReceived as SubscriberOfferReceived
from ._signal_events import TokenRefreshed as TokenRefreshed
from ._signal_events import TrackMuteRequested as TrackMuteRequested
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import SSEDecoder as SSEDecoder
from ._tokens import AuthError as AuthError
from ._tokens import TokenClaims as TokenClaims
from ._tokens import VideoGrants as VideoGrants
from ._tokens import authorize_grant as authorize_grant
from ._tokens import authorize_join as authorize_join
from ._tokens import mint_token as mint_token
from ._tokens import verify_token as verify_token
from ._tts_events import TTS_CONTEXT_TRANSITIONS as TTS_CONTEXT_TRANSITIONS
from ._tts_events import CharTiming as CharTiming
from ._tts_events import TTSAudioReceived as TTSAudioReceived
from ._tts_events import TTSContextDone as TTSContextDone
from ._tts_events import TTSContextMachine as TTSContextMachine
from ._tts_events import TTSContextState as TTSContextState
from ._tts_events import TTSErrorReported as TTSErrorReported
from ._tts_events import TTSMessageIgnored as TTSMessageIgnored
from ._tts_events import TTSServerEvent as TTSServerEvent
from ._tts_events import TTSWordsTimed as TTSWordsTimed
from ._tts_events import WordTiming as WordTiming
from ._tts_frames import AlignedFramer as AlignedFramer
from ._tts_text import TextAligner as TextAligner
from ._tts_text import TextPiece as TextPiece
from ._tts_text import WordChunker as WordChunker
from ._twirp import TWIRP_METHODS as TWIRP_METHODS
from ._twirp import TwirpError as TwirpError
from ._twirp import TwirpMethod as TwirpMethod
from ._twirp import TwirpRequest as TwirpRequest
from ._twirp import decode_twirp_request as decode_twirp_request
from ._twirp import encode_twirp_error as encode_twirp_error
from ._twirp import encode_twirp_response as encode_twirp_response
from ._worker import WORKER_CONNECTION_TRANSITIONS as WORKER_CONNECTION_TRANSITIONS
from ._worker import WORKER_JOB_TRANSITIONS as WORKER_JOB_TRANSITIONS
from ._worker import AssignmentIgnored as AssignmentIgnored
from ._worker import AvailabilityRequested as AvailabilityRequested
from ._worker import GoAwayReceived as GoAwayReceived
from ._worker import JobAssigned as JobAssigned
from ._worker import JobTerminationRequested as JobTerminationRequested
from ._worker import WorkerEvent as WorkerEvent
from ._worker import WorkerJobPhase as WorkerJobPhase
from ._worker import WorkerPongReceived as WorkerPongReceived
from ._worker import WorkerProtocol as WorkerProtocol
from ._worker import WorkerProtocolState as WorkerProtocolState
from ._worker import WorkerRegistered as WorkerRegistered
from ._worker import WorkerRegistration as WorkerRegistration
from ._worker_ipc import MAX_IPC_FRAME as MAX_IPC_FRAME
from ._worker_ipc import IpcFrameDecoder as IpcFrameDecoder
from ._worker_ipc import encode_ipc_message as encode_ipc_message

__all__ = [
    "CARTESIA_API_URL",
    "CARTESIA_SAMPLE_RATES",
    "CARTESIA_VERSION",
    "COMMIT_EMPTY",
    "DEEPGRAM_LISTEN_URL",
    "DEEPGRAM_TRANSITIONS",
    "ELEVENLABS_API_URL",
    "ELEVENLABS_SAMPLE_RATES",
    "MAX_IPC_FRAME",
    "MAX_MESSAGE_SIZE",
    "REALTIME_SAMPLE_RATE",
    "REALTIME_TRANSCRIPTION_SAMPLE_RATE",
    "REALTIME_TRANSITIONS",
    "SIGNAL_PROTOCOL_VERSION",
    "TRANSCRIPTION_TRANSITIONS",
    "TTS_CONTEXT_TRANSITIONS",
    "TWIRP_METHODS",
    "WORKER_CONNECTION_TRANSITIONS",
    "WORKER_JOB_TRANSITIONS",
    "AlignedFramer",
    "AssignmentIgnored",
    "AuthError",
    "AvailabilityRequested",
    "CartesiaContext",
    "CartesiaOptions",
    "CharTiming",
    "ChatErrorReported",
    "ChatFinished",
    "ChatStreamDecoder",
    "ChatStreamItem",
    "DeepgramClosed",
    "DeepgramErrorReported",
    "DeepgramEvent",
    "DeepgramMessageIgnored",
    "DeepgramMetadataReceived",
    "DeepgramOptions",
    "DeepgramProtocol",
    "DeepgramSpeechStarted",
    "DeepgramState",
    "DeepgramTranscribed",
    "DeepgramUtteranceEnded",
    "ElevenLabsContext",
    "ElevenLabsOptions",
    "GoAwayReceived",
    "IceCandidateReceived",
    "IpcFrameDecoder",
    "JobAssigned",
    "JobTerminationRequested",
    "JoinAccepted",
    "LeaveRequested",
    "LocalTrackPublished",
    "LocalTrackSubscribed",
    "LocalTrackUnpublished",
    "OpenAIRealtimeOptions",
    "OpenAIRealtimeProtocol",
    "PCMFramer",
    "ParticipantsUpdated",
    "PongReceived",
    "PublisherAnswerReceived",
    "RealtimeAudioDelta",
    "RealtimeAudioDone",
    "RealtimeErrorReported",
    "RealtimeEvent",
    "RealtimeEventIgnored",
    "RealtimeFunctionArgumentsDelta",
    "RealtimeFunctionCallDone",
    "RealtimeInputCleared",
    "RealtimeInputCommitted",
    "RealtimeInputTranscribed",
    "RealtimeInputTranscriptDelta",
    "RealtimeInputTranscriptionFailed",
    "RealtimeItemAdded",
    "RealtimeItemDeleted",
    "RealtimeItemTruncated",
    "RealtimeOutputItemAdded",
    "RealtimeOutputItemDone",
    "RealtimeRateLimitsUpdated",
    "RealtimeResponseCreated",
    "RealtimeResponseDone",
    "RealtimeSessionCreated",
    "RealtimeSessionUpdated",
    "RealtimeSpeechStarted",
    "RealtimeSpeechStopped",
    "RealtimeState",
    "RealtimeTextDelta",
    "RealtimeTranscriptDelta",
    "RealtimeTranscriptDone",
    "RealtimeTranscriptionOptions",
    "RealtimeTranscriptionProtocol",
    "RealtimeTurnDetection",
    "RealtimeUsage",
    "Reconnected",
    "RequestAnswered",
    "RoomUpdated",
    "SSEDecoder",
    "SemanticVAD",
    "ServerSentEvent",
    "ServerVAD",
    "SignalClient",
    "SignalConnectOptions",
    "SignalEvent",
    "SignalState",
    "SubscriberOfferReceived",
    "TTSAudioReceived",
    "TTSContextDone",
    "TTSContextMachine",
    "TTSContextState",
    "TTSErrorReported",
    "TTSMessageIgnored",
    "TTSServerEvent",
    "TTSWordsTimed",
    "TextAligner",
    "TextPiece",
    "TokenClaims",
    "TokenRefreshed",
    "ToolCallAssembler",
    "TrackMuteRequested",
    "TranscriptFinalized",
    "TranscriptUpdated",
    "TranscriptionAudioCleared",
    "TranscriptionAudioCommitted",
    "TranscriptionBody",
    "TranscriptionClosed",
    "TranscriptionCompleted",
    "TranscriptionDeltaReceived",
    "TranscriptionErrorReported",
    "TranscriptionEvent",
    "TranscriptionFailed",
    "TranscriptionMessageIgnored",
    "TranscriptionOutput",
    "TranscriptionSessionConfigured",
    "TranscriptionSpeechStarted",
    "TranscriptionSpeechStopped",
    "TranscriptionState",
    "TwirpError",
    "TwirpMethod",
    "TwirpRequest",
    "VideoGrants",
    "WordChunker",
    "WordTiming",
    "WorkerEvent",
    "WorkerJobPhase",
    "WorkerPongReceived",
    "WorkerProtocol",
    "WorkerProtocolState",
    "WorkerRegistered",
    "WorkerRegistration",
    "append_message",
    "authorize_grant",
    "authorize_join",
    "cartesia_url",
    "chat_messages",
    "chat_request_body",
    "decode_envelope",
    "decode_server_message",
    "decode_signal_request",
    "decode_signal_response",
    "decode_twirp_request",
    "decode_worker_message",
    "decode_worker_registration",
    "elevenlabs_close_socket",
    "elevenlabs_url",
    "encode_ipc_message",
    "encode_twirp_error",
    "encode_twirp_response",
    "encode_wav",
    "is_content_filter",
    "listen_url",
    "mint_token",
    "parse_cartesia_message",
    "parse_elevenlabs_message",
    "parse_error_body",
    "parse_realtime_event",
    "parse_transcription_event",
    "realtime_transcription_url",
    "realtime_url",
    "retry_after_seconds",
    "session_update_message",
    "signal_url",
    "speech_request_body",
    "transcription_text",
    "verify_token",
]
