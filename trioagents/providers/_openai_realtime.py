"""RealtimeModel: OpenAI's Realtime API (speech to speech) as a session's ``llm``.

``AgentSession(llm=RealtimeModel(voice="marin"))``, as LiveKit's
``openai.realtime.RealtimeModel``. Each ``async with model.session(...)`` opens one
``/v1/realtime`` websocket (the wire format is :mod:`trioagents.protocol._openai_realtime`),
waits for ``session.created`` and configures the session (instructions, tools,
PCM16 at 24 kHz both ways, turn detection, input transcription); the block's one
task reads the server (:mod:`._openai_realtime_session`). Leaving the block closes
the socket (a bounded close handshake).

Where and how: an :class:`~._http.OpenAIConnection` (``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` read at construction; ``https://host/v1`` becomes
``wss://host/v1/realtime?model=...``). The key travels only in the
``Authorization: Bearer`` header (or the connection's ``api_key_header``): never in
the URL, a message, a log record or an error. ``connect_timeout`` bounds the
connect, the upgrade and the wait for ``session.created``; ``idle_timeout`` is the
longest silence of the server while a reply is requested or running.

Connect failures are those of the websocket providers (:mod:`._ws_connect`):
401/403 refused upgrades are not retryable, 408/429/5xx are (with the server's
``Retry-After``), a refused or timed-out connect is a retryable
:class:`~trioagents.ProviderConnectionError`. What fails later is in the session's
module docs. The session does not reconnect by itself: the voice layer opens a new
one and restores the conversation (``docs/design.md``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

import trio

from ..core import (
    ConfigurationError,
    ProviderTimeoutError,
    ToolChoice,
    ToolSpec,
    collapse_single_error,
)
from ..protocol import OpenAIRealtimeOptions, RealtimeTurnDetection, realtime_url
from ._http import OpenAIConnection
from ._openai_realtime_session import OpenAIRealtimeSession
from ._ws_connect import open_provider_websocket

__all__ = ["RealtimeModel"]

_CLOSE_GRACE = 2.0


class _Unset:
    pass


_UNSET: Final = _Unset()


class RealtimeModel:
    """A :class:`~trioagents.core.RealtimeLLM` over the OpenAI Realtime API.

    ``options`` holds every setting (:class:`~trioagents.protocol.OpenAIRealtimeOptions`);
    ``voice``, ``model`` and ``turn_detection`` override it, LiveKit-style
    (``turn_detection=None``: the session's own VAD and turn detector decide, see
    ``docs/providers.md``). Raises ConfigurationError for a base URL that cannot
    be a websocket URL, and (from :class:`OpenAIConnection`) for api.openai.com
    without a key.
    """

    def __init__(
        self,
        options: OpenAIRealtimeOptions | None = None,
        *,
        voice: str | None = None,
        model: str | None = None,
        turn_detection: RealtimeTurnDetection | _Unset | None = _UNSET,
        connection: OpenAIConnection | None = None,
        label: str | None = None,
    ) -> None:
        options = options or OpenAIRealtimeOptions()
        changes: dict[str, object] = {}
        if voice is not None:
            changes["voice"] = voice
        if model is not None:
            changes["model"] = model
        if not isinstance(turn_detection, _Unset):
            changes["turn_detection"] = turn_detection
        self.options = dataclasses.replace(options, **changes)  # type: ignore[arg-type]
        self.connection = connection or OpenAIConnection()
        self._url = realtime_url(self.options, self.connection.base_url, self.connection.query)
        self._label = label or f"openai-realtime/{self.options.model}"

    @property
    def label(self) -> str:
        return self._label

    @property
    def server_turn_detection(self) -> bool:
        return self.options.turn_detection is not None

    @property
    def transcribes_input(self) -> bool:
        return self.options.input_transcription_model is not None

    def _headers(self) -> list[tuple[bytes, bytes]]:
        pairs = [*self.connection.request_headers().items(), *self.options.headers()]
        try:
            return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
        except UnicodeEncodeError:
            raise ConfigurationError("header names and values must be latin-1 text") from None

    @asynccontextmanager
    async def session(
        self,
        *,
        instructions: str,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[OpenAIRealtimeSession]:
        """One connection for the block, configured; raises ProviderError (module docs)."""
        connection = self.connection
        with collapse_single_error():
            async with (
                open_provider_websocket(
                    self._url,
                    self._headers(),
                    label=self._label,
                    connect_timeout=connection.connect_timeout,
                    close_grace=_CLOSE_GRACE,
                ) as ws,
                trio.open_nursery() as nursery,
            ):
                session = OpenAIRealtimeSession(
                    ws,
                    self.options,
                    label=self._label,
                    idle_timeout=connection.idle_timeout,
                    close_grace=_CLOSE_GRACE,
                )
                await self._handshake(session, instructions, tools, tool_choice)
                nursery.start_soon(session.serve_reader)
                try:
                    yield session
                finally:
                    session.close()
                    nursery.cancel_scope.cancel()

    async def _handshake(
        self,
        session: OpenAIRealtimeSession,
        instructions: str,
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
    ) -> None:
        timeout = self.connection.connect_timeout
        with trio.move_on_after(math.inf if timeout is None else timeout) as waiting:
            await session.handshake(instructions, tools, tool_choice)
        if waiting.cancelled_caught:
            raise ProviderTimeoutError(
                f"{self._label}: no session.created within {timeout}s", provider=self._label
            )
