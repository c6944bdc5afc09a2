"""The text side of a streaming TTS: what we send, and where the speech has got to.

:class:`WordChunker` turns the consumer's pushes (LLM tokens, words, anything) into
pieces that end at a word boundary: a piece is sent only up to and including its
last whitespace, the rest waits for the next push or :meth:`WordChunker.finish`.
Nothing is added or removed, so the concatenation of the pieces is the pushed text
verbatim -- both providers concatenate inputs as they come, and ElevenLabs asks
for every text message to end with a space. With ``flush_sentences`` a piece that
ends a sentence (``.``/``!``/``?``/``…``, optionally closing quotes or brackets,
then whitespace; not ``Mr.``-style abbreviations), at least ``min_flush_chars``
after the last flush, is marked ``flush``: the server synthesizes it now instead
of waiting for its chunk schedule.

:class:`TextAligner` maps what the server says it spoke back onto offsets of the
text we were given (the concatenation of every push):

* characters (ElevenLabs' ``alignment``, for the characters it received): a
  non-space character is matched at the cursor after skipping our whitespace, or a
  few characters ahead (a character the server dropped); one that cannot be
  matched (inserted by the server) moves nothing. A whitespace character matches
  our whitespace at the cursor or is ignored (the leading ``" "`` every ElevenLabs
  context starts with, a normalized space);
* words (Cartesia's ``word_timestamps``: words without whitespace, punctuation
  usually stripped): the cursor skips spaces and punctuation to the next letter or
  digit; the word matches there (case-insensitively), or else it is taken to be our
  next token as the server normalized it ("$5" read as "five dollars"). Trailing
  punctuation of our token belongs to the word ("world!").

:meth:`TextAligner.covered` counts the whitespace after a spoken character as
spoken (it takes no time to say). Offsets only grow and never pass the text's
length. Pure and synchronous: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TextAligner", "TextPiece", "WordChunker"]

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+$")
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g."})
_LOOKAHEAD = 4  # how far ahead a dropped character may be skipped over


@dataclass(frozen=True, slots=True)
class TextPiece:
    text: str
    flush: bool = False


class WordChunker:
    """Cuts pushed text at word boundaries (see module docs); one per utterance."""

    __slots__ = ("_flush_sentences", "_min_flush_chars", "_pending", "_since_flush")

    def __init__(self, *, flush_sentences: bool = False, min_flush_chars: int = 20) -> None:
        self._pending = ""
        self._since_flush = 0
        self._flush_sentences = flush_sentences
        self._min_flush_chars = min_flush_chars

    def push(self, text: str) -> TextPiece | None:
        """Add text; the piece now complete up to a word boundary, if any."""
        pending = self._pending + text
        cut = len(pending)
        while cut and not pending[cut - 1].isspace():
            cut -= 1
        self._pending = pending[cut:]
        if not cut:
            return None
        return self._piece(pending[:cut])

    def finish(self) -> str:
        """What was held back (the last, unterminated word); the chunker is empty after."""
        rest, self._pending = self._pending, ""
        return rest

    @property
    def pending(self) -> str:
        return self._pending

    def _piece(self, text: str) -> TextPiece:
        self._since_flush += len(text)
        flush = (
            self._flush_sentences
            and self._since_flush >= self._min_flush_chars
            and _SENTENCE_END.search(text) is not None
            and text.split()[-1].lower() not in _ABBREVIATIONS
        )
        if flush:
            self._since_flush = 0
        return TextPiece(text, flush)


class TextAligner:
    """Where the server's speech has got to, in offsets of our text (module docs)."""

    __slots__ = ("_cursor", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._cursor = 0

    def extend(self, text: str) -> None:
        """The consumer pushed ``text`` (sent or still held back by the chunker)."""
        self._text += text

    @property
    def total(self) -> int:
        return len(self._text)

    @property
    def spoken(self) -> int:
        """Offset just after the last character matched so far."""
        return self._cursor

    def char(self, chars: str) -> int:
        """One aligned character (or a group): the offset spoken through after it."""
        for char in chars:
            self._one_char(char)
        return self._cursor

    def word(self, word: str) -> int:
        """One timed word: the offset spoken through after it (and its punctuation)."""
        text, length = self._text, len(self._text)
        start = self._cursor
        while start < length and not text[start].isalnum():
            start += 1
        word = word.strip()
        if not word or start >= length:
            return self._cursor
        end = start + len(word)
        if text[start:end].casefold() != word.casefold():
            end = start
            while end < length and not text[end].isspace():
                end += 1
        while end < length and not text[end].isspace() and not text[end].isalnum():
            end += 1
        self._cursor = end
        return end

    def covered(self, offset: int) -> int:
        """``offset`` plus the whitespace right after it (spoken once its word is)."""
        text, length = self._text, len(self._text)
        offset = min(offset, length)
        while offset < length and text[offset].isspace():
            offset += 1
        return offset

    def _one_char(self, char: str) -> None:
        text, cursor = self._text, self._cursor
        if char.isspace():
            if cursor < len(text) and text[cursor].isspace():
                self._cursor = cursor + 1
            return
        while cursor < len(text) and text[cursor].isspace():
            cursor += 1
        found = text.find(char, cursor, cursor + _LOOKAHEAD)
        if found >= 0:
            self._cursor = found + 1
