"""FakeLLM: scripted completions keyed by the last user message.

Each :class:`LLMScript` says what one completion does on Trio's clock: wait ``ttft``,
stream ``text`` word by word ``token_delay`` apart, emit ``tool_calls``, then raise
``error`` (after ``error_after_words`` words) or ``hang`` forever. Every completion
is recorded in ``streams`` (opened/closed times, the user text it answered) so a
test can assert that each stream opened in a turn was closed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from ..core import (
    ChatContext,
    ChatMessage,
    LLMEvent,
    LLMTextDelta,
    LLMToolCall,
    ProviderError,
    ToolChoice,
    ToolSpec,
)
from ._tracking import StreamRecord, StreamTracker

__all__ = ["FakeLLM", "LLMRequest", "LLMScript"]


@dataclass(frozen=True, slots=True)
class LLMScript:
    text: str = ""
    ttft: float = 0.0
    token_delay: float = 0.0
    tool_calls: Sequence[LLMToolCall] = ()
    error: ProviderError | None = None
    error_after_words: int = 0
    hang: bool = False


@dataclass(slots=True)
class LLMRequest:
    chat_ctx: ChatContext
    tools: tuple[ToolSpec, ...]
    record: StreamRecord = field(repr=False)
    tool_choice: ToolChoice = "auto"


class FakeLLM:
    """``responses`` maps the last user message (stripped) to a script; else ``default``.

    A sequence of scripts answers successive requests for the same message (tool
    steps, retries); its last script repeats.
    """

    def __init__(
        self,
        responses: Mapping[str, LLMScript | Sequence[LLMScript]] | None = None,
        *,
        default: LLMScript | None = None,
    ) -> None:
        self.responses = {
            key: [value] if isinstance(value, LLMScript) else list(value)
            for key, value in (responses or {}).items()
        }
        self._answered: dict[str, int] = {}
        self.default = default or LLMScript(text="Okay.")
        self.streams = StreamTracker()
        self.requests: list[LLMRequest] = []

    @property
    def label(self) -> str:
        return "fake-llm"

    def script_for(self, chat_ctx: ChatContext) -> LLMScript:
        users = [m for m in chat_ctx.messages() if m.role == "user"]
        key = users[-1].content.strip() if users else ""
        scripts = self.responses.get(key)
        if not scripts:
            return self.default
        count = self._answered.get(key, 0)
        self._answered[key] = count + 1
        return scripts[min(count, len(scripts) - 1)]

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[_FakeLLMStream]:
        script = self.script_for(chat_ctx)
        last = chat_ctx.messages()[-1] if chat_ctx.messages() else ChatMessage("user", "")
        with self.streams.track(last.content) as record:
            self.requests.append(LLMRequest(chat_ctx.copy(), tuple(tools), record, tool_choice))
            yield _FakeLLMStream(script, record)


class _FakeLLMStream:
    def __init__(self, script: LLMScript, record: StreamRecord) -> None:
        self._script = script
        self._record = record
        self._events = _plan(script)
        self._started = False

    def __aiter__(self) -> _FakeLLMStream:
        return self

    async def __anext__(self) -> LLMEvent:
        script = self._script
        await trio.sleep(script.token_delay if self._started else script.ttft)
        self._started = True
        if self._events:
            event = self._events.pop(0)
            if isinstance(event, ProviderError):
                raise event
            if self._record.first_output_at is None:
                self._record.first_output_at = trio.current_time()
            return event
        if script.hang:
            await trio.sleep_forever()
        raise StopAsyncIteration


def _plan(script: LLMScript) -> list[LLMEvent | ProviderError]:
    tokens = re.findall(r"\S+\s*", script.text)
    if tokens and script.text[:1].isspace():
        tokens[0] = script.text[: len(script.text) - len(script.text.lstrip())] + tokens[0]
    plan: list[LLMEvent | ProviderError] = [LLMTextDelta(t) for t in tokens]
    if script.error is not None:
        plan = [*plan[: script.error_after_words], script.error]
        return plan
    plan.extend(script.tool_calls)
    return plan
