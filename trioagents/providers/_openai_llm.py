"""Streaming chat over an OpenAI-compatible ``/chat/completions`` endpoint.

Works with OpenAI, Azure OpenAI (``OpenAIConnection(base_url=.../deployments/NAME,
api_key_header="api-key", query={"api-version": ...})``), vLLM, Ollama
(``http://127.0.0.1:11434/v1``) and llama.cpp server: they all speak the same SSE
chunk format, decoded by :class:`~trioagents.protocol.ChatStreamDecoder`.

Cancellation: the response lives inside ``async with llm.chat(...)``; cancelling
the scope around it closes the HTTP response (shielded, bounded), so the server
sees the client go away within the same cancel. No task is started.

Errors: see :mod:`trioagents.providers._http` for the mapping. A 200 whose
content type is not ``text/event-stream`` (a proxy's ``text/html`` page, a
non-streamed ``application/json`` answer) is a malformed response, not retried;
a missing content type is read as SSE. In addition, a stream that ends without
``[DONE]``/``finish_reason`` is a :class:`ProviderConnectionError` (truncated),
an in-stream error object is a :class:`ProviderStatusError` (or
:class:`ContentFilterError`), and ``finish_reason == "content_filter"`` raises
:class:`ContentFilterError` after the text already delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ..core import (
    ChatContext,
    ContentFilterError,
    LLMEvent,
    ProviderConnectionError,
    ProviderStatusError,
    ToolChoice,
    ToolSpec,
)
from ..protocol import (
    ChatErrorReported,
    ChatFinished,
    ChatStreamDecoder,
    ChatStreamItem,
    chat_request_body,
    is_content_filter,
)
from ._http import (
    DecodedBody,
    OpenAIConnection,
    media_type,
    open_response,
    wrong_content_type,
)

__all__ = ["OpenAILLM"]

_SSE = "text/event-stream"


class OpenAILLM:
    """An :class:`~trioagents.core.LLM` for OpenAI-compatible servers."""

    def __init__(
        self,
        model: str,
        *,
        connection: OpenAIConnection | None = None,
        client: httpx.AsyncClient | None = None,
        extra_body: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        self._model = model
        self._connection = connection or OpenAIConnection()
        self._client = client
        self._extra = dict(extra_body or {})
        self._label = label or f"openai-llm:{model}"

    @property
    def label(self) -> str:
        return self._label

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        """Open one streamed completion; the response is closed when the block exits."""
        body = chat_request_body(
            chat_ctx, model=self._model, tools=tools, tool_choice=tool_choice, extra=self._extra
        )
        request = {"method": "POST", "path": "chat/completions", "json": body}
        async with open_response(
            self._client, self._connection, request, provider=self._label
        ) as response:
            kind = media_type(response)
            if kind not in ("", _SSE):
                raise wrong_content_type(_SSE, kind, self._label)
            events = _ChatEvents(response, self._label)
            try:
                yield events
            finally:
                await events.aclose()


class _ChatEvents(DecodedBody[LLMEvent]):
    """The event iterator of one response (a plain object, not an async generator)."""

    def __init__(self, response: httpx.Response, label: str) -> None:
        super().__init__(response, label)
        self._decoder = ChatStreamDecoder()

    def _feed(self, chunk: bytes) -> list[LLMEvent]:
        return self._events(self._decoder.feed(chunk))

    def _finish(self) -> list[LLMEvent]:
        items = self._decoder.end_of_stream()
        if not self._decoder.complete:
            raise ProviderConnectionError(
                f"{self._label}: stream ended early", provider=self._label
            )
        return self._events(items)

    def _events(self, items: Iterable[ChatStreamItem]) -> list[LLMEvent]:
        events: list[LLMEvent] = []
        for item in items:
            if isinstance(item, ChatErrorReported):
                raise self._stream_error(item.body)
            if isinstance(item, ChatFinished):
                if item.reason == "content_filter":
                    raise ContentFilterError(
                        f"{self._label}: content filtered", provider=self._label, status=200
                    )
                continue
            events.append(item)
        return events

    def _stream_error(self, body: dict[str, Any]) -> ProviderStatusError:
        if is_content_filter(body):
            return ContentFilterError(
                f"{self._label}: content filtered", provider=self._label, status=200, body=body
            )
        code = body.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else 500
        return ProviderStatusError(
            f"{self._label}: error in stream", provider=self._label, status=status, body=body
        )
