"""A loopback Deepgram-compatible live transcription server that fails on demand.

It serves the ``/v1/listen`` websocket on ``127.0.0.1`` (a free port) and answers
each stream from a :class:`~trioagents.testing.Timeline`: the client sends the
timeline's marker audio and gets Deepgram's messages back (``Results``,
``SpeechStarted``, ``UtteranceEnd``, ``Metadata``), as
:mod:`~trioagents.testing._deepgram_recognizer` describes, all driven by the audio
received, so nothing depends on the clock. ``KeepAlive``, ``Finalize`` and
``CloseStream`` are honoured (the last flushes, sends ``Metadata`` and closes with
1000). The query string is read as Deepgram reads it (``encoding`` must be
``linear16``, mono; ``sample_rate``, ``interim_results``, ``endpointing``,
``vad_events``, ``utterance_end_ms``); a bad one is refused with 400.

Each connection takes the next :data:`~trioagents.testing.DeepgramFault` queued
with :meth:`FakeDeepgramServer.script` (none: answer normally): refuse the upgrade
(401/429/5xx), close mid-stream, reset the TCP connection, report an ``Error``,
stall, or send a malformed message, after a given amount of received audio.

Every connection is recorded as a :class:`DeepgramSession` (query, headers, audio
received, control messages, what was sent, how it ended), so tests can assert
what the client did: that the key went in the header, that audio was replayed,
that ``CloseStream`` was sent on cancellation.

Run it with ``async with open_fake_deepgram(timeline) as server:`` (or start
:func:`serve_fake_deepgram` in your nursery with ``nursery.start``).
"""

from __future__ import annotations

import json
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket

from ..core import ConfigurationError, collapse_single_error
from ._deepgram_faults import (
    CloseAfter,
    DeepgramFault,
    MalformedAfter,
    RefuseUpgrade,
    ReportErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
)
from ._deepgram_recognizer import FakeDeepgramOptions, FakeRecognizer, StreamConfig
from ._timeline import Timeline

__all__ = [
    "DeepgramSession",
    "FakeDeepgramServer",
    "open_fake_deepgram",
    "serve_fake_deepgram",
]

_EPS = 1e-9


@dataclass(slots=True)
class DeepgramSession:
    """One connection as the server saw it."""

    index: int
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    opened_at: float
    fault: DeepgramFault | None
    refused: int | None = None  # the status of a refused upgrade
    sample_rate: int = 16000
    audio_bytes: int = 0
    controls: list[str] = field(default_factory=list)  # KeepAlive/Finalize/CloseStream
    sent: list[dict[str, Any]] = field(default_factory=list)
    ended_at: float | None = None
    ended_by: str | None = None  # "client", "server", "fault"

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 2 / self.sample_rate

    @property
    def finals(self) -> list[str]:
        """The transcripts of the non-empty final results sent."""
        return [
            m["channel"]["alternatives"][0]["transcript"]
            for m in self.sent
            if m.get("type") == "Results"
            and m.get("is_final")
            and m["channel"]["alternatives"][0]["transcript"]
        ]


_GONE = (
    trio_websocket.ConnectionClosed,
    trio_websocket.HandshakeError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


class _Reset(Exception):
    """Internal: drop the TCP connection once the websocket's task is gone."""


class FakeDeepgramServer:
    """State of one fake server: what it answers, its fault queue, what it saw."""

    def __init__(self, timeline: Timeline, options: FakeDeepgramOptions | None = None) -> None:
        self.timeline = timeline
        self.options = options or FakeDeepgramOptions()
        self.sessions: list[DeepgramSession] = []
        self._faults: deque[DeepgramFault] = deque()
        self._changed = trio.Event()
        self._port: int | None = None

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/v1/listen``."""
        if self._port is None:
            raise ConfigurationError("the server is not serving yet; use open_fake_deepgram()")
        return f"ws://127.0.0.1:{self._port}/v1/listen"

    def script(self, *faults: DeepgramFault) -> None:
        """Queue faults for the next connections, one each."""
        self._faults.extend(faults)

    async def wait_for(self, condition: Callable[[FakeDeepgramServer], bool]) -> None:
        """Block until ``condition(self)`` holds (re-checked on every change)."""
        while not condition(self):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def serve(
        self, *, task_status: trio.TaskStatus[FakeDeepgramServer] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on a free loopback port until cancelled; reports ``self`` when ready."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self._port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self)

    async def _handle(self, stream: trio.SocketStream) -> None:
        fault = self._faults.popleft() if self._faults else None
        reset = False
        try:
            async with trio.open_nursery() as nursery:
                request = await trio_websocket.wrap_server_stream(
                    nursery, stream, message_queue_size=16
                )
                await self._serve(request, fault)
                nursery.cancel_scope.cancel()
        except* _Reset:
            reset = True
        except* _GONE:
            pass  # the client went away mid-handshake or mid-answer
        if reset:
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            stream.socket.close()
            return
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await stream.aclose()

    async def _serve(
        self, request: trio_websocket.WebSocketRequest, fault: DeepgramFault | None
    ) -> None:
        target = urlsplit(request.path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        session = DeepgramSession(
            len(self.sessions),
            target.path,
            parse_qs(target.query),
            headers,
            trio.current_time(),
            fault,
        )
        self.sessions.append(session)
        self._notify()
        try:
            await self._accept_and_answer(request, session)
        finally:
            if session.ended_at is None:
                session.ended_at = trio.current_time()
                session.ended_by = session.ended_by or "client"
            self._notify()

    async def _accept_and_answer(
        self, request: trio_websocket.WebSocketRequest, session: DeepgramSession
    ) -> None:
        refusal = self._refusal(session)
        if refusal is not None:
            session.refused = refusal.status
            headers = [(k.encode(), v.encode()) for k, v in refusal.headers]
            await request.reject(refusal.status, extra_headers=headers, body=refusal.body)
            session.ended_by = "server"
            return
        config = StreamConfig.from_query(session.query)
        session.sample_rate = config.sample_rate
        ws = await request.accept()
        request_id = f"fake-{session.index}"
        recognizer = FakeRecognizer(self.timeline, config, self.options, request_id)
        await _Conversation(ws, session, recognizer, self._notify).run()

    def _refusal(self, session: DeepgramSession) -> RefuseUpgrade | None:
        if isinstance(session.fault, RefuseUpgrade):
            return session.fault
        key = self.options.api_key
        if key is not None and session.headers.get("authorization") != f"Token {key}":
            return RefuseUpgrade(401, b'{"err_code": "INVALID_AUTH"}')
        if session.path.rstrip("/").rsplit("/", 1)[-1] != "listen":
            return RefuseUpgrade(404, b"not found")
        try:
            StreamConfig.from_query(session.query)
        except ValueError:
            return RefuseUpgrade(400, b'{"err_code": "Bad Request"}')
        return None


class _Conversation:
    """One accepted stream: read messages, answer them, apply the fault."""

    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        session: DeepgramSession,
        recognizer: FakeRecognizer,
        notify: Callable[[], None],
    ) -> None:
        self._ws = ws
        self._session = session
        self._recognizer = recognizer
        self._notify = notify
        self._fault = session.fault
        self._stalled = False

    async def run(self) -> None:
        while True:
            try:
                message = await self._ws.get_message()
            except trio_websocket.ConnectionClosed:
                return
            if isinstance(message, bytes):
                done = await self._audio(message)
            else:
                done = await self._control(message)
            self._notify()
            if done:
                return

    async def _audio(self, pcm: bytes) -> bool:
        session = self._session
        session.audio_bytes += len(pcm)
        fault = self._fault
        if self._stalled:
            return False
        after = getattr(fault, "after", None)
        if after is not None and session.audio_seconds >= after - _EPS:
            self._fault = None
            return await self._apply(fault)
        await self._send(self._recognizer.audio(pcm))
        return False

    async def _apply(self, fault: DeepgramFault | None) -> bool:
        session = self._session
        if isinstance(fault, StallStreamAfter):
            self._stalled = True
            return False
        if isinstance(fault, MalformedAfter):
            await self._ws.send_message(fault.payload)
            return False
        session.ended_at, session.ended_by = trio.current_time(), "fault"
        if isinstance(fault, ResetStreamAfter):
            raise _Reset
        if isinstance(fault, ReportErrorAfter):
            error = {
                "type": "Error",
                "variant": fault.variant,
                "description": fault.description,
                "message": fault.description,
            }
            await self._send([error])
            await self._ws.aclose(1011, fault.variant)
        elif isinstance(fault, CloseAfter):
            await self._ws.aclose(fault.code, fault.reason)
        return True

    async def _control(self, text: str) -> bool:
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        self._session.controls.append(str(kind))
        if self._stalled:
            return False
        if kind == "Finalize":
            await self._send(self._recognizer.finalize())
        elif kind == "CloseStream":
            await self._send(self._recognizer.close_stream())
            self._session.ended_at = trio.current_time()
            self._session.ended_by = "server"
            await self._ws.aclose(1000)
            return True
        return False

    async def _send(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._session.sent.append(message)
            await self._ws.send_message(json.dumps(message))


async def serve_fake_deepgram(
    server: FakeDeepgramServer,
    *,
    task_status: trio.TaskStatus[FakeDeepgramServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on 127.0.0.1 (a free port) until cancelled; reports ``server`` when ready."""
    await server.serve(task_status=task_status)


@asynccontextmanager
async def open_fake_deepgram(
    timeline: Timeline, options: FakeDeepgramOptions | None = None
) -> AsyncIterator[FakeDeepgramServer]:
    """Serve a fresh :class:`FakeDeepgramServer` for the duration of the block."""
    server = FakeDeepgramServer(timeline, options)
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_fake_deepgram, server)
            try:
                yield server
            finally:
                nursery.cancel_scope.cancel()
