"""The httpx boundary shared by the OpenAI-compatible providers.

Everything httpx can raise is translated here, once, into the provider error
tree (``raise ... from exc``):

==========================================  ==========================================
httpx                                       trioagents
==========================================  ==========================================
``ConnectTimeout``/``ReadTimeout``/...       :class:`ProviderTimeoutError` (retryable)
``ConnectError``/``ReadError``/``Remote-``   :class:`ProviderConnectionError` (retryable)
``ProtocolError`` (peer hung up mid-body)
status >= 400                                :class:`ProviderStatusError` (408/409/425/429/
                                             5xx retryable) with ``retry_after``; a
                                             moderation body gives
                                             :class:`ContentFilterError` (never retried)
malformed body (our protocol cores raise),   :class:`ProviderError`, *not* retryable: the
a 200 of the wrong content type              same server will likely say the same thing;
(a proxy's ``text/html`` page)               a fallback adapter still fails over
==========================================  ==========================================

``trio.Cancelled`` is never caught: barge-in cancels the scope, the ``async with``
around the response exits, and the response is closed under a shielded, bounded
scope so the server sees the disconnect at once.

Stall detection is httpx's *read* timeout, exposed as ``idle_timeout``: the
longest silence between two reads of one response. It is measured on Trio's clock
(httpcore's trio backend uses ``trio.move_on_after``), so it runs in virtual time
under tests. ``None`` disables it; then only the caller's cancel scope bounds a
stalled stream. An overall deadline stays the caller's (``fail_after``).

Rejected alternative: a per-request ``timeout=`` argument. Timeouts for a whole
call belong to the caller; only the idle bound is a property of the connection.

Environment: :class:`OpenAIConnection` reads ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` when it is *constructed* (never at import), for the fields not
given, as the ``openai`` SDK and LiveKit's openai plugin do; an empty variable
counts as unset. Only ``api.openai.com`` is required to have a key
(:class:`ConfigurationError` at construction): local servers (vLLM, Ollama,
llama.cpp) usually take none. The key is never part of a repr, a message or a log
record; it leaves the process only in the request header.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx
import trio

from ..core import (
    ConfigurationError,
    ContentFilterError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
    RemoteProtocolError,
)
from ..protocol import is_content_filter, parse_error_body, retry_after_seconds

__all__ = [
    "DecodedBody",
    "OpenAIConnection",
    "close_chunks",
    "malformed_response",
    "map_httpx_error",
    "media_type",
    "open_response",
    "wrong_content_type",
]

T = TypeVar("T")
_CLOSE_GRACE = 1.0
_MAX_BUFFERED_CHUNKS = 64
_MAX_ERROR_BODY = 64 * 1024
_OPENAI_API_BASE_URL = "https://api.openai.com/v1"
_KEY_REQUIRED_HOSTS = frozenset({"api.openai.com"})


@dataclass(frozen=True, slots=True)
class OpenAIConnection:
    """Where and how to reach an OpenAI-compatible server.

    ``base_url``: ``""`` (the default) means ``$OPENAI_BASE_URL``, else
    ``https://api.openai.com/v1``. ``api_key``: ``None`` (the default) means
    ``$OPENAI_API_KEY``; ``""`` means send no key and do not read the environment
    (a local server, when ``OPENAI_API_KEY`` holds a key it must not see). Explicit
    arguments win; an empty variable counts as unset; the environment is read here,
    at construction. ``api_key`` goes into ``Authorization: Bearer`` unless
    ``api_key_header`` names another header (Azure OpenAI: ``"api-key"``). ``query``
    is added to every URL (Azure: ``{"api-version": "2024-10-21"}``).
    ``connect_timeout`` and ``idle_timeout`` are per-connection bounds (see module
    docs), not call deadlines.

    Raises :class:`ConfigurationError` for a URL that is not http(s), a
    non-positive bound, or ``api.openai.com`` without a key (neither ``api_key``,
    ``OPENAI_API_KEY`` nor an auth header in ``headers``). The key is kept out of
    ``repr`` and of every message.
    """

    base_url: str = ""
    api_key: str | None = field(default=None, repr=False)
    api_key_header: str = "Authorization"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float | None = 10.0
    idle_timeout: float | None = 10.0

    def __post_init__(self) -> None:
        from_env = not self.base_url
        if from_env:
            object.__setattr__(
                self, "base_url", os.environ.get("OPENAI_BASE_URL") or _OPENAI_API_BASE_URL
            )
        if self.api_key is None:
            object.__setattr__(self, "api_key", os.environ.get("OPENAI_API_KEY") or None)
        if not self.base_url.startswith(("http://", "https://")):
            where = "OPENAI_BASE_URL" if from_env else "OpenAIConnection.base_url"
            raise ConfigurationError(f"{where} must start with http:// or https://")
        for bound in (self.connect_timeout, self.idle_timeout):
            if bound is not None and bound <= 0:
                raise ConfigurationError("connect_timeout/idle_timeout must be positive or None")
        if not self.api_key and self._requires_key() and not self._auth_in_headers():
            raise ConfigurationError(
                "api.openai.com needs an API key: pass OpenAIConnection(api_key=...) or set "
                "OPENAI_API_KEY (for a local server, set base_url or OPENAI_BASE_URL)"
            )

    def _requires_key(self) -> bool:
        try:
            host = urlsplit(self.base_url).hostname
        except ValueError:
            return False
        return host in _KEY_REQUIRED_HOSTS

    def _auth_in_headers(self) -> bool:
        names = {name.lower() for name in self.headers}
        return bool(names & {"authorization", self.api_key_header.lower()})

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.api_key:
            if self.api_key_header.lower() == "authorization":
                headers["Authorization"] = f"Bearer {self.api_key}"
            else:
                headers[self.api_key_header] = self.api_key
        return headers

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.idle_timeout,
            write=self.idle_timeout,
            pool=self.connect_timeout,
        )


def map_httpx_error(exc: httpx.HTTPError, provider: str) -> ProviderError:
    """Translate an httpx transport error; the caller raises it ``from exc``."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeoutError(f"{provider}: request timed out", provider=provider)
    return ProviderConnectionError(
        f"{provider}: connection failed ({type(exc).__name__})", provider=provider
    )


def malformed_response(exc: RemoteProtocolError, provider: str) -> ProviderError:
    """A body our protocol core refused; not retryable (see module docs)."""
    return ProviderError(
        f"{provider}: malformed response ({exc})",
        provider=provider,
        retryable=False,
        body=exc.payload,
    )


def media_type(response: httpx.Response) -> str:
    """The response's media type, lower-cased, without parameters ("" if none)."""
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def wrong_content_type(expected: str, got: str, provider: str) -> ProviderError:
    """A 2xx answer of another format than the endpoint's (not retryable)."""
    return malformed_response(RemoteProtocolError(f"expected {expected}, got {got}"), provider)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context per process: building one loads the CA bundle (~45 ms),
    which a per-call client would otherwise pay on every request."""
    return httpx.create_ssl_context()


class DecodedBody(Generic[T]):
    """The items a sans-I/O decoder makes of a streamed response body, read on demand.

    A plain async iterator (not an async generator): every ``__anext__`` that needs
    more reads one network chunk (a checkpoint) and hands it to :meth:`_feed`; the
    end of the body goes to :meth:`_finish`. Transport errors become ProviderErrors,
    a body the decoder refuses a non-retryable one. :meth:`aclose` finishes the
    body iterator (shielded, bounded) and drops what was decoded but not taken, so
    nothing comes out after a close.
    """

    def __init__(self, response: httpx.Response, label: str) -> None:
        self._chunks = response.aiter_bytes()
        self._label = label
        self._ready: deque[T] = deque()
        self._ended = False

    def _feed(self, chunk: bytes) -> Iterable[T]:
        raise NotImplementedError

    def _finish(self) -> Iterable[T]:
        raise NotImplementedError

    def __aiter__(self) -> DecodedBody[T]:
        return self

    async def aclose(self) -> None:
        self._ended = True
        self._ready.clear()
        await close_chunks(self._chunks)

    async def __anext__(self) -> T:
        """Checkpoints on every network read; raises ProviderError subclasses."""
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            try:
                try:
                    chunk = await self._chunks.__anext__()
                except StopAsyncIteration:
                    self._ended = True
                    items = self._finish()
                else:
                    items = self._feed(chunk)
            except httpx.HTTPError as exc:
                raise map_httpx_error(exc, self._label) from exc
            except RemoteProtocolError as exc:
                raise malformed_response(exc, self._label) from exc
            self._ready.extend(items)
        return self._ready.popleft()


async def close_chunks(chunks: AsyncIterator[bytes]) -> None:
    """Finish an httpx body iterator that may be suspended mid-body.

    httpx's ``aiter_bytes`` is a chain of nested async generators (httpx, then
    httpcore). ``aclose()`` on the outer one leaves the inner ones suspended, to be
    finalized by the garbage collector (a ResourceWarning under Trio). Instead we
    step the chain once more inside an already-cancelled scope: the read deep
    inside raises ``Cancelled``, which unwinds and finishes every generator frame
    in order. Only chunks already buffered can come out first, so the loop is
    bounded. Shielded and bounded by a grace period; never raises.
    """
    with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
        for _ in range(_MAX_BUFFERED_CHUNKS):
            with trio.CancelScope() as doomed:
                doomed.cancel()
                try:
                    await chunks.__anext__()
                except (StopAsyncIteration, httpx.HTTPError):
                    return
            if doomed.cancelled_caught:
                return
        with contextlib.suppress(httpx.HTTPError):
            await chunks.aclose()  # type: ignore[attr-defined]  # an async generator


@asynccontextmanager
async def open_response(
    client: httpx.AsyncClient | None,
    connection: OpenAIConnection,
    request: Mapping[str, Any],
    *,
    provider: str,
) -> AsyncIterator[httpx.Response]:
    """Send ``request`` (``method``, ``path`` and httpx keyword arguments) and yield a
    2xx streaming response, closed on exit even when cancelled.

    Raises the mapped :class:`ProviderError` for transport failures and error
    statuses. Checkpoints: connect, send, and reading an error body. If ``client``
    is None a client is opened for this one request (no connection reuse; pass a
    shared ``httpx.AsyncClient`` in production).
    """
    if client is None:
        async with (
            httpx.AsyncClient(timeout=connection.timeout(), verify=_tls_context()) as own_client,
            _open_on(own_client, connection, request, provider) as response,
        ):
            yield response
    else:
        async with _open_on(client, connection, request, provider) as response:
            yield response


@asynccontextmanager
async def _open_on(
    client: httpx.AsyncClient,
    connection: OpenAIConnection,
    request: Mapping[str, Any],
    provider: str,
) -> AsyncIterator[httpx.Response]:
    options = dict(request)
    method, path = options.pop("method"), options.pop("path")
    built = client.build_request(
        method,
        connection.url(path),
        headers=connection.request_headers(),
        params=dict(connection.query),
        timeout=connection.timeout(),
        **options,
    )
    try:
        response = await client.send(built, stream=True)
    except httpx.HTTPError as exc:
        raise map_httpx_error(exc, provider) from exc
    try:
        if response.status_code >= 400:
            raise await _status_error(response, provider)
        yield response
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
            await response.aclose()


async def _status_error(response: httpx.Response, provider: str) -> ProviderStatusError:
    raw = bytearray()
    try:
        chunks = response.aiter_bytes()
        try:
            async for chunk in chunks:
                raw += chunk
                if len(raw) >= _MAX_ERROR_BODY:
                    break
        finally:
            await close_chunks(chunks)
    except httpx.HTTPError:
        pass  # the status is the error; a broken error body adds nothing
    body = parse_error_body(bytes(raw))
    status = response.status_code
    if is_content_filter(body):
        return ContentFilterError(
            f"{provider}: content filtered (HTTP {status})",
            provider=provider,
            status=status,
            body=body,
        )
    return ProviderStatusError(
        f"{provider}: HTTP {status}",
        provider=provider,
        status=status,
        body=body,
        retry_after=retry_after_seconds(response.headers),
    )
