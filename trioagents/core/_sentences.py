"""Incremental sentence splitting for pre-synthesis.

The LLM streams text in arbitrary pieces; TTS should start as soon as the first
sentence is complete. :class:`SentenceSplitter` takes pieces with :meth:`push` and
returns every sentence that is certainly finished; :meth:`flush` returns the rest.

A sentence ends at ``.``, ``!``, ``?``, ``…`` (or a run of them, optionally followed
by closing quotes/brackets) *followed by whitespace*, so "3.5" and "e.g.x" never
split; a few common abbreviations never end a sentence. Sentences shorter than
``min_length`` characters are joined with the next one, so TTS is not asked to
synthesize "Ok." on its own. Pure and synchronous: no I/O, no clock.
"""

from __future__ import annotations

import re

__all__ = ["SentenceSplitter", "split_sentences"]

_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "st.", "vs.", "etc.", "e.g.", "i.e."}
)


class SentenceSplitter:
    """Stateful splitter; one per generated reply."""

    __slots__ = ("_buffer", "_min_length")

    def __init__(self, min_length: int = 20) -> None:
        self._buffer = ""
        self._min_length = min_length

    def push(self, text: str) -> list[str]:
        """Add text; return the sentences completed by it (possibly none)."""
        self._buffer += text
        sentences: list[str] = []
        start = 0
        pending_from = 0
        for match in _END.finditer(self._buffer):
            end = match.end()
            if _ends_with_abbreviation(self._buffer[start:end]):
                continue
            candidate = self._buffer[pending_from:end].strip()
            if len(candidate) >= self._min_length:
                sentences.append(candidate)
                pending_from = end
            start = end
        self._buffer = self._buffer[pending_from:]
        if sentences:
            self._buffer = self._buffer.lstrip()
        return sentences

    def flush(self) -> str | None:
        """Return whatever is left (the last, possibly unterminated sentence)."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest or None


def split_sentences(text: str, min_length: int = 20) -> list[str]:
    """Split a whole text at once (same rules as :class:`SentenceSplitter`)."""
    splitter = SentenceSplitter(min_length)
    out = splitter.push(text)
    rest = splitter.flush()
    if rest:
        out.append(rest)
    return out


def _ends_with_abbreviation(text: str) -> bool:
    words = text.split()
    return bool(words) and words[-1].lower() in _ABBREVIATIONS
