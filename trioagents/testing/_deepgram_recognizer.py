"""The fake Deepgram's recognizer: timeline markers in, Deepgram messages out, sans-I/O.

The audio is :class:`~trioagents.testing.Timeline` audio (each sample is a segment
marker, 0 for silence). It is read in 10 ms blocks (the most common sample of a
block is its marker, so resampled audio works too) and answered the way Deepgram
answers, driven only by *audio time* (seconds of audio received), never by a
clock, so a test decides exactly when each message comes:

* ``SpeechStarted`` (``vad_events=true``) at the first speech block of an utterance;
* an interim ``Results`` every ``interim_interval`` of speech (``interim_results``);
* a final ``Results`` (``is_final``) once ``endpointing`` ms of silence followed the
  words (with ``speech_final``), or after ``max_segment`` seconds of continuous
  speech (without), or on ``Finalize``/``CloseStream`` (``from_finalize``);
  ``final_lag`` seconds of audio pass between the end of the span a final covers
  and the final being sent, as with a real server's processing delay;
* ``UtteranceEnd`` after ``utterance_end_ms`` of silence after the last word;
* an empty final every ``silence_results`` seconds of silence (Deepgram does too).

The words heard come from :class:`~._scripted_words.HeardWords` (shared with the
fake OpenAI realtime transcription): a final holds the words whose share of their
segment's audio was heard *on this connection*, so audio a client failed to
(re)send shows up as missing words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core import ConfigurationError
from ._scripted_words import BLOCK as _BLOCK
from ._scripted_words import HeardWords, MarkerBlocks
from ._timeline import Timeline

__all__ = ["FakeDeepgramOptions", "FakeRecognizer", "StreamConfig"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class FakeDeepgramOptions:
    """How the fake server answers (audio-time seconds).

    ``api_key``: when set, an upgrade without ``Authorization: Token <api_key>`` is
    refused with 401, as Deepgram does.
    """

    interim_interval: float = 0.2
    max_segment: float | None = None
    final_lag: float = 0.0
    silence_results: float = 1.0
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.interim_interval <= 0 or self.silence_results <= 0 or self.final_lag < 0:
            raise ConfigurationError(
                "FakeDeepgramOptions: interim_interval and silence_results must be > 0, "
                "final_lag >= 0"
            )
        if self.max_segment is not None and self.max_segment <= 0:
            raise ConfigurationError("FakeDeepgramOptions.max_segment must be positive or None")


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """What the client asked for in its query string."""

    sample_rate: int = 16000
    interim_results: bool = False
    endpointing: float | None = 0.01  # seconds; Deepgram's default is 10 ms
    vad_events: bool = False
    utterance_end: float | None = None

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> StreamConfig:
        """Raises ValueError for parameters Deepgram would refuse (HTTP 400)."""

        def one(name: str, default: str) -> str:
            return query.get(name, [default])[-1]

        if one("encoding", "linear16") != "linear16" or one("channels", "1") != "1":
            raise ValueError("the fake Deepgram takes mono linear16 only")
        endpointing = one("endpointing", "10")
        utterance_end = query.get("utterance_end_ms")
        return cls(
            sample_rate=int(one("sample_rate", "16000")),
            interim_results=one("interim_results", "false") == "true",
            endpointing=None if endpointing == "false" else int(endpointing) / 1000,
            vad_events=one("vad_events", "false") == "true",
            utterance_end=int(utterance_end[-1]) / 1000 if utterance_end else None,
        )


class FakeRecognizer:
    """One stream's recognition state; every method returns the messages to send."""

    def __init__(
        self,
        timeline: Timeline,
        config: StreamConfig,
        options: FakeDeepgramOptions,
        request_id: str,
    ) -> None:
        self._config = config
        self._options = options
        self._request_id = request_id
        self._blocks = MarkerBlocks(config.sample_rate)
        self._words = HeardWords(timeline)
        self.audio_time = 0.0  # seconds of audio read
        self._span_start = 0.0
        self._unfinal_speech = 0.0
        self._since_interim = 0.0
        self._silence = 0.0
        self._endpoint_open = False  # words since the last speech_final
        self._utterance_open = False  # words since the last UtteranceEnd
        self._in_speech = False
        self._lagged: list[tuple[float, dict[str, Any]]] = []

    # ------------------------------------------------------------ input
    def audio(self, pcm: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for marker, _ in self._blocks.feed(pcm):
            out += self._block(marker)
        return out

    def finalize(self) -> list[dict[str, Any]]:
        """``Finalize``: what was heard becomes final now, lag or not."""
        out = self._release(math.inf)
        if self.audio_time - self._span_start > _EPS:
            self._final(out, speech_final=False, from_finalize=True, lag=0.0)
        return out

    def close_stream(self) -> list[dict[str, Any]]:
        """``CloseStream``: flush, then the summary Metadata."""
        out = self.finalize()
        out.append(
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": self._request_id,
                "sha256": "0" * 64,
                "created": "2024-01-01T00:00:00.000Z",
                "duration": round(self.audio_time, 6),
                "channels": 1,
            }
        )
        return out

    # ------------------------------------------------------------ blocks
    def _block(self, marker: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._words.words(marker):
            self._speech_block(marker, out)
        else:
            self._silence_block(out)
        self.audio_time += _BLOCK
        out += self._release(self.audio_time)
        return out

    def _speech_block(self, marker: int, out: list[dict[str, Any]]) -> None:
        config = self._config
        if not self._in_speech and config.vad_events:
            out.append({"type": "SpeechStarted", "channel": [0, 1], "timestamp": self.audio_time})
        self._in_speech = self._endpoint_open = self._utterance_open = True
        self._words.hear(marker)
        self._silence = 0.0
        self._unfinal_speech += _BLOCK
        self._since_interim += _BLOCK
        if config.interim_results and self._since_interim >= self._options.interim_interval - _EPS:
            self._since_interim = 0.0
            text = self._words.pending(commit=False)
            if text:
                out.append(self._results(text, self._span_start, self._end(), is_final=False))
        limit = self._options.max_segment
        if limit is not None and self._unfinal_speech >= limit - _EPS:
            self._final(out, speech_final=False, from_finalize=False, lag=self._options.final_lag)

    def _silence_block(self, out: list[dict[str, Any]]) -> None:
        config = self._config
        self._in_speech = False
        self._silence += _BLOCK
        if (
            self._endpoint_open
            and config.endpointing is not None
            and self._silence >= config.endpointing - _EPS
        ):
            self._endpoint_open = False
            self._final(out, speech_final=True, from_finalize=False, lag=self._options.final_lag)
        if (
            self._utterance_open
            and config.utterance_end is not None
            and self._silence >= config.utterance_end - _EPS
        ):
            self._utterance_open = False
            last_word_end = round(self.audio_time + _BLOCK - self._silence, 6)
            out.append({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": last_word_end})
        quiet = self._end() - self._span_start
        if not self._endpoint_open and quiet >= self._options.silence_results - _EPS:
            self._final(out, speech_final=False, from_finalize=False, lag=0.0)

    # ------------------------------------------------------------ results
    def _end(self) -> float:
        return round(self.audio_time + _BLOCK, 6)

    def _final(
        self, out: list[dict[str, Any]], *, speech_final: bool, from_finalize: bool, lag: float
    ) -> None:
        end = self._end() if not from_finalize else round(self.audio_time, 6)
        message = self._results(
            self._words.pending(commit=True),
            self._span_start,
            end,
            is_final=True,
            speech_final=speech_final,
            from_finalize=from_finalize,
        )
        self._span_start = end
        self._unfinal_speech = 0.0
        if lag > 0:
            self._lagged.append((end + lag, message))
        else:
            out.append(message)

    def _release(self, now: float) -> list[dict[str, Any]]:
        due = [message for at, message in self._lagged if at <= now + _EPS]
        self._lagged = [(at, message) for at, message in self._lagged if at > now + _EPS]
        return due

    def _results(
        self,
        text: str,
        start: float,
        end: float,
        *,
        is_final: bool,
        speech_final: bool = False,
        from_finalize: bool = False,
    ) -> dict[str, Any]:
        words = text.split()
        step = (end - start) / max(1, len(words))
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - start, 6),
            "start": round(start, 6),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.99 if words else 0.0,
                        "words": [
                            {
                                "word": word,
                                "start": round(start + i * step, 6),
                                "end": round(start + (i + 1) * step, 6),
                                "confidence": 0.99,
                                "punctuated_word": word,
                            }
                            for i, word in enumerate(words)
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": self._request_id,
                "model_info": {"name": "fake-deepgram", "version": "0", "arch": "fake"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
        }
