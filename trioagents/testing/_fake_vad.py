"""FakeVAD: voice activity from segment markers (any non-zero sample is speech).

Events follow the Silero/LiveKit shape: ``START_OF_SPEECH`` on the first speech frame,
``INFERENCE_DONE`` for every frame while speech is active (with the current speech and silence run
lengths), ``END_OF_SPEECH`` once ``min_silence_duration`` of silence followed speech.
Events are computed in ``push_frame`` at the frame's arrival time, no extra delay.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import trio

from ..core import AudioFrame, VADEvent, VADEventType
from ._tracking import StreamTracker

__all__ = ["FakeVAD"]


class FakeVAD:
    def __init__(self, *, min_silence_duration: float = 0.3) -> None:
        self.min_silence_duration = min_silence_duration
        self.streams = StreamTracker()

    @property
    def label(self) -> str:
        return "fake-vad"

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[_FakeVADStream]:
        with self.streams.track():
            yield _FakeVADStream(self.min_silence_duration)


class _FakeVADStream:
    def __init__(self, min_silence: float) -> None:
        self._min_silence = min_silence
        self._send, self._recv = trio.open_memory_channel[VADEvent](math.inf)
        self._speaking = False
        self._speech = 0.0
        self._silence = 0.0
        self._out: list[VADEvent] = []

    async def push_frame(self, frame: AudioFrame) -> None:
        await trio.lowlevel.checkpoint()
        for event in self.push_frame_nowait(frame):
            self._send.send_nowait(event)

    def push_frame_nowait(self, frame: AudioFrame) -> Sequence[VADEvent]:
        """Judge one frame now; the inline path of ``voice.InlineVADStream``."""
        voiced = frame.data[0, 0] != 0
        if not voiced and not self._speaking:
            return ()  # silent stretches between turns produce no events
        self._out = []
        now = trio.current_time()
        if voiced:
            self._silence = 0.0
            self._speech += frame.duration
            if not self._speaking:
                self._speaking = True
                self._emit(VADEventType.START_OF_SPEECH, now)
        else:
            self._silence += frame.duration
        self._emit(VADEventType.INFERENCE_DONE, now)
        if not voiced and self._silence >= self._min_silence - 1e-9:
            self._speaking = False
            self._emit(VADEventType.END_OF_SPEECH, now)
            self._speech = 0.0
        return self._out

    def _emit(self, kind: VADEventType, now: float) -> None:
        self._out.append(
            VADEvent(
                type=kind,
                timestamp=now,
                speech_duration=self._speech,
                silence_duration=self._silence,
                probability=1.0 if self._speaking else 0.0,
                speaking=self._speaking,
            )
        )

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        self._send.close()

    def __aiter__(self) -> AsyncIterator[VADEvent]:
        return self._recv
