"""A loopback HTTP server that speaks the OpenAI wire formats and fails on demand.

It serves ``POST .../chat/completions`` (SSE chunks, text and tool calls),
``.../audio/speech`` (raw 24 kHz PCM) and ``.../audio/transcriptions`` (JSON),
one request per connection, over ``h11`` on ``127.0.0.1``. Each request takes the
next :data:`Fault` queued for its endpoint (:meth:`OpenAIServer.script`); with
none queued it answers normally.

A normal chat answer is the next :class:`ChatReply` queued with
:meth:`OpenAIServer.script_chat` (one per completion, in order: a tool call,
then -- once the client sent the tool's output back -- the text), or the
options' ``chat_text``/``chat_tool_calls`` when none is queued. A queued reply is
used up only by a request answered in full; a faulted one (error status, reset,
stall, truncation) leaves it for the retry. Faults:

* :class:`ResetAfter` -- send that many bytes of the response, then reset (RST).
* :class:`StallAfter` -- send that many bytes, then go silent until the client leaves.
* :class:`Healthy` -- answer normally (a passing request between faults).
* :class:`RespondWithStatus` -- a status (an error, or a 200 of your own) with body
  and headers, optionally chunked (no ``Content-Length``)
  (:func:`rate_limited`, :func:`server_error`, :func:`content_filtered` build the
  usual ones).
* :class:`TruncateBody` -- stop after ``units`` SSE events (chat: the chunked body
  then ends cleanly without ``[DONE]``) or ``units`` body chunks (speech and
  transcription declare a ``Content-Length`` and the connection closes short).
* :class:`SendGarbage` -- a 200 whose body is garbage for that endpoint.
* :class:`ServeHTMLPage` -- a 200 ``text/html`` page, whatever the endpoint (a
  proxy's or captive portal's answer).

Connection refused needs no server: :func:`refused_base_url`.

The server records every request (:attr:`OpenAIServer.requests`) and every client
that left before its response was complete (:attr:`OpenAIServer.disconnects`), so
tests can assert that barge-in really closed the HTTP response. A watcher task per
connection reads the socket while the response is written, so a disconnect is
seen at once even while the server sleeps between chunks (``chunk_interval``, on
Trio's clock: virtual under ``autojump_clock``).

Run it with ``async with open_openai_server() as server:`` (or start
:func:`serve_openai_server` in your nursery with ``nursery.start``).
"""

from __future__ import annotations

import json
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import h11
import trio

from ..core import ConfigurationError, LLMToolCall, collapse_single_error
from ._openai_replies import chat_events, speech_pcm
from ._openai_server_faults import (
    Fault,
    Healthy,
    ResetAfter,
    RespondWithStatus,
    SendGarbage,
    ServeHTMLPage,
    StallAfter,
    TruncateBody,
)

__all__ = [
    "ChatReply",
    "ClientDisconnected",
    "Endpoint",
    "OpenAIServer",
    "OpenAIServerOptions",
    "RecordedRequest",
    "open_openai_server",
    "serve_openai_server",
]

Endpoint: TypeAlias = Literal["chat", "speech", "transcription"]
_PATHS: dict[str, Endpoint] = {
    "/chat/completions": "chat",
    "/audio/speech": "speech",
    "/audio/transcriptions": "transcription",
}
_MAX_REQUEST = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class OpenAIServerOptions:
    """Normal answers. Speech lasts ``speech_seconds_per_char`` x characters."""

    chat_text: str = "Hello there! How can I help you today?"
    chat_tool_calls: tuple[LLMToolCall, ...] = ()
    transcript: str = "hello world"
    chunk_interval: float = 0.02
    speech_sample_rate: int = 24000
    speech_seconds_per_char: float = 0.01
    speech_chunk_bytes: int = 4800

    def __post_init__(self) -> None:
        if self.chunk_interval < 0 or self.speech_chunk_bytes <= 0:
            raise ConfigurationError("chunk_interval must be >= 0 and speech_chunk_bytes > 0")


@dataclass(frozen=True, slots=True)
class ChatReply:
    """One scripted completion: ``text`` streamed word by word, then ``tool_calls``
    as OpenAI ``tool_calls`` deltas (arguments in two fragments). Empty ``text``:
    no content delta, as OpenAI streams a tool-call-only answer."""

    text: str = ""
    tool_calls: Sequence[LLMToolCall] = ()

    def __post_init__(self) -> None:
        if not self.text and not self.tool_calls:
            raise ConfigurationError("a ChatReply needs text, tool calls, or both")
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    endpoint: Endpoint | None
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class ClientDisconnected:
    """A client closed its connection before the response was complete."""

    endpoint: Endpoint | None
    at: float
    bytes_sent: int


@dataclass(slots=True)
class _Reply:
    status: int
    headers: list[tuple[str, str]]
    chunks: list[bytes]
    content_length: bool
    complete: bool = True  # False: end the connection after the chunks (truncation)
    declared_length: int | None = None  # Content-Length as announced (before truncation)


class _Aborted(Exception):
    """Internal: the response was cut on purpose (reset)."""


class OpenAIServer:
    """State of one test server: its options, fault queues and what it observed."""

    def __init__(self, options: OpenAIServerOptions | None = None) -> None:
        self.options = options or OpenAIServerOptions()
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[ClientDisconnected] = []
        self._faults: dict[Endpoint | None, deque[Fault]] = {}
        self._chat_replies: deque[ChatReply] = deque()
        self._changed = trio.Event()
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise ConfigurationError("the server is not serving yet; use open_openai_server()")
        return f"http://127.0.0.1:{self._port}/v1"

    def script(self, *faults: Fault, endpoint: Endpoint | None = None) -> None:
        """Queue faults for the next requests to ``endpoint`` (None: any endpoint)."""
        self._faults.setdefault(endpoint, deque()).extend(faults)

    def script_chat(self, *replies: ChatReply) -> None:
        """Queue the next chat completions, one reply per request, in order."""
        self._chat_replies.extend(replies)

    @property
    def chat_replies_left(self) -> int:
        """Scripted chat replies not used up yet."""
        return len(self._chat_replies)

    def requests_to(self, endpoint: Endpoint) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    async def wait_disconnects(self, count: int = 1) -> None:
        """Block until at least ``count`` early disconnects were recorded."""
        while len(self.disconnects) < count:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _next_fault(self, endpoint: Endpoint | None) -> Fault | None:
        for key in (endpoint, None):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    async def serve(
        self, *, task_status: trio.TaskStatus[OpenAIServer] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on a free loopback port until cancelled; reports ``self`` when ready."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self._port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self)

    async def _handle(self, stream: trio.SocketStream) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            request, body = await _read_request(stream, connection)
        except (h11.RemoteProtocolError, trio.BrokenResourceError, _Aborted):
            await stream.aclose()
            return
        path = request.target.decode("ascii", "replace").split("?")[0]
        endpoint = next((e for suffix, e in _PATHS.items() if path.endswith(suffix)), None)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
        self.requests.append(RecordedRequest(endpoint, path, headers, body, trio.current_time()))
        self._notify()
        fault = self._next_fault(endpoint)
        writer = _Writer(stream, connection, fault)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch, stream, writer, endpoint, nursery.cancel_scope)
            with suppress(_Aborted, trio.BrokenResourceError, trio.ClosedResourceError):
                await self._respond(writer, endpoint, body, fault)
            writer.finished = True
            nursery.cancel_scope.cancel()
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await stream.aclose()

    async def _watch(
        self,
        stream: trio.SocketStream,
        writer: _Writer,
        endpoint: Endpoint | None,
        scope: trio.CancelScope,
    ) -> None:
        try:
            data = await stream.receive_some()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if data or writer.finished:
            return
        self.disconnects.append(ClientDisconnected(endpoint, trio.current_time(), writer.sent))
        self._notify()
        scope.cancel()

    async def _respond(
        self, writer: _Writer, endpoint: Endpoint | None, body: bytes, fault: Fault | None
    ) -> None:
        reply = self._reply_for(endpoint, body, fault)
        await writer.start(reply)
        for index, chunk in enumerate(reply.chunks):
            if index and self.options.chunk_interval:
                await trio.sleep(self.options.chunk_interval)
            await writer.data(chunk)
        await writer.end(reply)

    def _reply_for(self, endpoint: Endpoint | None, body: bytes, fault: Fault | None) -> _Reply:
        if isinstance(fault, RespondWithStatus):
            length = not fault.chunked
            return _Reply(fault.status, list(fault.headers), [fault.body], content_length=length)
        if endpoint is None:
            return _Reply(404, [("content-type", "text/plain")], [b"not found"], True)
        if isinstance(fault, SendGarbage):
            return _garbage_reply(endpoint, fault.body)
        if isinstance(fault, ServeHTMLPage):
            return _Reply(200, [("content-type", "text/html; charset=utf-8")], [fault.body], True)
        answered_in_full = fault is None or isinstance(fault, Healthy)
        reply = self._normal_reply(endpoint, body, complete=answered_in_full)
        reply.declared_length = sum(len(chunk) for chunk in reply.chunks)
        if isinstance(fault, TruncateBody):
            reply.chunks = reply.chunks[: fault.units]
            reply.complete = False
        return reply

    def _normal_reply(self, endpoint: Endpoint, body: bytes, *, complete: bool) -> _Reply:
        options = self.options
        if endpoint == "chat":
            scripted = self._chat_replies
            if scripted:
                reply = scripted.popleft() if complete else scripted[0]
                events = chat_events(reply.text, reply.tool_calls)
            else:
                events = chat_events(options.chat_text, options.chat_tool_calls)
            return _Reply(200, [("content-type", "text/event-stream")], events, False)
        if endpoint == "speech":
            text = _json_field(body, "input")
            pcm = speech_pcm(text, options.speech_sample_rate, options.speech_seconds_per_char)
            size = options.speech_chunk_bytes
            chunks = [pcm[i : i + size] for i in range(0, len(pcm), size)]
            return _Reply(200, [("content-type", "audio/pcm")], chunks, True)
        answer = json.dumps({"text": options.transcript}).encode()
        half = max(1, len(answer) // 2)
        return _Reply(
            200, [("content-type", "application/json")], [answer[:half], answer[half:]], True
        )


def _json_field(body: bytes, name: str) -> str:
    try:
        value = json.loads(body).get(name, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _garbage_reply(endpoint: Endpoint, body: bytes | None) -> _Reply:
    if endpoint == "chat":
        data = body if body is not None else b'data: {"choices": [{"delta": nonsense\n\n'
        return _Reply(200, [("content-type", "text/event-stream")], [data], False)
    data = body if body is not None else b"<html><body>upstream says hi</body></html>"
    return _Reply(200, [("content-type", "text/html")], [data], True)


class _Writer:
    """Writes one response through h11, applying a byte-limit fault."""

    def __init__(self, stream: trio.SocketStream, connection: h11.Connection, fault: Fault | None):
        self._stream = stream
        self._connection = connection
        self._limit = fault.bytes_sent if isinstance(fault, ResetAfter | StallAfter) else None
        self._reset = isinstance(fault, ResetAfter)
        self.sent = 0
        self.finished = False

    async def start(self, reply: _Reply) -> None:
        headers = [*reply.headers, ("connection", "close")]
        if reply.content_length:
            total = reply.declared_length
            if total is None:
                total = sum(len(chunk) for chunk in reply.chunks)
            headers.append(("content-length", str(total)))
        await self._send(
            self._connection.send(h11.Response(status_code=reply.status, headers=headers))
        )

    async def data(self, chunk: bytes) -> None:
        if chunk:
            await self._send(self._connection.send(h11.Data(data=chunk)))

    async def end(self, reply: _Reply) -> None:
        if reply.complete or not reply.content_length:
            await self._send(self._connection.send(h11.EndOfMessage()))

    async def _send(self, data: bytes | None) -> None:
        if not data:
            return
        if self._limit is not None and self.sent + len(data) >= self._limit:
            head = data[: self._limit - self.sent]
            if head:
                await self._stream.send_all(head)
                self.sent += len(head)
            if self._reset:
                self._stream.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self._stream.socket.close()
                raise _Aborted
            await trio.sleep_forever()
        await self._stream.send_all(data)
        self.sent += len(data)


async def _read_request(
    stream: trio.SocketStream, connection: h11.Connection
) -> tuple[h11.Request, bytes]:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some()
            if not data:
                raise _Aborted
            connection.receive_data(data)
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _MAX_REQUEST:
                raise _Aborted
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise _Aborted


async def serve_openai_server(
    server: OpenAIServer, *, task_status: trio.TaskStatus[OpenAIServer] = trio.TASK_STATUS_IGNORED
) -> None:
    """Listen on 127.0.0.1 (a free port) until cancelled; reports ``server`` when ready."""
    await server.serve(task_status=task_status)


@asynccontextmanager
async def open_openai_server(
    options: OpenAIServerOptions | None = None,
) -> AsyncIterator[OpenAIServer]:
    """Serve a fresh :class:`OpenAIServer` for the duration of the block."""
    server = OpenAIServer(options)
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_openai_server, server)
            try:
                yield server
            finally:
                nursery.cancel_scope.cancel()
