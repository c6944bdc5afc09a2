"""Minimal in-memory providers whose calls follow a script (for wrapper tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from trioagents.core import (
    AudioFrame,
    ChatContext,
    LLMEvent,
    LLMTextDelta,
    ProviderError,
    SpeechEvent,
    SpeechEventType,
    STTStream,
    ToolChoice,
    ToolSpec,
    silence,
)


@dataclass
class Call:
    """One scripted call: items to deliver, then ``error`` (if any) is raised."""

    items: Sequence[object] = ()
    error: ProviderError | None = None


@dataclass
class Script:
    calls: list[Call] = field(default_factory=list)
    default: Call = field(default_factory=Call)
    count: int = 0

    def next(self) -> Call:
        self.count += 1
        return self.calls.pop(0) if self.calls else self.default


class _Items:
    def __init__(self, call: Call) -> None:
        self._items = list(call.items)
        self._error = call.error

    def __aiter__(self) -> _Items:
        return self

    async def __anext__(self) -> object:
        await trio.sleep(0.01)
        if self._items:
            return self._items.pop(0)
        if self._error is not None:
            raise self._error
        raise StopAsyncIteration


class FakeLLM:
    def __init__(self, label: str, *calls: Call, default_text: str = "ok") -> None:
        self.label = label
        self.script = Script(list(calls), Call([LLMTextDelta(default_text)]))

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        await trio.lowlevel.checkpoint()
        yield _Items(self.script.next())  # type: ignore[misc]


class FakeTTS:
    sample_rate = 16000
    num_channels = 1

    def __init__(self, label: str, *calls: Call) -> None:
        self.label = label
        self.script = Script(list(calls), Call([silence(0.02, 16000)] * 3))

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[AsyncIterator[AudioFrame]]:
        await trio.lowlevel.checkpoint()
        yield _Items(self.script.next())  # type: ignore[misc]


class _FakeSTTStream:
    def __init__(self, call: Call, text: str) -> None:
        self._call = call
        self._text = text
        self.frames: list[AudioFrame] = []
        self._send, self._receive = trio.open_memory_channel[SpeechEvent | ProviderError](100)

    async def push_frame(self, frame: AudioFrame) -> None:
        await trio.lowlevel.checkpoint()
        self.frames.append(frame)
        if self._call.error is not None and len(self.frames) == 5:
            self._send.send_nowait(self._call.error)

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        if self._call.error is None:
            text = f"{self._text}:{len(self.frames)}"
            self._send.send_nowait(SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, text=text))
        self._send.close()

    def __aiter__(self) -> _FakeSTTStream:
        return self

    async def __anext__(self) -> SpeechEvent:
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if isinstance(item, ProviderError):
            raise item
        return item


class FakeSTT:
    """Final transcript at end of input: "<label>:<frames received>"; a scripted error
    is raised after the fifth frame."""

    def __init__(self, label: str, *calls: Call) -> None:
        self.label = label
        self.script = Script(list(calls))

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[STTStream]:
        await trio.lowlevel.checkpoint()
        yield _FakeSTTStream(self.script.next(), self.label)
