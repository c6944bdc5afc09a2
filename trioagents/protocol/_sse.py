"""Server-sent events (``text/event-stream``) decoding, sans-I/O.

:class:`SSEDecoder` takes bytes in any split (whole body, one byte at a time,
anything between) and returns the complete events they finish. Feeding the same
bytes in any split yields the same events: the decoder holds an unfinished line
(including a trailing ``\\r`` that may be the first half of ``\\r\\n``) until the
next call, and an unfinished event until its blank line.

It follows the WHATWG event-stream rules: lines end at CRLF, LF or CR; a line
starting with ``:`` is a comment; ``field: value`` strips one space after the
colon; ``data`` lines are joined with ``\\n``; an event is dispatched at a blank
line only if it had a ``data`` field; unknown fields are ignored; ``retry`` must
be all digits. At end of stream an unfinished event is discarded (the spec's
rule), which is why :attr:`SSEDecoder.pending` exists: callers that need to
tell truncation from a clean end can ask whether bytes were left over.

What the spec tolerates but we refuse with
:class:`~trioagents.core.RemoteProtocolError` (the stream is then unusable):
invalid UTF-8, a NUL byte, a line longer than ``max_line_bytes`` (1 MiB; a peer
that never sends a newline must not grow our buffer without bound) and an event
whose ``data`` lines add up to more than ``max_event_bytes`` (4 MiB; a peer that
sends ``data:`` lines and never the blank line that ends the event must not
either). Both limits are checked per line, so the outcome never depends on how
the bytes were split.

Rejected alternative: decoding with ``str.splitlines`` on a decoded buffer. It
also splits at ``\\x0b``, ``\\x1c``, ``\\u2028`` and friends, which the spec does
not, and it cannot hold a lone ``\\r`` across feeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import RemoteProtocolError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_DEFAULT_MAX_LINE = 1 << 20
_DEFAULT_MAX_EVENT = 4 << 20


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. ``retry`` is the reconnection hint in milliseconds."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental event-stream decoder; one per response body."""

    __slots__ = (
        "_buffer",
        "_data",
        "_data_bytes",
        "_event",
        "_has_data",
        "_id",
        "_max_event",
        "_max_line",
        "_retry",
    )

    def __init__(
        self, *, max_line_bytes: int = _DEFAULT_MAX_LINE, max_event_bytes: int = _DEFAULT_MAX_EVENT
    ) -> None:
        self._buffer = bytearray()
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        self._data: list[str] = []
        self._data_bytes = 0
        self._has_data = False
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    @property
    def pending(self) -> bool:
        """True when bytes or fields of an unfinished event are held."""
        return bool(self._buffer) or self._has_data or bool(self._event)

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Add bytes; return the events they complete.

        Raises :class:`RemoteProtocolError` on invalid UTF-8, NUL, an overlong line
        or an oversized event.
        """
        self._buffer += data
        events: list[ServerSentEvent] = []
        start = 0
        try:
            while True:
                found = self._next_line(start)
                if found is None:
                    break
                line, start = found
                event = self._process_line(line)
                if event is not None:
                    events.append(event)
        finally:
            del self._buffer[:start]  # one compaction per feed keeps big feeds linear
        held = len(self._buffer) - self._buffer.endswith(b"\r")  # a held \r ends the line
        if held > self._max_line:
            raise self._line_too_long(bytes(self._buffer[:64]))
        return events

    def end_of_stream(self) -> list[ServerSentEvent]:
        """The body ended. A final line without terminator is processed; an event
        without its blank line is discarded (check :attr:`pending` first to detect it).
        """
        events: list[ServerSentEvent] = []
        if self._buffer:
            line = bytes(self._buffer.rstrip(b"\r"))
            self._buffer.clear()
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        self._reset_event()
        return events

    def _next_line(self, start: int) -> tuple[bytes, int] | None:
        """The line beginning at ``start`` and where the next one begins, or None."""
        buffer = self._buffer
        newline = buffer.find(b"\n", start)
        carriage = buffer.find(b"\r", start, newline if newline >= 0 else len(buffer))
        if carriage < 0:
            if newline < 0:
                return None
            return bytes(buffer[start:newline]), newline + 1
        if carriage + 1 == len(buffer):
            return None  # wait: a \n may arrive with the next feed
        skip = 2 if buffer[carriage + 1] == 0x0A else 1
        return bytes(buffer[start:carriage]), carriage + skip

    def _line_too_long(self, head: bytes) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"event-stream line longer than {self._max_line} bytes", payload=head
        )

    def _process_line(self, raw: bytes) -> ServerSentEvent | None:
        if len(raw) > self._max_line:
            raise self._line_too_long(raw[:64])
        if b"\x00" in raw:
            raise RemoteProtocolError("NUL byte in event stream", payload=raw[:64])
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RemoteProtocolError("invalid UTF-8 in event stream", payload=raw[:64]) from exc
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data_bytes += len(raw)
            if self._data_bytes > self._max_event:
                raise RemoteProtocolError(
                    f"event-stream event larger than {self._max_event} bytes", payload=raw[:64]
                )
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_data:
            self._reset_event()
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._data = []
        self._data_bytes = 0
        self._has_data = False
        self._event = ""
