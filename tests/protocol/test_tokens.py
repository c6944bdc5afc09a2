from __future__ import annotations

import base64
import contextlib
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.protocol import (
    AuthError,
    VideoGrants,
    authorize_grant,
    authorize_join,
    mint_token,
    verify_token,
)

# Tests build raw JWTs with LiveKit's short dev secret directly through PyJWT.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "dev-secret-value"
KEYS = {"devkey": SECRET}
T0 = 1_800_000_000.0


def _mint(**kwargs: object) -> str:
    defaults: dict[str, object] = {
        "identity": "alice",
        "video": VideoGrants(room_join=True, room="r1"),
        "now": lambda: T0,
    }
    defaults.update(kwargs)
    return mint_token("devkey", SECRET, **defaults)  # type: ignore[arg-type]


def _reason(token: str, **kwargs: object) -> str:
    def check() -> None:
        claims = verify_token(token, KEYS, now=lambda: T0 + 1, **kwargs)  # type: ignore[arg-type]
        authorize_join(claims, "r1")

    with pytest.raises(AuthError) as info:
        check()
    assert SECRET not in str(info.value)
    assert token not in str(info.value)
    return info.value.reason


def test_round_trip_keeps_grants_and_claims() -> None:
    token = _mint(name="Alice", metadata="m", attributes={"a": "1"}, kind="agent")
    claims = verify_token(token, KEYS, now=lambda: T0 + 10)
    assert claims.identity == "alice"
    assert claims.api_key == "devkey"
    assert claims.name == "Alice"
    assert claims.kind == "agent"
    assert claims.attributes == {"a": "1"}
    assert claims.video == VideoGrants(room_join=True, room="r1")
    assert authorize_join(claims) == "r1"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["video"] == {"roomJoin": True, "room": "r1"}
    assert payload["exp"] - payload["nbf"] == 6 * 3600


def test_rejections_have_stable_reasons() -> None:
    assert _reason(_mint(now=lambda: T0 - 7 * 3600)) == "expired"
    assert _reason(mint_token("other", SECRET, identity="a", video=VideoGrants())) == "unknown_key"
    assert (
        _reason(mint_token("devkey", "wrong", identity="a", video=VideoGrants())) == "bad_signature"
    )
    assert _reason(_mint(video=VideoGrants(room_join=True, room="r2"))) == "wrong_room"
    assert _reason(_mint(video=VideoGrants(room="r1"))) == "missing_grant"
    assert _reason("garbage") == "malformed"
    assert _reason("a.b.c") == "malformed"
    no_exp = jwt.encode({"iss": "devkey", "sub": "a"}, SECRET, algorithm="HS256")
    assert _reason(no_exp) == "missing_claim"
    future = _mint(now=lambda: T0 + 3600)
    assert _reason(future) == "not_yet_valid"
    none_alg = jwt.encode({"iss": "devkey", "exp": T0 + 99}, None, algorithm="none")
    assert _reason(none_alg) == "malformed"


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_only_hs256_is_accepted_as_livekit_server_does(algorithm: str) -> None:
    """livekit/protocol's verifier (auth/verifier.go, ``WithValidMethods`` HS256 only
    since its jwt v5 migration, which livekit-server main builds on) refuses HS384 and
    HS512 even with the right secret; so do we, with a message that says why."""
    claims = {"iss": "devkey", "sub": "a", "exp": T0 + 99, "video": {"roomJoin": True}}
    token = jwt.encode(claims, SECRET, algorithm=algorithm)
    with pytest.raises(AuthError, match="HS256") as caught:
        verify_token(token, KEYS, now=lambda: T0)
    assert caught.value.reason == "malformed"


def test_leeway_is_one_minute() -> None:
    token = _mint(ttl=100)
    verify_token(token, KEYS, now=lambda: T0 + 159)
    with pytest.raises(AuthError):
        verify_token(token, KEYS, now=lambda: T0 + 161)


def test_service_grants() -> None:
    claims = verify_token(
        _mint(video=VideoGrants(room_admin=True, room="r1")), KEYS, now=lambda: T0
    )
    authorize_grant(claims, "room_admin", "r1")
    with pytest.raises(AuthError) as info:
        authorize_grant(claims, "room_admin", "r2")
    assert info.value.reason == "wrong_room"
    with pytest.raises(AuthError) as info:
        authorize_grant(claims, "room_create")
    assert info.value.reason == "missing_grant"


def test_room_admin_without_a_room_administers_no_room() -> None:
    """livekit-server's EnsureAdminPermission: ``!RoomAdmin || room != Video.Room``
    is denied, so a roomAdmin grant that names no room is admin of nothing."""
    claims = verify_token(_mint(video=VideoGrants(room_admin=True)), KEYS, now=lambda: T0)
    for room in ("r1", "any-room", None):
        with pytest.raises(AuthError, match=r"video\.room") as info:
            authorize_grant(claims, "room_admin", room)
        assert info.value.reason == "missing_claim"
    empty = verify_token(_mint(video=VideoGrants(room_admin=True, room="")), KEYS, now=lambda: T0)
    with pytest.raises(AuthError):
        authorize_grant(empty, "room_admin", "r1")


def _raw(payload: str) -> str:
    """An HS256 token over a payload written by hand (JSON with NaN or Infinity)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(payload.encode())}"
    algorithm = jwt.get_algorithm_by_name("HS256")
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(SECRET))
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "NaN"),
        ("exp", "Infinity"),
        ("exp", "-Infinity"),
        ("nbf", "NaN"),
        ("nbf", "-Infinity"),
        ("iat", "NaN"),
    ],
)
def test_non_finite_time_claims_are_rejected(claim: str, value: str) -> None:
    times = {"exp": str(T0 + 99), "nbf": str(T0), "iat": str(T0)}
    times[claim] = value
    fields = ", ".join(f'"{name}": {raw}' for name, raw in times.items())
    token = _raw(
        f'{{"iss": "devkey", "sub": "a", {fields}, "video": {{"roomJoin": true, "room": "r1"}}}}'
    )
    with pytest.raises(AuthError, match=f"{claim} must be a finite number") as info:
        verify_token(token, KEYS, now=lambda: T0)
    assert info.value.reason == "malformed"


def test_grant_type_errors_are_malformed() -> None:
    bad = jwt.encode(
        {"iss": "devkey", "sub": "a", "exp": T0 + 99, "video": {"roomJoin": "yes"}},
        SECRET,
        algorithm="HS256",
    )
    assert _reason(bad) == "malformed"


@given(st.text(max_size=300))
def test_any_string_is_accepted_or_rejected_with_auth_error(token: str) -> None:
    with contextlib.suppress(AuthError):
        verify_token(token, KEYS, now=lambda: T0)


@given(st.binary(max_size=200))
def test_any_payload_under_a_valid_header_is_handled(payload: bytes) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    with contextlib.suppress(AuthError):
        verify_token(f"{header}.{b64(payload)}.sig", KEYS, now=lambda: T0)
