"""The fake realtime transcription's recognizer: audio in, OpenAI's events out, sans-I/O.

The audio is :class:`~trioagents.testing.Timeline` audio (each sample a segment
marker, 0 for silence), received as 24 kHz PCM16 and read in 10 ms blocks
(:mod:`._scripted_words`). Everything is driven by *audio time* (seconds of audio
received), never by a clock, so a test decides exactly when each event comes:

* **the server's VAD** is an energy detector: a block whose mean absolute sample
  reaches ``energy_threshold`` is speech, so noise segments are heard too (and
  transcribe to nothing). Under ``server_vad`` the first speech block of a buffer
  sends ``input_audio_buffer.speech_started`` (``audio_start_ms`` = the speech
  start less ``prefix_padding_ms``, not before the buffer), and
  ``silence_duration_ms`` of silence after speech sends ``speech_stopped``
  (``audio_end_ms`` including that silence) and commits the buffer as one item.
  Without turn detection only the client's ``input_audio_buffer.commit`` commits
  (under 100 ms of audio: the ``input_audio_buffer_commit_empty`` error);
* **the transcript** of an item holds the words heard in its audio
  (:class:`~._scripted_words.HeardWords`). While speech is heard, a ``delta`` with
  the new words goes out every ``interim_interval`` of speech (as
  ``gpt-realtime-whisper`` streams); the rest follows the commit, then
  ``completed`` with the whole transcript. Deltas join to the transcript;
* **lags**: ``final_lag`` seconds of audio (plus ``item_lags[i]`` for the i-th item)
  pass between an item's commit and its completion, so completions can come out
  of order. A client commit completes everything pending at once (the client asked
  for its words now).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core import ConfigurationError
from ._scripted_words import BLOCK, HeardWords, MarkerBlocks
from ._timeline import Timeline

__all__ = ["FakeRealtimeTranscriptionOptions", "FakeTranscriber"]

_EPS = 1e-9
_MIN_COMMIT = 0.1
_ITEM = "conversation.item.input_audio_transcription."
Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FakeRealtimeTranscriptionOptions:
    """How the fake server answers (audio-time seconds).

    ``api_key``: when set, a connection without ``Authorization: Bearer <api_key>``
    gets OpenAI's in-band refusal (an ``invalid_api_key`` error event, then close
    code 3000).
    """

    interim_interval: float | None = 0.2
    final_lag: float = 0.0
    item_lags: tuple[float, ...] = ()
    energy_threshold: float = 0.5
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.interim_interval is not None and self.interim_interval <= 0:
            raise ConfigurationError("FakeRealtimeTranscriptionOptions.interim_interval > 0")
        if self.final_lag < 0 or any(lag < 0 for lag in self.item_lags):
            raise ConfigurationError("FakeRealtimeTranscriptionOptions: lags must be >= 0")


@dataclass(slots=True)
class _Item:
    item_id: str
    sent_words: int = 0  # words already sent as deltas


class FakeTranscriber:
    """One connection's recognition state; every method returns the events to send."""

    def __init__(
        self, timeline: Timeline, options: FakeRealtimeTranscriptionOptions, connection: int
    ) -> None:
        self._options = options
        self._connection = connection
        self._blocks = MarkerBlocks(24000)
        self._words = HeardWords(timeline)
        self.turn_detection: dict[str, Any] | None = {
            "type": "server_vad",
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
        }
        self.audio_time = 0.0
        self.fail_next: Message | None = None  # the error of the next item to complete
        self._buffer_start = 0.0
        self._speaking = False
        self._silence = 0.0
        self._since_interim = 0.0
        self._item: _Item | None = None  # the buffer's item, once it has speech
        self._count = 0
        self._previous: str | None = None
        self._lagged: list[tuple[float, list[Message]]] = []

    # ------------------------------------------------------------ input
    def audio(self, pcm: bytes) -> list[Message]:
        out: list[Message] = []
        for marker, level in self._blocks.feed(pcm):
            out += self._block(marker, level >= self._options.energy_threshold - _EPS)
        return out

    def commit(self) -> list[Message]:
        """The client's ``input_audio_buffer.commit``."""
        if self.audio_time - self._buffer_start < _MIN_COMMIT - _EPS:
            held = round((self.audio_time - self._buffer_start) * 1000)
            return [
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "input_audio_buffer_commit_empty",
                        "message": "Error committing input audio buffer: buffer too small. "
                        f"Expected at least 100ms of audio, but buffer only has {held}ms.",
                        "param": None,
                    },
                }
            ]
        out = [message for _, messages in self._lagged for message in messages]
        self._lagged.clear()
        return out + self._commit_item(lag=0.0)

    def clear(self) -> list[Message]:
        """The client's ``input_audio_buffer.clear``: the buffer's words are dropped."""
        self._words.pending(commit=True)
        self._reset_buffer()
        return [{"type": "input_audio_buffer.cleared"}]

    # ------------------------------------------------------------ blocks
    def _block(self, marker: int, loud: bool) -> list[Message]:
        out: list[Message] = []
        vad = self.turn_detection
        if loud:
            self._silence = 0.0
            if not self._speaking:
                self._speaking = True
                item = self._ensure_item()
                if vad is not None:
                    padding = vad.get("prefix_padding_ms", 300) / 1000
                    start = max(self._buffer_start, self.audio_time - padding)
                    out.append(_speech("started", item.item_id, audio_start_ms=start))
        elif self._speaking:
            self._silence += BLOCK
            silence = vad.get("silence_duration_ms", 500) / 1000 if vad is not None else None
            if silence is not None and self._silence >= silence - _EPS:
                item = self._ensure_item()
                end = self.audio_time + BLOCK
                out.append(_speech("stopped", item.item_id, audio_end_ms=end))
                self.audio_time = end
                out += self._commit_item(lag=self._lag())
                return out + self._release()
        if self._words.words(marker):
            self._words.hear(marker)
            out += self._interim()
        self.audio_time += BLOCK
        return out + self._release()

    def _interim(self) -> list[Message]:
        interval = self._options.interim_interval
        if interval is None:
            return []
        self._since_interim += BLOCK
        if self._since_interim < interval - _EPS:
            return []
        self._since_interim = 0.0
        item = self._ensure_item()
        words = self._words.pending(commit=False).split()
        delta = _delta(words, item.sent_words)
        item.sent_words = len(words)
        return [_event("delta", item.item_id, delta=delta)] if delta else []

    # ------------------------------------------------------------ items
    def _ensure_item(self) -> _Item:
        if self._item is None:
            self._count += 1
            self._item = _Item(f"item_{self._connection}_{self._count:03d}")
        return self._item

    def _lag(self) -> float:
        lags = self._options.item_lags
        extra = lags[self._count - 1] if self._count - 1 < len(lags) else 0.0
        return self._options.final_lag + extra

    def _commit_item(self, *, lag: float) -> list[Message]:
        item = self._ensure_item()
        words = self._words.pending(commit=True).split()
        committed = {
            "type": "input_audio_buffer.committed",
            "previous_item_id": self._previous,
            "item_id": item.item_id,
        }
        self._previous = item.item_id
        result: list[Message] = []
        delta = _delta(words, item.sent_words)
        if delta:
            result.append(_event("delta", item.item_id, delta=delta))
        if self.fail_next is not None:
            result.append(_event("failed", item.item_id, error=self.fail_next))
            self.fail_next = None
        else:
            result.append(_event("completed", item.item_id, transcript=" ".join(words)))
        self._reset_buffer()
        if lag > 0:
            self._lagged.append((self.audio_time + lag, result))
            return [committed]
        return [committed, *result]

    def _reset_buffer(self) -> None:
        self._buffer_start = self.audio_time
        self._item = None
        self._speaking = False
        self._silence = 0.0
        self._since_interim = 0.0

    def _release(self) -> list[Message]:
        due = [m for at, ms in self._lagged if at <= self.audio_time + _EPS for m in ms]
        self._lagged = [(at, ms) for at, ms in self._lagged if at > self.audio_time + _EPS]
        return due


def _delta(words: list[str], sent: int) -> str:
    new = words[sent:]
    if not new:
        return ""
    return (" " if sent else "") + " ".join(new)


def _speech(kind: str, item_id: str, **ms: float) -> Message:
    fields = {name: round(seconds * 1000) for name, seconds in ms.items()}
    return {"type": f"input_audio_buffer.speech_{kind}", **fields, "item_id": item_id}


def _event(kind: str, item_id: str, **fields: Any) -> Message:
    return {"type": _ITEM + kind, "item_id": item_id, "content_index": 0, **fields}
