"""LLMTurnDetector: ask a chat model whether the transcript so far is a complete turn.

Text only: the detector sends the last few messages of the conversation and the
user's words so far, and asks for one word, ``COMPLETE`` or ``INCOMPLETE``. It
reads the streamed answer only until the first word decides (``com…`` /
``inc…``, or ``yes``/``no``), then leaves the ``async with`` block, which closes the
HTTP response: the model's later tokens are never waited for.

Any :class:`~trioagents.core.LLM` works; for an OpenAI-compatible server use
``OpenAILLM(model, connection=..., extra_body={"max_tokens": 2, "temperature": 0})``
(a small, fast model: the session gives the detector ``turn_detector_timeout``,
0.5 s by default, then falls back to VAD endpointing). Errors are the LLM's
:class:`~trioagents.ProviderError`; an answer that is neither word is one too
(not retryable). The conversation goes to the model, never to logs or errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core import LLM, AudioFrame, ChatContext, LLMTextDelta, ProviderError

__all__ = ["DEFAULT_TURN_INSTRUCTIONS", "LLMTurnDetector"]

DEFAULT_TURN_INSTRUCTIONS = (
    "You decide whether the user of a voice assistant has finished speaking. You get "
    "the recent conversation and the user's words so far, transcribed from speech "
    "while they talk (no punctuation you can trust). Answer COMPLETE if this is a "
    "complete turn the assistant should answer now -- a question, a request, an "
    "answer, a greeting, even a short 'yes'. Answer INCOMPLETE if they stopped "
    "mid-thought and are likely to go on (a dangling 'and', 'for', 'my number is', "
    "a half-given list). Answer with that one word only."
)

_COMPLETE = 0.95
_INCOMPLETE = 0.05
_WORDS = {"complete": _COMPLETE, "yes": _COMPLETE, "incomplete": _INCOMPLETE, "no": _INCOMPLETE}


class LLMTurnDetector:
    """A :class:`~trioagents.voice.TurnDetector` backed by a chat model (see module docs).

    ``context_turns``: how many of the last user turns (and the replies between)
    are sent along with the transcript.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        instructions: str = DEFAULT_TURN_INSTRUCTIONS,
        context_turns: int = 2,
        unlikely_threshold: float = 0.5,
    ) -> None:
        self._llm = llm
        self._instructions = instructions
        self._context_turns = context_turns
        self._threshold = unlikely_threshold

    @property
    def label(self) -> str:
        return f"llm-turn-detector:{self._llm.label}"

    @property
    def unlikely_threshold(self) -> float:
        return self._threshold

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        """0.95 (complete) or 0.05 (incomplete); audio is unused.

        Cancellation closes the model's response. Raises ProviderError.
        """
        request = self.request(chat_ctx, transcript)
        answer = ""
        async with self._llm.chat(request, tool_choice="none") as events:
            async for event in events:
                if isinstance(event, LLMTextDelta):
                    answer += event.text
                    verdict = _verdict(answer, finished=False)
                    if verdict is not None:
                        return verdict  # leaving the block closes the stream
        verdict = _verdict(answer, finished=True)
        if verdict is None:
            raise ProviderError(
                f"{self.label}: the answer was neither COMPLETE nor INCOMPLETE",
                provider=self.label,
                retryable=False,
            )
        return verdict

    def request(self, chat_ctx: ChatContext, transcript: str) -> ChatContext:
        """The chat sent to the model (public so it can be inspected or logged by you)."""
        recent = chat_ctx.without_instructions().last_turns(self._context_turns)
        lines = [
            f"{message.role}: {message.content.strip()}"
            for message in recent.messages()
            if message.role in ("user", "assistant") and message.content.strip()
        ]
        history = "\n".join(lines) if lines else "(nothing yet)"
        request = ChatContext()
        request.add_message("system", self._instructions)
        request.add_message(
            "user",
            f"Conversation so far:\n{history}\n\nThe user is saying: {transcript.strip()!r}\n"
            "Has the user finished their turn? COMPLETE or INCOMPLETE?",
        )
        return request


def _verdict(answer: str, *, finished: bool) -> float | None:
    """The probability once the first word of ``answer`` decides, else None."""
    text = answer.lstrip(" \t\n\"'*`").lower()
    word = ""
    for char in text:
        if not char.isalpha():
            finished = True
            break
        word += char
    if not word:
        return None
    if finished:
        return _WORDS.get(word)
    if len(word) >= 3 and word.startswith(("com", "inc")):
        return _COMPLETE if word.startswith("com") else _INCOMPLETE
    return None
