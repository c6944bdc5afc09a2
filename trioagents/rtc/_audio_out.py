"""Publishing audio: :class:`AudioSource`, the Trio side of a paced outgoing track.

Frames are resampled to 48 kHz mono with PyAV as they are captured and queued in
the :class:`~trioagents.transport.PacedAudioTrack` that aiortc pulls every 20 ms.
The queue is bounded (``queue_capacity`` seconds, 200 ms by default):
:meth:`AudioSource.capture_frame` waits while it is full, which paces a
faster-than-real-time producer such as TTS. :meth:`AudioSource.clear_queue` is
synchronous, so a barge-in handler drops queued speech without a checkpoint.

Playout accounting (all in seconds at 48 kHz): ``pushed`` − ``discarded`` −
``queued`` = what has been played, the playback position of an interrupted reply.

A reconnect swaps the underlying track (:meth:`attach`); samples queued in the old
track are lost (at most ``queue_capacity``) and counted as discarded.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError
from ..transport import OUTPUT_RATE as _RATE
from ..transport import AsyncioBridge, PacedAudioTrack

__all__ = ["AudioSource", "AudioSourceStatistics"]


@dataclass(frozen=True, slots=True)
class AudioSourceStatistics:
    pushed: float
    discarded: float
    queued: float
    played: float


class AudioSource:
    """Feed numpy frames into a published track; see the module docstring."""

    def __init__(self, sample_rate: int, num_channels: int, *, queue_capacity: float = 0.2) -> None:
        if sample_rate <= 0 or num_channels not in (1, 2) or queue_capacity <= 0:
            raise ConfigurationError(
                "AudioSource needs sample_rate > 0, num_channels 1 or 2 and queue_capacity > 0"
            )
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._capacity = round(queue_capacity * _RATE)
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=_RATE)
        self._segment_format: tuple[int, int] | None = None  # (rate, channels) since flush
        self._track: PacedAudioTrack | None = None
        self._attached = trio.Event()
        self._progress = trio.Event()
        self._pushed = 0
        self._discarded = 0
        self._paused = False
        self._subscribed = trio.Event()
        self.track_sid = ""

    # -- wiring (room side) ---------------------------------------------------------

    def new_track(self, bridge: AsyncioBridge) -> PacedAudioTrack:
        """A fresh track for a (re)joined connection; wakes waiting producers when consumed."""

        def on_consumed() -> None:  # loop thread
            bridge.post(self._wake)

        track = PacedAudioTrack(on_consumed)
        track.set_paused(self._paused)
        return track

    @property
    def track(self) -> PacedAudioTrack | None:
        """The paced track currently attached (None between joins and after unpublishing)."""
        return self._track

    def attach(self, track: PacedAudioTrack | None, track_sid: str = "") -> None:
        if self._track is not None:
            self._discarded += self._track.clear()
        self._track = track
        self.track_sid = track_sid
        if track is None:
            self._attached = trio.Event()
        else:
            self._attached.set()
        self._wake()

    def mark_subscribed(self) -> None:
        """A remote participant subscribed to the published track (server notice)."""
        self._subscribed.set()

    async def wait_for_subscription(self) -> None:
        """Wait until someone subscribed (what LiveKit agents wait for before speaking)."""
        await self._subscribed.wait()

    def _wake(self) -> None:
        self._progress.set()
        self._progress = trio.Event()

    # -- producer API -----------------------------------------------------------------

    async def capture_frame(self, frame: AudioFrame) -> None:
        """:meth:`wait_for_capacity` then :meth:`push_frame` (checkpoints at least once)."""
        await self.wait_for_capacity()
        self.push_frame(frame)

    async def wait_for_capacity(self) -> None:
        """Wait until the track is attached and the queue is below capacity (checkpoint)."""
        await trio.lowlevel.checkpoint()
        while self._track is None or self._track.queued_samples >= self._capacity:
            if self._track is None:
                await self._attached.wait()
            else:
                await self._progress.wait()

    def push_frame(self, frame: AudioFrame) -> None:
        """Queue ``frame`` now, synchronously (may exceed capacity by one frame).

        Any sample rate, mono or stereo: everything is resampled to 48 kHz mono.
        ``sample_rate``/``num_channels`` are the format announced to producers; a
        segment (between two :meth:`flush` calls) may use another one, e.g. the TTS
        of the agent a call was handed off to. Raises ConfigurationError when the
        format changes *within* a segment (the resampler holds samples of the old
        one) or the frame has more than two channels. Without an attached track
        (mid-reconnect) the frame is discarded.
        """
        layout = (frame.sample_rate, frame.num_channels)
        if frame.num_channels not in (1, 2):
            raise ConfigurationError(f"frame has {frame.num_channels} channels; 1 or 2 expected")
        if self._segment_format is not None and layout != self._segment_format:
            raise ConfigurationError(
                f"frame is {frame.sample_rate} Hz x{frame.num_channels} in a segment of "
                f"{self._segment_format[0]} Hz x{self._segment_format[1]}; flush() between formats"
            )
        self._segment_format = layout
        self._push(self._resample(frame))

    def _push(self, samples: np.ndarray) -> None:
        self._pushed += len(samples)
        if self._track is None:
            self._discarded += len(samples)
        else:
            self._track.push(samples)

    def flush(self) -> None:
        """End of a segment: push the resampler's held-back tail (a few samples)."""
        tail = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=_RATE)
        self._segment_format = None
        if tail:
            self._push(np.concatenate(tail).astype(np.int16))

    async def wait_for_progress(self) -> None:
        """Wait for the next change: a frame consumed, a clear, an attach or detach."""
        await self._progress.wait()

    def _resample(self, frame: AudioFrame) -> np.ndarray:
        layout = "mono" if frame.num_channels == 1 else "stereo"
        packed = np.ascontiguousarray(frame.data).reshape(1, -1)
        av_frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
        av_frame.sample_rate = frame.sample_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(av_frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)

    def clear_queue(self) -> float:
        """Drop everything queued, synchronously; returns the seconds discarded.

        The resampler's held-back samples go too (they belong to the dropped audio),
        and the next segment may use another format.
        """
        dropped = self._track.clear() if self._track is not None else 0
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=_RATE)
        self._segment_format = None
        self._discarded += dropped
        self._wake()
        return dropped / _RATE

    def set_paused(self, paused: bool) -> None:
        """While paused the track sends silence and keeps the queue (pause/resume)."""
        self._paused = paused
        if self._track is not None:
            self._track.set_paused(paused)

    @property
    def queued_duration(self) -> float:
        return (self._track.queued_samples if self._track is not None else 0) / _RATE

    async def wait_for_playout(self) -> None:
        """Wait until the queue is empty (everything captured was played or cleared)."""
        await trio.lowlevel.checkpoint()
        while self._track is not None and self._track.queued_samples > 0:
            await self._progress.wait()

    def statistics(self) -> AudioSourceStatistics:
        queued = self.queued_duration
        pushed, discarded = self._pushed / _RATE, self._discarded / _RATE
        return AudioSourceStatistics(pushed, discarded, queued, pushed - discarded - queued)
