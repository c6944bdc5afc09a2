"""Which text was heard: assistant text paced against the audio actually played.

Each sentence is spoken by one TTS request; the synchronizer records, in the order
audio was written to the sink, where each sentence starts and how long its audio is.
Where a sentence's characters fall in its audio comes, best first, from:

1. the TTS's own alignment: a frame whose ``text_end`` says how many characters had
   been spoken by its end (ElevenLabs/Cartesia-style providers, the testing fake);
   between two such marks the characters are spread evenly;
2. the sentence's measured audio: its duration once its synthesis finished
   (``expect_duration``), spread evenly over its characters;
3. while it is still being synthesized, a speaking rate *measured* on this voice:
   the sentences of this utterance whose synthesis finished, else the
   :class:`SpeakingRate` shared by the utterances of one agent (what earlier replies
   measured), else ``STANDARD_CHARS_PER_SECOND`` before any audio at all.

:meth:`heard_text` returns the words whose last character had been played at a given
playback position: a word cut off mid-way was not heard. Nothing played → ``""``.

A sentence may carry a *shown* form (``Agent.transcription_node``'s output for it,
e.g. without markdown): the audio is paced against the spoken text, and the heard
part is reported in the shown form -- whole sentences as shown, the sentence cut
mid-way at the same share of its characters (whole words).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["STANDARD_CHARS_PER_SECOND", "SpeakingRate", "TranscriptSynchronizer", "whole_words"]

STANDARD_CHARS_PER_SECOND = 16.0
"""≈ 170 words per minute of English text, the estimate used before any sentence has
been measured (LiveKit starts at 3.83 syllables per second)."""


class SpeakingRate:
    """Characters per second of one voice, measured on whole synthesized sentences.

    Shared by the utterances of one agent activity (one TTS): a reply cut while its
    first sentence is still being synthesized is estimated at the rate the earlier
    replies measured, not at a fixed guess. A running mean weighted by audio time
    (the last ``window`` seconds count), so a voice change is followed.
    """

    __slots__ = ("_chars", "_seconds", "window")

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._chars = 0.0
        self._seconds = 0.0

    def observe(self, chars: int, seconds: float) -> None:
        if chars <= 0 or seconds <= 0:
            return
        self._chars += chars
        self._seconds += seconds
        if self._seconds > self.window:
            keep = self.window / self._seconds
            self._chars *= keep
            self._seconds *= keep

    def estimate(self) -> float | None:
        """Measured characters per second, or None before any measurement."""
        return self._chars / self._seconds if self._seconds > 0 else None


@dataclass(slots=True)
class _Sentence:
    text: str
    start: float
    duration: float = 0.0
    complete: bool = False
    expected: float | None = None  # total audio, once synthesis finished
    marks: list[tuple[float, int]] = field(default_factory=list)  # (audio s, chars spoken)
    shown: str | None = None  # the transcript form (None: the text itself)

    def display(self, chars: int | None = None) -> str:
        """The shown form of the first ``chars`` spoken characters (all: None)."""
        if chars is None or chars >= len(self.text):
            return self.text if self.shown is None else self.shown
        if self.shown is None:
            return whole_words(self.text, chars)
        share = chars / len(self.text) if self.text else 0.0
        return whole_words(self.shown, int(len(self.shown) * share + 1e-9))


class TranscriptSynchronizer:
    """Record sentences and their audio; answer "what had been heard at position p"."""

    __slots__ = ("_rate", "_sentences")

    def __init__(self, rate: SpeakingRate | None = None) -> None:
        self._sentences: list[_Sentence] = []
        self._rate = rate

    @property
    def text(self) -> str:
        """All text pushed so far (what would be heard if playback completed)."""
        return " ".join(d for d in (s.display() for s in self._sentences if s.text) if d)

    def begin_sentence(
        self, text: str, expected_duration: float | None = None, *, shown: str | None = None
    ) -> None:
        """A new sentence starts at the current end of the written audio.

        ``shown``: its transcript form, if it differs from the spoken ``text``.
        """
        self._close_last()
        sentence = _Sentence(text=text.strip(), start=self.audio_duration)
        sentence.expected = expected_duration
        sentence.shown = shown.strip() if shown is not None else None
        self._sentences.append(sentence)

    def expect_duration(self, duration: float) -> None:
        """The current sentence's synthesis finished: its audio will last ``duration``."""
        if self._sentences:
            self._sentences[-1].expected = duration

    def revise_text(self, text: str, *, shown: str | None = None) -> None:
        """The current sentence's audio covers ``text`` (a TTS cut mid-sentence, or a
        stream still growing); ``shown`` its new transcript form (default: the old
        one cut at the same share)."""
        if not self._sentences:
            return
        sentence = self._sentences[-1]
        text = text.strip()
        if shown is not None:
            sentence.shown = shown.strip()
        elif sentence.shown is not None and text != sentence.text:
            share = len(text) / len(sentence.text) if sentence.text else 0.0
            sentence.shown = whole_words(sentence.shown, int(len(sentence.shown) * share))
        sentence.text = text

    def push_audio(self, duration: float) -> None:
        """Audio of the current sentence was written to the sink."""
        if self._sentences:
            self._sentences[-1].duration += duration

    def align(self, chars: int) -> None:
        """The TTS says: by the end of the audio pushed so far, ``chars`` characters of
        the current sentence's text (as given to it) had been spoken."""
        if self._sentences:
            sentence = self._sentences[-1]
            sentence.marks.append((sentence.duration, max(0, chars)))

    def end_sentence(self) -> None:
        self._close_last()

    @property
    def audio_duration(self) -> float:
        return sum(s.duration for s in self._sentences)

    def chars_per_second(self) -> float:
        """The speaking rate measured so far (see the module docstring, 3)."""
        done = [s for s in self._sentences if s.complete and s.duration > 0]
        chars = sum(len(s.text) for s in done)
        seconds = sum(s.duration for s in done)
        if chars and seconds:
            return chars / seconds
        shared = self._rate.estimate() if self._rate is not None else None
        return shared if shared is not None else STANDARD_CHARS_PER_SECOND

    def heard_text(self, position: float) -> str:
        """The whole words played by ``position`` seconds into the utterance."""
        rate = self.chars_per_second()
        parts: list[str] = []
        for sentence in self._sentences:
            if position <= sentence.start or not sentence.text:
                break
            offset = position - sentence.start
            chars = _spoken_chars(sentence, offset, rate)
            if chars >= len(sentence.text):
                parts.append(sentence.display())
                continue
            parts.append(sentence.display(chars))
            break
        return " ".join(p for p in parts if p)

    def _close_last(self) -> None:
        if not self._sentences:
            return
        last = self._sentences[-1]
        measured = last.expected is not None and abs(last.duration - last.expected) < 1e-6
        if not last.complete and self._rate is not None and measured:  # played whole
            self._rate.observe(len(last.text), last.duration)
        last.complete = True


def _spoken_chars(sentence: _Sentence, offset: float, rate: float) -> int:
    """Characters of ``sentence`` spoken ``offset`` seconds into its audio."""
    length = len(sentence.text)
    if sentence.marks:
        return min(length, _from_marks(sentence, offset, rate))
    duration = sentence.duration
    if not sentence.complete:
        estimate = sentence.expected or length / rate
        duration = max(duration, estimate)
    if duration <= 0 or offset >= duration - 1e-9:
        return length
    return int(length * offset / duration + 1e-9)


def _from_marks(sentence: _Sentence, offset: float, rate: float) -> int:
    """Interpolate between the TTS's alignment marks (evenly within a gap)."""
    previous_at, previous_chars = 0.0, 0
    for at, chars in sentence.marks:
        if at >= offset - 1e-9:
            span = at - previous_at
            if span <= 0:
                return chars
            share = (offset - previous_at) / span
            return previous_chars + int((chars - previous_chars) * share + 1e-9)
        previous_at, previous_chars = at, chars
    # past the last mark: the rest at the measured rate, up to the sentence's end
    if sentence.expected is not None and offset >= sentence.expected - 1e-9:
        return len(sentence.text)
    return previous_chars + int((offset - previous_at) * rate + 1e-9)


def whole_words(text: str, chars: int) -> str:
    """Prefix of ``text`` made of the words entirely within its first ``chars`` characters."""
    if chars >= len(text):
        return text
    if chars < len(text) and not text[chars].isspace():
        cut = text.rfind(" ", 0, chars + 1)
        return text[:cut].rstrip() if cut > 0 else ""
    return text[:chars].rstrip()
