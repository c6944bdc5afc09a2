"""Composable turn detectors: the lowest verdict of several, and a dangling-word rule.

:class:`AnyIncompleteDetector` asks its detectors concurrently (one nursery, one
task per detector, all inside the caller's endpointing wait) and returns the
*lowest* probability, each scaled to the shared ``unlikely_threshold`` first: if
any detector thinks the user will go on, the session waits. A detector that fails
(ProviderError) is left out; if all fail, the error of the first propagates (the
session falls back to VAD endpointing). Cancellation cancels them all.

An "unlikely" verdict settles it at once: the others are cancelled and it is
returned. The session's choice is binary (the short delay or the long one), and the
lowest verdict can only go lower, so waiting for the rest would change nothing but
the latency -- and under load a slow model would run the whole call into
``turn_detector_timeout``, losing the cheap rule's verdict with it (the session
would then fall back to the VAD delay and cut the user off after "a table for").

:class:`DanglingWordDetector` is a text rule for English: a transcript that ends
in a function word ("for", "the", "my", "and"...) or a filler ("um", "uh") is
unlikely to be a finished turn, and so is one ending in a copula after a noun ("my
name is", "the order number is"; but "yes it is", "here they are" are whole).
It costs nothing and needs no model. Measured on synthetic speech
(``bench/turn_detection.py``), Smart Turn's audio verdict alone misses most
mid-sentence pauses that carry no hesitation sound, because the speech before the
pause sounds final; the words give them away.

Rejected alternative: averaging probabilities -- one confident "complete" would
outvote a clear "the user stopped after 'for'".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import trio

from ..core import AudioFrame, ChatContext, ConfigurationError, ProviderError
from ..voice import TurnDetector

__all__ = ["DANGLING_WORDS", "AnyIncompleteDetector", "DanglingWordDetector"]

DANGLING_WORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
        "for",
        "to",
        "of",
        "at",
        "by",
        "with",
        "from",
        "into",
        "onto",
        "about",
        "than",
        "near",
        "between",
        "through",
        "and",
        "or",
        "but",
        "because",
        "if",
        "when",
        "while",
        "whether",
        "i'm",
        "i'd",
        "i'll",
        "we're",
        "we'll",
        "you're",
        "they're",
        "um",
        "uh",
        "er",
        "erm",
    ]
)  # words that rarely end an answer ("it", "in", "on" do: "yes it is", "come in")
COPULAS = frozenset(["is", "are", "was", "were", "am"])
# a copula after one of these ends a sentence ("yes it is", "there you are", "I am")
_PRONOUNS = frozenset(
    ["it", "that", "this", "there", "here", "he", "she", "they", "we", "you", "i"]
)
_WORD = re.compile(r"[\w']+")


def dangles(words: Sequence[str], dangling: frozenset[str] = DANGLING_WORDS) -> bool:
    """The last of ``words`` (lower case) leaves the sentence hanging."""
    if not words:
        return False
    if words[-1] in COPULAS:
        return len(words) < 2 or words[-2] not in _PRONOUNS
    return words[-1] in dangling


class DanglingWordDetector:
    """P(end of turn) 0.05 when the transcript's last word dangles, else 0.95.

    ``words``: the dangling words (a copula after a noun always dangles).
    """

    def __init__(self, words: frozenset[str] = DANGLING_WORDS) -> None:
        self._words = words

    @property
    def label(self) -> str:
        return "dangling-words"

    @property
    def unlikely_threshold(self) -> float:
        return 0.5

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        """Synchronous rule behind an async face (one checkpoint)."""
        await trio.lowlevel.checkpoint()
        words = _WORD.findall(transcript.lower())
        return 0.05 if dangles(words, self._words) else 0.95


class AnyIncompleteDetector:
    """The most cautious verdict of ``detectors`` (see the module docstring)."""

    def __init__(self, detectors: Sequence[TurnDetector], *, unlikely_threshold: float = 0.5):
        if not detectors:
            raise ConfigurationError("AnyIncompleteDetector needs at least one detector")
        if not 0 < unlikely_threshold < 1:
            raise ConfigurationError("unlikely_threshold must be in (0, 1)")
        self._detectors = tuple(detectors)
        self._threshold = unlikely_threshold

    @property
    def unlikely_threshold(self) -> float:
        return self._threshold

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        """The lowest rescaled verdict (the first "unlikely" one, without waiting for
        the rest); raises the first ProviderError if all failed."""
        results: list[float | ProviderError] = [
            ProviderError("no verdict", provider="turn", retryable=False)
        ] * len(self._detectors)

        async def ask(index: int, detector: TurnDetector) -> None:
            try:
                p = await detector.predict_end_of_turn(chat_ctx, transcript, audio)
            except ProviderError as exc:
                results[index] = exc
                return
            results[index] = verdict = self._rescale(p, detector.unlikely_threshold)
            if verdict < self._threshold:
                nursery.cancel_scope.cancel()  # settled: see the module docstring

        async with trio.open_nursery() as nursery:
            for index, detector in enumerate(self._detectors):
                nursery.start_soon(ask, index, detector)
        verdicts = [r for r in results if not isinstance(r, ProviderError)]
        if not verdicts:
            first = results[0]
            assert isinstance(first, ProviderError)
            raise first
        return min(verdicts)

    async def warm(self, audio: Sequence[AudioFrame]) -> None:
        """Warm the members that can start on audio alone (see SmartTurnDetector.warm)."""
        async with trio.open_nursery() as nursery:
            for detector in self._detectors:
                warm = getattr(detector, "warm", None)
                if warm is not None:
                    nursery.start_soon(warm, audio)

    def _rescale(self, probability: float, threshold: float) -> float:
        """Map ``probability`` so that ``threshold`` lands on this detector's threshold."""
        p = min(1.0, max(0.0, probability))
        if p < threshold:
            return p / threshold * self._threshold
        return self._threshold + (p - threshold) / (1.0 - threshold) * (1.0 - self._threshold)
