"""A loopback ElevenLabs-compatible streaming TTS server that fails on demand.

It serves ``/v1/text-to-speech/{voice_id}/stream-input`` and
``.../multi-stream-input`` on ``127.0.0.1`` (a free port) as ElevenLabs documents
them (:mod:`trioagents.protocol._elevenlabs`): the key in ``xi-api-key`` (checked
when ``options.api_key`` is set: 401 otherwise), a raw ``pcm_<rate>``
``output_format`` (400 otherwise), a first message per utterance (``" "`` with
``voice_settings``/``generation_config``), then text buffered until the chunk
schedule (``chunk_length_schedule``, ElevenLabs' default ``120, 160, 250, 290``) or
a ``flush`` makes it speak, ``{"text": ""}`` ending a ``stream-input`` utterance
(``isFinal``, then a 1000 close). On ``multi-stream-input``, ``close_context``
right after a flush ends the context once the flush is spoken (``isFinal``); any
other ``close_context`` stops it at once (a cancel: ``cancelled_at``, no more
audio), and ``close_socket`` ends every context. Closing a ``stream-input`` socket
before ``isFinal`` is its cancel.

Audio messages carry ``alignment`` and ``normalizedAlignment`` for the characters
the server received (the leading space included), in milliseconds relative to the
message, and ``contextId`` on multi-stream-input. The voice, the faults and the
records: :mod:`._fake_tts_voice`, :mod:`._fake_tts_conversation`.

``async with open_fake_elevenlabs() as server:`` serves one for the block; give
``ElevenLabsTTS`` ``WebSocketTTSConnection(base_url=server.url)``.
"""

from __future__ import annotations

import base64
import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import trio
import trio_websocket

from ._fake_tts_conversation import TTSConversation
from ._fake_tts_server import FakeTTSServer
from ._fake_tts_voice import FakeTTSOptions, TTSSession, TTSUtterance, VoiceMessage
from ._tts_faults import TTSErrorAfter
from ._websocket_fake import open_fake_server
from ._websocket_faults import RefuseUpgrade

__all__ = ["FakeElevenLabsServer", "open_fake_elevenlabs"]

_DEFAULT_SCHEDULE = (120, 160, 250, 290)
_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})


def _json_error(status: int, code: str, message: str) -> RefuseUpgrade:
    body = json.dumps({"detail": {"status": code, "message": message}}).encode()
    return RefuseUpgrade(status, body, (("content-type", "application/json"),))


class FakeElevenLabsServer(FakeTTSServer):
    """State of one fake ElevenLabs: what it answers, its fault queue, what it saw."""

    _url_path = "/v1"

    def refusal(self, session: TTSSession) -> RefuseUpgrade | None:
        key = self.options.api_key
        if key is not None and session.headers.get("xi-api-key") != key:
            return _json_error(401, "invalid_api_key", "Invalid API key")
        parts = session.path.split("/")
        if len(parts) != 5 or parts[1:3] != ["v1", "text-to-speech"]:
            return RefuseUpgrade(404, b"not found")
        if parts[4] not in ("stream-input", "multi-stream-input"):
            return RefuseUpgrade(404, b"not found")
        output_format = session.query.get("output_format", ["mp3_44100"])[0]
        rate = output_format.removeprefix("pcm_")
        if not rate.isdigit() or int(rate) not in _RATES:
            return _json_error(400, "invalid_output_format", "this fake speaks raw PCM only")
        session.sample_rate = int(rate)
        return None

    def conversation(
        self, ws: trio_websocket.WebSocketConnection, session: TTSSession
    ) -> TTSConversation:
        return _Conversation(ws, session, self.options, self._notify)


@dataclass(slots=True)
class _Buffer:
    """An utterance's text not yet spoken, and where its chunk schedule is."""

    text: str = ""
    schedule: tuple[int, ...] = _DEFAULT_SCHEDULE
    step: int = 0
    last_flushed: bool = False


class _Conversation(TTSConversation):
    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        session: TTSSession,
        options: FakeTTSOptions,
        notify: Any,
    ) -> None:
        super().__init__(ws, session, options, notify)
        self._multi = session.path.endswith("multi-stream-input")
        self._buffers: dict[int, _Buffer] = {}

    async def on_message(self, body: dict[str, Any]) -> None:
        now = trio.current_time()
        if self._multi and body.get("close_socket"):
            for utterance in self.session.utterances:
                if utterance.done_at is None and utterance.cancelled_at is None:
                    self._end(utterance)
            return
        context_id = body.get("context_id") if self._multi else None
        utterance = self.session.utterance(context_id, now)
        utterance.requests.append(body)
        buffer = self._buffers.setdefault(id(utterance), _Buffer())
        if body.get("close_context"):
            if buffer.last_flushed:
                self._end(utterance)
            else:
                self.cancel(utterance)
            return
        text = body.get("text")
        if not isinstance(text, str):
            return
        if len(utterance.requests) == 1:
            self._open(utterance, buffer, body)
        elif text == "" and not self._multi:
            self._end(utterance)
            return
        self._take(utterance, buffer, text, flush=body.get("flush") is True)

    def _open(self, utterance: TTSUtterance, buffer: _Buffer, body: dict[str, Any]) -> None:
        utterance.init_text = body.get("text", "")
        utterance.settings = {k: v for k, v in body.items() if k not in ("text", "context_id")}
        schedule = (body.get("generation_config") or {}).get("chunk_length_schedule")
        if schedule:
            buffer.schedule = tuple(schedule)

    def _take(self, utterance: TTSUtterance, buffer: _Buffer, text: str, *, flush: bool) -> None:
        utterance.received += text
        buffer.text += text
        buffer.last_flushed = flush
        threshold = buffer.schedule[min(buffer.step, len(buffer.schedule) - 1)]
        if flush or len(buffer.text.strip()) >= threshold:
            if not flush:
                buffer.step += 1
            self._generate(utterance, buffer)

    def _generate(self, utterance: TTSUtterance, buffer: _Buffer) -> None:
        if buffer.text:
            self.speak(utterance, buffer.text)
            buffer.text = ""

    def _end(self, utterance: TTSUtterance) -> None:
        utterance.ended = True
        self._generate(utterance, self._buffers.setdefault(id(utterance), _Buffer()))
        self.speak(utterance, None)

    def audio_messages(
        self, utterance: TTSUtterance, message: VoiceMessage
    ) -> list[dict[str, Any]]:
        chars, starts, durations = [], [], []
        for index, start, end in message.chars:
            chars.append(utterance.received[index])
            starts.append(round((start - message.start) * 1000))
            durations.append(round((end - start) * 1000))
            utterance.timeline.append((end, index + 1))
        alignment = {"chars": chars, "charStartTimesMs": starts, "charsDurationsMs": durations}
        body: dict[str, Any] = {
            "audio": base64.b64encode(message.pcm).decode(),
            "isFinal": None,
            "alignment": alignment,
            "normalizedAlignment": alignment,
        }
        return [self._named(utterance, body)]

    def done_messages(self, utterance: TTSUtterance) -> list[dict[str, Any]]:
        return [self._named(utterance, {"audio": None, "isFinal": True})]

    async def after_done(self, utterance: TTSUtterance) -> None:
        if not self._multi:
            self.session.ended_by = "server"
            await self.ws.aclose(1000)

    async def report_error(self, utterance: TTSUtterance, fault: TTSErrorAfter) -> None:
        error: dict[str, Any] = {"error": fault.code, "message": fault.message}
        if fault.status is not None:
            error["code"] = fault.status
        await self.send([self._named(utterance, error)])
        await self.ws.aclose(1011, fault.code)

    def _named(self, utterance: TTSUtterance, body: dict[str, Any]) -> dict[str, Any]:
        if self._multi:
            body["contextId"] = utterance.context_id
        return body


def open_fake_elevenlabs(
    options: FakeTTSOptions | None = None,
) -> AbstractAsyncContextManager[FakeElevenLabsServer]:
    """Serve a fresh :class:`FakeElevenLabsServer` for the duration of the block."""
    return open_fake_server(FakeElevenLabsServer(options))
