"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

from ._codec import MAX_MESSAGE_SIZE as MAX_MESSAGE_SIZE
from ._codec import decode_envelope as decode_envelope
from ._codec import decode_server_message as decode_server_message
from ._codec import decode_signal_request as decode_signal_request
from ._codec import decode_signal_response as decode_signal_response
from ._codec import decode_worker_message as decode_worker_message
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
from ._signal_events import RequestAnswered as RequestAnswered
from ._signal_events import RoomUpdated as RoomUpdated
from ._signal_events import SignalEvent as SignalEvent
from ._signal_events import SubscriberOfferReceived as SubscriberOfferReceived
from ._signal_events import TokenRefreshed as TokenRefreshed
from ._signal_events import TrackMuteRequested as TrackMuteRequested
from ._tokens import AuthError as AuthError
from ._tokens import TokenClaims as TokenClaims
from ._tokens import VideoGrants as VideoGrants
from ._tokens import authorize_grant as authorize_grant
from ._tokens import authorize_join as authorize_join
from ._tokens import mint_token as mint_token
from ._tokens import verify_token as verify_token

__all__ = [
    "MAX_MESSAGE_SIZE",
    "SIGNAL_PROTOCOL_VERSION",
    "AuthError",
    "IceCandidateReceived",
    "JoinAccepted",
    "LeaveRequested",
    "LocalTrackPublished",
    "LocalTrackSubscribed",
    "LocalTrackUnpublished",
    "ParticipantsUpdated",
    "PongReceived",
    "PublisherAnswerReceived",
    "RequestAnswered",
    "RoomUpdated",
    "SignalClient",
    "SignalConnectOptions",
    "SignalEvent",
    "SignalState",
    "SubscriberOfferReceived",
    "TokenClaims",
    "TokenRefreshed",
    "TrackMuteRequested",
    "VideoGrants",
    "authorize_grant",
    "authorize_join",
    "decode_envelope",
    "decode_server_message",
    "decode_signal_request",
    "decode_signal_response",
    "decode_worker_message",
    "mint_token",
    "signal_url",
    "verify_token",
]
