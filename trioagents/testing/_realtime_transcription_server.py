"""A loopback OpenAI realtime transcription server that fails on demand.

It serves ``/v1/realtime?intent=transcription`` on ``127.0.0.1`` (a free port;
point an :class:`~trioagents.providers.OpenAIConnection` at :attr:`base_url`) and
speaks the GA protocol, or the beta one to a client sending ``OpenAI-Beta:
realtime=v1``: ``session.created`` on connect; ``session.update``
(``transcription_session.update``) checked as OpenAI checks it (a
``transcription`` session, ``audio/pcm`` at 24 kHz / ``pcm16``) and answered with
the effective session; ``input_audio_buffer.append`` / ``commit`` / ``clear``;
anything else an ``invalid_request_error``. What it hears is answered by
:mod:`._realtime_transcription_recognizer` (an energy VAD on the received audio,
scripted words from a :class:`~trioagents.testing.Timeline`), all driven by the
audio received, so nothing depends on the clock.

Each connection takes the next :data:`~trioagents.testing.RealtimeTranscriptionFault`
queued with :meth:`FakeRealtimeTranscriptionServer.script` (none: answer
normally). With ``options.api_key`` set, a wrong key gets OpenAI's in-band refusal
(an ``invalid_api_key`` error event, then close code 3000). Every connection is
recorded as a :class:`RealtimeTranscriptionSession` (headers, the effective
session, audio received, client events, what was sent, how it ended).

Run it with ``async with open_fake_realtime_transcription(timeline) as server:``
(or start :func:`serve_fake_realtime_transcription` with ``nursery.start``).
Listening, the fault queue and the records are :mod:`._websocket_fake`'s.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import trio
import trio_websocket

from ._realtime_transcription_faults import (
    FailTranscriptionAfter,
    RealtimeTranscriptionFault,
    ReportRealtimeErrorAfter,
)
from ._realtime_transcription_recognizer import FakeRealtimeTranscriptionOptions, FakeTranscriber
from ._realtime_transcription_session import SessionError, default_session, update_session
from ._timeline import Timeline
from ._websocket_fake import FakeWebSocketServer, StreamFault, WebSocketSession, open_fake_server
from ._websocket_faults import RefuseUpgrade

__all__ = [
    "FakeRealtimeTranscriptionServer",
    "RealtimeTranscriptionSession",
    "open_fake_realtime_transcription",
    "serve_fake_realtime_transcription",
]

_ITEM = "conversation.item.input_audio_transcription."


@dataclass(slots=True)
class RealtimeTranscriptionSession(WebSocketSession[RealtimeTranscriptionFault]):
    """One connection as the server saw it; ``controls`` are the client's events
    other than appends, ``session`` the effective configuration."""

    api: str = "ga"
    session: dict[str, Any] = field(default_factory=dict)

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 2 / 24000

    @property
    def finals(self) -> list[str]:
        """The non-empty transcripts completed, in the order sent."""
        return [
            m["transcript"]
            for m in self.sent
            if m["type"] == _ITEM + "completed" and m["transcript"]
        ]

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        """The server events of type ``kind`` sent, in order."""
        return [m for m in self.sent if m["type"] == kind]


class FakeRealtimeTranscriptionServer(
    FakeWebSocketServer[RealtimeTranscriptionSession, RealtimeTranscriptionFault]
):
    """State of one fake server: what it answers, its fault queue, what it saw."""

    _url_path = "/v1/realtime?intent=transcription"

    def __init__(
        self, timeline: Timeline, options: FakeRealtimeTranscriptionOptions | None = None
    ) -> None:
        super().__init__()
        self.timeline = timeline
        self.options = options or FakeRealtimeTranscriptionOptions()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, for :class:`~trioagents.providers.OpenAIConnection`."""
        return self.url.split("/realtime")[0].replace("ws://", "http://", 1)

    def _record(
        self, request: trio_websocket.WebSocketRequest, fault: RealtimeTranscriptionFault | None
    ) -> RealtimeTranscriptionSession:
        beta = (b"openai-beta", b"realtime=v1") in [(k.lower(), v) for k, v in request.headers]
        return self._new_session(
            RealtimeTranscriptionSession,
            request,
            fault,
            api="beta" if beta else "ga",
            session=default_session(beta, len(self.sessions)),
        )

    async def _answer(
        self, request: trio_websocket.WebSocketRequest, session: RealtimeTranscriptionSession
    ) -> None:
        if isinstance(session.fault, RefuseUpgrade):
            await self._refuse(request, session, session.fault)
            return
        if session.path.rstrip("/").rsplit("/", 1)[-1] != "realtime":
            await self._refuse(request, session, RefuseUpgrade(404, b"not found"))
            return
        ws = await request.accept()
        transcriber = FakeTranscriber(self.timeline, self.options, session.index)
        conversation = _Conversation(ws, session, transcriber, self._notify)
        key = self.options.api_key
        if key is not None and session.headers.get("authorization") != f"Bearer {key}":
            await conversation.refuse_key()
            return
        await conversation.run()


class _Conversation:
    """One accepted connection: read client events, answer them, apply the fault."""

    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        session: RealtimeTranscriptionSession,
        transcriber: FakeTranscriber,
        notify: Callable[[], None],
    ) -> None:
        self._ws = ws
        self._session = session
        self._transcriber = transcriber
        self._notify = notify
        self._fault = StreamFault(session.fault)
        self._event_ids = itertools.count(1)
        self._beta = session.api == "beta"

    async def refuse_key(self) -> None:
        error = {"type": "invalid_request_error", "code": "invalid_api_key"}
        error["message"] = "Incorrect API key provided."
        await self._send([{"type": "error", "error": error}])
        self._session.end("server")
        await self._ws.aclose(3000, "invalid_request_error.invalid_api_key")

    async def run(self) -> None:
        created = "transcription_session.created" if self._beta else "session.created"
        await self._send([{"type": created, "session": copy.deepcopy(self._session.session)}])
        while True:
            try:
                message = await self._ws.get_message()
            except trio_websocket.ConnectionClosed:
                return
            done = await self._message(message)
            self._notify()
            if done:
                return

    async def _message(self, message: str | bytes) -> bool:
        try:
            event = json.loads(message)
            kind = event.get("type") if isinstance(event, dict) else None
        except ValueError:
            event, kind = None, None
        pcm = _audio(event) if kind == "input_audio_buffer.append" else None
        if pcm is not None:
            self._session.audio_bytes += len(pcm)
        elif kind != "input_audio_buffer.append":
            self._session.controls.append(str(kind))
        if self._fault.stalled:
            return False
        fault = self._fault.due(self._session.audio_seconds)
        if fault is not None and await self._apply(fault):
            return True
        if fault is None or isinstance(fault, FailTranscriptionAfter):
            await self._send(self._answer(kind, event, pcm))
        return False

    def _answer(self, kind: str | None, event: Any, pcm: bytes | None) -> list[dict[str, Any]]:
        transcriber = self._transcriber
        if kind == "input_audio_buffer.append":
            if pcm is None:
                return [_error("invalid_value", "audio must be base64 PCM16")]
            return transcriber.audio(pcm)
        if kind == "input_audio_buffer.commit":
            return transcriber.commit()
        if kind == "input_audio_buffer.clear":
            return transcriber.clear()
        update = "transcription_session.update" if self._beta else "session.update"
        if kind == update:
            return self._update(event)
        return [_error("invalid_event", f"unknown or unsupported event type {kind!r}")]

    def _update(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        session = self._session
        try:
            session.session = update_session(session.session, event.get("session"), self._beta)
        except SessionError as exc:
            return [_error(exc.code, str(exc))]
        if not self._beta and session.query.get("intent") != ["transcription"]:
            return [_error("invalid_value", "a transcription session needs intent=transcription")]
        config = session.session if self._beta else session.session["audio"]["input"]
        self._transcriber.turn_detection = config.get("turn_detection")
        updated = "transcription_session.updated" if self._beta else "session.updated"
        return [{"type": updated, "session": copy.deepcopy(session.session)}]

    async def _apply(self, fault: object) -> bool:
        done = await self._fault.apply(fault, self._ws, self._session)
        if done is not None:
            return done
        if isinstance(fault, ReportRealtimeErrorAfter):
            error = {"type": fault.kind, "code": fault.code, "message": fault.message}
            await self._send([{"type": "error", "error": {**error, "param": None}}])
        elif isinstance(fault, FailTranscriptionAfter):
            error = {"type": fault.kind, "code": fault.code, "message": fault.message}
            self._transcriber.fail_next = error  # and the message is answered
        return False

    async def _send(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            message = {"event_id": f"event_{next(self._event_ids)}", **message}
            self._session.sent.append(message)
            await self._ws.send_message(json.dumps(message))


def _audio(event: dict[str, Any]) -> bytes | None:
    audio = event.get("audio")
    if not isinstance(audio, str):
        return None
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        return None
    return pcm if len(pcm) % 2 == 0 else None


def _error(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": code, "message": message, "param": None},
    }


async def serve_fake_realtime_transcription(
    server: FakeRealtimeTranscriptionServer,
    *,
    task_status: trio.TaskStatus[FakeRealtimeTranscriptionServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on 127.0.0.1 (a free port) until cancelled; reports ``server`` when ready."""
    await server.serve(task_status=task_status)


def open_fake_realtime_transcription(
    timeline: Timeline, options: FakeRealtimeTranscriptionOptions | None = None
) -> AbstractAsyncContextManager[FakeRealtimeTranscriptionServer]:
    """Serve a fresh :class:`FakeRealtimeTranscriptionServer` for the duration of the block."""
    return open_fake_server(FakeRealtimeTranscriptionServer(timeline, options))
