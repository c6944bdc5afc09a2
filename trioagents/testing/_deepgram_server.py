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
:func:`serve_fake_deepgram` in your nursery with ``nursery.start``). Listening,
the fault queue and the records are :mod:`._websocket_fake`'s, shared with the
fake OpenAI realtime transcription.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import trio
import trio_websocket

from ._deepgram_faults import DeepgramFault, ReportErrorAfter
from ._deepgram_recognizer import FakeDeepgramOptions, FakeRecognizer, StreamConfig
from ._timeline import Timeline
from ._websocket_fake import FakeWebSocketServer, StreamFault, WebSocketSession, open_fake_server
from ._websocket_faults import RefuseUpgrade

__all__ = [
    "DeepgramSession",
    "FakeDeepgramServer",
    "open_fake_deepgram",
    "serve_fake_deepgram",
]


@dataclass(slots=True)
class DeepgramSession(WebSocketSession[DeepgramFault]):
    """One connection as the server saw it (``controls``: KeepAlive/Finalize/CloseStream)."""

    sample_rate: int = 16000

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


class FakeDeepgramServer(FakeWebSocketServer[DeepgramSession, DeepgramFault]):
    """State of one fake server: what it answers, its fault queue, what it saw.

    ``url`` is ``ws://127.0.0.1:<port>/v1/listen``.
    """

    _url_path = "/v1/listen"

    def __init__(self, timeline: Timeline, options: FakeDeepgramOptions | None = None) -> None:
        super().__init__()
        self.timeline = timeline
        self.options = options or FakeDeepgramOptions()

    def _record(
        self, request: trio_websocket.WebSocketRequest, fault: DeepgramFault | None
    ) -> DeepgramSession:
        return self._new_session(DeepgramSession, request, fault)

    async def _answer(
        self, request: trio_websocket.WebSocketRequest, session: DeepgramSession
    ) -> None:
        refusal = self._refusal(session)
        if refusal is not None:
            await self._refuse(request, session, refusal)
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
        self._fault = StreamFault(session.fault)

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
        if self._fault.stalled:
            return False
        fault = self._fault.due(session.audio_seconds)
        if fault is not None:
            return await self._apply(fault)
        await self._send(self._recognizer.audio(pcm))
        return False

    async def _apply(self, fault: object) -> bool:
        done = await self._fault.apply(fault, self._ws, self._session)
        if done is not None:
            return done
        if isinstance(fault, ReportErrorAfter):
            self._session.end("fault")
            error = {
                "type": "Error",
                "variant": fault.variant,
                "description": fault.description,
                "message": fault.description,
            }
            await self._send([error])
            await self._ws.aclose(1011, fault.variant)
        return True

    async def _control(self, text: str) -> bool:
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        self._session.controls.append(str(kind))
        if self._fault.stalled:
            return False
        if kind == "Finalize":
            await self._send(self._recognizer.finalize())
        elif kind == "CloseStream":
            await self._send(self._recognizer.close_stream())
            self._session.end("server")
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


def open_fake_deepgram(
    timeline: Timeline, options: FakeDeepgramOptions | None = None
) -> AbstractAsyncContextManager[FakeDeepgramServer]:
    """Serve a fresh :class:`FakeDeepgramServer` for the duration of the block."""
    return open_fake_server(FakeDeepgramServer(timeline, options))
