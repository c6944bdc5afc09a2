"""Subscribing to remote audio: :class:`AudioStream`, an async iterator of frames.

One pump per stream runs on the bridge loop (``pump_audio_track``), resampling with
PyAV to the rate and channel count asked for, and posts each block into a bounded
Trio channel. When the consumer falls behind, new frames are dropped and counted
(``dropped``); the pump is never blocked, so a slow consumer cannot stall aiortc.

The stream follows its track sid across reconnects: when the peer connection is
replaced, the pump ends and the stream waits for the same track to arrive on the
new connection. It ends (``StopAsyncIteration``) when the track is unpublished,
its participant leaves, or the room closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import trio

from ..core import AudioFrame

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["AudioStream"]


class AudioStream:
    """Async iterator of :class:`~trioagents.core.AudioFrame`; from ``room.subscribe_audio``."""

    def __init__(self, track_sid: str, sample_rate: int, num_channels: int, buffer: int) -> None:
        self.track_sid = track_sid
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._send, self._receive = trio.open_memory_channel[AudioFrame](buffer)
        self.dropped = 0
        self.received = 0

    def deliver(self, data: NDArray[np.int16]) -> None:
        """Called in Trio (posted from the pump). Never raises."""
        try:
            self._send.send_nowait(AudioFrame(data, self.sample_rate))
            self.received += 1
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.dropped += 1

    def end(self) -> None:
        self._send.close()

    def __aiter__(self) -> AudioStream:
        return self

    async def __anext__(self) -> AudioFrame:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
