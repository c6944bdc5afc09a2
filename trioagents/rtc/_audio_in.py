"""Subscribing to remote audio: :class:`AudioStream`, an async iterator of frames.

Every remote audio track is drained from its arrival (:class:`RemoteAudio`, one
``pump_audio_track`` per track on the bridge loop): aiortc queues received frames
without bound, so an unread track would otherwise grow memory and hand a late
subscriber seconds of stale audio. Decoded frames are posted into Trio and fanned
out to the streams subscribed to that track sid; each stream resamples with its own
PyAV resampler to the rate and channel count asked for and queues the block in a
bounded channel. When a consumer falls behind, new frames are dropped and counted
(``dropped``); nothing ever blocks the loop.

A stream is registered by track sid, so it carries over to the same track on a new
connection after a rejoin. It ends (``StopAsyncIteration``) when the track is
unpublished, its participant leaves, or the room closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import av
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
        layout = "mono" if num_channels == 1 else "stereo"
        self._resampler = av.AudioResampler(format="s16", layout=layout, rate=sample_rate)

    def deliver_frame(self, frame: av.AudioFrame) -> None:
        """Resample one decoded frame and queue it (in Trio; never raises)."""
        try:
            blocks = [out.to_ndarray() for out in self._resampler.resample(frame)]
        except (av.FFmpegError, ValueError):
            self.dropped += 1
            return
        for block in blocks:
            data = block.astype(np.int16, copy=False).reshape(-1, self.num_channels)
            if len(data):
                self.deliver(data)

    def deliver(self, data: NDArray[np.int16]) -> None:
        """Queue one block of samples (in Trio; never raises)."""
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


@dataclass(eq=False, slots=True)
class _Remote:
    track: Any
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class RemoteAudio:
    """The remote audio tracks of the current subscriber PC, drained and fanned out.

    Every track is drained from its arrival by a task in the room's nursery (aiortc
    queues received frames without bound). Frames go to the :class:`AudioStream`s
    subscribed to the track's sid, or are discarded (``frames_discarded``). Streams
    are registered by sid, so they carry over to the same track on a new connection.
    ``track_gone(sid)`` says when a stream must end; ``wait_changed()`` wakes on any
    change of tracks, participants or connection.
    """

    def __init__(
        self,
        bridge: AsyncioBridge,
        nursery: trio.Nursery,
        track_gone: Callable[[str], bool],
        wait_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._bridge = bridge
        self._nursery = nursery
        self._track_gone = track_gone
        self._wait_changed = wait_changed
        self._tracks: dict[str, _Remote] = {}
        self._streams: dict[str, set[AudioStream]] = {}
        self.frames_discarded = 0

    def add(self, track_sid: str, track: Any) -> None:
        """A track arrived (in Trio): start draining it, replacing an older one."""
        old = self._tracks.pop(track_sid, None)
        if old is not None:
            old.scope.cancel()
        remote = _Remote(track)
        self._tracks[track_sid] = remote
        self._nursery.start_soon(self._drain, track_sid, remote)

    def clear(self) -> None:
        """The subscriber PC is gone (rejoin or close): stop every drain."""
        for remote in self._tracks.values():
            remote.scope.cancel()
        self._tracks.clear()

    async def _drain(self, sid: str, remote: _Remote) -> None:
        bridge = self._bridge

        def deliver(frame: Any) -> None:  # loop thread
            bridge.post(self._fan_out, sid, remote, frame)

        with remote.scope:
            await bridge.run(pump_audio_track, remote.track, deliver)
        if self._tracks.get(sid) is remote:
            del self._tracks[sid]

    def _fan_out(self, sid: str, remote: _Remote, frame: Any) -> None:
        """In Trio (posted); never raises."""
        streams = self._streams.get(sid)
        if self._tracks.get(sid) is not remote or not streams:
            self.frames_discarded += 1
            return
        for stream in streams:
            stream.deliver_frame(frame)

    async def feed(self, stream: AudioStream) -> None:
        """Register ``stream`` for its sid until the track is gone; then end it."""
        sid = stream.track_sid
        self._streams.setdefault(sid, set()).add(stream)
        try:
            while not self._track_gone(sid):
                await self._wait_changed()
        finally:
            subscribers = self._streams.get(sid, set())
            subscribers.discard(stream)
            if not subscribers:
                self._streams.pop(sid, None)
            stream.end()
