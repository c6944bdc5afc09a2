"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

from ._codec import MAX_MESSAGE_SIZE as MAX_MESSAGE_SIZE
from ._codec import decode_envelope as decode_envelope
from ._codec import decode_server_message as decode_server_message
from ._codec import decode_signal_request as decode_signal_request
from ._codec import decode_signal_response as decode_signal_response
from ._codec import decode_worker_message as decode_worker_message
from ._tokens import AuthError as AuthError
from ._tokens import TokenClaims as TokenClaims
from ._tokens import VideoGrants as VideoGrants
from ._tokens import authorize_grant as authorize_grant
from ._tokens import authorize_join as authorize_join
from ._tokens import mint_token as mint_token
from ._tokens import verify_token as verify_token
from ._twirp import TWIRP_METHODS as TWIRP_METHODS
from ._twirp import TwirpError as TwirpError
from ._twirp import TwirpMethod as TwirpMethod
from ._twirp import TwirpRequest as TwirpRequest
from ._twirp import decode_twirp_request as decode_twirp_request
from ._twirp import encode_twirp_error as encode_twirp_error
from ._twirp import encode_twirp_response as encode_twirp_response

__all__ = [
    "MAX_MESSAGE_SIZE",
    "TWIRP_METHODS",
    "AuthError",
    "TokenClaims",
    "TwirpError",
    "TwirpMethod",
    "TwirpRequest",
    "VideoGrants",
    "authorize_grant",
    "authorize_join",
    "decode_envelope",
    "decode_server_message",
    "decode_signal_request",
    "decode_signal_response",
    "decode_twirp_request",
    "decode_worker_message",
    "encode_twirp_error",
    "encode_twirp_response",
    "mint_token",
    "verify_token",
]
