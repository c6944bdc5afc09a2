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

Request options (:class:`OpenAIChatOptions`): each one unset is left out of the
body, so the server's default applies. The output cap is sent as
``max_completion_tokens`` by default: OpenAI deprecated ``max_tokens`` (its
reasoning models refuse it) and LiveKit's plugin sends ``max_completion_tokens``;
vLLM and llama.cpp server read both. Ollama's OpenAI layer reads only
``max_tokens`` and silently ignores the other (ollama/ollama#7125), so set
``max_tokens_field="max_tokens"`` there. Rejected: sending both (OpenAI refuses
``max_tokens`` for reasoning models, so that would break the main server).
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ..core import (
    ChatContext,
    ConfigurationError,
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

__all__ = ["OpenAIChatOptions", "OpenAILLM"]

_SSE = "text/event-stream"
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class OpenAIChatOptions:
    """Request options of :class:`OpenAILLM`; ``None`` leaves a field out of the body.

    ``temperature``: 0 to 2. ``max_tokens``: the cap on generated tokens (>= 1),
    sent under ``max_tokens_field`` (see module docs: ``"max_tokens"`` for Ollama).
    ``parallel_tool_calls``: sent only with tools. ``tool_choice``: the default for
    calls that name none (``"auto"``, ``"none"``, ``"required"`` or a tool name); a
    per-call ``tool_choice`` (the session's, for instance) wins. Raises
    :class:`ConfigurationError` for a value out of range.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    parallel_tool_calls: bool | None = None
    tool_choice: ToolChoice | None = None

    def __post_init__(self) -> None:
        temperature = self.temperature
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not (math.isfinite(temperature) and 0 <= temperature <= 2)
        ):
            raise ConfigurationError("temperature must be a number from 0 to 2, or None")
        cap = self.max_tokens
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigurationError("max_tokens must be an int >= 1, or None for no cap")
        if self.max_tokens_field not in ("max_completion_tokens", "max_tokens"):
            raise ConfigurationError(
                'max_tokens_field must be "max_completion_tokens" (OpenAI, vLLM, llama.cpp) '
                'or "max_tokens" (Ollama, older servers)'
            )
        if self.parallel_tool_calls is not None and not isinstance(self.parallel_tool_calls, bool):
            raise ConfigurationError("parallel_tool_calls must be True, False or None")
        choice = self.tool_choice
        if choice is not None and (not isinstance(choice, str) or not _TOOL_NAME.match(choice)):
            raise ConfigurationError(
                'tool_choice must be "auto", "none", "required", a tool name '
                "(letters, digits, _ or -, up to 64), or None"
            )

    def settings(self) -> dict[str, Any]:
        """The request fields these options set (besides the tool ones)."""
        fields: dict[str, Any] = {}
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        if self.max_tokens is not None:
            fields[self.max_tokens_field] = self.max_tokens
        return fields


class OpenAILLM:
    """An :class:`~trioagents.core.LLM` for OpenAI-compatible servers.

    ``options``: temperature, output cap, parallel tool calls and the default
    ``tool_choice`` (:class:`OpenAIChatOptions`). ``extra_body`` keys are sent as
    given, for anything else the server takes; a key that ``options`` already sets
    is a :class:`ConfigurationError` (one place per setting).
    """

    def __init__(
        self,
        model: str,
        *,
        connection: OpenAIConnection | None = None,
        client: httpx.AsyncClient | None = None,
        options: OpenAIChatOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        self._options = options or OpenAIChatOptions()
        self._settings = self._options.settings()
        self._extra = dict(extra_body or {})
        twice = sorted(_owned_fields(self._options) & set(self._extra))
        if twice:
            raise ConfigurationError(
                f"{', '.join(twice)} given in both options and extra_body; keep one (options)"
            )
        self._model = model
        self._connection = connection or OpenAIConnection()
        self._client = client
        self._label = label or f"openai-llm:{model}"

    @property
    def label(self) -> str:
        return self._label

    @property
    def options(self) -> OpenAIChatOptions:
        return self._options

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        """Open one streamed completion; the response is closed when the block exits.

        ``tool_choice`` None: the options' default, else ``"auto"``.
        """
        if tool_choice is None:
            tool_choice = self._options.tool_choice or "auto"
        body = chat_request_body(
            chat_ctx,
            model=self._model,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=self._options.parallel_tool_calls,
            settings=self._settings,
            extra=self._extra,
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


def _owned_fields(options: OpenAIChatOptions) -> set[str]:
    """Body keys ``options`` decides (both cap spellings: a server may read either)."""
    owned = set()
    if options.temperature is not None:
        owned.add("temperature")
    if options.max_tokens is not None:
        owned |= {"max_completion_tokens", "max_tokens"}
    if options.parallel_tool_calls is not None:
        owned.add("parallel_tool_calls")
    if options.tool_choice is not None:
        owned.add("tool_choice")
    return owned


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
