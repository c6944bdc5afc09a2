"""OpenAI-compatible chat completions wire format, sans-I/O.

Request side: :func:`chat_request_body` turns a :class:`~trioagents.core.ChatContext`
and tool specs into the JSON body of ``POST /chat/completions`` with
``stream: true``.

Response side: :class:`ChatStreamDecoder` takes the raw SSE body bytes in any
split and returns typed items: text deltas as soon as they arrive, tool calls
once complete (the model streams each call's ``arguments`` in fragments keyed by
``index``; :class:`ToolCallAssembler` joins them), usage, the finish reason, and
in-stream error objects (some servers report failures as an SSE ``data: {"error":
...}`` after a 200). The stream is *complete* only after ``data: [DONE]`` or a
``finish_reason``; anything else at end of body is truncation, and the caller
decides what that means (see :attr:`ChatStreamDecoder.complete`).

Tool calls are emitted at the end of the choice (finish reason or ``[DONE]``),
never half-assembled: a consumer can execute an :class:`LLMToolCall` as soon as it
sees one. ``arguments`` is left as the raw text the model produced (the tool layer
validates it).

Garbage -- a ``data`` payload that is not JSON, a chunk of the wrong shape, a tool
call delta with a non-integer index or non-string fragments, a tool call that
never got a name or id -- raises :class:`~trioagents.core.RemoteProtocolError`
with the payload attached and never anything else (``fuzz/fuzz_openai_chat.py``).
Vendors disagree on small things, so the decoder is lenient where it is safe:
``content: null``, missing ``index`` (position in the list), ``choices: []``
usage-only chunks, ``id`` repeated on every fragment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ..core import (
    AgentHandoff,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    RemoteProtocolError,
    ToolChoice,
    ToolSpec,
)
from ._sse import SSEDecoder

__all__ = [
    "ChatErrorReported",
    "ChatFinished",
    "ChatStreamDecoder",
    "ChatStreamItem",
    "ToolCallAssembler",
    "chat_messages",
    "chat_request_body",
]


@dataclass(frozen=True, slots=True)
class ChatFinished:
    """The choice ended; ``reason`` is the server's ``finish_reason`` (``stop``,
    ``length``, ``tool_calls``, ``content_filter``...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ChatErrorReported:
    """The server reported an error inside a 200 stream; ``body`` is the JSON object."""

    body: dict[str, Any]


ChatStreamItem: TypeAlias = LLMTextDelta | LLMToolCall | LLMUsage | ChatFinished | ChatErrorReported


def chat_request_body(
    chat_ctx: ChatContext,
    *,
    model: str,
    tools: Sequence[ToolSpec] = (),
    tool_choice: ToolChoice = "auto",
    parallel_tool_calls: bool | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body for a streamed chat completion.

    ``tool_choice`` and ``parallel_tool_calls`` (None: left out) are sent only with
    ``tools``: OpenAI refuses either without them. ``settings`` (already validated
    request fields such as ``temperature``) are merged next, ``extra`` last.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": chat_messages(chat_ctx),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in tools
        ]
        if tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = tool_choice
        else:
            body["tool_choice"] = {"type": "function", "function": {"name": tool_choice}}
        if parallel_tool_calls is not None:
            body["parallel_tool_calls"] = parallel_tool_calls
    body.update(settings or {})
    body.update(extra or {})
    return body


def chat_messages(chat_ctx: ChatContext) -> list[dict[str, Any]]:
    """Chat items as OpenAI ``messages``; consecutive tool calls share one assistant turn."""
    messages: list[dict[str, Any]] = []
    for item in chat_ctx:
        if isinstance(item, ChatMessage):
            messages.append({"role": item.role, "content": item.content})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutput):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        elif isinstance(item, AgentHandoff):
            continue  # bookkeeping for the session, not something the model reads
    return messages


@dataclass(slots=True)
class _PartialCall:
    call_id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """Joins streamed ``tool_calls`` deltas by ``index`` into complete calls."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def feed(self, deltas: object) -> None:
        """Add one chunk's ``delta.tool_calls`` list; raises RemoteProtocolError if malformed."""
        if not isinstance(deltas, list):
            raise _bad("tool_calls is not a list", deltas)
        for position, delta in enumerate(deltas):
            if not isinstance(delta, dict):
                raise _bad("tool call delta is not an object", delta)
            index = delta.get("index", position)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1024:
                raise _bad("tool call index is not a small integer", delta)
            function = delta.get("function") or {}
            if not isinstance(function, dict):
                raise _bad("tool call function is not an object", delta)
            call = self._calls.setdefault(index, _PartialCall())
            call_id, name = delta.get("id"), function.get("name")
            fragment = function.get("arguments")
            for value in (call_id, name, fragment):
                if value is not None and not isinstance(value, str):
                    raise _bad("tool call field is not a string", delta)
            if call_id:
                call.call_id = call_id
            if name:
                call.name = name if not call.name or call.name == name else call.name + name
            if fragment:
                call.arguments += fragment

    def finish(self) -> list[LLMToolCall]:
        """The assembled calls in index order; raises if one lacks a name or id."""
        calls = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.name or not call.call_id:
                raise RemoteProtocolError(
                    "tool call without name or id", payload=repr(call).encode()[:256]
                )
            calls.append(LLMToolCall(call.call_id, call.name, call.arguments or "{}"))
        self._calls.clear()
        return calls


class ChatStreamDecoder:
    """Bytes of a streamed chat completion in, :data:`ChatStreamItem` out."""

    __slots__ = ("_complete", "_finished", "_sse", "_tools")

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._tools = ToolCallAssembler()
        self._complete = False
        self._finished = False

    @property
    def complete(self) -> bool:
        """True once ``[DONE]`` or a finish reason was seen (a clean end)."""
        return self._complete

    def feed(self, data: bytes) -> list[ChatStreamItem]:
        items: list[ChatStreamItem] = []
        for event in self._sse.feed(data):
            items.extend(self._on_data(event.data))
        return items

    def end_of_stream(self) -> list[ChatStreamItem]:
        """Flush at end of body: tool calls still held are emitted only if complete."""
        items: list[ChatStreamItem] = []
        for event in self._sse.end_of_stream():
            items.extend(self._on_data(event.data))
        if self._complete and not self._finished:
            items.extend(self._tools.finish())
        return items

    def _on_data(self, data: str) -> list[ChatStreamItem]:
        if data.strip() == "[DONE]":
            self._complete = True
            if self._finished:
                return []
            self._finished = True
            return list(self._tools.finish())
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise _bad("event data is not JSON", data) from exc
        if not isinstance(chunk, dict):
            raise _bad("chunk is not an object", data)
        if "error" in chunk and not chunk.get("choices"):
            error = chunk["error"]
            return [ChatErrorReported(error if isinstance(error, dict) else {"message": error})]
        return self._on_chunk(chunk)

    def _on_chunk(self, chunk: dict[str, Any]) -> list[ChatStreamItem]:
        items: list[ChatStreamItem] = []
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise _bad("choices is not a list", chunk)
        for choice in choices[:1]:  # we never ask for n > 1
            items.extend(self._on_choice(choice))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            if not isinstance(prompt, int) or not isinstance(completion, int):
                raise _bad("usage counts are not integers", chunk)
            items.append(LLMUsage(prompt, completion))
        return items

    def _on_choice(self, choice: object) -> list[ChatStreamItem]:
        if not isinstance(choice, dict):
            raise _bad("choice is not an object", choice)
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise _bad("delta is not an object", choice)
        items: list[ChatStreamItem] = []
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise _bad("delta content is not a string", choice)
        if content:
            items.append(LLMTextDelta(content))
        if delta.get("tool_calls") is not None:
            self._tools.feed(delta["tool_calls"])
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                raise _bad("finish_reason is not a string", choice)
            if not self._finished:
                items.extend(self._tools.finish())
            self._finished = self._complete = True
            items.append(ChatFinished(reason))
        return items


def _bad(message: str, payload: object) -> RemoteProtocolError:
    text = payload if isinstance(payload, str) else repr(payload)
    return RemoteProtocolError(message, payload=text.encode("utf-8", "replace")[:256])
