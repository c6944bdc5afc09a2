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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from ..core import AudioFrame
from ..transport import AsyncioBridge, pump_audio_track

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["AudioStream", "RemoteAudio"]


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


class RemoteAudio:
    """The aiortc tracks of the current subscriber PC, by track sid, and their pumps.

    ``track_gone(sid)`` (from the room) says when a stream must end;
    ``wait_changed()`` wakes on any change of tracks, participants or connection.
    """

    def __init__(
        self,
        bridge: AsyncioBridge,
        track_gone: Callable[[str], bool],
        wait_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._bridge = bridge
        self._track_gone = track_gone
        self._wait_changed = wait_changed
        self._tracks: dict[str, Any] = {}

    def add(self, track_sid: str, track: Any) -> None:
        self._tracks[track_sid] = track

    def clear(self) -> None:
        """The subscriber PC is gone (rejoin or close): its tracks are dead."""
        self._tracks.clear()

    async def feed(self, stream: AudioStream) -> None:
        """Pump the stream's track into it, re-attaching after rejoins; ends it at the end."""
        sid, bridge = stream.track_sid, self._bridge

        def deliver(data: NDArray[np.int16]) -> None:  # loop thread
            bridge.post(stream.deliver, data)

        try:
            while not self._track_gone(sid):
                track = self._tracks.get(sid)
                if track is None:
                    await self._wait_changed()
                    continue
                async with trio.open_nursery() as pump:
                    pump.start_soon(self._watch, sid, track, pump.cancel_scope)
                    await bridge.run(
                        pump_audio_track, track, stream.sample_rate, stream.num_channels, deliver
                    )
                    pump.cancel_scope.cancel()
                if self._tracks.get(sid) is track:
                    del self._tracks[sid]  # it ended on its own: wait for a new one
        finally:
            stream.end()

    async def _watch(self, sid: str, track: Any, scope: trio.CancelScope) -> None:
        """Stop the pump when its track is replaced, unpublished or the room ends."""
        while self._tracks.get(sid) is track and not self._track_gone(sid):
            await self._wait_changed()
        scope.cancel()
