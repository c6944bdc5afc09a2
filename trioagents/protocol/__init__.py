"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

from ._tokens import AuthError as AuthError
from ._tokens import TokenClaims as TokenClaims
from ._tokens import VideoGrants as VideoGrants
from ._tokens import authorize_grant as authorize_grant
from ._tokens import authorize_join as authorize_join
from ._tokens import mint_token as mint_token
from ._tokens import verify_token as verify_token

__all__ = [
    "AuthError",
    "TokenClaims",
    "VideoGrants",
    "authorize_grant",
    "authorize_join",
    "mint_token",
    "verify_token",
]
