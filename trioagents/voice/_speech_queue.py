"""SpeechQueue: speeches waiting for the floor, by priority, first come first served.

LiveKit Agents' three priorities (``SpeechPriority.LOW`` 0, ``NORMAL`` 5, ``HIGH``
10): a higher priority is played first; within one priority, in the order the
speeches were created. A queued speech never interrupts the one playing. Used for
the activity's queue and for the speeches nested in one turn
(:mod:`._nested_speech`).
"""

from __future__ import annotations

import heapq
import itertools
from enum import IntEnum
from typing import Generic, TypeVar

import trio

__all__ = ["SpeechPriority", "SpeechQueue", "get_unless"]

T = TypeVar("T")


class SpeechPriority(IntEnum):
    LOW = 0
    NORMAL = 5
    HIGH = 10


class SpeechQueue(Generic[T]):
    """An unbounded priority queue with an async :meth:`get` (any number of consumers)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, T]] = []
        self._order = itertools.count()
        self._changed = trio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, item: T, priority: int) -> None:
        """Add ``item`` (synchronous, never blocks)."""
        heapq.heappush(self._heap, (-priority, next(self._order), item))
        self._changed.set()
        self._changed = trio.Event()

    def get_nowait(self) -> T:
        """The first item; raises ``trio.WouldBlock`` when empty."""
        if not self._heap:
            raise trio.WouldBlock
        return heapq.heappop(self._heap)[2]

    async def get(self) -> T:
        """Wait for the first item (checkpoints; cancellable, nothing is lost)."""
        await trio.lowlevel.checkpoint()
        while not self._heap:
            await self._changed.wait()
        return heapq.heappop(self._heap)[2]


async def get_unless(queue: SpeechQueue[T], stop: trio.Event) -> T | None:
    """The next item, or None as soon as ``stop`` is set (nothing is lost)."""
    if stop.is_set():
        try:
            return queue.get_nowait()
        except trio.WouldBlock:
            await trio.lowlevel.checkpoint()
            return None
    item: T | None = None
    async with trio.open_nursery() as nursery:

        async def cancel_when_stopped() -> None:
            await stop.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(cancel_when_stopped)
        item = await queue.get()
        nursery.cancel_scope.cancel()
    return item
