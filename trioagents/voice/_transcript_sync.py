"""Which text was heard: assistant text paced against the audio actually played.

Each sentence is spoken by one TTS request; the synchronizer records, in the order
audio was written to the sink, where each sentence starts and how long its audio is.
Within a sentence, characters are assumed to be spoken at a constant rate (the
sentence's audio duration divided by its length) -- the re-estimated speech rate.
While a sentence's audio is still being written, its duration is the one reported
when its synthesis finished (``expect_duration``), else estimated from the rate
observed so far (or ``STANDARD_CHARS_PER_SECOND`` before any audio).

:meth:`heard_text` returns the words whose last character had been played at a given
playback position: a word cut off mid-way was not heard. Nothing played → ``""``.

Rejected alternative: TTS word timestamps. Few providers give them, and a duration
estimate already bounds the error to one word, which is what the chat context needs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STANDARD_CHARS_PER_SECOND", "TranscriptSynchronizer", "whole_words"]

STANDARD_CHARS_PER_SECOND = 16.0
"""≈ 170 words per minute of English text, the estimate used before any sentence of an
utterance has finished synthesizing (LiveKit starts at 3.83 syllables per second)."""


@dataclass(slots=True)
class _Sentence:
    text: str
    start: float
    duration: float = 0.0
    complete: bool = False
    expected: float | None = None  # total audio, once synthesis finished


class TranscriptSynchronizer:
    """Record sentences and their audio; answer "what had been heard at position p"."""

    __slots__ = ("_sentences",)

    def __init__(self) -> None:
        self._sentences: list[_Sentence] = []

    @property
    def text(self) -> str:
        """All text pushed so far (what would be heard if playback completed)."""
        return " ".join(s.text for s in self._sentences if s.text)

    def begin_sentence(self, text: str, expected_duration: float | None = None) -> None:
        """A new sentence starts at the current end of the written audio."""
        self._close_last()
        sentence = _Sentence(text=text.strip(), start=self.audio_duration)
        sentence.expected = expected_duration
        self._sentences.append(sentence)

    def expect_duration(self, duration: float) -> None:
        """The current sentence's synthesis finished: its audio will last ``duration``."""
        if self._sentences:
            self._sentences[-1].expected = duration

    def revise_text(self, text: str) -> None:
        """The current sentence's audio covers ``text`` only (a TTS cut mid-sentence)."""
        if self._sentences:
            self._sentences[-1].text = text.strip()

    def push_audio(self, duration: float) -> None:
        """Audio of the current sentence was written to the sink."""
        if self._sentences:
            self._sentences[-1].duration += duration

    def end_sentence(self) -> None:
        self._close_last()

    @property
    def audio_duration(self) -> float:
        return sum(s.duration for s in self._sentences)

    def chars_per_second(self) -> float:
        done = [s for s in self._sentences if s.complete and s.duration > 0]
        chars = sum(len(s.text) for s in done)
        seconds = sum(s.duration for s in done)
        return chars / seconds if chars and seconds else STANDARD_CHARS_PER_SECOND

    def heard_text(self, position: float) -> str:
        """The whole words played by ``position`` seconds into the utterance."""
        rate = self.chars_per_second()
        parts: list[str] = []
        for sentence in self._sentences:
            if position <= sentence.start or not sentence.text:
                break
            duration = sentence.duration
            if not sentence.complete:
                estimate = sentence.expected or len(sentence.text) / rate
                duration = max(duration, estimate)
            if duration <= 0 or position >= sentence.start + duration - 1e-9:
                parts.append(sentence.text)
                continue
            chars = int(len(sentence.text) * (position - sentence.start) / duration + 1e-9)
            parts.append(whole_words(sentence.text, chars))
            break
        return " ".join(p for p in parts if p)

    def _close_last(self) -> None:
        if self._sentences:
            self._sentences[-1].complete = True


def whole_words(text: str, chars: int) -> str:
    """Prefix of ``text`` made of the words entirely within its first ``chars`` characters."""
    if chars >= len(text):
        return text
    if chars < len(text) and not text[chars].isspace():
        cut = text.rfind(" ", 0, chars + 1)
        return text[:cut].rstrip() if cut > 0 else ""
    return text[:chars].rstrip()
