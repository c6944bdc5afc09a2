"""Adapters between provider shapes.

:class:`VADSegmentedSTT` makes a streaming :class:`~trioagents.core.STT` out of a
:class:`~trioagents.core.BatchSTT` and a :class:`~trioagents.core.VAD`: frames go
to the VAD and into a buffer; at ``START_OF_SPEECH`` the buffer (with up to
``preroll`` seconds before it) becomes the utterance; at ``END_OF_SPEECH`` the
utterance is recognized (the frames the VAD attached to its ``END_OF_SPEECH``
event when it keeps them, as ours do -- exact even when events are read long
after the frames were pushed; otherwise the adapter's own buffer, which may be
off by the reading lag) and the events are ``START_OF_SPEECH``,
``END_OF_SPEECH``, then ``FINAL_TRANSCRIPT`` (omitted when the text is empty).
One producer task reads the VAD and calls ``recognize`` (so utterances are
recognized in order); it lives in the ``async with stream()`` block and a
recognition error reaches the consumer at its next ``__anext__``.

:class:`SentenceStreamTTS` makes a :class:`~trioagents.core.StreamingTTS` out of
a chunked :class:`~trioagents.core.TTS`: pushed text is split with
:class:`~trioagents.core.SentenceSplitter` and each finished sentence is
synthesized as soon as it is complete -- while the LLM is still writing the next
one (pre-synthesis). Sentences are synthesized in order, one at a time, so audio
order is text order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import trio

from ..core import (
    TTS,
    VAD,
    AudioFrame,
    BatchSTT,
    LocalProtocolError,
    SentenceSplitter,
    SpeechEvent,
    SpeechEventType,
    STTStream,
    SupportsFailover,
    TTSStream,
    VADEventType,
    VADStream,
)
from ._pump import Emit, PumpedIterator, open_pump

__all__ = ["SentenceStreamTTS", "VADSegmentedSTT"]


class _Utterance:
    """Frames since the last end of speech; capped to the pre-roll while silent."""

    def __init__(self, preroll: float) -> None:
        self._preroll = preroll
        self._frames: deque[AudioFrame] = deque()
        self._duration = 0.0
        self.speaking = False

    def add(self, frame: AudioFrame) -> None:
        self._frames.append(frame)
        self._duration += frame.duration
        while not self.speaking and self._frames and self._duration > self._preroll:
            self._duration -= self._frames.popleft().duration

    def take(self) -> list[AudioFrame]:
        frames = list(self._frames)
        self._frames.clear()
        self._duration = 0.0
        self.speaking = False
        return frames


class _SegmentedStream:
    def __init__(
        self, vad: VADStream, utterance: _Utterance, events: PumpedIterator[SpeechEvent]
    ) -> None:
        self._vad = vad
        self._utterance = utterance
        self._events = events

    async def push_frame(self, frame: AudioFrame) -> None:
        """Buffer and hand ``frame`` to the VAD (a checkpoint)."""
        self._utterance.add(frame)
        await self._vad.push_frame(frame)

    async def end_input(self) -> None:
        await self._vad.end_input()

    def __aiter__(self) -> AsyncIterator[SpeechEvent]:
        return self._events


class VADSegmentedSTT:
    """A streaming STT from a batch STT and a VAD (see module docs)."""

    def __init__(self, stt: BatchSTT, vad: VAD, *, preroll: float = 0.3) -> None:
        self._stt = stt
        self._vad = vad
        self._preroll = preroll

    @property
    def label(self) -> str:
        return f"{self._stt.label}+{self._vad.label}"

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[STTStream]:
        utterance = _Utterance(self._preroll)
        async with self._vad.stream() as vad_stream:

            async def produce(emit: Emit[SpeechEvent]) -> None:
                async for event in vad_stream:
                    if event.type is VADEventType.START_OF_SPEECH:
                        utterance.speaking = True
                        await emit(
                            SpeechEvent(SpeechEventType.START_OF_SPEECH, timestamp=event.timestamp)
                        )
                    elif event.type is VADEventType.END_OF_SPEECH:
                        buffered = utterance.take()
                        frames = list(event.frames) or buffered
                        await emit(
                            SpeechEvent(SpeechEventType.END_OF_SPEECH, timestamp=event.timestamp)
                        )
                        if frames:
                            final = await self._stt.recognize(frames, language=language)
                            if final.text.strip():
                                await emit(final)

            async with open_pump(produce) as events:
                yield _SegmentedStream(vad_stream, utterance, events)


class _SentenceStream:
    def __init__(
        self, send: trio.MemorySendChannel[str], frames: PumpedIterator[AudioFrame]
    ) -> None:
        self._send = send
        self._splitter = SentenceSplitter()
        self._frames = frames
        self._ended = False

    async def push_text(self, text: str) -> None:
        """Add text; complete sentences are queued for synthesis. A checkpoint."""
        if self._ended:
            raise LocalProtocolError("push_text after end_input")
        for sentence in self._splitter.push(text):
            await self._send.send(sentence)
        await trio.lowlevel.checkpoint()

    async def end_input(self) -> None:
        if self._ended:
            await trio.lowlevel.checkpoint()
            return
        self._ended = True
        rest = self._splitter.flush()
        if rest:
            await self._send.send(rest)
        await self._send.aclose()

    def __aiter__(self) -> AsyncIterator[AudioFrame]:
        return self._frames


class SentenceStreamTTS:
    """A streaming TTS that synthesizes sentence by sentence with a chunked TTS.

    ``input_streaming`` is False: it only regroups text, so the voice pipeline sends
    it sentences as it would the chunked TTS (see ``streams_text_input``). Its
    frames' ``text_end`` is the wrapped TTS's, counted within each sentence.
    """

    input_streaming = False

    def __init__(self, tts: TTS) -> None:
        self._tts = tts

    def fail_over(self) -> bool:
        """Forwarded to the wrapped TTS when it is a fallback group; else False."""
        return self._tts.fail_over() if isinstance(self._tts, SupportsFailover) else False

    @property
    def label(self) -> str:
        return self._tts.label

    @property
    def sample_rate(self) -> int:
        return self._tts.sample_rate

    @property
    def num_channels(self) -> int:
        return self._tts.num_channels

    def synthesize(self, text: str) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]:
        return self._tts.synthesize(text)

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[TTSStream]:
        send, receive = trio.open_memory_channel[str](64)

        async def produce(emit: Emit[AudioFrame]) -> None:
            async with receive:
                async for sentence in receive:
                    async with self._tts.synthesize(sentence) as frames:
                        async for frame in frames:
                            await emit(frame)

        async with send, open_pump(produce) as frames:
            yield _SentenceStream(send, frames)
