"""A provider's websocket base URL, checked once (the streaming TTS cores).

:func:`websocket_base` takes what a user would write for an API base -- ``wss://``
or ``ws://``, or the ``https://``/``http://`` of the same API -- and returns the
websocket form without a trailing slash; ConfigurationError for anything else, or
a base that carries a query (options, never the key, make the query).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..core import ConfigurationError

__all__ = ["websocket_base"]

_SCHEMES = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}


def websocket_base(url: str, provider: str) -> str:
    parts = urlsplit(url)
    scheme = _SCHEMES.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ConfigurationError(
            f"the {provider} base URL must be ws(s):// or http(s):// with a host"
        )
    if parts.query:
        raise ConfigurationError(f"the {provider} base URL must not carry a query")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
