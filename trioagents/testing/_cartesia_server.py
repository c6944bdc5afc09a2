"""A loopback Cartesia-compatible streaming TTS server that fails on demand.

It serves ``/tts/websocket`` on ``127.0.0.1`` (a free port) as Cartesia documents it
(:mod:`trioagents.protocol._cartesia`): the key in ``X-API-Key`` (checked when
``options.api_key`` is set: 401 otherwise) and a ``Cartesia-Version`` header (400
without). Each generation request is checked (``model_id``, ``voice``, a raw
``pcm_s16le`` ``output_format``, ``transcript``, ``context_id``, ``continue``; an
``error`` message with ``status_code`` 400 otherwise) and its transcript spoken at
once; ``"continue": false`` ends the context (``done`` after its audio);
``{"cancel": true}`` stops it at once (``cancelled_at``, no more audio).

Audio goes out as ``chunk`` messages; each message's words (the received tokens
without their leading and trailing punctuation) follow it in a ``timestamps``
message, in seconds from the context's first sample -- or precede it with
``options.timestamps_first``. The voice, the faults and the records:
:mod:`._fake_tts_voice`, :mod:`._fake_tts_conversation`.

``async with open_fake_cartesia() as server:`` serves one for the block; give
``CartesiaTTS`` ``WebSocketTTSConnection(base_url=server.url)``.
"""

from __future__ import annotations

import base64
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio
import trio_websocket

from ._fake_tts_conversation import TTSConversation
from ._fake_tts_server import FakeTTSServer
from ._fake_tts_voice import FakeTTSOptions, TTSSession, TTSUtterance, VoiceMessage
from ._tts_faults import TTSErrorAfter
from ._websocket_fake import open_fake_server
from ._websocket_faults import RefuseUpgrade

__all__ = ["FakeCartesiaServer", "open_fake_cartesia"]

_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})


class FakeCartesiaServer(FakeTTSServer):
    """State of one fake Cartesia: what it answers, its fault queue, what it saw."""

    _url_path = ""

    def refusal(self, session: TTSSession) -> RefuseUpgrade | None:
        key = self.options.api_key
        if key is not None and session.headers.get("x-api-key") != key:
            return RefuseUpgrade(401, b'{"error": "Invalid API key"}')
        if session.path != "/tts/websocket":
            return RefuseUpgrade(404, b"not found")
        if not session.headers.get("cartesia-version"):
            return RefuseUpgrade(400, b'{"error": "Cartesia-Version header is required"}')
        return None

    def conversation(
        self, ws: trio_websocket.WebSocketConnection, session: TTSSession
    ) -> TTSConversation:
        return _Conversation(ws, session, self.options, self._notify)


def _request_error(body: dict[str, Any]) -> str | None:
    """What is wrong with a generation request (None: nothing)."""
    output = body.get("output_format")
    checks = {
        "model_id": isinstance(body.get("model_id"), str),
        "transcript": isinstance(body.get("transcript"), str),
        "context_id": isinstance(body.get("context_id"), str),
        "continue": isinstance(body.get("continue", False), bool),
        "voice": isinstance(body.get("voice"), dict) and body["voice"].get("mode") == "id",
        "output_format": isinstance(output, dict)
        and output.get("container") == "raw"
        and output.get("encoding") == "pcm_s16le"
        and output.get("sample_rate") in _RATES,
    }
    wrong = [name for name, ok in checks.items() if not ok]
    return f"invalid {', '.join(wrong)}" if wrong else None


def words_of(text: str, start: int) -> list[tuple[int, int, int]]:
    """``(first, last, token_end)`` indexes of each word of ``text[start:]``: a
    whitespace token without its leading and trailing punctuation."""
    words, index = [], start
    for token in text[start:].split():
        index = text.index(token, index)
        alnum = [i for i, char in enumerate(token) if char.isalnum()]
        if alnum:
            words.append((index + alnum[0], index + alnum[-1], index + len(token)))
        index += len(token)
    return words


class _Conversation(TTSConversation):
    async def on_message(self, body: dict[str, Any]) -> None:
        now = trio.current_time()
        context_id = body.get("context_id")
        utterance = self.session.utterance(context_id if isinstance(context_id, str) else "", now)
        utterance.requests.append(body)
        if body.get("cancel") is True:
            self.cancel(utterance)
            return
        problem = _request_error(body)
        if problem is not None:
            utterance.done_at = now
            await self.send([self._error(utterance, 400, "invalid_request", problem)])
            return
        self.session.sample_rate = body["output_format"]["sample_rate"]
        utterance.received += body["transcript"]
        if body["transcript"]:
            self.speak(utterance, body["transcript"])
        if body.get("continue", False) is False:
            utterance.ended = True
            self.speak(utterance, None)

    def audio_messages(
        self, utterance: TTSUtterance, message: VoiceMessage
    ) -> list[dict[str, Any]]:
        chunk = {
            "type": "chunk",
            "data": base64.b64encode(message.pcm).decode(),
            "done": False,
            "status_code": 206,
            "step_time": 1,
            "context_id": utterance.context_id,
        }
        timing = {index: (start, end) for index, start, end in message.chars}
        words, starts, ends = [], [], []
        for first, last, token_end in words_of(utterance.received, 0):
            if last not in timing:
                continue  # not in this message
            words.append(utterance.received[first : last + 1])
            starts.append(self._started(utterance, first, timing))
            ends.append(timing[last][1])
            utterance.timeline.append((timing[last][1], token_end))
        if not words:
            return [chunk]
        stamps = {
            "type": "timestamps",
            "done": False,
            "status_code": 206,
            "context_id": utterance.context_id,
            "word_timestamps": {"words": words, "start": starts, "end": ends},
        }
        return [stamps, chunk] if self.options.timestamps_first else [chunk, stamps]

    def _started(
        self, utterance: TTSUtterance, first: int, timing: dict[int, tuple[float, float]]
    ) -> float:
        if first in timing:
            return timing[first][0]
        ms = self.options.char_ms / 1000
        last_known = min(timing)
        return timing[last_known][0] - (last_known - first) * ms

    def done_messages(self, utterance: TTSUtterance) -> list[dict[str, Any]]:
        return [
            {"type": "done", "done": True, "status_code": 206, "context_id": utterance.context_id}
        ]

    async def report_error(self, utterance: TTSUtterance, fault: TTSErrorAfter) -> None:
        utterance.done_at = trio.current_time()
        error = self._error(utterance, fault.status or 500, fault.code, fault.message)
        await self.send([error])

    def _error(self, utterance: TTSUtterance, status: int, code: str, text: str) -> dict[str, Any]:
        return {
            "type": "error",
            "done": True,
            "status_code": status,
            "error_code": code,
            "title": code,
            "error": text,
            "context_id": utterance.context_id,
        }


def open_fake_cartesia(
    options: FakeTTSOptions | None = None,
) -> AbstractAsyncContextManager[FakeCartesiaServer]:
    """Serve a fresh :class:`FakeCartesiaServer` for the duration of the block."""
    return open_fake_server(FakeCartesiaServer(options))
