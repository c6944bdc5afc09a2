"""The turn-detector seam: P(the user has finished their turn), from text and/or audio.

Implementations live in :mod:`trioagents.providers`: ``SmartTurnDetector`` (the
offline Smart Turn v3.2 audio model) and ``LLMTurnDetector`` (asks an
OpenAI-compatible LLM about the transcript). The session calls
:meth:`TurnDetector.predict_end_of_turn` inside the endpointing wait, under its own
``turn_detector_timeout``; new speech cancels the call, so an implementation must
be cancellable at every await (a model in a worker thread is abandoned, not waited
for). Errors should be :class:`~trioagents.ProviderError`: the session then falls
back to VAD endpointing for that turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..core import AudioFrame, ChatContext

__all__ = ["TurnDetector"]


@runtime_checkable
class TurnDetector(Protocol):
    """Semantic turn detection: P(the user finished their turn), from text and/or audio.

    ``audio`` holds the current turn's input frames (up to its last 8 s, from
    half a second before the user started, pauses and trailing silence included);
    ``transcript`` is what the STT heard so far; ``chat_ctx`` the conversation
    before it. A probability below :attr:`unlikely_threshold` makes the session
    wait ``max_endpointing_delay``, otherwise ``min_endpointing_delay``.
    """

    @property
    def unlikely_threshold(self) -> float: ...

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float: ...
