"""The LLM, TTS and STT fallback adapters and their ``open_*`` entry points.

The group logic lives in :mod:`._fallback`; this module only binds it to each
provider protocol and supplies the default probes, each a whole short request read
to its end (a one-word chat completion, a one-word synthesis, 200 ms of silence
through a recognition stream): a member that answers the first event and then
fails mid-stream does not pass. A custom ``probe`` may be passed instead.

Each adapter implements :class:`~trioagents.core.SupportsFailover`, so a session's
error handler answering :class:`~trioagents.core.FallBack` can switch members.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    AudioFrame,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    LLMEvent,
    LLMTextDelta,
    LLMToolCall,
    ProviderError,
    StreamingTTS,
    STTStream,
    ToolChoice,
    ToolSpec,
    TTSStream,
    collapse_single_error,
    silence,
)
from ._fallback import FallbackOptions, FallbackRecovery, FallbackStatistics, MemberGroup
from ._resilient import (
    open_recovering_chat,
    open_recovering_stt_stream,
    open_recovering_synthesis,
    open_recovering_tts_stream,
)

__all__ = [
    "FallbackLLM",
    "FallbackSTT",
    "FallbackStreamingTTS",
    "FallbackTTS",
    "open_fallback_llm",
    "open_fallback_streaming_tts",
    "open_fallback_stt",
    "open_fallback_tts",
]


P = TypeVar("P")


class _FallbackBase(Generic[P]):
    def __init__(self, group: MemberGroup[P]) -> None:
        self._group = group

    @property
    def label(self) -> str:
        return self._group.label

    def fail_over(self) -> bool:
        """Make the next available member current (SupportsFailover)."""
        return self._group.fail_over()

    def statistics(self) -> FallbackStatistics:
        return self._group.statistics()


class FallbackLLM(_FallbackBase[LLM]):
    """An LLM over an ordered group of LLMs; obtain it with :func:`open_fallback_llm`."""

    def __init__(self, group: MemberGroup[LLM]) -> None:
        super().__init__(group)

    def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
        """``tool_choice`` None is passed on as not given (each member's default)."""
        return open_recovering_chat(FallbackRecovery(self._group), chat_ctx, tools, tool_choice)


class FallbackTTS(_FallbackBase[TTS]):
    """A chunked TTS over a group sharing one sample rate and channel count."""

    def __init__(self, group: MemberGroup[TTS]) -> None:
        super().__init__(group)
        first = group.members[0]
        for member in group.members:
            if (member.sample_rate, member.num_channels) != (first.sample_rate, first.num_channels):
                raise ConfigurationError(
                    "FallbackTTS members must share sample_rate and num_channels; "
                    "resample the odd one out before grouping"
                )

    @property
    def sample_rate(self) -> int:
        return self._group.members[0].sample_rate

    @property
    def num_channels(self) -> int:
        return self._group.members[0].num_channels

    def synthesize(self, text: str) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]:
        return open_recovering_synthesis(FallbackRecovery(self._group), text)


class FallbackStreamingTTS(FallbackTTS):
    """A streaming TTS over a group of streaming TTSs sharing one format.

    Text pushed before any audio was delivered is replayed into the next member
    when one fails; after audio, the error is re-raised with ``failed_over`` set
    (:mod:`._fallback`), and the next stream starts on the new member.
    """

    def __init__(self, group: MemberGroup[StreamingTTS]) -> None:
        super().__init__(group)  # type: ignore[arg-type]
        self._streaming = group

    @property
    def input_streaming(self) -> bool:
        """True when every member synthesizes text as it is pushed."""
        return all(getattr(m, "input_streaming", True) for m in self._streaming.members)

    def stream(self) -> AbstractAsyncContextManager[TTSStream]:
        return open_recovering_tts_stream(FallbackRecovery(self._streaming))


class FallbackSTT(_FallbackBase[STT]):
    """A streaming STT over a group; returns to a recovered member after a final transcript."""

    def __init__(self, group: MemberGroup[STT]) -> None:
        super().__init__(group)

    def stream(self, *, language: str | None = None) -> AbstractAsyncContextManager[STTStream]:
        return open_recovering_stt_stream(FallbackRecovery(self._group), language)


_PROBE_PROMPT = "Reply with the single word: ok"


async def probe_llm(llm: LLM) -> None:
    """Read a one-word completion to its end; an empty one fails the probe."""
    answered = False
    chat_ctx = ChatContext([ChatMessage("user", _PROBE_PROMPT)])
    async with llm.chat(chat_ctx) as events:
        async for event in events:
            answered = answered or isinstance(event, LLMTextDelta | LLMToolCall)
    if not answered:
        raise ProviderError(
            "probe: the completion ended without output", provider=llm.label, retryable=True
        )


async def probe_tts(tts: TTS) -> None:
    """Synthesize a word to the end; no audio fails the probe."""
    seconds = 0.0
    async with tts.synthesize("ok") as frames:
        async for frame in frames:
            seconds += frame.duration
    if seconds <= 0:
        raise ProviderError(
            "probe: the synthesis ended without audio", provider=tts.label, retryable=True
        )


async def probe_stt(stt: STT) -> None:
    """Push 200 ms of 16 kHz silence through a stream and drain it."""
    async with stt.stream() as stream:
        await stream.push_frame(silence(0.2, 16000))
        await stream.end_input()
        async for _ in stream:
            pass


A = TypeVar("A")


@asynccontextmanager
async def _open_group(
    kind: str,
    members: Sequence[P],
    options: FallbackOptions | None,
    probe: Callable[[P], Awaitable[None]],
    adapter: Callable[[MemberGroup[P]], A],
) -> AsyncIterator[A]:
    """The group's adapter, its probes running in this block's nursery."""
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            label = f"fallback-{kind}(" + ",".join(m.label for m in members) + ")"  # type: ignore[attr-defined]
            group = MemberGroup(members, nursery, probe, options or FallbackOptions(), label)
            try:
                yield adapter(group)
            finally:
                nursery.cancel_scope.cancel()


def open_fallback_llm(
    members: Sequence[LLM],
    *,
    options: FallbackOptions | None = None,
    probe: Callable[[LLM], Awaitable[None]] = probe_llm,
) -> AbstractAsyncContextManager[FallbackLLM]:
    """A :class:`FallbackLLM` whose probes run in this block's nursery."""
    return _open_group("llm", members, options, probe, FallbackLLM)


def open_fallback_tts(
    members: Sequence[TTS],
    *,
    options: FallbackOptions | None = None,
    probe: Callable[[TTS], Awaitable[None]] = probe_tts,
) -> AbstractAsyncContextManager[FallbackTTS]:
    """A :class:`FallbackTTS` whose probes run in this block's nursery."""
    return _open_group("tts", members, options, probe, FallbackTTS)


def open_fallback_streaming_tts(
    members: Sequence[StreamingTTS],
    *,
    options: FallbackOptions | None = None,
    probe: Callable[[StreamingTTS], Awaitable[None]] = probe_tts,
) -> AbstractAsyncContextManager[FallbackStreamingTTS]:
    """A :class:`FallbackStreamingTTS` whose probes run in this block's nursery."""
    return _open_group("tts", members, options, probe, FallbackStreamingTTS)


def open_fallback_stt(
    members: Sequence[STT],
    *,
    options: FallbackOptions | None = None,
    probe: Callable[[STT], Awaitable[None]] = probe_stt,
) -> AbstractAsyncContextManager[FallbackSTT]:
    """A :class:`FallbackSTT` whose probes run in this block's nursery."""
    return _open_group("stt", members, options, probe, FallbackSTT)
