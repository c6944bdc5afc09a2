"""The console's microphone and speaker: PortAudio (``sounddevice``) bridged into Trio.

``sounddevice`` (MIT; the ``console`` extra) calls our callbacks on PortAudio's own
real-time thread, once per block (20 ms). A callback must never block and must
never wait for Trio, so:

* **microphone** — the callback copies the block into a ``deque(maxlen=...)``
  (bounded: when Trio falls a second behind, the oldest block is dropped and
  counted in ``dropped``) and wakes the Trio side with
  ``TrioToken.run_sync_soon``, at most one wake-up pending at a time (a flag under
  a lock), so the Trio run queue is bounded too. :class:`Microphone` is an
  :class:`~trioagents.voice.AudioInput`: ``async for frame in microphone``.
* **speaker** — :class:`Speaker` is an :class:`~trioagents.voice.AudioOutput`.
  ``capture_frame`` appends samples to a queue under a lock (capacity
  ``queue_duration``, 200 ms, like a room track; ``wait_for_capacity`` is the
  backpressure); the callback takes what it needs and fills the rest with silence,
  counts what it played and wakes the Trio side the same way. ``clear_buffer``
  drops the queue synchronously (barge-in), so the device stops within one block.

Cancellation: nothing on the Trio side blocks on the device. The waits are Trio
events set from ``run_sync_soon``; once the Trio run is gone ``run_sync_soon``
raises ``RunFinishedError``, which the callback ignores. :func:`open_console_audio`
owns both streams: leaving its block (normally, by error or by cancellation)
aborts and closes them, shielded and bounded (2 s, in a thread: PortAudio's close
waits for the callback to return).

Rejected alternatives: ``trio.from_thread.run`` in the callback (blocks the audio
thread on Trio, and raises once Trio is cancelled); a deque polled on a Trio timer
(a latency/CPU trade-off and a sleep-polling loop for no gain); sounddevice's
blocking ``read``/``write`` in worker threads (two threads parked in C that a
cancellation cannot interrupt).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError
from ..voice import PlaybackFinished

__all__ = [
    "ConsoleAudio",
    "Microphone",
    "NoSoundDevice",
    "Speaker",
    "load_sounddevice",
    "open_console_audio",
]

BLOCK_DURATION = 0.02
_MIC_CAPACITY = 50  # blocks: one second
_CLOSE_GRACE = 2.0


class NoSoundDevice(ConfigurationError):
    """No usable microphone/speaker: the message says why and suggests ``--text``."""


def load_sounddevice() -> Any:
    """Import ``sounddevice``; raises :class:`NoSoundDevice` saying how to fix it."""
    try:
        import sounddevice  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise NoSoundDevice(
            "audio console needs sounddevice: pip install 'trioagents[console]' "
            "(or run the console with --text)"
        ) from exc
    except OSError as exc:  # sounddevice imports, PortAudio itself is missing
        raise NoSoundDevice(
            "PortAudio library not found (Debian/Ubuntu: apt install libportaudio2; "
            "macOS: brew install portaudio), or run the console with --text"
        ) from exc
    return sounddevice


class _Waker:
    """Wake a Trio task from a foreign thread; at most one wake-up in flight."""

    def __init__(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._lock = threading.Lock()
        self._pending = False
        self._event = trio.Event()

    def post(self) -> None:  # any thread
        with self._lock:
            if self._pending:
                return
            self._pending = True
        with contextlib.suppress(trio.RunFinishedError):  # the console is gone
            self._token.run_sync_soon(self._wake)

    def _wake(self) -> None:  # Trio thread
        with self._lock:
            self._pending = False
        self._event.set()
        self._event = trio.Event()

    async def wait(self) -> None:
        """Wait for the next :meth:`post` (checkpoint; cancellable)."""
        await self._event.wait()


class Microphone:
    """PortAudio input → Trio (see the module docstring). Mono int16 frames."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.dropped = 0
        self._blocks: deque[np.ndarray] = deque(maxlen=_MIC_CAPACITY)
        self._waker = _Waker()
        self._closed = False

    def callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """PortAudio's thread: copy the block, never block."""
        if len(self._blocks) == _MIC_CAPACITY:
            self.dropped += 1
        self._blocks.append(np.array(indata[:, 0], dtype=np.int16))
        self._waker.post()

    def close(self) -> None:
        """End the iteration (after the blocks already captured)."""
        self._closed = True
        self._waker.post()

    def __aiter__(self) -> Microphone:
        return self

    async def __anext__(self) -> AudioFrame:
        """The next block (checkpoints); ends once closed and drained."""
        await trio.lowlevel.checkpoint()
        while not self._blocks:
            if self._closed:
                raise StopAsyncIteration
            await self._waker.wait()
        return AudioFrame.from_mono(self._blocks.popleft(), self.sample_rate)


@dataclass(slots=True)
class _Segment:
    start: int  # played-sample count at which this segment's first sample plays
    flushed: bool = False
    interrupted: bool = False


class Speaker:
    """Trio → PortAudio output (see the module docstring). Mono int16 at ``sample_rate``."""

    def __init__(self, sample_rate: int, *, queue_duration: float = 0.2) -> None:
        self._rate = sample_rate
        self._capacity = round(queue_duration * sample_rate)
        self._lock = threading.Lock()
        self._queue: deque[np.ndarray] = deque()
        self._queued = 0
        self._played = 0  # samples of speech the device consumed (silence fill excluded)
        self._paused = False
        self._segment: _Segment | None = None
        self._waker = _Waker()

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def can_pause(self) -> bool:
        return True

    @property
    def played_duration(self) -> float:
        return self._played / self._rate

    def callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """PortAudio's thread: fill ``outdata`` from the queue, silence for the rest."""
        filled = 0
        with self._lock:
            while not self._paused and filled < frames and self._queue:
                head = self._queue[0]
                take = min(frames - filled, head.size)
                outdata[filled : filled + take, 0] = head[:take]
                filled += take
                if take == head.size:
                    self._queue.popleft()
                else:
                    self._queue[0] = head[take:]
            self._queued -= filled
            self._played += filled
        outdata[filled:] = 0
        if filled:
            self._waker.post()

    async def wait_for_capacity(self) -> None:
        await trio.lowlevel.checkpoint()
        while self._queued >= self._capacity:
            await self._waker.wait()

    def capture_frame(self, frame: AudioFrame) -> None:
        if frame.sample_rate != self._rate:
            raise ConfigurationError(
                f"the speaker plays {self._rate} Hz; got a {frame.sample_rate} Hz frame"
            )
        samples = frame.data.mean(axis=1).astype(np.int16) if frame.num_channels > 1 else None
        samples = frame.data[:, 0].copy() if samples is None else samples
        with self._lock:
            if self._segment is None:
                self._segment = _Segment(start=self._played + self._queued)
            self._queue.append(samples)
            self._queued += samples.size

    def flush(self) -> None:
        if self._segment is not None:
            self._segment.flushed = True
        self._waker.post()

    def clear_buffer(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued = 0
        if self._segment is not None:
            self._segment.interrupted = True
        self._waker.post()

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    async def wait_for_playout(self) -> PlaybackFinished:
        """Return when the flushed segment played, or at once after a clear (checkpoints
        first; nothing after the report is taken)."""
        await trio.lowlevel.checkpoint()
        while True:
            segment = self._segment
            if segment is None:
                return PlaybackFinished(0.0, interrupted=False)
            if segment.interrupted or (segment.flushed and self._queued == 0):
                self._segment = None
                position = max(0, self._played - segment.start) / self._rate
                return PlaybackFinished(position, interrupted=segment.interrupted)
            await self._waker.wait()


@dataclass(frozen=True, slots=True)
class ConsoleAudio:
    microphone: Microphone
    speaker: Speaker


def _check_devices(sounddevice: Any, input_device: Any, output_device: Any) -> None:
    for device, kind in ((input_device, "input"), (output_device, "output")):
        try:
            sounddevice.query_devices(device, kind=kind)
        except Exception as exc:  # PortAudioError or ValueError: no such device
            raise NoSoundDevice(
                f"no sound {kind} device found (PortAudio: {type(exc).__name__}); "
                "run the console with --text, or pick one with --input-device/--output-device "
                "(--list-devices shows them)"
            ) from exc


@asynccontextmanager
async def open_console_audio(
    sounddevice: Any,
    *,
    input_rate: int = 24000,
    output_rate: int = 24000,
    input_device: Any = None,
    output_device: Any = None,
) -> AsyncIterator[ConsoleAudio]:
    """Start a microphone and a speaker stream for the block (see the module docstring).

    Raises :class:`NoSoundDevice` when a device is missing or cannot be opened. On
    exit the microphone's iteration ends and both streams are aborted and closed
    (shielded, within 2 s).
    """
    _check_devices(sounddevice, input_device, output_device)
    microphone, speaker = Microphone(input_rate), Speaker(output_rate)
    streams: list[Any] = []
    try:
        for stream_type, rate, device, callback in (
            (sounddevice.InputStream, input_rate, input_device, microphone.callback),
            (sounddevice.OutputStream, output_rate, output_device, speaker.callback),
        ):
            streams.append(_open_stream(stream_type, rate=rate, device=device, callback=callback))
        for stream in streams:
            await trio.to_thread.run_sync(stream.start)
        yield ConsoleAudio(microphone, speaker)
    finally:
        microphone.close()
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
            await trio.to_thread.run_sync(_close_all, streams, abandon_on_cancel=True)


def _open_stream(stream_type: Any, *, rate: int, device: Any, callback: Callable[..., None]) -> Any:
    try:
        return stream_type(
            samplerate=rate,
            blocksize=round(rate * BLOCK_DURATION),
            channels=1,
            dtype="int16",
            device=device,
            callback=callback,
        )
    except Exception as exc:  # PortAudioError: unsupported rate, device busy ...
        raise NoSoundDevice(
            f"cannot open the sound device ({type(exc).__name__}); run the console with --text"
        ) from exc


def _close_all(streams: list[Any]) -> None:
    for stream in streams:
        try:
            stream.abort()
        finally:
            stream.close()
