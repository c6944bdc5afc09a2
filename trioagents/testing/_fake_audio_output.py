"""FakeAudioOutput: a real-time-like speaker with a device queue, on Trio's clock.

Frames play back to back at real speed from the moment they are captured;
``wait_for_capacity`` blocks while more than ``queue_duration`` (200 ms) is queued.
Playback is computed lazily from the clock, so the sink needs no task of its own.
``clear_buffer`` drops every frame not fully played (the one playing is cut), so a
segment's ``playback_position`` is the sum of the frames heard in full.

Options: ``can_pause`` (pause freezes playback, resume shifts the schedule),
``reports_playout=False`` (``wait_for_playout`` never returns, like a broken track).
Everything observed is recorded: ``accepted`` (capture time and marker of every
frame), ``segments`` (per flushed segment: played markers, position, interrupted),
``clears`` (Trio times of ``clear_buffer`` calls), ``lateness`` (for each frame that
arrived after the device queue had run dry in the middle of a segment, by how much).

Waits use an :class:`~trioagents.core.Alarm`: with a ticker open, no cancel scope
per frame, and a writer waiting for room is woken on the ticker's
10 ms grid (at most 10 ms after the queue had room).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field

import trio

from ..core import Alarm, AudioFrame, Ticker, current_ticker
from ..voice import PlaybackFinished

__all__ = ["AcceptedFrame", "FakeAudioOutput", "PlayedSegment"]

_DEVICE_PERIOD = 0.01  # with a ticker open, the fake device wakes a writer on this grid


@dataclass(frozen=True, slots=True)
class AcceptedFrame:
    at: float
    marker: int
    duration: float


@dataclass(slots=True)
class PlayedSegment:
    markers: list[int] = field(default_factory=list)
    position: float = 0.0
    interrupted: bool = False


@dataclass(slots=True)
class _Queued:
    marker: int
    duration: float
    start: float


class FakeAudioOutput:
    def __init__(
        self,
        *,
        sample_rate: int = 24000,
        queue_duration: float = 0.2,
        can_pause: bool = False,
        reports_playout: bool = True,
    ) -> None:
        self._sample_rate = sample_rate
        self.queue_duration = queue_duration
        self._can_pause = can_pause
        self.reports_playout = reports_playout
        self._queue: deque[_Queued] = deque()
        self._play_end = -math.inf
        self._paused_at: float | None = None
        self._flushed = False
        self._current = PlayedSegment()
        self._changed = Alarm()  # rung on every change; waits need no cancel scope
        # columns, not an object per frame: a long session's record adds nothing for
        # the cyclic garbage collector to walk (a production sink keeps none of it)
        self._accepted_at = array("d")
        self._accepted_marker = array("q")
        self._accepted_duration = array("d")
        self.segments: list[PlayedSegment] = []
        self.clears: list[float] = []
        self.lateness: list[float] = []
        self.pauses = 0

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def can_pause(self) -> bool:
        return self._can_pause

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def accepted(self) -> list[AcceptedFrame]:
        """Every captured frame in order: when, its marker, its duration (a new list)."""
        columns = (self._accepted_at, self._accepted_marker, self._accepted_duration)
        return [AcceptedFrame(*row) for row in zip(*columns, strict=True)]

    def played_markers(self) -> list[int]:
        """Markers of every frame heard in full, across segments (current one included)."""
        self._advance()
        out = [m for seg in self.segments for m in seg.markers]
        return out + self._current.markers

    # ---------------------------------------------------------------- protocol
    async def wait_for_capacity(self) -> None:
        checkpointed = False  # returns right after a check, never after a checkpoint
        while True:
            now = trio.current_time()
            self._advance(now)
            if self._paused_at is None and self._play_end - now <= self.queue_duration + 1e-9:
                if checkpointed:
                    return
                await trio.lowlevel.checkpoint()
            else:
                await self._changed.wait_until(self._room_at())
            checkpointed = True

    def capture_frame(self, frame: AudioFrame) -> None:
        now = trio.current_time()
        self._advance(now)
        marker = int(frame.data[0, 0]) if frame.data.shape[0] else 0
        mid_segment = bool(self._current.markers or self._queue)
        if self._paused_at is None and mid_segment and now > self._play_end + 1e-9:
            self.lateness.append(now - self._play_end)  # an underrun mid-segment
        start = max(now, self._play_end) if self._paused_at is None else self._play_end
        if self._paused_at is not None and not self._queue:
            start = self._paused_at
        self._queue.append(_Queued(marker, frame.duration, start))
        self._play_end = start + frame.duration
        self._accepted_at.append(now)
        self._accepted_marker.append(marker)
        self._accepted_duration.append(frame.duration)
        self._flushed = False
        self._notify()

    def flush(self) -> None:
        self._flushed = True
        self._notify()

    def clear_buffer(self) -> None:
        now = trio.current_time()
        self._advance()
        self._queue.clear()
        self._play_end = now
        self._current.interrupted = True
        self.clears.append(now)
        self._notify()

    def pause(self) -> None:
        if not self._can_pause or self._paused_at is not None:
            return
        self._advance()
        self._paused_at = trio.current_time()
        self.pauses += 1
        self._notify()

    def resume(self) -> None:
        if self._paused_at is None:
            return
        shift = trio.current_time() - self._paused_at
        self._paused_at = None
        for item in self._queue:
            item.start += shift
        self._play_end += shift
        self._notify()

    async def wait_for_playout(self) -> PlaybackFinished:
        """Returns when the flushed segment played or was cleared; checkpoints.

        The report is consumed after the last checkpoint, so a cancelled wait never
        loses it (the next call returns it).
        """
        await trio.lowlevel.checkpoint()
        while True:
            self._advance()
            seg = self._current
            if seg.interrupted or (self._flushed and not self._queue):
                break
            playing = self._paused_at is None and self._queue
            await self._changed.wait_until(self._play_end if playing else math.inf)
        self.segments.append(seg)
        self._current = PlayedSegment()
        self._flushed = False
        if not self.reports_playout:
            await trio.sleep_forever()
        return PlaybackFinished(playback_position=seg.position, interrupted=seg.interrupted)

    # ---------------------------------------------------------------- internals
    def _room_at(self) -> float:
        """When the queue has room for another frame: inf while paused. With a ticker
        open, the next multiple of ``_DEVICE_PERIOD`` from then, as a sound card
        wakes its writer once per period: the writers of a process share the
        ticker's wake-ups (the queue still holds ``queue_duration`` minus a period)."""
        if self._paused_at is not None:
            return math.inf
        room = self._play_end - self.queue_duration
        return room if current_ticker() is None else Ticker.align(room, _DEVICE_PERIOD)

    def _queued_ahead(self) -> float:
        return max(0.0, self._play_end - trio.current_time())

    def _advance(self, now: float | None = None) -> None:
        """Move what has played by ``now`` (default: the clock) out of the queue."""
        if self._paused_at is not None:
            now = self._paused_at
        elif now is None:
            now = trio.current_time()
        queue, current = self._queue, self._current
        while queue and queue[0].start + queue[0].duration <= now + 1e-9:
            item = queue.popleft()
            current.markers.append(item.marker)
            current.position += item.duration

    def _notify(self) -> None:
        self._changed.ring()
