"""One OpenAI Realtime reply as a stream of events, and the session's input events.

:class:`OpenAIRealtimeResponse` is filled synchronously by the session's reader
(:meth:`~OpenAIRealtimeResponse.deliver`) and read by the turn that asked for the
reply: audio deltas become frames of at most 20 ms (the turn plays, and revokes,
frame by frame), transcript and text deltas become
:class:`~trioagents.core.ResponseText`, a finished function call one
:class:`~trioagents.core.LLMToolCall`, ``response.done`` the usage and the end.
The channel is unbounded: the server sends a reply faster than it plays, and the
turn's sink paces it. Once the consumer left (``abandoned``), events are dropped.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import trio

from ..core import (
    AudioFrame,
    LLMToolCall,
    LLMUsage,
    ProviderError,
    ProviderStatusError,
    RealtimeInputEvent,
    RealtimeResponseEvent,
    ResponseAudio,
    ResponseText,
)
from ..protocol import (
    REALTIME_SAMPLE_RATE,
    RealtimeAudioDelta,
    RealtimeEvent,
    RealtimeFunctionCallDone,
    RealtimeOutputItemAdded,
    RealtimeResponseDone,
    RealtimeTextDelta,
    RealtimeTranscriptDelta,
)

__all__ = ["InputEvents", "OpenAIRealtimeResponse"]

_FRAME = 480  # 20 ms at 24 kHz


class _HasFailure(Protocol):
    @property
    def failure(self) -> ProviderError | None: ...


class OpenAIRealtimeResponse:
    """One reply's events (a :class:`~trioagents.core.RealtimeResponse`)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._send, self._events = trio.open_memory_channel[RealtimeResponseEvent](math.inf)
        self.response_id: str | None = None
        self.status: str | None = None
        self.error: ProviderError | None = None
        self.ended = False  # response.done seen (or the connection failed)
        self.abandoned = False  # the consumer left: events are dropped
        self._calls: dict[str, str] = {}  # call_id -> function name

    # ------------------------------------------------------------ from the reader
    def deliver(self, event: RealtimeEvent) -> None:
        """Translate one routed server event (synchronous)."""
        if isinstance(event, RealtimeResponseDone):
            self._done(event)
            return
        if self.abandoned or self.ended:
            return
        if isinstance(event, RealtimeAudioDelta):
            for frame in _frames(event.pcm):
                self._send.send_nowait(ResponseAudio(event.item_id, frame))
        elif isinstance(event, RealtimeTranscriptDelta | RealtimeTextDelta):
            if event.delta:
                self._send.send_nowait(ResponseText(event.item_id, event.delta))
        elif isinstance(event, RealtimeOutputItemAdded) and event.call_id is not None:
            self._calls[event.call_id] = event.name or ""
        elif isinstance(event, RealtimeFunctionCallDone):
            name = event.name or self._calls.get(event.call_id, "")
            self._send.send_nowait(LLMToolCall(event.call_id, name, event.arguments))

    def _done(self, event: RealtimeResponseDone) -> None:
        self.status = event.status
        if event.usage is not None and not self.abandoned:
            usage = LLMUsage(event.usage.input_tokens, event.usage.output_tokens)
            self._send.send_nowait(usage)
        if event.status == "failed" and self.error is None:
            self.error = ProviderStatusError(
                f"{self._label}: the reply failed",
                provider=self._label,
                status=500,
                body=event.status_details,
            )
        self.ended = True
        self._send.close()

    def fail(self, error: ProviderError) -> None:
        if self.error is None:
            self.error = error
        self.ended = True
        self._send.close()

    # ------------------------------------------------------------ to the consumer
    def __aiter__(self) -> OpenAIRealtimeResponse:
        return self

    async def __anext__(self) -> RealtimeResponseEvent:
        """The next event (a checkpoint); raises the reply's ProviderError at its end."""
        try:
            return await self._events.receive()
        except trio.EndOfChannel:
            if self.error is not None:
                raise self.error from None
            raise StopAsyncIteration from None


class InputEvents:
    """The session's input events; raises the connection's failure at the end."""

    def __init__(
        self, events: trio.MemoryReceiveChannel[RealtimeInputEvent], session: _HasFailure
    ) -> None:
        self._events = events
        self._session = session

    def __aiter__(self) -> InputEvents:
        return self

    async def __anext__(self) -> RealtimeInputEvent:
        try:
            return await self._events.receive()
        except trio.EndOfChannel:
            failure = self._session.failure
            if failure is not None:
                raise failure from None
            raise StopAsyncIteration from None


def _frames(pcm: bytes) -> list[AudioFrame]:
    """``pcm`` (mono s16le at 24 kHz) as frames of at most 20 ms."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
    frames = []
    for start in range(0, samples.size, _FRAME):
        chunk = samples[start : start + _FRAME].reshape(-1, 1)
        chunk.flags.writeable = False  # ours alone: AudioFrame need not copy it
        frames.append(AudioFrame(chunk, REALTIME_SAMPLE_RATE))
    return frames
