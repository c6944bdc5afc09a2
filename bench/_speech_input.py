"""Real speech for the barge-in benchmark: a synthesized caller, played in real time.

``bargein.py --vad silero`` needs audio a real VAD hears as speech, so the scripted
user's two utterances are synthesized with the offline TTS the repo ships (piper's
joe voice, else espeak-ng), resampled to 16 kHz, laid out on the timeline with a
faint noise floor (as ``_turn_corpus.py`` does) and played by
:class:`RecordedInput` in 10 ms frames on Trio's clock. The STT stays the testing
fake: :class:`TimelineSTT` ignores the samples and feeds ``FakeSTT`` the timeline's
marker frames for the same stretch of audio, so transcripts come exactly where the
words are. :class:`RecordingVAD` wraps any VAD (inline if it is, else recording each
event when the session reads it) and records the events it gave, so the benchmark can
take the interruption instant from the VAD's own verdict: the first event after the
barge-in began that reports ``min_interruption_duration`` of speech.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
import trio

from trioagents.core import TTS, VAD, AudioFrame, SpeechEvent, VADEvent, VADEventType
from trioagents.providers._optional import mono_at
from trioagents.testing import FakeSTT, Timeline, speech

RATE = 16000
FRAME = RATE // 100  # 10 ms
NOISE = 0.0005  # about -66 dBFS, a quiet microphone


async def synthesize(tts: TTS, text: str) -> np.ndarray:
    """``text`` said by ``tts``: float32 16 kHz, trimmed to the loud part."""
    async with tts.synthesize(text) as audio:
        frames = [frame async for frame in audio]
    samples = np.concatenate([mono_at(frame, RATE) for frame in frames])
    loud = np.nonzero(np.abs(samples) > 0.01)[0]
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def offline_tts() -> TTS:
    """Piper's joe voice if installed (the ``piper`` extra), else espeak-ng (``tts``)."""
    from trioagents.core import ConfigurationError
    from trioagents.providers import EspeakTTS, PiperTTS

    try:
        return PiperTTS(deterministic=True)
    except ConfigurationError:
        return EspeakTTS(voice="en-us+f3", words_per_minute=160)


@dataclass(frozen=True, slots=True)
class Scene:
    """The user's audio for one run and where each utterance is on the timeline."""

    samples: np.ndarray  # float32 16 kHz
    timeline: Timeline  # the same utterances as marker segments (for FakeSTT)

    def segment(self, index: int) -> tuple[float, float]:
        seg = self.timeline.segments[index]
        return seg.start, seg.end


def scene(utterances: Sequence[tuple[np.ndarray, str, float]], tail: float, seed: int) -> Scene:
    """Lay ``(samples, transcript, start)`` utterances out in ``tail``-ended silence."""
    end = max(start + len(samples) / RATE for samples, _, start in utterances) + tail
    total = np.random.default_rng(seed).normal(0.0, NOISE, round(end * RATE))
    segments = []
    for samples, text, start in utterances:
        offset = round(start * RATE)
        total[offset : offset + len(samples)] += samples
        segments.append(speech(start, start + len(samples) / RATE, text))
    return Scene(total.astype(np.float32), Timeline(segments, tail=tail))


class RecordedInput:
    """Plays float samples as 10 ms int16 frames in real time (like a microphone)."""

    def __init__(self, samples: np.ndarray) -> None:
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
        self._frames = [
            AudioFrame(pcm[i : i + FRAME].reshape(-1, 1), RATE)
            for i in range(0, len(pcm) - FRAME + 1, FRAME)
        ]
        self._index = 0
        self.started_at: float | None = None
        self.finished = trio.Event()

    def to_clock(self, t: float) -> float:
        assert self.started_at is not None
        return self.started_at + t

    def __aiter__(self) -> RecordedInput:
        return self

    async def __anext__(self) -> AudioFrame:
        if self.started_at is None:
            self.started_at = trio.current_time()
        if self._index >= len(self._frames):
            self.finished.set()
            raise StopAsyncIteration
        await trio.sleep_until(self.started_at + (self._index + 1) * 0.01)
        self._index += 1
        return self._frames[self._index - 1]


class TimelineSTT:
    """FakeSTT's transcripts of a :class:`Timeline`, whatever the samples pushed."""

    def __init__(self, timeline: Timeline, final_delay: float = 0.3) -> None:
        """``final_delay``: after the timeline's end of a segment. A real VAD may still
        hear the speech's tail a window or two after it: a final before the VAD's last
        voiced window would be taken for an earlier speech's, and the turn would wait
        the max delay for words (the endpointing wait of ``_turn_detection.py``)."""
        self._timeline = timeline
        self._inner = FakeSTT(timeline, final_delay=final_delay)
        self.label = "timeline-stt"

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[_TimelineStream]:
        async with self._inner.stream(language=language) as inner:
            yield _TimelineStream(self._timeline, inner)


class _TimelineStream:
    def __init__(self, timeline: Timeline, inner: object) -> None:
        self._timeline, self._inner = timeline, inner
        self._frames = 0  # 10 ms frames heard so far

    async def push_frame(self, frame: AudioFrame) -> None:
        count = max(1, round(frame.duration / 0.01))
        markers = [self._timeline.frame(self._frames + i) for i in range(count)]
        self._frames += count
        data = np.concatenate([m.data for m in markers])
        await self._inner.push_frame(AudioFrame(data, self._timeline.sample_rate))  # type: ignore[attr-defined]

    async def end_input(self) -> None:
        await self._inner.end_input()  # type: ignore[attr-defined]

    def __aiter__(self) -> AsyncIterator[SpeechEvent]:
        return self._inner.__aiter__()  # type: ignore[attr-defined,no-any-return]


class RecordingVAD:
    """``inner``'s verdicts, recorded as ``(time, event)``; inline if ``inner`` is."""

    def __init__(self, inner: VAD) -> None:
        self._inner = inner
        self.label = inner.label
        self.events: list[tuple[float, VADEvent]] = []

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[_RecordingStream | _RecordingAsyncStream]:
        async with self._inner.stream() as stream:
            if hasattr(stream, "push_frame_nowait"):
                yield _RecordingStream(self, stream)
            else:  # batched: the verdict is when the session reads the event
                yield _RecordingAsyncStream(self, stream)

    def condition_instant(self, after: float, seconds: float) -> float:
        """When the VAD first reported ``seconds`` of speech in a run begun after ``after``."""
        for at, event in self.events:
            speaking = event.type is VADEventType.INFERENCE_DONE and event.speaking
            if at >= after and speaking and event.speech_duration >= seconds - 1e-9:
                return at
        raise AssertionError("the VAD never heard the barge-in")


class _RecordingStream:
    def __init__(self, owner: RecordingVAD, inner: object) -> None:
        self._owner, self._inner = owner, inner

    def push_frame_nowait(self, frame: AudioFrame) -> Sequence[VADEvent]:
        events = self._inner.push_frame_nowait(frame)  # type: ignore[attr-defined]
        now = trio.current_time()
        self._owner.events.extend((now, event) for event in events)
        return events  # type: ignore[no-any-return]

    async def push_frame(self, frame: AudioFrame) -> None:
        await self._inner.push_frame(frame)  # type: ignore[attr-defined]

    async def end_input(self) -> None:
        await self._inner.end_input()  # type: ignore[attr-defined]

    def __aiter__(self) -> AsyncIterator[VADEvent]:
        return self._inner.__aiter__()  # type: ignore[attr-defined,no-any-return]


class _RecordingAsyncStream:
    """A stream that is not inline: events are recorded as the session reads them."""

    def __init__(self, owner: RecordingVAD, inner: object) -> None:
        self._owner, self._inner = owner, inner
        self._events = inner.__aiter__()  # type: ignore[attr-defined]

    async def push_frame(self, frame: AudioFrame) -> None:
        await self._inner.push_frame(frame)  # type: ignore[attr-defined]

    async def end_input(self) -> None:
        await self._inner.end_input()  # type: ignore[attr-defined]

    def __aiter__(self) -> _RecordingAsyncStream:
        return self

    async def __anext__(self) -> VADEvent:
        event: VADEvent = await self._events.__anext__()
        self._owner.events.append((trio.current_time(), event))
        return event
