"""How an utterance's frames move between its tasks with few task switches.

Frames go TTS node → relay → playout through memory channels. A channel operation
is a scheduling point, and while the playout waits on the device queue every
frame it takes frees one slot upstream -- so each frame used to cost the relay
and the node a task switch each, per session, 50 times a second of speech
(``docs/performance.md``, *Sessions per process*). Two rules cut that:

* :func:`next_item` takes what is queued without a scheduling point and waits
  only when nothing is; the relay moves a burst in one task step, and the
  playout's checkpoint is the sink's write.
* :class:`Refill`: a relay that found the playout buffer full waits until the
  playout has taken ``batch`` items, then refills in one burst (one wake-up per
  batch instead of per frame). Only the synthesizing task sends into that buffer,
  so while it waits, items taken means slots free.

Each loop still has a checkpoint per iteration (the node's TTS stream, the
sink's write), and no burst is longer than a channel's buffer.
"""

from __future__ import annotations

from typing import TypeVar

import trio

__all__ = ["Refill", "next_item"]

T = TypeVar("T")


async def next_item(channel: trio.MemoryReceiveChannel[T]) -> T | None:
    """The next item, None at the end; waits (a checkpoint) only when none is queued."""
    try:
        return channel.receive_nowait()
    except trio.WouldBlock:
        pass
    except trio.EndOfChannel:
        return None
    try:
        return await channel.receive()
    except trio.EndOfChannel:
        return None


class Refill:
    """Hysteresis for one buffered channel with one sender (see the module docs)."""

    __slots__ = ("_batch", "_event", "_owed")

    def __init__(self, batch: int) -> None:
        self._batch = batch
        self._owed = 0
        self._event: trio.Event | None = None

    def took(self) -> None:
        """The receiver took one item (synchronous; call it for every item)."""
        if self._event is not None:
            self._owed -= 1
            if self._owed <= 0:
                self._event.set()
                self._event = None

    async def send(self, channel: trio.MemorySendChannel[T], item: T) -> None:
        """Send ``item``: at once while there is room, else after a batch was taken.
        A checkpoint only when it waits."""
        try:
            channel.send_nowait(item)
            return
        except trio.WouldBlock:
            pass
        event = self._event = trio.Event()
        self._owed = self._batch
        await event.wait()
        await channel.send(item)  # room now (a plain send if the batch was not taken)
