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
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: Mapping[str, str] = field(default_factory=_dev_keys)
    ice_host_addresses: tuple[str, ...] = ("127.0.0.1",)
    server_version: str = "1.9.0"
    wall_clock: Callable[[], float] = time.time
    seed: int | None = None

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
