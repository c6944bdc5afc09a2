"""Dev server options, validated at construction."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..core import ConfigurationError

__all__ = ["DEV_API_KEY", "DEV_API_SECRET", "DevServerOptions"]

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def _dev_keys() -> dict[str, str]:
    return {DEV_API_KEY: DEV_API_SECRET}


@dataclass(frozen=True, slots=True)
class DevServerOptions:
    """How to run the dev server.

    ``host``/``port``: where to listen (port 0 picks a free port).
    ``api_keys``: API key → secret; the first pair is the one reported as
    ``server.api_key``/``server.api_secret`` (default: LiveKit's ``devkey``/``secret``).
    ``ice_host_addresses``: the only addresses put into ICE host candidates
    (default loopback; give the namespace's address for libwebrtc clients, which
    ignore loopback).
    ``server_version``: reported to clients; must be semver ≥ 1.8.0 (RPC needs it).
    ``wall_clock``: epoch seconds for tokens and protocol timestamps.
    ``seed``: seeds the load-weighted worker choice (None: unseeded).
    ``departure_timeout``: seconds an emptied room lives on (livekit-server: 20).
    ``empty_timeout``: seconds a room nobody joined lives, unless CreateRoom set one
    (livekit-server: 300).

    Limits (see ``_limits``; each refusal says which limit it hit):
    ``max_room_name_length`` / ``max_identity_length``: bytes of UTF-8
    (livekit-server's ``limit.max_room_name_length`` and
    ``limit.max_participant_identity_length``: 256); a longer room name is
    ``invalid_argument`` on CreateRoom/CreateDispatch and HTTP 400 on ``/rtc``, a
    longer identity HTTP 400 on ``/rtc``.
    ``max_connections``: open TCP connections (HTTP requests and websockets
    together); one more is answered HTTP 503.
    ``register_timeout``: seconds an ``/agent`` connection has to send ``register``
    (livekit-server: 10); then it is closed with code 1008 and reason
    ``register_timeout``. Trio time.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: Mapping[str, str] = field(default_factory=_dev_keys)
    ice_host_addresses: tuple[str, ...] = ("127.0.0.1",)
    server_version: str = "1.9.0"
    wall_clock: Callable[[], float] = time.time
    seed: int | None = None
    departure_timeout: float = 20.0
    empty_timeout: float = 300.0
    max_room_name_length: int = 256
    max_identity_length: int = 256
    max_connections: int = 1000
    register_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.api_keys or not all(k and s for k, s in self.api_keys.items()):
            raise ConfigurationError("api_keys must map at least one non-empty key to a secret")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError("port must be between 0 and 65535")
        for address in self.ice_host_addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ConfigurationError(
                    "ice_host_addresses must be IP addresses, e.g. ('127.0.0.1',)"
                ) from exc
        if self.departure_timeout < 0 or self.empty_timeout < 0:
            raise ConfigurationError("departure_timeout and empty_timeout must be >= 0 seconds")
        if min(self.max_room_name_length, self.max_identity_length, self.max_connections) < 1:
            raise ConfigurationError(
                "max_room_name_length, max_identity_length and max_connections must be >= 1"
            )
        if not self.register_timeout > 0:
            raise ConfigurationError("register_timeout must be > 0 seconds, e.g. 10.0")
        if not self.ice_host_addresses:
            raise ConfigurationError("ice_host_addresses needs at least one address")
        parts = self.server_version.split(".") if _SEMVER.match(self.server_version) else []
        if not parts or (int(parts[0]), int(parts[1])) < (1, 8):
            raise ConfigurationError("server_version must be semver >= 1.8.0, e.g. '1.9.0'")

    @property
    def api_key(self) -> str:
        return next(iter(self.api_keys))

    @property
    def api_secret(self) -> str:
        return self.api_keys[self.api_key]
