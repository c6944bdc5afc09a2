"""A producer task behind an iterator: the machinery of every wrapper stream.

Retry and fallback must close one inner stream and open another *while the
consumer is iterating*. Opening an inner ``async with`` lazily inside
``__anext__`` would enter cancel scopes in one call and leave them in another, so
a consumer that wraps ``__anext__`` in ``move_on_after`` would corrupt the cancel
scope stack (the PEP 789 hazard). Instead a producer task owns the inner streams,
properly nested in its own frame, and hands items over an unbuffered memory
channel. The consumer's iterator is a plain object.

:func:`open_pump` owns that task: leaving the block cancels it (and with it the
inner stream and its HTTP response) before the block exits. A
:class:`~trioagents.core.ProviderError` raised by the producer reaches the
consumer at its next ``__anext__``, exactly where a plain provider stream would
raise it. Anything else (a bug) propagates out of the block, unwrapped from the
nursery's exception group when it is the only real error.

Because the channel is unbuffered, ``await emit(item)`` returns only once the
consumer took the item: the producer knows what reached the user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

import trio

from ..core import ProviderError, collapse_single_error

__all__ = ["Emit", "PumpedIterator", "open_pump"]

T = TypeVar("T")
Emit: TypeAlias = Callable[[T], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Failed:
    error: ProviderError


class PumpedIterator(Generic[T]):
    """Receives what the producer emits; raises what it failed with."""

    __slots__ = ("_receive",)

    def __init__(self, receive: trio.MemoryReceiveChannel[T | _Failed]) -> None:
        self._receive = receive

    def __aiter__(self) -> PumpedIterator[T]:
        return self

    async def __anext__(self) -> T:
        """Waits for the next item (a checkpoint); raises the producer's ProviderError."""
        try:
            item = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(item, _Failed):
            raise item.error
        return item


@asynccontextmanager
async def open_pump(
    produce: Callable[[Emit[T]], Awaitable[None]],
) -> AsyncIterator[PumpedIterator[T]]:
    """Run ``produce(emit)`` in a task for the duration of the block.

    The producer is cancelled when the block exits. Raises what the block raised,
    or the producer's non-provider error.
    """
    send, receive = trio.open_memory_channel[T | _Failed](0)
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_run_producer, produce, send)
            try:
                yield PumpedIterator(receive)
            finally:
                nursery.cancel_scope.cancel()
                receive.close()


async def _run_producer(
    produce: Callable[[Emit[T]], Awaitable[None]], send: trio.MemorySendChannel[T | _Failed]
) -> None:
    async with send:
        try:
            await produce(send.send)
        except ProviderError as error:
            failure = error
        else:
            return
        await send.send(_Failed(failure))
