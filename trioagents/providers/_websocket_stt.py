"""What the websocket STTs share: the mapped connect, the audio encoding, the reading loop.

:class:`~._deepgram_stt.DeepgramSTT` and
:class:`~._realtime_transcription_stt.OpenAIRealtimeSTT` differ in their wire
protocols, not in how a stream lives, so that part is written once here:

* :func:`~._ws_connect.open_provider_websocket` (shared with the websocket TTSs)
  owns the socket for an ``async with`` block. A refused connection or upgrade
  becomes a :class:`~trioagents.core.ProviderError` (the upgrade's status, body and
  ``Retry-After``), a connect plus upgrade longer than ``connect_timeout`` a
  ``ProviderTimeoutError``; errors raised inside the block pass through unchanged.
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

import numpy as np
import trio

from ..core import (
    AudioFrame,
    ConnectionClosedError,
    ProviderTimeoutError,
    SpeechEvent,
    SpeechEventType,
)
from ..transport import WebSocketClient
from ._buffered_stream import BufferedStream
from ._optional import mono_at

__all__ = ["SpeechBracket", "WebSocketSTTStream", "linear16"]

_log = logging.getLogger("trioagents.providers.websocket_stt")


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


class WebSocketSTTStream(BufferedStream[SpeechEvent]):
    """The reading half of one websocket STT stream (see the module docs).

    Subclasses turn one message into events (:meth:`_received`, appending to
    ``_ready``, raising ProviderError) and say what a closed socket means
    (:meth:`_closed`); they send through :meth:`_send`.
    """

    def __init__(self, ws: WebSocketClient, label: str, idle_timeout: float | None) -> None:
        super().__init__(idle_timeout)
        self._ws = ws
        self._label = label
        self._gone = False  # the socket failed on a send; the reader reports why
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
