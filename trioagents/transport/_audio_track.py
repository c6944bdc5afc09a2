"""aiortc-side audio: a paced outgoing track and a pump for incoming tracks.

Both run on the bridge loop (part of the asyncio bridge: the only place, with
``_aiortc_bridge``, where asyncio is used). The Trio side talks to them through
thread-safe, non-blocking operations only:

* :class:`PacedAudioTrack` is an ``aiortc.MediaStreamTrack`` that aiortc's sender
  pulls every 20 ms. Samples are queued from Trio with :meth:`PacedAudioTrack.push`
  (under a ``threading.Lock``, never awaited); the track paces itself on the loop
  clock and sends silence on underrun or while paused, so RTP timing never
  depends on the producer. :meth:`clear` drops the queue synchronously and returns
  how many samples it discarded (barge-in: nothing queued before the clear can be
  sent afterwards). ``on_consumed`` is called (on the loop thread) after every
  frame so the Trio side can wake producers waiting for room.
* :func:`pump_audio_track` drains an incoming track and hands every decoded frame
  to ``deliver`` (which posts into Trio, where each subscriber resamples it). It
  returns when the track ends. aiortc's receive queue is unbounded, so the room
  drains every remote track from its arrival whether or not anyone listens.

Rejected alternative: a per-frame ``bridge.run(track.recv)`` pull from Trio. It
costs one cross-thread round trip per frame for no gain (feasibility §2).
"""

from __future__ import annotations

import asyncio
import fractions
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

__all__ = ["OUTPUT_RATE", "PacedAudioTrack", "pump_audio_track"]

OUTPUT_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: the Opus frame aiortc sends


def _make_track_base() -> type[Any]:
    from aiortc.mediastreams import MediaStreamTrack

    return MediaStreamTrack


class PacedAudioTrack(_make_track_base()):  # type: ignore[misc]
    """Mono 48 kHz s16 track fed from another thread; see the module docstring."""

    kind = "audio"

    def __init__(self, on_consumed: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: deque[NDArray[np.int16]] = deque()
        self._queued = 0
        self._paused = False
        self._on_consumed = on_consumed
        self._start: float | None = None
        self._pts = 0
        self.played_samples = 0  # samples taken from the queue (not silence)
        self.silent_frames = 0

    # -- any thread ---------------------------------------------------------------

    def push(self, samples: NDArray[np.int16]) -> None:
        """Queue 1-D int16 samples at 48 kHz mono (never blocks)."""
        with self._lock:
            self._queue.append(samples)
            self._queued += len(samples)

    def clear(self) -> int:
        """Drop everything queued; return the number of samples discarded."""
        with self._lock:
            discarded = self._queued
            self._queue.clear()
            self._queued = 0
        return discarded

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused

    @property
    def queued_samples(self) -> int:
        with self._lock:
            return self._queued

    # -- loop thread ----------------------------------------------------------------

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += FRAME_SAMPLES
            await asyncio.sleep(self._start + self._pts / OUTPUT_RATE - loop.time())
        block = self._take(FRAME_SAMPLES)
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OUTPUT_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, OUTPUT_RATE)
        if self._on_consumed is not None:
            self._on_consumed()
        return frame

    def _take(self, count: int) -> NDArray[np.int16]:
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        with self._lock:
            while not self._paused and filled < count and self._queue:
                head = self._queue[0]
                n = min(count - filled, len(head))
                out[filled : filled + n] = head[:n]
                filled += n
                if n == len(head):
                    self._queue.popleft()
                else:
                    self._queue[0] = head[n:]
            self._queued -= filled
        self.played_samples += filled
        if filled == 0:
            self.silent_frames += 1
        return out


async def pump_audio_track(track: Any, deliver: Callable[[av.AudioFrame], object]) -> None:
    """Read ``track`` until it ends, handing every decoded frame to ``deliver``.

    Runs on the bridge loop. ``deliver`` must not block or raise (it posts into
    Trio). aiortc buffers received frames in an unbounded queue, so every remote
    track must be drained like this from the moment it arrives, subscribed or not.
    Cancelling the asyncio task stops the pump.
    """
    from aiortc.mediastreams import MediaStreamError

    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        deliver(frame)
