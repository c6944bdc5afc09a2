"""LiveKit access tokens: HS256 JWTs carrying video grants.

Minting (``mint_token``) is what a worker or a test does to join a room;
verification (``verify_token``) is what the dev server does on every request.
Both follow LiveKit's rules: ``iss`` is the API key, ``sub`` the identity, ``exp``
is required, ``nbf`` is honoured, time claims must be finite (JSON ``NaN`` and
``Infinity`` are ``malformed``), leeway one minute, grants in the ``video`` claim
with camelCase names. Only HS256 is accepted: livekit/protocol's verifier allows
that one method (``WithValidMethods``) since its move to golang-jwt v5, which is what
livekit-server builds on; its earlier go-jose verifier also took HS384/HS512.

JWT times are wall-clock seconds by definition, so both functions take ``now``
explicitly (defaulting to the system clock) instead of reading Trio's clock.

Every rejection is an :class:`AuthError` whose ``reason`` is a stable code
(``malformed``, ``unknown_key``, ``bad_signature``, ``expired``, ``not_yet_valid``,
``missing_claim``, ``wrong_room``, ``missing_grant``) and whose message says what
to fix. The token itself and the secret never appear in messages.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeGuard

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from ..core import TrioAgentsError

__all__ = [
    "AuthError",
    "TokenClaims",
    "VideoGrants",
    "authorize_grant",
    "authorize_join",
    "mint_token",
    "verify_token",
]

DEFAULT_TTL = 6 * 3600.0
LEEWAY = 60.0


class AuthError(TrioAgentsError):
    """A token was rejected; ``reason`` is a stable machine-readable code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VideoGrants:
    """LiveKit's ``video`` grant; ``None`` means "absent" (server defaults apply)."""

    room_create: bool | None = None
    room_list: bool | None = None
    room_record: bool | None = None
    room_admin: bool | None = None
    room_join: bool | None = None
    room: str | None = None
    can_publish: bool | None = None
    can_subscribe: bool | None = None
    can_publish_data: bool | None = None
    can_publish_sources: tuple[str, ...] | None = None
    can_update_own_metadata: bool | None = None
    hidden: bool | None = None
    recorder: bool | None = None
    agent: bool | None = None

    def to_claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                claim[_camel(f.name)] = list(value) if isinstance(value, tuple) else value
        return claim

    @classmethod
    def from_claim(cls, claim: Mapping[str, Any]) -> VideoGrants:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = claim.get(_camel(f.name))
            if raw is None:
                continue
            if f.name == "can_publish_sources":
                if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
                    raise AuthError(
                        "video.canPublishSources must be a list of strings", reason="malformed"
                    )
                values[f.name] = tuple(raw)
            elif f.name == "room":
                if not isinstance(raw, str):
                    raise AuthError("video.room must be a string", reason="malformed")
                values[f.name] = raw
            else:
                if not isinstance(raw, bool):
                    raise AuthError(f"video.{_camel(f.name)} must be a boolean", reason="malformed")
                values[f.name] = raw
        return cls(**values)

    @property
    def effective_can_publish(self) -> bool:
        return True if self.can_publish is None else self.can_publish

    @property
    def effective_can_subscribe(self) -> bool:
        return True if self.can_subscribe is None else self.can_subscribe

    @property
    def effective_can_publish_data(self) -> bool:
        if self.can_publish_data is None:
            return self.effective_can_publish
        return self.can_publish_data


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified content of a token."""

    api_key: str
    identity: str
    video: VideoGrants
    name: str = ""
    kind: str = ""
    metadata: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    agent: bool = False
    room_config: Mapping[str, Any] | None = None
    expires_at: float = 0.0


def mint_token(
    api_key: str,
    api_secret: str,
    *,
    identity: str,
    video: VideoGrants,
    ttl: float = DEFAULT_TTL,
    now: Callable[[], float] = time.time,
    **extra: Any,
) -> str:
    """Sign a token. ``extra`` claims (``name``, ``kind``, ``metadata``, ``attributes``,
    ``roomConfig``, ...) are written as given, empty values omitted."""
    issued = int(now())
    claims: dict[str, Any] = {
        "iss": api_key,
        "sub": identity,
        "nbf": issued,
        "exp": issued + int(ttl),
        "video": video.to_claim(),
    }
    claims.update({k: v for k, v in extra.items() if v not in (None, "", {}, [])})
    with warnings.catch_warnings():
        # LiveKit's own dev secret ("secret") is shorter than RFC 7518 recommends; that is
        # the user's choice to make, not a reason to fail under -W error.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, api_secret, algorithm="HS256")


def verify_token(
    token: str,
    secrets: Mapping[str, str],
    *,
    now: Callable[[], float] = time.time,
    leeway: float = LEEWAY,
) -> TokenClaims:
    """Check signature, issuer and times; return the claims or raise :class:`AuthError`."""
    api_key = _issuer(token)
    secret = secrets.get(api_key)
    if secret is None:
        raise AuthError("token issuer is not a known API key", reason="unknown_key")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
    except jwt.InvalidSignatureError as exc:
        raise AuthError(
            "token signature does not match the API secret", reason="bad_signature"
        ) from exc
    except jwt.PyJWTError as exc:
        raise AuthError("token is not a valid HS256 JWT", reason="malformed") from exc
    _check_times(claims, now(), leeway)
    return _claims(api_key, claims)


def _issuer(token: str) -> str:
    if not isinstance(token, str) or token.count(".") != 2:
        raise AuthError(
            "token is not a JWT (expected header.payload.signature)", reason="malformed"
        )
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("token is not a valid JWT", reason="malformed") from exc
    if header.get("alg") != "HS256":
        raise AuthError(
            "token must be signed with HS256 (as livekit-server requires)", reason="malformed"
        )
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthError("token has no issuer (iss = API key)", reason="missing_claim")
    return issuer


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    exp = claims.get("exp")
    if not _is_number(exp):
        raise AuthError("token has no expiry (exp is required)", reason="missing_claim")
    nbf = claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf), ("iat", claims.get("iat"))):
        if _is_number(value) and not math.isfinite(value):
            # Python's json reads NaN and Infinity; NaN compares false with every
            # time, so an unchecked ``exp: NaN`` would never expire.
            raise AuthError(
                f"token claim {name} must be a finite number of seconds", reason="malformed"
            )
    if now > exp + leeway:
        raise AuthError("token has expired; mint a new one", reason="expired")
    if _is_number(nbf) and now + leeway < nbf:
        raise AuthError("token is not valid yet (nbf in the future)", reason="not_yet_valid")


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _claims(api_key: str, claims: Mapping[str, Any]) -> TokenClaims:
    video_claim = claims.get("video") or {}
    if not isinstance(video_claim, Mapping):
        raise AuthError("video grant must be an object", reason="malformed")
    identity = claims.get("sub") or claims.get("jti") or ""
    attributes = claims.get("attributes") or {}
    if not isinstance(identity, str) or not isinstance(attributes, Mapping):
        raise AuthError("token identity or attributes have the wrong type", reason="malformed")
    room_config = claims.get("roomConfig")
    return TokenClaims(
        api_key=api_key,
        identity=identity,
        video=VideoGrants.from_claim(video_claim),
        name=str(claims.get("name") or ""),
        kind=str(claims.get("kind") or ""),
        metadata=str(claims.get("metadata") or ""),
        attributes={str(k): str(v) for k, v in attributes.items()},
        agent=bool(claims.get("agent")),
        room_config=room_config if isinstance(room_config, Mapping) else None,
        expires_at=float(claims["exp"]),
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def authorize_join(claims: TokenClaims, room: str | None = None) -> str:
    """Check that ``claims`` may join a room (``room`` if the request names one).

    Returns the room name to join. Raises :class:`AuthError` (``missing_grant``,
    ``missing_claim`` or ``wrong_room``).
    """
    if not claims.video.room_join:
        raise AuthError("token lacks the video.roomJoin grant", reason="missing_grant")
    if not claims.video.room:
        raise AuthError("token does not name a room (video.room)", reason="missing_claim")
    if not claims.identity:
        raise AuthError("token has no identity (sub)", reason="missing_claim")
    if room is not None and room != claims.video.room:
        raise AuthError("token is for a different room", reason="wrong_room")
    return claims.video.room


def authorize_grant(claims: TokenClaims, grant: str, room: str | None = None) -> None:
    """Check a service grant (``room_create``, ``room_list``, ``room_admin``, ``agent``).

    ``room_admin`` is the right to administer one room, as in livekit-server's
    ``EnsureAdminPermission``: the token must name that room in ``video.room``
    (``missing_claim`` if it names none, ``wrong_room`` if it names another one). A
    ``roomAdmin`` grant without a room administers no room.
    """
    if not getattr(claims.video, grant, None):
        raise AuthError(f"token lacks the video.{_camel(grant)} grant", reason="missing_grant")
    if grant != "room_admin":
        return
    if not claims.video.room:
        raise AuthError(
            "token does not name a room (video.room); roomAdmin applies to that room only",
            reason="missing_claim",
        )
    if room is not None and room != claims.video.room:
        raise AuthError("token is for a different room", reason="wrong_room")
