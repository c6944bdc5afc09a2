"""OpenAI-compatible speech synthesis (streamed PCM) and transcription.

:class:`OpenAITTS` is a chunked :class:`~trioagents.core.TTS`: one text in, PCM
frames out as the body arrives (``response_format: "pcm"``; 24 kHz mono s16le by
default). Wrap it with :class:`~trioagents.providers.SentenceStreamTTS` to feed it
LLM text as it streams.

:class:`OpenAISTT` is a :class:`~trioagents.core.BatchSTT`: the utterance is sent
as a WAV upload to ``/audio/transcriptions``. Wrap it with
:class:`~trioagents.providers.VADSegmentedSTT` to stream. The answer is read up
to ``max_response_bytes`` (1 MiB): a larger one (declared or streamed) is a
malformed response, and the connection is closed at the cap.

Both close their HTTP response when the enclosing scope is cancelled; neither
starts a task. Error mapping as in :mod:`trioagents.providers._http`; a 200
answer whose content type is text or JSON where audio was expected (a proxy's
HTML page) is a malformed response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from ..core import AudioFrame, RemoteProtocolError, SpeechEvent, SpeechEventType
from ..protocol import PCMFramer, TranscriptionBody, encode_wav, speech_request_body
from ._http import (
    DecodedBody,
    OpenAIConnection,
    close_chunks,
    malformed_response,
    map_httpx_error,
    media_type,
    open_response,
    wrong_content_type,
)

__all__ = ["OpenAISTT", "OpenAITTS"]


class OpenAITTS:
    """Speech synthesis over ``/audio/speech`` (a chunked TTS)."""

    def __init__(
        self,
        model: str = "gpt-4o-mini-tts",
        *,
        voice: str = "alloy",
        connection: OpenAIConnection | None = None,
        client: httpx.AsyncClient | None = None,
        sample_rate: int = 24000,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self._model, self._voice = model, voice
        self._connection = connection or OpenAIConnection()
        self._client = client
        self._sample_rate = sample_rate
        self._extra = dict(extra_body or {})

    @property
    def label(self) -> str:
        return f"openai-tts:{self._model}"

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        return 1

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[AsyncIterator[AudioFrame]]:
        """Open one synthesis; frames arrive as the body streams in (20 ms each)."""
        body = speech_request_body(text, model=self._model, voice=self._voice, extra=self._extra)
        request = {"method": "POST", "path": "audio/speech", "json": body}
        async with open_response(
            self._client, self._connection, request, provider=self.label
        ) as response:
            kind = media_type(response)
            if kind.startswith(("text/", "application/json")):
                raise wrong_content_type("audio", kind, self.label)
            frames = _PCMFrames(response, PCMFramer(self._sample_rate), self.label)
            try:
                yield frames
            finally:
                await frames.aclose()


class _PCMFrames(DecodedBody[AudioFrame]):
    def __init__(self, response: httpx.Response, framer: PCMFramer, label: str) -> None:
        super().__init__(response, label)
        self._framer = framer

    def _feed(self, chunk: bytes) -> list[AudioFrame]:
        return self._framer.feed(chunk)

    def _finish(self) -> list[AudioFrame]:
        return self._framer.flush()


class OpenAISTT:
    """Whole-utterance transcription over ``/audio/transcriptions`` (a BatchSTT)."""

    def __init__(
        self,
        model: str = "gpt-4o-mini-transcribe",
        *,
        connection: OpenAIConnection | None = None,
        client: httpx.AsyncClient | None = None,
        language: str | None = None,
        max_response_bytes: int = 1 << 20,
    ) -> None:
        TranscriptionBody(max_bytes=max_response_bytes)  # ConfigurationError now, not per call
        self._model = model
        self._connection = connection or OpenAIConnection()
        self._client = client
        self._language = language
        self._max_response = max_response_bytes

    @property
    def label(self) -> str:
        return f"openai-stt:{self._model}"

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent:
        """Transcribe ``frames``; returns a FINAL_TRANSCRIPT event. Checkpoints on I/O."""
        data = {"model": self._model, "response_format": "json"}
        chosen = language or self._language
        if chosen:
            data["language"] = chosen
        request = {
            "method": "POST",
            "path": "audio/transcriptions",
            "data": data,
            "files": {"file": ("audio.wav", encode_wav(frames), "audio/wav")},
        }
        body = TranscriptionBody(max_bytes=self._max_response)
        try:
            async with open_response(
                self._client, self._connection, request, provider=self.label
            ) as response:
                body.declare(response.headers.get("content-length"))
                await _read_body(response, body, self.label)
            text = body.text()
        except RemoteProtocolError as exc:
            raise malformed_response(exc, self.label) from exc
        return SpeechEvent(
            SpeechEventType.FINAL_TRANSCRIPT,
            text=text,
            language=chosen,
            timestamp=trio.current_time(),
        )


async def _read_body(response: httpx.Response, body: TranscriptionBody, label: str) -> None:
    """Feed the whole response to ``body``; the body iterator is always finished."""
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            body.feed(chunk)
    except httpx.HTTPError as exc:
        raise map_httpx_error(exc, label) from exc
    finally:
        await close_chunks(chunks)
