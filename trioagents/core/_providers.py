"""The small protocols every model provider implements.

Each provider call is an *async context manager* that owns whatever the call needs
(an HTTP response, a websocket, a model thread) and yields an async iterator of
results. Leaving the ``async with`` block -- normally, by error, or because the
enclosing turn was cancelled -- closes the stream before the block exits. That is
the whole cancellation contract: there is no ``aclose()`` to forget and nothing
the provider may leave running.

The iterators are plain objects with ``__anext__`` (not async generators), so no
``yield`` ever crosses a cancel scope (PEP 789).

Streams that take input (STT, VAD, streaming TTS) expose ``push_*``/``end_input``;
pushing after ``end_input`` raises ``trio.ClosedResourceError``-style
``LocalProtocolError``. Timestamps are read from Trio's clock.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from ._audio import AudioFrame
from ._chat import ChatContext

__all__ = [
    "LLM",
    "STT",
    "TTS",
    "VAD",
    "BatchSTT",
    "LLMEvent",
    "LLMTextDelta",
    "LLMToolCall",
    "LLMUsage",
    "STTStream",
    "SpeechEvent",
    "SpeechEventType",
    "StreamingTTS",
    "TTSStream",
    "ToolChoice",
    "ToolSpec",
    "VADEvent",
    "VADEventType",
    "VADStream",
    "streams_text_input",
]


# --------------------------------------------------------------------- LLM


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the LLM is told about a tool: ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


ToolChoice: TypeAlias = Literal["auto", "none", "required"] | str
"""``"auto"``, ``"none"``, ``"required"``, or the name of one tool to force."""


@dataclass(frozen=True, slots=True)
class LLMTextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class LLMToolCall:
    """A complete tool call (the provider assembles streamed argument deltas).

    ``arguments`` is the raw JSON text the model produced; it is validated by the
    tool layer, not by the provider.
    """

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class LLMUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


LLMEvent: TypeAlias = LLMTextDelta | LLMToolCall | LLMUsage


@runtime_checkable
class LLM(Protocol):
    """A streaming chat model."""

    @property
    def label(self) -> str: ...

    def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
        """Open one completion. Errors are :class:`~trioagents.ProviderError`."""
        ...


# --------------------------------------------------------------------- TTS


@runtime_checkable
class TTS(Protocol):
    """Chunked synthesis: one text in, audio frames out."""

    @property
    def label(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def num_channels(self) -> int: ...

    def synthesize(self, text: str) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]: ...


class TTSStream(Protocol):
    async def push_text(self, text: str) -> None: ...

    async def end_input(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[AudioFrame]: ...


@runtime_checkable
class StreamingTTS(TTS, Protocol):
    """Incremental synthesis: text pushed as it is generated.

    Frames may carry ``AudioFrame.text_end`` counted over the stream's whole input
    (all text pushed so far, joined). An implementation that only regroups text
    for a chunked TTS (e.g. :class:`~trioagents.providers.SentenceStreamTTS`) sets
    ``input_streaming = False``: the voice pipeline then sends it sentences, one
    request each, as it would the chunked TTS (see :func:`streams_text_input`).
    """

    def stream(self) -> AbstractAsyncContextManager[TTSStream]: ...


def streams_text_input(tts: TTS | None) -> bool:
    """True when ``tts`` synthesizes text as it is pushed (a :class:`StreamingTTS`
    without ``input_streaming = False``): worth feeding words, not sentences."""
    return isinstance(tts, StreamingTTS) and bool(getattr(tts, "input_streaming", True))


# --------------------------------------------------------------------- STT


class SpeechEventType(enum.Enum):
    START_OF_SPEECH = "start_of_speech"
    INTERIM_TRANSCRIPT = "interim_transcript"
    FINAL_TRANSCRIPT = "final_transcript"
    END_OF_SPEECH = "end_of_speech"


@dataclass(frozen=True, slots=True)
class SpeechEvent:
    """One recognition event; ``timestamp`` is Trio's clock when it was produced.

    ``audio_end`` (final transcripts, when the provider knows it): how many seconds
    of the stream's audio, counted from its first pushed frame, this transcript
    accounts for (Deepgram's ``start + duration``). A final arrives some time after
    the audio it covers; a reconnecting wrapper replays only the audio after
    ``audio_end``, so words spoken while the final was in flight are not lost.
    None: all audio pushed so far is accounted for.
    """

    type: SpeechEventType
    text: str = ""
    language: str | None = None
    confidence: float = 1.0
    timestamp: float = 0.0
    audio_end: float | None = None


class STTStream(Protocol):
    async def push_frame(self, frame: AudioFrame) -> None: ...

    async def end_input(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[SpeechEvent]: ...


@runtime_checkable
class STT(Protocol):
    """Streaming recognition."""

    @property
    def label(self) -> str: ...

    def stream(self, *, language: str | None = None) -> AbstractAsyncContextManager[STTStream]: ...


@runtime_checkable
class BatchSTT(Protocol):
    """Whole-utterance recognition (wrap with a VAD-segmenting adapter to stream)."""

    @property
    def label(self) -> str: ...

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent: ...


# --------------------------------------------------------------------- VAD


class VADEventType(enum.Enum):
    START_OF_SPEECH = "start_of_speech"
    INFERENCE_DONE = "inference_done"
    END_OF_SPEECH = "end_of_speech"


@dataclass(frozen=True, slots=True)
class VADEvent:
    """``speech_duration``/``silence_duration`` are the current run lengths in seconds.

    ``frames``: on ``END_OF_SPEECH``, the audio of the utterance (with a short
    pre-roll) when the VAD keeps it, so a batch STT can recognize exactly the
    speech the VAD saw even when events are read later than frames are pushed.
    Empty otherwise.
    """

    type: VADEventType
    timestamp: float
    speech_duration: float = 0.0
    silence_duration: float = 0.0
    probability: float = 0.0
    speaking: bool = False
    frames: tuple[AudioFrame, ...] = ()


class VADStream(Protocol):
    async def push_frame(self, frame: AudioFrame) -> None: ...

    async def end_input(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[VADEvent]: ...


@runtime_checkable
class VAD(Protocol):
    @property
    def label(self) -> str: ...

    def stream(self) -> AbstractAsyncContextManager[VADStream]: ...
