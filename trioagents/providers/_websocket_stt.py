"""What the websocket STTs share: the mapped connect, the audio encoding, the reading loop.

:class:`~._deepgram_stt.DeepgramSTT` and
:class:`~._realtime_transcription_stt.OpenAIRealtimeSTT` differ in their wire
protocols, not in how a stream lives, so that part is written once here:

* :func:`open_stt_websocket` owns the socket for an ``async with`` block. A refused
  connection or upgrade becomes a :class:`~trioagents.core.ProviderError`
  (:func:`connect_error`: the upgrade's status, body and ``Retry-After``), a connect
  plus upgrade longer than ``connect_timeout`` a ``ProviderTimeoutError``; errors
  raised inside the block pass through unchanged.
* :class:`WebSocketSTTStream` is the reading half of one stream. Events are made
  in ``__anext__``, one server message at a time, in the consumer's task: the stream
  starts no reader of its own (trio-websocket's reader is the connection's one task).
  A send that finds the socket gone marks the stream ``gone`` and returns: the
  iterator then raises the reason, once, so a feeder task and a reader never raise
  the same loss twice (an exception group). Stall detection is a deadline on the
  read: ``idle_timeout`` seconds from the first send that is *owed* an answer and
  not yet answered (:meth:`~WebSocketSTTStream._expect_answer`); sends that expect
  nothing (Deepgram's ``KeepAlive``) never start it, so a quiet stream never stalls.
* :func:`linear16` is the audio both protocols take: mono s16le at their rate.
* :class:`SpeechBracket` keeps one ``START_OF_SPEECH`` / ``END_OF_SPEECH`` pair per
  utterance, whichever provider signal comes first.

Rejected alternative: one generic provider class parameterised by a protocol
object. The two protocols close, flush and keep alive differently (Deepgram's
``CloseStream`` handshake, OpenAI's commit barrier); a shared base for reading plus
two small subclasses keeps each protocol's rules readable in one place.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import numpy as np
import trio

from ..core import (
    AudioFrame,
    ConnectError,
    ConnectionClosedError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
    SpeechEvent,
    SpeechEventType,
)
from ..protocol import parse_error_body, retry_after_seconds
from ..transport import WebSocketClient, open_websocket_client
from ._optional import mono_at

__all__ = [
    "SpeechBracket",
    "WebSocketSTTStream",
    "connect_error",
    "linear16",
    "open_stt_websocket",
]

_log = logging.getLogger("trioagents.providers.websocket_stt")


def connect_error(exc: ConnectError, provider: str) -> ProviderError:
    """A connect or upgrade failure; the caller raises it ``from exc``.

    The HTTP family's policy: a refused upgrade is a :class:`ProviderStatusError` of
    its status (401/403/400 final, 408/429/5xx retryable with ``Retry-After``); no
    connection at all is a retryable :class:`ProviderConnectionError`.
    """
    if exc.status is None:
        return ProviderConnectionError(f"{provider}: could not connect", provider=provider)
    return ProviderStatusError(
        f"{provider}: websocket upgrade refused (HTTP {exc.status})",
        provider=provider,
        status=exc.status,
        body=parse_error_body(exc.body or b""),
        retry_after=retry_after_seconds(dict(exc.headers)),
    )


@asynccontextmanager
async def open_stt_websocket(
    url: str,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    connect_timeout: float | None,
    close_grace: float,
    label: str,
) -> AsyncIterator[WebSocketClient]:
    """The websocket for the block, with connect failures mapped (see module docs).

    Leaving the block runs the close handshake (shielded, bounded by
    ``close_grace``), or just drops the socket when the block was cancelled.
    """
    connected = False
    deadline = math.inf if connect_timeout is None else trio.current_time() + connect_timeout
    with trio.CancelScope(deadline=deadline) as connecting:
        try:
            async with open_websocket_client(
                url, extra_headers=headers, close_grace=close_grace
            ) as ws:
                connected = True
                connecting.deadline = math.inf
                _log.debug("%s: stream open", label)
                yield ws
        except ConnectError as exc:
            if connected:
                raise
            raise connect_error(exc, label) from exc
    if connecting.cancelled_caught:
        raise ProviderTimeoutError(f"{label}: connect timed out", provider=label)


def linear16(frame: AudioFrame, sample_rate: int) -> bytes:
    """``frame`` as mono signed 16-bit little-endian PCM at ``sample_rate``.

    A mono frame at that rate is sent as is; otherwise the channels are averaged
    and resampled linearly (:func:`mono_at`), scaled so a constant level survives.
    """
    if frame.sample_rate == sample_rate and frame.num_channels == 1:
        return frame.to_bytes()
    mono = mono_at(frame, sample_rate).astype(np.float64) * 32768.0
    return np.clip(np.round(mono), -32768, 32767).astype("<i2").tobytes()


class SpeechBracket:
    """Whether the user is speaking: ``start``/``end`` return the one event that
    changes it, or nothing when it is already so."""

    __slots__ = ("speaking",)

    def __init__(self) -> None:
        self.speaking = False

    def start(self, now: float) -> list[SpeechEvent]:
        if self.speaking:
            return []
        self.speaking = True
        return [SpeechEvent(SpeechEventType.START_OF_SPEECH, timestamp=now)]

    def end(self, now: float) -> list[SpeechEvent]:
        if not self.speaking:
            return []
        self.speaking = False
        return [SpeechEvent(SpeechEventType.END_OF_SPEECH, timestamp=now)]


class WebSocketSTTStream:
    """The reading half of one websocket STT stream (see the module docs).

    Subclasses turn one message into events (:meth:`_received`, appending to
    ``_ready``, raising ProviderError) and say what a closed socket means
    (:meth:`_closed`); they send through :meth:`_send`.
    """

    def __init__(self, ws: WebSocketClient, label: str, idle_timeout: float | None) -> None:
        self._ws = ws
        self._label = label
        self._idle_timeout = idle_timeout
        self._ready: deque[SpeechEvent] = deque()
        self._error: ProviderError | None = None
        self._finished = False
        self._gone = False  # the socket failed on a send; the reader reports why
        self._awaiting_since: float | None = None  # first send still owed an answer
        self._wait_scope: trio.CancelScope | None = None
        self._last_sent_at = trio.current_time()

    # ------------------------------------------------------------ sending
    async def _send(self, data: bytes | str, *, answered: bool) -> None:
        """Send one message (a checkpoint); never raises for a lost socket."""
        if self._gone:
            await trio.lowlevel.checkpoint()
            return
        try:
            if isinstance(data, bytes):
                await self._ws.send(data)
            else:
                await self._ws.send_text(data)
        except ConnectionClosedError:
            self._gone = True
            return
        self._last_sent_at = trio.current_time()
        if answered:
            self._expect_answer()

    def _expect_answer(self) -> None:
        """Something sent is owed an answer: start the stall clock if it is not running."""
        if self._awaiting_since is None:
            self._awaiting_since = trio.current_time()
            if self._wait_scope is not None:
                self._wait_scope.deadline = self._stall_deadline()

    def _discard(self) -> None:
        """Leaving the block: nothing comes out of the iterator any more."""
        self._finished = True
        self._ready.clear()

    # ------------------------------------------------------------ reading
    def __aiter__(self) -> WebSocketSTTStream:
        return self

    async def __anext__(self) -> SpeechEvent:
        """The next event (a checkpoint); raises ProviderError, again on every call
        once the stream failed."""
        while not self._ready:
            if self._finished:
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            try:
                await self._read_one()
            except ProviderError as exc:
                self._error = exc
                raise
        await trio.lowlevel.checkpoint()
        return self._ready.popleft()

    def _stall_deadline(self) -> float:
        if self._idle_timeout is None or self._awaiting_since is None:
            return math.inf
        return self._awaiting_since + self._idle_timeout

    async def _read_one(self) -> None:
        with trio.CancelScope(deadline=self._stall_deadline()) as waiting:
            self._wait_scope = waiting
            try:
                message = await self._ws.receive_message()
            except ConnectionClosedError as exc:
                self._gone = True
                self._closed(exc)
                return
            finally:
                self._wait_scope = None
        if waiting.cancelled_caught:
            raise ProviderTimeoutError(
                f"{self._label}: no message for {self._idle_timeout}s (stalled)",
                provider=self._label,
            )
        self._awaiting_since = None
        self._received(message)

    def _received(self, message: str | bytes) -> None:
        """Handle one server message (append to ``_ready``; raise ProviderError)."""
        raise NotImplementedError

    def _closed(self, exc: ConnectionClosedError) -> None:
        """The socket closed: finish (``_finished``) or raise ProviderError ``from exc``."""
        raise NotImplementedError
