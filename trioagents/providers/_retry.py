"""One retry policy for every stream kind, as composable wrappers.

``with_retry(provider, policy)`` returns a provider of the same kind
(:class:`RetryingLLM`, :class:`RetryingTTS`, :class:`RetryingStreamingTTS`,
:class:`RetryingSTT`, :class:`RetryingBatchSTT`) that re-opens the inner stream
after a retryable :class:`~trioagents.core.ProviderError`. Retry is a wrapper,
not a base-class feature: providers stay small and a fallback group can hold
retrying members or be wrapped itself.

The rules (one place, :meth:`RetryPolicy.next_delay`):

* only errors with ``retryable`` set are retried: connection errors, timeouts,
  408/409/425/429/5xx; other 4xx and :class:`~trioagents.core.ContentFilterError`
  never are; ``trio.Cancelled`` is not an error and is never caught;
* never after an item reached the consumer (tokens, audio), except for STT,
  which resumes by replaying audio since the last final transcript;
* at most ``max_retries`` retries (default 3); the n-th waits
  ``base_delay * factor**n`` (1 s, 2 s, 4 s by default, capped at ``max_delay``)
  spread by ``±jitter`` of itself, drawn from the injectable ``rng``; a server's
  ``Retry-After`` raises the wait to at least that long, and one longer than
  ``max_delay`` means give up now (a voice turn cannot wait minutes);
* deadline-aware: a wait that would end past the caller's deadline
  (``trio.current_effective_deadline()``) is not started; the last error is
  raised at once, so the caller's fallback or error handler gets its turn in time.

Waits sleep on Trio's clock. Rejected alternative: a retry counter on every
provider (LiveKit's ``APIConnectOptions``): each provider then re-implements the
loop and they drift (agents-js #790 retried status errors but not connection
errors).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, overload

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    AudioFrame,
    BatchSTT,
    ChatContext,
    ConfigurationError,
    LLMEvent,
    ProviderError,
    ProviderStatusError,
    SpeechEvent,
    StreamingTTS,
    STTStream,
    SupportsFailover,
    ToolChoice,
    ToolSpec,
    TTSStream,
    streams_text_input,
)
from ._resilient import (
    open_recovering_chat,
    open_recovering_stt_stream,
    open_recovering_synthesis,
    open_recovering_tts_stream,
)

__all__ = [
    "RetryPolicy",
    "RetryingBatchSTT",
    "RetryingLLM",
    "RetryingSTT",
    "RetryingStreamingTTS",
    "RetryingTTS",
    "with_retry",
]

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait; see the module docs for the rules."""

    max_retries: int = 3
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ConfigurationError("RetryPolicy: max_retries and delays must be >= 0")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ConfigurationError("RetryPolicy: factor must be >= 1 and jitter in [0, 1)")

    def next_delay(
        self, retries_done: int, error: ProviderError, *, delivered: bool
    ) -> float | None:
        """Seconds to wait before retry number ``retries_done + 1``, or None: give up."""
        if delivered or not error.retryable or retries_done >= self.max_retries:
            return None
        backoff = min(self.max_delay, self.base_delay * self.factor**retries_done)
        delay = backoff * (1 + self.rng.uniform(-self.jitter, self.jitter))
        if isinstance(error, ProviderStatusError) and error.retry_after is not None:
            if error.retry_after > self.max_delay:
                return None  # a voice turn cannot wait that long: let fallback/handler act
            delay = max(delay, error.retry_after)
        return max(0.0, delay)

    async def wait_or_raise(
        self, retries_done: int, error: ProviderError, *, delivered: bool
    ) -> None:
        """Sleep before the next retry, or raise ``error`` when the policy (or the
        enclosing deadline) says no. Checkpoints even when it raises."""
        delay = self.next_delay(retries_done, error, delivered=delivered)
        if delay is None or trio.current_time() + delay > trio.current_effective_deadline():
            await trio.lowlevel.checkpoint()
            raise error
        await trio.sleep(delay)


def _forward_fail_over(inner: object) -> bool:
    """Wrappers pass ``fail_over()`` (SupportsFailover) through to a fallback group."""
    return inner.fail_over() if isinstance(inner, SupportsFailover) else False


class _RetryRecovery(Generic[P]):
    """Recovery for one stream: the same provider, up to ``max_retries`` times."""

    def __init__(self, provider: P, policy: RetryPolicy) -> None:
        self._provider = provider
        self._policy = policy
        self._retries = 0

    def first(self) -> P:
        return self._provider

    async def next_after(self, failed: P, error: ProviderError, *, delivered: bool) -> P:
        await self._policy.wait_or_raise(self._retries, error, delivered=delivered)
        self._retries += 1
        return failed

    def succeeded(self, provider: P) -> None:
        self._retries = 0

    def preferred(self, current: P) -> P | None:
        return None


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...


L = TypeVar("L", bound=_Labelled)


class _RetryingBase(Generic[L]):
    """What every retry wrapper shares: the inner provider, the policy, the label."""

    def __init__(self, inner: L, policy: RetryPolicy | None = None) -> None:
        self._inner = inner
        self._policy = policy or RetryPolicy()

    @property
    def label(self) -> str:
        return self._inner.label

    def fail_over(self) -> bool:
        """Forwarded to the wrapped provider when it is a fallback group; else False."""
        return _forward_fail_over(self._inner)


class RetryingLLM(_RetryingBase[LLM]):
    """An LLM that re-opens the chat after a retryable error before any token."""

    def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[LLMEvent]]:
        """``tool_choice`` None is passed on as not given (the inner LLM's default)."""
        recovery = _RetryRecovery(self._inner, self._policy)
        return open_recovering_chat(recovery, chat_ctx, tools, tool_choice)


class RetryingTTS(_RetryingBase[TTS]):
    """A chunked TTS that re-opens the synthesis after a retryable error before any audio."""

    @property
    def sample_rate(self) -> int:
        return self._inner.sample_rate

    @property
    def num_channels(self) -> int:
        return self._inner.num_channels

    def synthesize(self, text: str) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]:
        return open_recovering_synthesis(_RetryRecovery(self._inner, self._policy), text)


class RetryingStreamingTTS(RetryingTTS):
    """A streaming TTS that replays the pushed text into a new stream (before any audio)."""

    def __init__(self, inner: StreamingTTS, policy: RetryPolicy | None = None) -> None:
        super().__init__(inner, policy)
        self._streaming = inner

    @property
    def input_streaming(self) -> bool:
        """The wrapped TTS's (see ``streams_text_input``)."""
        return streams_text_input(self._streaming)

    def stream(self) -> AbstractAsyncContextManager[TTSStream]:
        return open_recovering_tts_stream(_RetryRecovery(self._streaming, self._policy))


class RetryingSTT(_RetryingBase[STT]):
    """A streaming STT that reconnects and replays audio since the last final."""

    def stream(self, *, language: str | None = None) -> AbstractAsyncContextManager[STTStream]:
        return open_recovering_stt_stream(_RetryRecovery(self._inner, self._policy), language)


class RetryingBatchSTT(_RetryingBase[BatchSTT]):
    """A batch STT that re-sends the utterance after a retryable error."""

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent:
        """Recognize with retries (nothing reaches the user before the answer)."""
        retries = 0
        while True:
            try:
                return await self._inner.recognize(frames, language=language)
            except ProviderError as exc:
                error = exc
            await self._policy.wait_or_raise(retries, error, delivered=False)
            retries += 1


@overload
def with_retry(provider: LLM, policy: RetryPolicy | None = None) -> RetryingLLM: ...
@overload
def with_retry(
    provider: StreamingTTS, policy: RetryPolicy | None = None
) -> RetryingStreamingTTS: ...
@overload
def with_retry(provider: TTS, policy: RetryPolicy | None = None) -> RetryingTTS: ...
@overload
def with_retry(provider: STT, policy: RetryPolicy | None = None) -> RetryingSTT: ...
@overload
def with_retry(provider: BatchSTT, policy: RetryPolicy | None = None) -> RetryingBatchSTT: ...
def with_retry(
    provider: LLM | TTS | STT | BatchSTT, policy: RetryPolicy | None = None
) -> RetryingLLM | RetryingTTS | RetryingSTT | RetryingBatchSTT:
    """Wrap any provider kind with ``policy`` (default :class:`RetryPolicy`)."""
    if isinstance(provider, LLM):
        return RetryingLLM(provider, policy)
    if isinstance(provider, StreamingTTS):
        return RetryingStreamingTTS(provider, policy)
    if isinstance(provider, TTS):
        return RetryingTTS(provider, policy)
    if isinstance(provider, STT):
        return RetryingSTT(provider, policy)
    if isinstance(provider, BatchSTT):
        return RetryingBatchSTT(provider, policy)
    raise ConfigurationError(f"with_retry: {type(provider).__name__} is not a provider")
