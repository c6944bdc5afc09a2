"""Realtime transcription outputs -> :class:`~trioagents.core.SpeechEvent`, synchronously.

Under server turn detection the server's VAD brackets each utterance:
``speech_started`` is ``START_OF_SPEECH``, ``speech_stopped`` ``END_OF_SPEECH``
(the transcript usually follows it: the item is transcribed once committed).
Without it the transcripts do: the first words of an utterance start it, its
final ends it. Either way, each utterance has exactly one of each
(:class:`~._websocket_stt.SpeechBracket`), and the end of the stream ends one that
is open. Interim results are an item's deltas joined so far; a transcript without
words yields nothing. A final carries ``audio_end``, where its item's audio ends,
so a reconnecting wrapper replays only what follows.
"""

from __future__ import annotations

from ..core import SpeechEvent, SpeechEventType
from ..protocol import (
    TranscriptFinalized,
    TranscriptionOutput,
    TranscriptionSpeechStarted,
    TranscriptionSpeechStopped,
    TranscriptUpdated,
)
from ._websocket_stt import SpeechBracket

__all__ = ["TranscriptionSpeech"]


class TranscriptionSpeech:
    """Tracks whether the user is speaking; translates one output at a time."""

    __slots__ = ("_bracket", "_language", "_server_segments")

    def __init__(self, language: str | None, *, server_segments: bool) -> None:
        self._language = language
        self._server_segments = server_segments
        self._bracket = SpeechBracket()

    def handle(self, output: TranscriptionOutput, now: float) -> list[SpeechEvent]:
        if isinstance(output, TranscriptionSpeechStarted):
            return self._bracket.start(now)
        if isinstance(output, TranscriptionSpeechStopped):
            return self._bracket.end(now)
        if isinstance(output, TranscriptUpdated) and output.text.strip():
            return [*self._words_start(now), self._event(output.text, now, final=False)]
        if isinstance(output, TranscriptFinalized) and output.transcript.strip():
            final = self._event(output.transcript, now, final=True, audio_end=output.audio_end)
            if self._server_segments:
                return [final]
            return [*self._bracket.start(now), final, *self._bracket.end(now)]
        return []

    def stream_ended(self, now: float) -> list[SpeechEvent]:
        return self._bracket.end(now)

    def _words_start(self, now: float) -> list[SpeechEvent]:
        return [] if self._server_segments else self._bracket.start(now)

    def _event(
        self, text: str, now: float, *, final: bool, audio_end: float | None = None
    ) -> SpeechEvent:
        kind = SpeechEventType.FINAL_TRANSCRIPT if final else SpeechEventType.INTERIM_TRANSCRIPT
        return SpeechEvent(
            kind, text=text, language=self._language, timestamp=now, audio_end=audio_end
        )
