"""The room's data-stream methods (text and byte streams), mixed into ``Room``.

Kept apart from ``_room.py`` so the room module stays about joining, media and
the supervisor. Everything here goes through the room's :class:`~._data_plane.DataPlane`:
sends wait while the room rejoins and raise ``RoomClosedError`` once it is over;
handlers run in the room's nursery and end with it.

Closing a stream sends its trailer shielded and bounded (``_TRAILER_GRACE``), so a
cancelled writer still ends the stream for its readers. A byte stream left by an
exception is closed with an abort reason (its readers see ``aborted``): a partial
file must not look complete. Text streams keep a normal trailer (a partial
transcript is still what was said).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import trio

from ._byte_streams import DEFAULT_BYTE_MIME_TYPE, ByteStreamHandler, ByteStreamWriter
from ._data_plane import DataPlane
from ._text_streams import TextStreamHandler, TextStreamReader, TextStreamWriter

__all__ = ["RoomStreams"]

_TRAILER_GRACE = 1.0  # seconds to send a stream's trailer when its block is left


class RoomStreams:
    """Text and byte streams: handlers per topic, writers as context managers."""

    _data: DataPlane

    def register_text_stream_handler(self, topic: str, handler: TextStreamHandler) -> None:
        self._data.streams.register(topic, handler)

    def unregister_text_stream_handler(self, topic: str) -> None:
        self._data.streams.unregister(topic)

    @asynccontextmanager
    async def text_streams(
        self, topic: str, *, max_pending: int = 64
    ) -> AsyncIterator[trio.MemoryReceiveChannel[TextStreamReader]]:
        """The text streams on ``topic``, in the order their senders opened them.

        Use this instead of a handler when order matters (chat lines, commands):
        handler tasks started together run in no fixed order. Up to ``max_pending``
        streams wait for the iterating task; beyond that a new stream is dropped
        (``Room.statistics().dropped_streams``) rather than stalling the room.
        Only one handler or queue per topic: a second raises ``ValueError``.
        """
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        send, receive = trio.open_memory_channel[TextStreamReader](max_pending)
        self._data.streams.register_queue(topic, send)
        try:
            async with receive:
                yield receive
        finally:
            self._data.streams.unregister_queue(topic)
            send.close()

    def register_byte_stream_handler(self, topic: str, handler: ByteStreamHandler) -> None:
        """``handler(reader)`` runs in the room's nursery for each byte stream on ``topic``."""
        self._data.streams.register_bytes(topic, handler)

    def unregister_byte_stream_handler(self, topic: str) -> None:
        self._data.streams.unregister_bytes(topic)

    @asynccontextmanager
    async def open_text_stream(
        self,
        topic: str,
        *,
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] = (),
        sender_identity: str = "",
    ) -> AsyncIterator[TextStreamWriter]:
        """A text stream; the trailer is sent on exit (shielded, bounded, 1 s).

        ``sender_identity``: publish on someone's behalf (an agent sending a user's
        transcript); LiveKit servers honour it for agents only. Empty: ourselves.
        """
        writer = TextStreamWriter(
            self._data.send_packet, topic, destination_identities, sender_identity=sender_identity
        )
        await writer.open(attributes or {})
        try:
            yield writer
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(_TRAILER_GRACE):
                await writer.aclose()

    async def send_text(
        self,
        text: str,
        *,
        topic: str,
        attributes: Mapping[str, str] | None = None,
        sender_identity: str = "",
    ) -> None:
        async with self.open_text_stream(
            topic, attributes=attributes, sender_identity=sender_identity
        ) as writer:
            await writer.write(text)

    @asynccontextmanager
    async def open_byte_stream(
        self,
        topic: str,
        *,
        name: str = "",
        mime_type: str = DEFAULT_BYTE_MIME_TYPE,
        total_length: int | None = None,
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] = (),
    ) -> AsyncIterator[ByteStreamWriter]:
        """A byte stream; the header is sent before the block, the trailer after it.

        Leaving by an exception (cancellation included) sends an aborting trailer;
        either trailer is shielded and bounded (1 s).
        """
        writer = ByteStreamWriter(
            self._data.send_packet, topic, destination_identities, name=name, mime_type=mime_type
        )
        await writer.open(attributes or {}, total_length)
        reason = "aborted"
        try:
            yield writer
            reason = ""
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(_TRAILER_GRACE):
                await writer.aclose(reason=reason)

    async def send_bytes(
        self,
        data: bytes,
        *,
        topic: str,
        name: str = "",
        mime_type: str = DEFAULT_BYTE_MIME_TYPE,
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] = (),
    ) -> None:
        """Send ``data`` as one byte stream (header, 15 000-byte chunks, trailer)."""
        async with self.open_byte_stream(
            topic,
            name=name,
            mime_type=mime_type,
            total_length=len(data),
            attributes=attributes,
            destination_identities=destination_identities,
        ) as writer:
            await writer.write(data)
