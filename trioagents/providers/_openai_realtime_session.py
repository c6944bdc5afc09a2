"""One OpenAI Realtime connection: a reader task, routed events, sends under one lock.

:class:`OpenAIRealtimeSession` is the :class:`~trioagents.core.RealtimeSession` of
:class:`~._openai_realtime.RealtimeModel`. Its one task, :meth:`serve_reader`
(started by the model's ``session()`` block), reads every server event and routes
it: speech, commits and user transcripts to :meth:`input_events` (an unbounded
channel: these events are few and small), the events of the reply in progress to
that :class:`OpenAIRealtimeResponse`, conversation bookkeeping (``known_items``,
``known_calls``) to itself. Sends go through the websocket client's send lock.

Failures, as the websocket providers map them (:mod:`._ws_connect`):

=======================================  ==========================================
what happened                            what fails, with
=======================================  ==========================================
closed or reset mid-session              the connection: ProviderConnectionError
                                         (retryable)
no server event for ``idle_timeout`` s   the connection: ProviderTimeoutError
while a reply is requested or running    (retryable; a stalled server)
an ``error`` answering our               that reply: ProviderStatusError 400 (not
``response.create`` (or a server_error   retryable) / 500 (retryable)
during a reply)
a malformed event                        the reply in progress: ProviderError, not
                                         retryable (the connection goes on)
``response.done`` with status ``failed`` that reply: ProviderStatusError 500
=======================================  ==========================================

A failed connection fails the reply in progress and ends :meth:`input_events`
with the same error; :meth:`wait_failed` returns it. Other ``error`` events (a
truncate the server refused, a cancel that came too late) are logged by type and
code only. Nothing here logs or raises the server's text, the key, or user
content.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence, Set
from contextlib import asynccontextmanager, suppress

import trio

from ..core import (
    AudioFrame,
    ChatItem,
    ChatMessage,
    ConnectionClosedError,
    FunctionCall,
    FunctionCallOutput,
    InputCommitted,
    InputSpeechStarted,
    InputSpeechStopped,
    InputTranscribed,
    InputTranscriptionFailed,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
    RealtimeInputEvent,
    RemoteProtocolError,
    ToolChoice,
    ToolSpec,
)
from ..protocol import (
    REALTIME_SAMPLE_RATE,
    OpenAIRealtimeOptions,
    OpenAIRealtimeProtocol,
    RealtimeErrorReported,
    RealtimeEvent,
    RealtimeInputCommitted,
    RealtimeInputTranscribed,
    RealtimeInputTranscriptDelta,
    RealtimeInputTranscriptionFailed,
    RealtimeItemAdded,
    RealtimeItemDeleted,
    RealtimeOutputItemAdded,
    RealtimeRateLimitsUpdated,
    RealtimeResponseCreated,
    RealtimeResponseDone,
    RealtimeSessionCreated,
    RealtimeSpeechStarted,
    RealtimeSpeechStopped,
    RealtimeState,
)
from ..transport import WebSocketClient
from ._http import malformed_response
from ._openai_realtime_response import InputEvents, OpenAIRealtimeResponse
from ._websocket_stt import linear16

__all__ = ["OpenAIRealtimeSession"]

_log = logging.getLogger("trioagents.providers.openai_realtime")
_BENIGN = frozenset({"response_cancel_not_active"})  # a cancel that crossed response.done


class OpenAIRealtimeSession:
    """One connection; obtained from ``RealtimeModel.session()`` (see module docs)."""

    def __init__(
        self,
        ws: WebSocketClient,
        options: OpenAIRealtimeOptions,
        *,
        label: str,
        idle_timeout: float | None,
        close_grace: float,
    ) -> None:
        self._ws = ws
        self._label = label
        self._idle_timeout = idle_timeout
        self._close_grace = close_grace
        self._protocol = OpenAIRealtimeProtocol(options)
        self._known_items: set[str] = set()
        self._known_calls: set[str] = set()
        self._input_send, input_recv = trio.open_memory_channel[RealtimeInputEvent](math.inf)
        self._input = InputEvents(input_recv, self)
        self._transcripts: dict[str, str] = {}
        self._response: OpenAIRealtimeResponse | None = None
        self._slot_free = trio.Event()
        self._slot_free.set()
        self._failure: ProviderError | None = None
        self._failed = trio.Event()
        self._awaiting_since: float | None = None  # a reply outstanding, last event at
        self._wait_scope: trio.CancelScope | None = None
        self.rate_limits: tuple[tuple[str, float, float], ...] = ()

    # ------------------------------------------------------------ state
    @property
    def known_items(self) -> Set[str]:
        return self._known_items

    @property
    def known_calls(self) -> Set[str]:
        return self._known_calls

    @property
    def failure(self) -> ProviderError | None:
        return self._failure

    async def wait_failed(self) -> ProviderError:
        await self._failed.wait()
        assert self._failure is not None
        return self._failure

    # ------------------------------------------------------------ setup and close
    async def handshake(
        self, instructions: str, tools: Sequence[ToolSpec], tool_choice: ToolChoice
    ) -> None:
        """Wait for ``session.created``, then configure the session (the caller
        bounds the wait). Raises the connection's ProviderError."""
        while self._protocol.state is RealtimeState.CONNECTING:
            message = await self._receive_or_fail()
            try:
                event = self._protocol.receive(message)
            except RemoteProtocolError as exc:
                raise malformed_response(exc, self._label) from exc
            if isinstance(event, RealtimeErrorReported):
                raise self._reported(event, retryable_default=False)
            if not isinstance(event, RealtimeSessionCreated):
                _log.debug("%s: %s before session.created", self._label, type(event).__name__)
        await self._send(self._protocol.session_update(instructions, tools, tool_choice, full=True))

    def close(self) -> None:
        """The session's block is left: nothing more is routed (synchronous)."""
        self._input_send.close()
        if self._response is not None and not self._response.ended:
            self._response.fail(
                ProviderError(
                    f"{self._label}: session closed", provider=self._label, retryable=True
                )
            )

    # ------------------------------------------------------------ input
    async def push_audio(self, frame: AudioFrame) -> None:
        """Send one frame (mono PCM16 at 24 kHz); dropped once the connection is lost."""
        if await self._usable():
            await self._send(self._protocol.append_audio(linear16(frame, REALTIME_SAMPLE_RATE)))

    async def commit_input(self) -> None:
        if await self._usable():
            await self._send(self._protocol.commit_audio())

    async def clear_input(self) -> None:
        if await self._usable():
            await self._send(self._protocol.clear_audio())

    def input_events(self) -> AsyncIterator[RealtimeInputEvent]:
        return self._input

    # ------------------------------------------------------------ conversation
    async def update(
        self, *, instructions: str, tools: Sequence[ToolSpec], tool_choice: ToolChoice = "auto"
    ) -> None:
        if await self._usable():
            await self._send(self._protocol.session_update(instructions, tools, tool_choice))

    async def add_item(self, item: ChatItem) -> None:
        """Create ``item`` (same id) at the end of the model's conversation."""
        if not await self._usable():
            return
        protocol = self._protocol
        if isinstance(item, ChatMessage):
            role = "system" if item.role in ("system", "developer") else item.role
            message = protocol.create_message(item.id, role, item.content)
        elif isinstance(item, FunctionCall):
            message = protocol.create_function_call(
                item.id, item.call_id, item.name, item.arguments
            )
            self._known_calls.add(item.call_id)
        elif isinstance(item, FunctionCallOutput):
            message = protocol.create_function_call_output(item.id, item.call_id, item.output)
        else:
            await trio.lowlevel.checkpoint()
            return  # a handoff marker: nothing the model reads
        self._known_items.add(item.id)
        await self._send(message)

    async def truncate(self, item_id: str, audio_end: float) -> None:
        """Cut ``item_id`` to its first ``audio_end`` seconds of audio."""
        if await self._usable():
            await self._send(self._protocol.truncate(item_id, round(audio_end * 1000)))

    async def delete_item(self, item_id: str) -> None:
        self._known_items.discard(item_id)
        if await self._usable():
            await self._send(self._protocol.delete_item(item_id))

    # ------------------------------------------------------------ replies
    @asynccontextmanager
    async def respond(
        self, *, instructions: str | None = None, tool_choice: ToolChoice | None = None
    ) -> AsyncIterator[OpenAIRealtimeResponse]:
        """Ask for one reply; leaving the block before it ended cancels it (shielded,
        bounded). Waits for the previous reply to end first. Raises the
        connection's ProviderError if it is lost."""
        await self._slot_free.wait()
        self._raise_if_failed()
        response = OpenAIRealtimeResponse(self._label)
        self._response, self._slot_free = response, trio.Event()
        self._expect_answer()
        try:
            await self._send(
                self._protocol.create_response(instructions=instructions, tool_choice=tool_choice)
            )
            yield response
        finally:
            response.abandoned = True
            if self._failure is None:  # the server still runs it (even a malformed one)
                await self._cancel()

    async def _cancel(self) -> None:
        if self._protocol.state not in (RealtimeState.REQUESTED, RealtimeState.ACTIVE):
            return
        message = self._protocol.cancel_response()
        with trio.CancelScope(shield=True), trio.move_on_after(self._close_grace):
            await self._send(message)

    async def _usable(self) -> bool:
        """False once the connection is lost (the call is then a no-op, a checkpoint)."""
        if self._failure is None:
            return True
        await trio.lowlevel.checkpoint()
        return False

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _expect_answer(self) -> None:
        self._awaiting_since = trio.current_time()
        if self._wait_scope is not None:
            self._wait_scope.deadline = self._stall_deadline()

    def _stall_deadline(self) -> float:
        if self._idle_timeout is None or self._awaiting_since is None:
            return math.inf
        return self._awaiting_since + self._idle_timeout

    # ------------------------------------------------------------ the reader
    async def serve_reader(self) -> None:
        """Read and route every server event until the connection fails or the
        session closes; never raises (failures are reported, see module docs)."""
        while self._failure is None:
            try:
                message = await self._receive_or_fail()
            except ProviderError as exc:
                self._fail(exc)
                return
            try:
                event = self._protocol.receive(message)
            except RemoteProtocolError as exc:
                self._malformed(exc)
                continue
            if self._response is not None and not self._response.ended:
                self._awaiting_since = trio.current_time()  # the server is alive
            self._route(event)

    async def _receive_or_fail(self) -> str | bytes:
        with trio.CancelScope(deadline=self._stall_deadline()) as waiting:
            self._wait_scope = waiting
            try:
                return await self._ws.receive_message()
            except ConnectionClosedError as exc:
                self._protocol.connection_closed()
                raise _closed(exc, self._label) from exc
            finally:
                self._wait_scope = None
        raise ProviderTimeoutError(
            f"{self._label}: no event for {self._idle_timeout}s during a reply (stalled)",
            provider=self._label,
        )

    def _fail(self, error: ProviderError) -> None:
        self._failure = error
        if self._response is not None:
            self._response.fail(error)
        self._slot_free.set()
        self._input_send.close()
        self._failed.set()

    def _malformed(self, exc: RemoteProtocolError) -> None:
        error = malformed_response(exc, self._label)
        if self._response is not None and not self._response.ended:
            self._response.fail(error)
        else:
            _log.warning("%s: malformed event ignored", self._label)

    def _route(self, event: RealtimeEvent) -> None:
        if self._route_input(event) or self._route_conversation(event):
            return
        response = self._response
        if isinstance(event, RealtimeResponseCreated):
            if response is not None and response.response_id is None:
                response.response_id = event.response_id
        elif isinstance(event, RealtimeResponseDone):
            if response is not None and response.response_id in (None, event.response_id):
                response.deliver(event)
                self._response, self._awaiting_since = None, None
                self._slot_free.set()
        elif isinstance(event, RealtimeErrorReported):
            self._error_event(event)
        elif isinstance(event, RealtimeRateLimitsUpdated):
            self.rate_limits = event.limits
        elif response is not None and getattr(event, "response_id", None) in (
            response.response_id,
            "",
        ):
            response.deliver(event)

    def _route_input(self, event: RealtimeEvent) -> bool:
        routed: RealtimeInputEvent
        if isinstance(event, RealtimeSpeechStarted):
            routed = InputSpeechStarted(event.audio_start_ms / 1000)
        elif isinstance(event, RealtimeSpeechStopped):
            routed = InputSpeechStopped(event.audio_end_ms / 1000)
        elif isinstance(event, RealtimeInputCommitted):
            self._known_items.add(event.item_id)
            routed = InputCommitted(event.item_id)
        elif isinstance(event, RealtimeInputTranscriptDelta):
            text = self._transcripts.get(event.item_id, "") + event.delta
            self._transcripts[event.item_id] = text
            routed = InputTranscribed(event.item_id, text, final=False)
        elif isinstance(event, RealtimeInputTranscribed):
            self._transcripts.pop(event.item_id, None)
            routed = InputTranscribed(event.item_id, event.transcript, final=True)
        elif isinstance(event, RealtimeInputTranscriptionFailed):
            self._transcripts.pop(event.item_id, None)
            routed = InputTranscriptionFailed(event.item_id)
        else:
            return False
        with suppress(trio.ClosedResourceError):  # the session is closing: nobody listens
            self._input_send.send_nowait(routed)
        return True

    def _route_conversation(self, event: RealtimeEvent) -> bool:
        if isinstance(event, RealtimeItemAdded | RealtimeOutputItemAdded):
            self._known_items.add(event.item_id)
            if event.call_id is not None:
                self._known_calls.add(event.call_id)
            if isinstance(event, RealtimeOutputItemAdded) and self._response is not None:
                self._response.deliver(event)
            return True
        if isinstance(event, RealtimeItemDeleted):
            self._known_items.discard(event.item_id)
            return True
        return False

    def _error_event(self, event: RealtimeErrorReported) -> None:
        caused_by = self._protocol.caused_by(event)
        response = self._response
        answers_reply = caused_by == "response.create" or (
            caused_by is None and event.type == "server_error"
        )
        if response is not None and not response.ended and answers_reply:
            response.fail(self._reported(event, retryable_default=event.type == "server_error"))
            if caused_by == "response.create":  # no response.done will come
                self._response, self._awaiting_since = None, None
                self._slot_free.set()
            return
        level = logging.DEBUG if event.code in _BENIGN else logging.WARNING
        _log.log(
            level, "%s: error event %s/%s (%s)", self._label, event.type, event.code, caused_by
        )

    def _reported(self, event: RealtimeErrorReported, *, retryable_default: bool) -> ProviderError:
        status = 500 if event.type == "server_error" or retryable_default else 400
        return ProviderStatusError(
            f"{self._label}: error event ({event.type}, {event.code})",
            provider=self._label,
            status=status,
            body=event.body,
        )

    async def _send(self, message: str) -> None:
        """Send one event; a lost connection is reported by the reader, not here.

        Callers build the event only while the connection is up (:meth:`_usable`)."""
        with suppress(ConnectionClosedError):
            await self._ws.send_text(message)


def _closed(exc: ConnectionClosedError, provider: str) -> ProviderError:
    """The socket closed under us: retryable; the server's reason kept in ``body``."""
    return ProviderConnectionError(
        f"{provider}: websocket closed mid-stream (close code {exc.code})",
        provider=provider,
        body={"code": exc.code, "reason": exc.reason},
    )
