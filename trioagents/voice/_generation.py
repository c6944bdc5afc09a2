"""LLM steps: one completion as a task with its events on a channel; the tool seam.

:class:`LLMGeneration` runs ``Agent.llm_node`` in its own cancel scope and buffers
the events on an unbounded memory channel (LLM output is small), so the same object
serves a turn's own step and a *preemptive* generation started before the turn
exists. Whoever adopts it must ``cancel()`` it and ``await wait_closed()`` when the
turn ends: the provider stream is closed when ``wait_closed`` returns.

A :class:`~trioagents.ProviderError` does not escape ``run()``: it is stored in
``error`` and the channel ends, so the turn (not a nursery's exception group)
decides what to do. Cancellation propagates as usual.

Tool calls are executed at ONE seam, :data:`ToolCallExecutor`. The session's
default is the built-in runner (``_tool_runner.py``: the agent's tools, handoffs,
AgentTasks); :func:`record_unconfigured_tool_calls` is a minimal executor that
records each call with an error output and asks for no further reply.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

from ..core import (
    AgentHandoff,
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMEvent,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    ProviderError,
    ToolChoice,
    ToolSpec,
)
from ._agent import Agent
from ._model_settings import TOOL_CHOICE
from ._speech_handle import SpeechHandle
from ._usage import UsageCollector

__all__ = [
    "LLMGeneration",
    "ToolCallExecutor",
    "ToolStepOutcome",
    "record_unconfigured_tool_calls",
]


@dataclass(frozen=True, slots=True)
class ToolStepOutcome:
    """Items to append (calls and their outputs, in call order); whether the LLM speaks again."""

    items: Sequence[ChatItem]
    reply_required: bool


ToolCallExecutor = Callable[
    [Agent, SpeechHandle, Sequence[LLMToolCall]], Awaitable[ToolStepOutcome]
]
"""Tool calls are executed here; integration with ``voice/_tools.py``.

Called inside the turn's scope after the step's audio has played; cancelled with the
turn (an executor that must finish a side effect shields it, with a deadline).
"""


async def record_unconfigured_tool_calls(
    agent: Agent, speech: SpeechHandle, calls: Sequence[LLMToolCall]
) -> ToolStepOutcome:
    """Default executor: every call gets an error output; no further reply."""
    await trio.lowlevel.checkpoint()
    now = trio.current_time()
    items: list[ChatItem] = []
    for call in calls:
        items.append(FunctionCall(call.call_id, call.name, call.arguments, created_at=now))
        items.append(
            FunctionCallOutput(
                call.call_id,
                call.name,
                "tool execution is not configured",
                is_error=True,
                created_at=now,
            )
        )
    return ToolStepOutcome(items, reply_required=False)


class LLMGeneration:
    """One completion of ``agent.llm_node``; start with ``nursery.start(gen.run)``."""

    def __init__(
        self,
        agent: Agent,
        chat_ctx: ChatContext,
        tools: Sequence[ToolSpec],
        *,
        usage: UsageCollector | None = None,
        provider: str = "llm",
        tool_choice: ToolChoice | None = None,
    ) -> None:
        self.agent = agent
        self.tool_choice: ToolChoice | None = tool_choice  # None: the LLM's default
        self._usage = usage
        self._provider = provider
        self.chat_ctx = chat_ctx
        self.tools = tuple(tools)
        self.error: ProviderError | None = None
        self.started_at: float | None = None
        self.first_text_at: float | None = None
        self._send, self.events = trio.open_memory_channel[LLMEvent](math.inf)
        self._scope = trio.CancelScope()
        self._closed = trio.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the step until it ends, fails (``error`` is set) or is cancelled."""
        try:
            with self._scope:
                TOOL_CHOICE.set(self.tool_choice)  # this task only: read by llm_node
                self.started_at = trio.current_time()
                if self._usage is not None:
                    self._usage.llm_request(self._provider)
                task_status.started()
                node_send, node_recv = trio.open_memory_channel[LLMEvent](math.inf)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._relay, node_recv)
                    try:
                        async with node_send:
                            await self.agent.llm_node(self.chat_ctx, self.tools, node_send)
                    except ProviderError as exc:
                        self.error = exc
        finally:
            self._send.close()
            self._closed.set()

    async def _relay(self, events: trio.MemoryReceiveChannel[LLMEvent]) -> None:
        """Stamp the first text (``first_text_at``), count usage, pass every event on."""
        async for event in events:
            if self.first_text_at is None and isinstance(event, LLMTextDelta):
                self.first_text_at = trio.current_time()
            elif isinstance(event, LLMUsage) and self._usage is not None:
                self._usage.llm_tokens(self._provider, event.prompt_tokens, event.completion_tokens)
            self._send.send_nowait(event)

    @property
    def ttft(self) -> float | None:
        if self.first_text_at is None or self.started_at is None:
            return None
        return self.first_text_at - self.started_at

    def cancel(self) -> None:
        """Stop the completion (synchronous); its stream closes before ``wait_closed``."""
        self._scope.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def matches(self, chat_ctx: ChatContext, tools: Sequence[ToolSpec]) -> bool:
        """Same conversation (by content) and same tools: safe to reuse for this turn."""
        return _signature(self.chat_ctx) == _signature(chat_ctx) and self.tools == tuple(tools)


def _signature(chat_ctx: ChatContext) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for item in chat_ctx:
        if isinstance(item, FunctionCall):
            out.append(("call", item.call_id, item.name, item.arguments))
        elif isinstance(item, FunctionCallOutput):
            out.append(("output", item.call_id, item.output, str(item.is_error)))
        elif isinstance(item, ChatMessage):
            out.append(("message", item.role, item.content))
        elif isinstance(item, AgentHandoff):
            out.append(("handoff", item.old_agent or "", item.new_agent))
    return out
