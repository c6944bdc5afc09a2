"""OpenAI-compatible speech and transcription wire formats, sans-I/O.

* Speech (``POST /audio/speech``): :func:`speech_request_body` asks for raw PCM
  (``response_format: "pcm"``: signed 16-bit little-endian mono, 24 kHz on OpenAI;
  the rate is an option because vLLM/llama.cpp-style servers differ).
  :class:`PCMFramer` cuts the response body, which arrives in arbitrary byte
  splits (odd lengths included), into fixed-size :class:`~trioagents.core.AudioFrame`
  blocks; :meth:`PCMFramer.flush` returns the final short frame and refuses a
  dangling half sample.
* Transcription (``POST /audio/transcriptions``): :func:`encode_wav` packs frames
  into a WAV file for the multipart upload; :func:`transcription_text` reads the
  ``{"text": ...}`` answer, and :class:`TranscriptionBody` collects that answer
  from a body arriving in any split, refusing one larger than ``max_bytes``
  (1 MiB by default: a transcript is a few KiB, and a server or proxy that
  streams without end must not grow our memory without bound).

Malformed bodies raise :class:`~trioagents.core.RemoteProtocolError`.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Mapping, Sequence
from typing import Any

from ..core import AudioFrame, ConfigurationError, RemoteProtocolError, concat_frames

_DEFAULT_MAX_TRANSCRIPTION = 1 << 20

__all__ = [
    "PCMFramer",
    "TranscriptionBody",
    "encode_wav",
    "speech_request_body",
    "transcription_text",
]


def speech_request_body(
    text: str,
    *,
    model: str,
    voice: str,
    speed: float = 1.0,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of a speech request that streams raw PCM."""
    body: dict[str, Any] = {
        "model": model,
        "voice": voice,
        "input": text,
        "response_format": "pcm",
        "speed": speed,
    }
    body.update(extra or {})
    return body


class PCMFramer:
    """s16le bytes in any split -> frames of ``frame_samples`` samples per channel."""

    __slots__ = ("_buffer", "_frame_bytes", "_num_channels", "_sample_rate")

    def __init__(self, sample_rate: int, *, num_channels: int = 1, frame_ms: int = 20) -> None:
        if sample_rate <= 0 or num_channels <= 0 or frame_ms <= 0:
            raise ConfigurationError("PCMFramer needs positive sample_rate, channels and frame_ms")
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._frame_bytes = sample_rate * frame_ms // 1000 * 2 * num_channels
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[AudioFrame]:
        """Add bytes; return every whole frame now available."""
        self._buffer += data
        frames = []
        size = self._frame_bytes
        while len(self._buffer) >= size:
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
            frames.append(AudioFrame.from_bytes(chunk, self._sample_rate, self._num_channels))
        return frames

    def flush(self) -> list[AudioFrame]:
        """The last, shorter frame (if any). Raises if a partial sample is left over."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        if not rest:
            return []
        if len(rest) % (2 * self._num_channels):
            raise RemoteProtocolError("PCM body ends inside a sample", payload=rest[-8:])
        return [AudioFrame.from_bytes(rest, self._sample_rate, self._num_channels)]


def encode_wav(frames: Sequence[AudioFrame]) -> bytes:
    """A complete WAV file holding ``frames`` (all of one format)."""
    joined = concat_frames(frames)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(joined.num_channels)
        writer.setsampwidth(2)
        writer.setframerate(joined.sample_rate)
        writer.writeframes(joined.to_bytes())
    return out.getvalue()


def transcription_text(raw: bytes) -> str:
    """The ``text`` field of a JSON transcription answer."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RemoteProtocolError("transcription body is not JSON", payload=raw[:256]) from exc
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise RemoteProtocolError("transcription body has no text", payload=raw[:256])
    return text


class TranscriptionBody:
    """A transcription answer, fed in any split; refused past ``max_bytes``.

    :meth:`declare` checks a ``Content-Length`` before any byte is read;
    :meth:`feed` raises as soon as the bytes held would pass the cap (nothing
    beyond it is kept); :meth:`text` parses the whole answer. All three raise
    :class:`RemoteProtocolError`.
    """

    __slots__ = ("_body", "_max")

    def __init__(self, *, max_bytes: int = _DEFAULT_MAX_TRANSCRIPTION) -> None:
        if max_bytes <= 0:
            raise ConfigurationError("max_bytes must be positive")
        self._max = max_bytes
        self._body = bytearray()

    def declare(self, content_length: str | None) -> None:
        """Refuse a body whose declared length already passes the cap."""
        declared = (content_length or "").strip()
        if declared.isdigit() and int(declared) > self._max:
            raise self._too_large()

    def feed(self, data: bytes) -> None:
        if len(self._body) + len(data) > self._max:
            raise self._too_large()
        self._body += data

    def text(self) -> str:
        return transcription_text(bytes(self._body))

    def _too_large(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"transcription body larger than {self._max} bytes", payload=bytes(self._body[:64])
        )
