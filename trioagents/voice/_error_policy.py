"""What the session does when a provider fails: count, ask the user hook, decide.

``resolve()`` is called once per failure that the provider's own retries did not
absorb. It counts consecutive unrecoverable errors *per source* (reset by
``succeeded(source)``: STT on a non-empty transcript, LLM/TTS when the agent speaks),
asks the optional :data:`~trioagents.ErrorHandler`, and returns the action:

* a handler answer wins, except that reaching ``max_unrecoverable_errors`` always
  ends the session (reason ``"error"``) -- a hook cannot keep a broken session alive;
* default for :class:`~trioagents.ContentFilterError`: say
  ``content_filter_message`` (not counted: the provider works, it refused);
* an error a fallback group survived by switching (``error.failed_over`` set) is
  not counted either: the next request goes to a healthy member;
* default otherwise: skip the turn.

:meth:`recovered` reports an error the turn itself got past (a mid-stream
failover that continued the reply): published with action ``RetryRequest``,
counted as nothing, no hook asked.

``FallBack`` is turned into a retry only if the provider implements
``SupportsFailover`` and ``fail_over()`` succeeded; else it becomes ``SkipTurn``.
The hook runs shielded from nothing: it is awaited in the caller's scope and its
exceptions propagate (a broken hook is a bug, not a provider error).
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from ..core import (
    ChatContext,
    ContentFilterError,
    EndSession,
    ErrorAction,
    ErrorContext,
    ErrorHandler,
    ErrorSource,
    FallBack,
    ProviderError,
    RetryRequest,
    SayMessage,
    SkipTurn,
    SupportsFailover,
)
from ._event_bus import EventBus
from ._events import ErrorOccurred
from ._options import SessionOptions

__all__ = ["ErrorPolicy"]


class ErrorPolicy:
    def __init__(
        self,
        options: SessionOptions,
        bus: EventBus,
        handler: ErrorHandler | None,
        provider_of: Callable[[ErrorSource], object],
    ) -> None:
        self._options = options
        self._bus = bus
        self._handler = handler
        self._provider_of = provider_of
        self._consecutive: dict[ErrorSource, int] = {}

    def consecutive(self, source: ErrorSource) -> int:
        return self._consecutive.get(source, 0)

    def succeeded(self, source: ErrorSource) -> None:
        self._consecutive[source] = 0

    async def resolve(
        self,
        source: ErrorSource,
        error: ProviderError,
        *,
        agent: str | None,
        chat_ctx: ChatContext,
    ) -> ErrorAction:
        """Decide what to do about ``error``; publishes :class:`ErrorOccurred`."""
        filtered = isinstance(error, ContentFilterError)
        survived = error.failed_over is not None
        count = self.consecutive(source) + (0 if filtered or survived else 1)
        self._consecutive[source] = count
        action: ErrorAction | None = None
        if self._handler is not None:
            action = await self._handler(ErrorContext(error, source, agent, count, chat_ctx.copy()))
        if action is None:
            action = SayMessage(self._options.content_filter_message) if filtered else SkipTurn()
        if count >= self._options.max_unrecoverable_errors:
            action = EndSession(reason="error")
        if isinstance(action, FallBack):
            action = self._fail_over(source)
        self._bus.publish(ErrorOccurred(source, error, action, count, trio.current_time()))
        return action

    def recovered(self, source: ErrorSource, error: ProviderError) -> None:
        """Publish an error the turn got past by failing over (see the module docs)."""
        count = self.consecutive(source)
        self._bus.publish(ErrorOccurred(source, error, RetryRequest(), count, trio.current_time()))

    def _fail_over(self, source: ErrorSource) -> ErrorAction:
        provider = self._provider_of(source)
        if isinstance(provider, SupportsFailover) and provider.fail_over():
            return RetryRequest()
        return SkipTurn()
