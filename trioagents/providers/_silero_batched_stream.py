"""The VAD stream of a batched Silero: windows out to a :class:`SileroBatcher`, events back.

``push_frame`` cuts the audio (converted to 16 kHz mono, as the inline stream does)
into 512-sample windows, prepends each with the previous 64 samples and submits it
to the stream's row; it never waits for the model. When the batch holding a window
returns, the batcher's task feeds its probability to the stream's
:class:`SpeechGate` and queues the events on the stream's unbounded channel (at
most a few per 32 ms window), read with ``async for``. Events carry the time the
window's last frame was pushed -- the same timestamps, and so the same events, as
the inline stream -- and each END_OF_SPEECH carries the frames up to its window,
as inline: a frame joins the utterance audio only when the window it completed
(or the next one) is scored.

This stream is deliberately *not* an ``InlineVADStream`` (no ``push_frame_nowait``):
its verdict is not known when the frame is pushed, so the session consumes its
events in a task of their own and judges barge-in when a batch returns (see
``docs/providers.md`` for the latency this adds).

``end_input`` returns at once; the last events (END_OF_SPEECH for speech still in
progress) follow the stream's last window, then the channel closes. If the
batcher closes first, the windows not yet scored are dropped and the channel
closes. It owns no task.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np
import trio

from ..core import AudioFrame, LocalProtocolError, VADEvent
from ._optional import mono_at
from ._silero_batcher import CONTEXT, RATE, WINDOW, SileroBatcher
from ._vad_gate import SpeechAudio, SpeechGate, VADOptions

__all__ = ["BatchedSileroStream"]


class BatchedSileroStream:
    """A :class:`~trioagents.core.VADStream` scored by a :class:`SileroBatcher`."""

    def __init__(self, batcher: SileroBatcher, options: VADOptions) -> None:
        self._gate = SpeechGate(options)
        self._audio = SpeechAudio(options.prefix_padding + options.min_speech_duration)
        self._send, self._receive = trio.open_memory_channel[VADEvent](math.inf)
        self._leftover = np.zeros(0, dtype=np.float32)  # samples short of a window
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._frames: list[AudioFrame] = []  # pushed since the last window was cut
        self._waiting: deque[tuple[float, list[AudioFrame]]] = deque()  # per window submitted
        self._ended_at: float | None = None  # end_input's time
        self._row = batcher.attach(self._scored, self._batcher_closed)

    @property
    def undecided_audio(self) -> float:
        """Seconds at the end of the pushed audio not yet judged silence (the turn
        tracker's :class:`~trioagents.voice.VADProgress`): windows not scored yet or
        short of a window, voice too short to start speech, and -- while events wait
        on the channel for the session's consumer task -- everything (their verdict
        has not reached the session yet)."""
        if self._send.statistics().current_buffer_used:
            return math.inf
        unscored = len(self._waiting) * WINDOW + self._leftover.size
        return unscored / RATE + self._gate.onset

    async def push_frame(self, frame: AudioFrame) -> None:
        """Submit the windows ``frame`` completes (no waiting for the model). A checkpoint.

        Raises LocalProtocolError after ``end_input`` or once the batcher closed, and
        TypeError for anything but an :class:`~trioagents.core.AudioFrame`.
        """
        await trio.lowlevel.checkpoint()
        if not isinstance(frame, AudioFrame):
            raise TypeError(
                f"push_frame takes an AudioFrame, got {type(frame).__name__}; wrap float "
                "samples with AudioFrame.from_float(samples, sample_rate)"
            )
        if self._ended_at is not None:
            raise LocalProtocolError("push_frame after end_input")
        self._row.ensure_attached()
        now = trio.current_time()
        self._frames.append(frame)
        samples = mono_at(frame, RATE)
        if self._leftover.size:
            samples = np.concatenate([self._leftover, samples])
        whole = samples.size // WINDOW * WINDOW
        for start in range(0, whole, WINDOW):
            window = samples[start : start + WINDOW]
            self._row.submit(np.concatenate([self._context, window]))
            self._context = window[-CONTEXT:].copy()
            self._waiting.append((now, self._frames))
            self._frames = []
        self._leftover = samples[whole:].copy()

    def _scored(self, probabilities: Sequence[float]) -> None:
        """The batcher's call: the scores of this stream's next windows, in order."""
        for probability in probabilities:
            pushed_at, frames = self._waiting.popleft()
            for frame in frames:
                self._audio.add(frame)
            for event in self._gate.feed(probability, WINDOW / RATE, pushed_at):
                self._send.send_nowait(self._audio.attach(event))
        if self._ended_at is not None and not self._waiting:
            self._finish(self._ended_at)

    def _finish(self, at: float) -> None:
        for frame in self._frames:
            self._audio.add(frame)
        self._frames = []
        for event in self._gate.finish(at):
            self._send.send_nowait(self._audio.attach(event))
        self._send.close()

    def _batcher_closed(self) -> None:
        self._waiting.clear()
        self._send.close()

    async def end_input(self) -> None:
        """No more audio: the last events follow the last window's score. A checkpoint."""
        await trio.lowlevel.checkpoint()
        if self._ended_at is not None:
            return
        self._ended_at = trio.current_time()
        if not self._waiting and self._row.attached:
            self._finish(self._ended_at)
        elif not self._row.attached:
            self._send.close()

    def close(self) -> None:
        """Leave the batcher (pending windows dropped) and close the channel. Idempotent."""
        self._row.detach()
        self._waiting.clear()
        self._send.close()
        self._receive.close()

    def __aiter__(self) -> BatchedSileroStream:
        return self

    async def __anext__(self) -> VADEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
