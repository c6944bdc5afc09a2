"""One recovery loop per stream kind, shared by retry and fallback wrappers.

A wrapper stream is a producer task (:mod:`._pump`) that opens an inner stream,
forwards its items, and on a :class:`~trioagents.core.ProviderError` asks a
:class:`Recovery` what to do: it returns the provider to open next (the same one
after a retry delay, or another member of a fallback group), or raises to give up.
Retry and fallback differ only in their ``Recovery``; the streams are written once.

What may be replayed, per kind:

* LLM chat and chunked TTS: nothing once an item reached the consumer --
  ``delivered=True`` is passed and every built-in recovery gives up, so a user
  never hears a sentence twice.
* Streaming TTS: the text pushed so far is replayed into the new inner stream,
  but only while no audio was delivered.
* STT: audio fed since the last final transcript is replayed (at most
  ``replay_frames``, 30 s of 20 ms frames; a consumer pushing faster than the inner
  stream takes audio waits rather than losing any); interim transcripts are
  provisional, so STT always counts as resumable. "Since the last final" means
  since the end of the audio that final covers when the event says
  (``SpeechEvent.audio_end``): a streaming server's final arrives after the audio
  it covers, and the frames fed in between belong to the next words. Each final transcript calls
  :meth:`Recovery.succeeded` (retry budgets reset, as in LiveKit) and lets a
  fallback group return to a recovered preferred member (:meth:`Recovery.preferred`).

Cancellation: the producer and every inner stream live in the pump's nursery, so
cancelling the consumer's scope closes the inner stream (and its HTTP response).
Never retried: ``trio.Cancelled`` is not a ProviderError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, Protocol, TypeVar

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    AudioFrame,
    ChatContext,
    LLMEvent,
    LocalProtocolError,
    ProviderError,
    SpeechEvent,
    SpeechEventType,
    StreamingTTS,
    ToolChoice,
    ToolSpec,
    collapse_single_error,
)
from ._pump import Emit, open_pump

__all__ = [
    "Recovery",
    "open_recovering_chat",
    "open_recovering_stt_stream",
    "open_recovering_synthesis",
    "open_recovering_tts_stream",
]

P = TypeVar("P")
T = TypeVar("T")
Out = TypeVar("Out")


class Recovery(Protocol[P]):
    """Decides, per stream, which provider to (re)open after a failure."""

    def first(self) -> P: ...

    async def next_after(self, failed: P, error: ProviderError, *, delivered: bool) -> P:
        """Return the provider to open next (sleeping first if wanted), or raise to give up."""
        ...

    def succeeded(self, provider: P) -> None:
        """A unit of work completed (a reply, a final transcript)."""
        ...

    def preferred(self, current: P) -> P | None:
        """A better provider to switch to at a safe point, or None."""
        ...


@asynccontextmanager
async def _open_recovering(
    recovery: Recovery[P],
    open_stream: Callable[[P], AbstractAsyncContextManager[AsyncIterator[T]]],
) -> AsyncIterator[AsyncIterator[T]]:
    """One output stream over successive attempts: a failure reopens the stream on
    the provider ``recovery`` picks, telling it whether anything was delivered."""

    async def produce(emit: Emit[T]) -> None:
        provider = recovery.first()
        while True:
            delivered = False
            try:
                async with open_stream(provider) as items:
                    async for item in items:
                        delivered = True
                        await emit(item)
            except ProviderError as exc:
                error = exc
            else:
                recovery.succeeded(provider)
                return
            provider = await recovery.next_after(provider, error, delivered=delivered)

    async with open_pump(produce) as iterator:
        yield iterator


def open_recovering_chat(
    recovery: Recovery[LLM],
    chat_ctx: ChatContext,
    tools: Sequence[ToolSpec],
    tool_choice: ToolChoice | None,
) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
    """``tool_choice`` None is left out of each member's call (its own default)."""

    def open_on(llm: LLM) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
        if tool_choice is None:
            return llm.chat(chat_ctx, tools=tools)
        return llm.chat(chat_ctx, tools=tools, tool_choice=tool_choice)

    return _open_recovering(recovery, open_on)


def open_recovering_synthesis(
    recovery: Recovery[TTS], text: str
) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]:
    return _open_recovering(recovery, lambda tts: tts.synthesize(text))


class _InputLog(Generic[T]):
    """Input pushed by the consumer, kept for replay from ``base`` on.

    ``fed`` is the absolute index of the next item the current inner stream gets.
    With ``limit`` set, at most ``limit`` fed items are kept for replay and at most
    ``limit`` unfed items may wait: :meth:`wait_for_room` makes a fast producer wait
    for the feeder instead of dropping audio.
    """

    def __init__(
        self, limit: int | None = None, measure: Callable[[T], float] | None = None
    ) -> None:
        self.items: list[T] = []
        self.base = 0  # absolute index of items[0]
        self.fed = 0
        self.ended = False
        self._limit = limit
        self._measure = measure  # an item's length in seconds (audio), for index_at
        self._replayed_before_base = 0.0  # seconds of this replay's items before `base`
        self._changed = trio.Event()

    def append(self, item: T) -> None:
        if self.ended:
            raise LocalProtocolError("input already ended")
        self.items.append(item)
        self._wake()

    async def wait_for_room(self) -> None:
        while self._limit is not None and self.mark() - self.fed >= self._limit:
            await self._changed.wait()

    def end(self) -> None:
        self.ended = True
        self._wake()

    def trim_to(self, absolute: int) -> None:
        """Forget items before ``absolute`` (never ones not yet fed)."""
        drop = max(0, min(absolute, self.fed) - self.base)
        if self._measure is not None:
            self._replayed_before_base += sum(self._measure(item) for item in self.items[:drop])
        del self.items[:drop]
        self.base += drop

    def index_at(self, seconds: float) -> int:
        """The absolute index of the first fed item not wholly within the first
        ``seconds`` of the current replay (needs ``measure``)."""
        assert self._measure is not None
        elapsed, index = self._replayed_before_base, self.base
        while index < self.fed:
            length = self._measure(self.items[index - self.base])
            if elapsed + length > seconds + 1e-6:
                break
            elapsed += length
            index += 1
        return index

    def mark(self) -> int:
        return self.base + len(self.items)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def replay_into(self, push: Emit[T], end: Emit[None]) -> None:
        """Push every item from ``base`` on, then follow new ones; end when input ends."""
        self.fed = self.base
        self._replayed_before_base = 0.0
        while True:
            while self.fed < self.mark():
                await push(self.items[self.fed - self.base])
                self.fed += 1
                if self._limit is not None:
                    self.trim_to(self.fed - self._limit)
                self._wake()
            if self.ended:
                await end(None)
                return
            await self._changed.wait()


class _InputStream(Generic[T, Out]):
    """The consumer's side of a recovering input stream."""

    def __init__(self, log: _InputLog[T], output: AsyncIterator[Out]) -> None:
        self._log = log
        self._output = output

    async def _push(self, item: T) -> None:
        await trio.lowlevel.checkpoint()
        await self._log.wait_for_room()
        self._log.append(item)

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        self._log.end()

    def __aiter__(self) -> AsyncIterator[Out]:
        return self._output


class RecoveringTTSStream(_InputStream[str, AudioFrame]):
    """A :class:`~trioagents.core.TTSStream` whose pushed text survives a reconnect."""

    async def push_text(self, text: str) -> None:
        """Queue text (a checkpoint); raises LocalProtocolError after end_input."""
        await self._push(text)


class RecoveringSTTStream(_InputStream[AudioFrame, SpeechEvent]):
    """An :class:`~trioagents.core.STTStream` that replays audio since the last final."""

    async def push_frame(self, frame: AudioFrame) -> None:
        """Queue a frame (a checkpoint); raises LocalProtocolError after end_input."""
        await self._push(frame)


@asynccontextmanager
async def open_recovering_tts_stream(
    recovery: Recovery[StreamingTTS],
) -> AsyncIterator[RecoveringTTSStream]:
    log: _InputLog[str] = _InputLog()

    async def produce(emit: Emit[AudioFrame]) -> None:
        provider = recovery.first()
        while True:
            delivered = False
            try:
                with collapse_single_error():
                    async with provider.stream() as inner, trio.open_nursery() as feeder:
                        feeder.start_soon(log.replay_into, inner.push_text, _ender(inner))
                        async for frame in inner:
                            delivered = True
                            await emit(frame)
                        feeder.cancel_scope.cancel()
            except ProviderError as exc:
                error = exc
            else:
                recovery.succeeded(provider)
                return
            provider = await recovery.next_after(provider, error, delivered=delivered)

    async with open_pump(produce) as frames:
        yield RecoveringTTSStream(log, frames)


@asynccontextmanager
async def open_recovering_stt_stream(
    recovery: Recovery[STT], language: str | None, *, replay_frames: int = 1500
) -> AsyncIterator[RecoveringSTTStream]:
    log: _InputLog[AudioFrame] = _InputLog(replay_frames, lambda frame: frame.duration)

    async def produce(emit: Emit[SpeechEvent]) -> None:
        provider = recovery.first()
        while True:
            switch_to: STT | None = None
            try:
                with collapse_single_error():
                    async with (
                        provider.stream(language=language) as inner,
                        trio.open_nursery() as feeder,
                    ):
                        feeder.start_soon(log.replay_into, inner.push_frame, _ender(inner))
                        async for event in inner:
                            await emit(event)
                            if event.type is SpeechEventType.FINAL_TRANSCRIPT:
                                end = event.audio_end
                                log.trim_to(log.fed if end is None else log.index_at(end))
                                recovery.succeeded(provider)
                                switch_to = recovery.preferred(provider)
                                if switch_to is not None:
                                    break
                        feeder.cancel_scope.cancel()
            except ProviderError as exc:
                error: ProviderError | None = exc
            else:
                error = None
            if error is not None:
                provider = await recovery.next_after(provider, error, delivered=False)
            elif switch_to is not None:
                provider = switch_to
            else:
                return

    async with open_pump(produce) as events:
        yield RecoveringSTTStream(log, events)


class _Ender(Protocol):
    async def end_input(self) -> None: ...


def _ender(inner: _Ender) -> Emit[None]:
    async def end(_: None) -> None:
        await inner.end_input()

    return end
