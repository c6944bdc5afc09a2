"""Deepgram events -> :class:`~trioagents.core.SpeechEvent`, synchronously.

One utterance is bracketed by exactly one ``START_OF_SPEECH`` and one
``END_OF_SPEECH``, whichever of Deepgram's signals comes first: ``SpeechStarted``
(with ``vad_events``) or the first words start it; ``speech_final``,
``UtteranceEnd`` or the end of the stream ends it. Results without words yield no
transcript (Deepgram sends them for silence). A final carries ``audio_end``, the
end of the audio it covers, so a reconnecting wrapper replays only what follows.
"""

from __future__ import annotations

from ..core import SpeechEvent, SpeechEventType
from ..protocol import (
    DeepgramEvent,
    DeepgramSpeechStarted,
    DeepgramTranscribed,
    DeepgramUtteranceEnded,
)
from ._websocket_stt import SpeechBracket

__all__ = ["SpeechTracker"]


class SpeechTracker:
    """Tracks whether the user is speaking; translates one event at a time."""

    __slots__ = ("_bracket", "_language")

    def __init__(self, language: str | None) -> None:
        self._language = language
        self._bracket = SpeechBracket()

    @property
    def speaking(self) -> bool:
        return self._bracket.speaking

    def handle(self, event: DeepgramEvent, now: float) -> list[SpeechEvent]:
        if isinstance(event, DeepgramSpeechStarted):
            return self._start(now)
        if isinstance(event, DeepgramUtteranceEnded):
            return self._end(now)
        if not isinstance(event, DeepgramTranscribed):
            return []
        events: list[SpeechEvent] = []
        if event.transcript.strip():
            events += self._start(now)
            kind = (
                SpeechEventType.FINAL_TRANSCRIPT
                if event.is_final
                else SpeechEventType.INTERIM_TRANSCRIPT
            )
            events.append(
                SpeechEvent(
                    kind,
                    text=event.transcript,
                    language=event.language or self._language,
                    confidence=event.confidence,
                    timestamp=now,
                    audio_end=event.end if event.is_final else None,
                )
            )
        if event.speech_final:
            events += self._end(now)
        return events

    def stream_ended(self, now: float) -> list[SpeechEvent]:
        return self._end(now)

    def _start(self, now: float) -> list[SpeechEvent]:
        return self._bracket.start(now)

    def _end(self, now: float) -> list[SpeechEvent]:
        return self._bracket.end(now)
