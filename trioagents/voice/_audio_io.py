"""The audio seams: where user audio comes in and agent audio leaves.

:class:`AudioOutput` is the protocol the rtc layer implements for a room track (and
``trioagents.testing.FakeAudioOutput`` for tests). Its write is split in two on
purpose: ``await wait_for_capacity()`` (the only checkpoint, backpressure from the
device queue) and a *synchronous* ``capture_frame()``. :class:`UtteranceSink` checks
its revoked flag between the two with no checkpoint in between, so once
:meth:`UtteranceSink.revoke` has run -- synchronously, from the code path that
cancels the turn -- not one more frame of that utterance reaches the output.

Rejected alternative: an ``async def capture_frame``. A task woken from inside it
after the cancel point (its wait already completed) would still enqueue its frame;
the revocation would then depend on every implementation checkpointing correctly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import trio

from ..core import AudioFrame

__all__ = [
    "AudioInput",
    "AudioOutput",
    "PlaybackFinished",
    "PushAudioInput",
    "TextOutput",
    "UtteranceSink",
]


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """``playback_position``: seconds of the segment actually played."""

    playback_position: float
    interrupted: bool


@runtime_checkable
class AudioInput(Protocol):
    """User audio: an async iterable of frames (ends when the participant leaves)."""

    def __aiter__(self) -> AsyncIterator[AudioFrame]: ...


@runtime_checkable
class PushAudioInput(AudioInput, Protocol):
    """An :class:`AudioInput` that can also hand its frames over by calling a function.

    ``await push_frames(on_frame)`` calls ``on_frame(frame)`` -- synchronously, in
    order, each at the instant the frame is captured -- until ``on_frame`` returns
    False (then it returns False) or the input ends (True). It shares its position
    with the input's iterator: frames are taken by one or the other, never both.
    ``on_frame`` may be called from another task's step (a process-wide ticker:
    ``trioagents.core.open_ticker``) but runs in the caller's context, and what it
    raises is raised by ``push_frames`` in the caller's task. Cancellable between
    frames. The session's listener uses it when the VAD runs inline, so a frame
    costs no task switch: with 200 sessions in a process that was a large share of
    the CPU (``docs/performance.md``).
    """

    async def push_frames(self, on_frame: Callable[[AudioFrame], bool]) -> bool: ...


@runtime_checkable
class AudioOutput(Protocol):
    """A real-time sink with a device queue.

    A *segment* is everything captured between two ``flush()`` calls.
    ``wait_for_playout()`` returns when the flushed segment has played, or at once
    after ``clear_buffer()`` (``interrupted=True``, position = what was heard).
    ``pause()``/``resume()`` are only meaningful when ``can_pause`` is true.
    """

    @property
    def sample_rate(self) -> int: ...

    @property
    def can_pause(self) -> bool: ...

    async def wait_for_capacity(self) -> None:
        """Block until the device queue accepts another frame (checkpoint)."""
        ...

    def capture_frame(self, frame: AudioFrame) -> None:
        """Queue one frame; never blocks."""
        ...

    def flush(self) -> None: ...

    def clear_buffer(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def wait_for_playout(self) -> PlaybackFinished:
        """Wait for the segment's report. Must not checkpoint after consuming it, so
        that a cancelled wait never loses a report."""
        ...


@runtime_checkable
class TextOutput(Protocol):
    """Where the agent's transcript goes (room transcription, captions, a console).

    ``publish_transcript`` gets the text *heard so far* of one utterance, paced
    against played audio (cumulative, growing word by word); ``final=True`` once,
    with exactly the text recorded in the chat context. Synchronous; never blocks.
    """

    def publish_transcript(self, speech_id: str, text: str, *, final: bool) -> None: ...


class UtteranceSink:
    """The revocable handle one utterance writes its audio through.

    ``revoke()`` is synchronous and idempotent; afterwards :meth:`write` drops every
    frame and returns False. ``written`` is the audio duration that reached the
    output, ``first_frame_at`` the Trio time of the first frame.
    """

    __slots__ = ("_output", "_revoked", "first_frame_at", "frames_dropped", "written")

    def __init__(self, output: AudioOutput) -> None:
        self._output = output
        self._revoked = False
        self.written = 0.0
        self.frames_dropped = 0
        self.first_frame_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self._revoked

    @property
    def started(self) -> bool:
        return self.first_frame_at is not None

    def revoke(self) -> None:
        """Refuse every later frame and, if audio already went out, clear the device queue."""
        if self._revoked:
            return
        self._revoked = True
        if self.started:
            self._output.clear_buffer()

    async def write(self, frame: AudioFrame) -> bool:
        """Send one frame; False if the handle was revoked (the frame is dropped).

        Checkpoints once, in ``wait_for_capacity``; raises ``trio.Cancelled`` there.
        """
        if self._revoked:
            self.frames_dropped += 1
            await trio.lowlevel.checkpoint()
            return False
        await self._output.wait_for_capacity()
        if self._revoked:  # no checkpoint between this test and the capture
            self.frames_dropped += 1
            return False
        if self.first_frame_at is None:
            self.first_frame_at = trio.current_time()
        self._output.capture_frame(frame)
        self.written += frame.duration
        return True
