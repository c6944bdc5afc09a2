"""FakeStreamingTTS: :class:`FakeTTS` that also takes streamed text input.

``stream()`` speaks text as it is pushed, in whole words: a word is synthesized once
whitespace follows it (or at ``end_input``), so a stream fed word by word starts
``ttfb`` after the first word arrives, not after the sentence. Audio is continuous
over the stream (24 kHz, 20 ms frames; only the last frame may be shorter) at
``chars_per_second``; each sample holds ``1 +`` the characters of the stream's
whole input spoken by the end of its frame (:func:`heard_chars` reads them back,
one count per stream), and each frame's ``text_end`` says the same unless
``aligned=False``. While it waits for more text it emits nothing: a gap in the
audio, as a real streaming TTS gives when the LLM is slower than speech.

The stream's record (``streams``) gets the whole input as ``request`` and is closed
when the ``async with stream()`` block exits, by any path. ``errors`` maps a word
(exact, without whitespace) to the error raised when synthesis reaches it;
``hang`` stalls before the first frame.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import trio

from ..core import AudioFrame, LocalProtocolError
from ._fake_tts import FakeTTS
from ._tracking import StreamRecord

__all__ = ["FakeStreamingTTS"]

_SAMPLE_RATE = 24000
_FRAME = 480  # 20 ms


class FakeStreamingTTS(FakeTTS):
    """A :class:`FakeTTS` (``synthesize`` unchanged) with word-streamed ``stream()``."""

    @property
    def label(self) -> str:
        return "fake-streaming-tts"

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[_FakeInputStream]:
        with self.streams.track() as record:
            yield _FakeInputStream(self, record)


class _FakeInputStream:
    def __init__(self, owner: FakeStreamingTTS, record: StreamRecord) -> None:
        self._owner = owner
        self._record = record
        self._samples_per_char = _SAMPLE_RATE / owner.chars_per_second
        self._offset = 0  # samples synthesized
        self._ended = False
        self._changed = trio.Event()
        self._first_push_at: float | None = None
        self._raised_from = 0  # words before this offset raised already

    async def push_text(self, text: str) -> None:
        if self._ended:
            raise LocalProtocolError("push_text after end_input")
        if self._first_push_at is None and text.strip():
            self._first_push_at = trio.current_time()
        self._record.request += text
        self._wake()
        await trio.lowlevel.checkpoint()

    async def end_input(self) -> None:
        self._ended = True
        self._wake()
        await trio.lowlevel.checkpoint()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def __aiter__(self) -> _FakeInputStream:
        return self

    async def __anext__(self) -> AudioFrame:
        owner = self._owner
        while self._offset >= self._total_ready() or not self._frame_ready():
            if self._ended and self._offset >= self._total_ready():
                raise StopAsyncIteration
            await self._changed.wait()
        if self._offset == 0:
            started = self._first_push_at
            await trio.sleep_until(
                (trio.current_time() if started is None else started) + owner.ttfb
            )
            if owner.hang:
                await trio.sleep_forever()
        else:
            await trio.sleep(owner.frame_interval)
        return self._next_frame()

    def _ready_chars(self) -> int:
        """Characters that may be spoken now: whole words, all of it once ended."""
        text = self._record.request
        if self._ended:
            return len(text)
        stripped = text.rstrip()
        if len(stripped) == len(text):  # the last word may still grow
            cut = max(text.rfind(" "), text.rfind("\n"))
            return cut + 1 if cut >= 0 else 0
        return len(stripped)

    def _total_ready(self) -> int:
        ready = self._ready_chars()
        if ready >= len(self._record.request) and self._ended:
            return round(ready * self._samples_per_char)
        return int(ready * self._samples_per_char)

    def _frame_ready(self) -> bool:
        """A whole frame is ready, or the rest once the input ended."""
        return self._ended or self._total_ready() - self._offset >= _FRAME

    def _next_frame(self) -> AudioFrame:
        owner = self._owner
        total = self._total_ready()
        end = min(self._offset + _FRAME, total)
        text = self._record.request
        whole = self._ended and end >= total
        spoken = len(text) if whole else min(int(end / self._samples_per_char + 1e-9), len(text))
        self._raise_for(text, spoken)
        data = np.full((end - self._offset, 1), min(spoken + 1, 32767), dtype=np.int16)
        data.flags.writeable = False
        self._offset = end
        if self._record.first_output_at is None:
            self._record.first_output_at = trio.current_time()
        return AudioFrame(data, _SAMPLE_RATE, text_end=spoken if owner.aligned else None)

    def _raise_for(self, text: str, spoken: int) -> None:
        """Raise the error of a word this frame starts to speak."""
        errors = self._owner.errors
        for word in re.finditer(r"\S+", text):
            if word.start() >= spoken:
                return
            if word.start() >= self._raised_from and word.group() in errors:
                self._raised_from = word.end()
                raise errors[word.group()]
