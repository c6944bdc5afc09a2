"""The speech gate shared by every VAD: probabilities in, VAD events out.

A VAD model (energy, Silero) produces one speech probability per window of
audio; :class:`SpeechGate` turns that into ``START_OF_SPEECH`` /
``END_OF_SPEECH`` with LiveKit's hysteresis, and an ``INFERENCE_DONE`` per window while
speech lasts (and, with ``emit_inference``, while silent too): speech starts once probability has
stayed at or above ``activation_threshold`` for ``min_speech_duration`` seconds of
audio, and ends once it has stayed below for ``min_silence_duration``. Durations
are counted in *audio* seconds, so the gate behaves identically whether audio
arrives in real time or all at once; event timestamps come from Trio's clock,
read by the stream that owns the gate.

:class:`GatedVADStream` is the stream object both VADs return. It is an
:class:`~trioagents.voice.InlineVADStream`: ``push_frame_nowait`` runs the model
synchronously (a few hundred microseconds per window) and returns the events, so the
session judges barge-in in the same task step that received the frame (no
scheduling point in between: the playout cannot slip out a frame after the
interruption instant). Used the asynchronous way, ``push_frame`` queues the same
events on an unbounded channel (tiny, at most one per window) for ``async for``.
``end_input`` ends speech in progress, queues that last event and closes the
channel (an inline user drains it). It owns no task.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import trio

from ..core import AudioFrame, ConfigurationError, LocalProtocolError, VADEvent, VADEventType

__all__ = ["GatedVADStream", "Held", "SpeechAudio", "SpeechGate", "VADOptions"]


@dataclass(frozen=True, slots=True)
class VADOptions:
    activation_threshold: float = 0.5
    min_speech_duration: float = 0.05
    min_silence_duration: float = 0.55
    emit_inference: bool = False
    prefix_padding: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.activation_threshold < 1:
            raise ConfigurationError("activation_threshold must be in (0, 1)")
        if self.min_speech_duration < 0 or self.min_silence_duration < 0 or self.prefix_padding < 0:
            raise ConfigurationError(
                "min_speech_duration, min_silence_duration and prefix_padding must be >= 0"
            )


class SpeechGate:
    """Hysteresis over per-window probabilities (pure; the caller supplies time)."""

    __slots__ = ("_above", "_below", "_options", "_speaking", "_speech")

    def __init__(self, options: VADOptions) -> None:
        self._options = options
        self._speaking = False
        self._above = 0.0  # audio seconds continuously above threshold
        self._below = 0.0  # audio seconds continuously below threshold
        self._speech = 0.0  # audio seconds since speech started

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def onset(self) -> float:
        """Audio seconds of voice heard while silent, short of ``min_speech_duration``:
        a start of speech the gate cannot rule out yet (0 while speaking)."""
        return 0.0 if self._speaking else self._above

    def feed(self, probability: float, duration: float, now: float) -> list[VADEvent]:
        options = self._options
        events: list[VADEvent] = []
        if probability >= options.activation_threshold:
            self._above += duration
            self._below = 0.0
        else:
            self._below += duration
            self._above = 0.0
        if self._speaking:
            self._speech += duration
        if not self._speaking and self._above >= options.min_speech_duration and self._above > 0:
            self._speaking, self._speech = True, self._above
            events.append(self._event(VADEventType.START_OF_SPEECH, now, probability))
        elif self._speaking and self._below >= options.min_silence_duration and self._below > 0:
            events.append(self._event(VADEventType.END_OF_SPEECH, now, probability))
            self._speaking, self._speech = False, 0.0
        if self._speaking or options.emit_inference:
            # while speaking, every window reports how long the speech has lasted: the
            # session's barge-in rule (min_interruption_duration) reads it from these
            events.append(self._event(VADEventType.INFERENCE_DONE, now, probability))
        return events

    def finish(self, now: float) -> list[VADEvent]:
        """End of input: close a speech run still open."""
        if not self._speaking:
            return []
        event = self._event(VADEventType.END_OF_SPEECH, now, 0.0)
        self._speaking = False
        return [event]

    def _event(self, kind: VADEventType, now: float, probability: float) -> VADEvent:
        return VADEvent(
            kind,
            timestamp=now,
            speech_duration=self._speech,
            silence_duration=self._below,
            probability=probability,
            speaking=self._speaking or kind is VADEventType.START_OF_SPEECH,
        )


class SpeechAudio:
    """The frames of the current utterance, plus a pre-roll while silent."""

    def __init__(self, preroll: float) -> None:
        self._preroll = preroll
        self._frames: deque[AudioFrame] = deque()
        self._preroll_duration = 0.0
        self._collecting = False

    def add(self, frame: AudioFrame) -> None:
        self._frames.append(frame)
        if self._collecting:
            return
        self._preroll_duration += frame.duration
        while len(self._frames) > 1 and self._preroll_duration > self._preroll:
            self._preroll_duration -= self._frames.popleft().duration

    def attach(self, event: VADEvent) -> VADEvent:
        if event.type is VADEventType.START_OF_SPEECH:
            self._collecting = True
        elif event.type is VADEventType.END_OF_SPEECH:
            frames = tuple(self._frames)
            self._frames.clear()
            self._preroll_duration = 0.0
            self._collecting = False
            return dataclasses.replace(event, frames=frames)
        return event


Scorer = Callable[[AudioFrame], list[tuple[float, float]]]
"""Frame -> [(probability, duration_seconds), ...] for the windows it completes."""

Held = Callable[[], float]
"""Seconds of audio a scorer holds short of a window (not scored yet)."""


class GatedVADStream:
    """A :class:`~trioagents.core.VADStream` over a scorer and a :class:`SpeechGate`."""

    def __init__(self, scorer: Scorer, options: VADOptions, *, held: Held | None = None) -> None:
        self._scorer = scorer
        self._held = held
        self._gate = SpeechGate(options)
        self._audio = SpeechAudio(options.prefix_padding + options.min_speech_duration)
        self._send, self._receive = trio.open_memory_channel[VADEvent](math.inf)
        self._ended = False

    @property
    def undecided_audio(self) -> float:
        """Seconds at the end of the pushed audio not yet judged silence: held by the
        scorer short of a window, or voiced but too short to start speech (the turn
        tracker's :class:`~trioagents.voice.VADProgress`)."""
        held = self._held() if self._held is not None else 0.0
        return held + self._gate.onset

    async def push_frame(self, frame: AudioFrame) -> None:
        """Score ``frame`` now (CPU, no I/O) and queue events. A checkpoint."""
        await trio.lowlevel.checkpoint()
        for event in self.push_frame_nowait(frame):
            self._send.send_nowait(event)

    def push_frame_nowait(self, frame: AudioFrame) -> list[VADEvent]:
        """Score ``frame`` now and return its events (the inline path; nothing queued)."""
        if self._ended:
            raise LocalProtocolError("push_frame after end_input")
        now = trio.current_time()
        self._audio.add(frame)
        events: list[VADEvent] = []
        for probability, duration in self._scorer(frame):
            gated = self._gate.feed(probability, duration, now)
            events.extend(self._audio.attach(event) for event in gated)
        return events

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        if self._ended:
            return
        self._ended = True
        for event in self._gate.finish(trio.current_time()):
            self._send.send_nowait(self._audio.attach(event))
        self._send.close()

    def close(self) -> None:
        self._ended = True
        self._send.close()
        self._receive.close()

    def __aiter__(self) -> GatedVADStream:
        return self

    async def __anext__(self) -> VADEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
