"""The fake OpenAI Realtime server's script, records and ears, sans-I/O.

* :class:`RealtimeReply` is what the fake answers to one ``response.create``:
  spoken ``text`` (audio from :class:`~trioagents.testing.FakeTTS`: every sample
  of a 20 ms frame is ``1 +`` the characters spoken by its end, so a test recovers
  the heard text from what a sink played, :func:`~trioagents.testing.heard_chars`)
  with its transcript, and/or :class:`RealtimeToolCall` function calls;
* :class:`FakeRealtimeConnection` records one connection as the server saw it:
  every client event with its Trio arrival time, the conversation, the replies;
* :class:`EnergyVAD` is the server's voice detection on the pushed audio: a 10 ms
  block is speech when its mean absolute sample reaches ``threshold`` (timeline
  marker audio: any segment); speech ends after ``silence_duration_ms`` of
  silence. All of it is audio time, never the clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import ConfigurationError
from ._websocket_fake import WebSocketSession

__all__ = [
    "EnergyVAD",
    "FakeRealtimeConnection",
    "FakeRealtimeOptions",
    "RealtimeClientEvent",
    "RealtimeReply",
    "RealtimeReplyRecord",
    "RealtimeToolCall",
    "VADStep",
]

_RATE = 24000
_BLOCK = 240  # 10 ms


@dataclass(frozen=True, slots=True)
class RealtimeToolCall:
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class RealtimeReply:
    """One scripted reply: speech (``text``) then function calls (``tool_calls``)."""

    text: str = ""
    tool_calls: tuple[RealtimeToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class FakeRealtimeOptions:
    """How the fake answers.

    ``chars_per_second``: speaking rate of the generated audio (the transcript
    synchronizer's standard estimate by default). ``chunk_frames``: 20 ms frames
    per audio delta. ``pace``: Trio seconds per second of generated audio (None:
    as fast as the socket takes it; 0.5: twice real time). ``first_audio_delay``:
    Trio seconds between ``response.create`` and the first delta.
    ``transcription_delay``: Trio seconds between a commit and its transcript.
    ``api_key``: when set, an upgrade without ``Authorization: Bearer <key>`` is
    refused with 401. ``beta_names``: send the beta event names.
    """

    chars_per_second: float = 16.0
    chunk_frames: int = 5
    pace: float | None = None
    first_audio_delay: float = 0.0
    transcription_delay: float = 0.0
    vad_threshold: float = 1.0
    api_key: str | None = field(default=None, repr=False)
    beta_names: bool = False

    def __post_init__(self) -> None:
        if self.chars_per_second <= 0 or self.chunk_frames < 1:
            raise ConfigurationError("FakeRealtimeOptions: chars_per_second > 0, chunk_frames >= 1")
        if self.pace is not None and self.pace < 0:
            raise ConfigurationError("FakeRealtimeOptions.pace must be >= 0 or None")


@dataclass(frozen=True, slots=True)
class RealtimeClientEvent:
    """One client event as received (``audio`` replaced by its length in bytes)."""

    at: float
    type: str
    body: dict[str, Any]


@dataclass(slots=True)
class RealtimeReplyRecord:
    """One reply: when it was asked for, started, cut; what it said."""

    response_id: str
    requested_at: float
    item_id: str | None = None
    text: str = ""
    first_audio_at: float | None = None
    audio_sent: float = 0.0  # seconds
    cancelled_at: float | None = None
    status: str = "in_progress"
    instructions: str | None = None


@dataclass(slots=True)
class FakeRealtimeConnection(WebSocketSession[Any]):
    """One connection as the server saw it (``sent``: the server's events, in order)."""

    events: list[RealtimeClientEvent] = field(default_factory=list)
    sent_at: list[tuple[float, str]] = field(default_factory=list)  # (Trio time, type)
    session: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)  # the conversation
    replies: list[RealtimeReplyRecord] = field(default_factory=list)

    def of_type(self, kind: str) -> list[RealtimeClientEvent]:
        return [event for event in self.events if event.type == kind]

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 2 / _RATE

    def item(self, item_id: str) -> dict[str, Any] | None:
        return next((item for item in self.items if item.get("id") == item_id), None)

    def last_user_text(self) -> str:
        """The last user message's text (typed, or the transcript of audio)."""
        for item in reversed(self.items):
            if item.get("type") == "message" and item.get("role") == "user":
                return str(item.get("text", ""))
        return ""

    def function_outputs(self) -> list[dict[str, Any]]:
        return [item for item in self.items if item.get("type") == "function_call_output"]

    def turn_detection(self) -> dict[str, Any] | None:
        audio = self.session.get("audio", {})
        if "input" in audio:
            value = audio["input"].get("turn_detection")
        else:
            value = self.session.get("turn_detection")
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class VADStep:
    """What one append changed: speech started/stopped at these audio instants (ms)."""

    started_ms: int | None = None
    stopped_ms: int | None = None
    marker: int = 0  # the most common non-zero sample of the utterance


class EnergyVAD:
    """Speech start and end on 10 ms blocks of the pushed audio (see module docs)."""

    def __init__(self, threshold: float, silence_ms: int) -> None:
        self.threshold = threshold
        self.silence_ms = silence_ms
        self.speaking = False
        self._pending = np.zeros(0, dtype=np.int16)
        self._blocks = 0  # 10 ms blocks heard
        self._silent = 0
        self._markers: Counter[int] = Counter()

    def push(self, pcm: bytes) -> list[VADStep]:
        samples = np.concatenate([self._pending, np.frombuffer(pcm, dtype="<i2")])
        whole = samples.size // _BLOCK * _BLOCK
        self._pending = samples[whole:]
        steps = []
        for start in range(0, whole, _BLOCK):
            step = self._block(samples[start : start + _BLOCK])
            if step is not None:
                steps.append(step)
        return steps

    def _block(self, block: np.ndarray[Any, Any]) -> VADStep | None:
        self._blocks += 1
        loud = float(np.abs(block.astype(np.int32)).mean()) >= self.threshold
        if loud:
            started = not self.speaking
            if started:
                self.speaking, self._markers = True, Counter()
            nonzero = np.abs(block[block != 0].astype(np.int32))
            if nonzero.size:
                self._markers[int(np.bincount(nonzero).argmax())] += 1
            self._silent = 0
            if started:
                return VADStep(started_ms=(self._blocks - 1) * 10)
            return None
        if not self.speaking:
            return None
        self._silent += 1
        if self._silent * 10 < self.silence_ms:
            return None
        self.speaking = False
        marker = self._markers.most_common(1)[0][0] if self._markers else 0
        self._markers = Counter()
        stopped = (self._blocks - self._silent) * 10
        return VADStep(stopped_ms=stopped, marker=marker)
