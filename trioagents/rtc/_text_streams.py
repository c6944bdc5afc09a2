"""Text streams (LiveKit data streams): header, chunks, trailer, all reliable.

Sending: :class:`TextStreamWriter` (from ``room.open_text_stream``) sends the
header when opened, one chunk packet per :meth:`~TextStreamWriter.write` (split
into ≤ 15 000-byte pieces on UTF-8 boundaries), and the trailer on close, whose
attributes are merged into the header's (how ``lk.transcription_final`` is set).

Receiving: a handler registered per topic is started in the room's nursery with a
:class:`TextStreamReader` when a header arrives; chunks are fed to it in order.
Readers are bounded (``_READER_BUFFER`` chunks); a reader that does not keep up
has its stream aborted (``reader.aborted``) rather than stalling the room.
Streams for topics without a handler are dropped (counted).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import trio
from livekit.protocol import models

__all__ = ["TextStreamInfo", "TextStreamReader", "TextStreamWriter", "TextStreams"]

CHUNK_BYTES = 15_000
_READER_BUFFER = 256

SendPacket = Callable[[models.DataPacket], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TextStreamInfo:
    stream_id: str
    topic: str
    sender_identity: str
    attributes: Mapping[str, str] = field(default_factory=dict)


class TextStreamReader:
    """Async iterator of text chunks; :meth:`read_all` joins them."""

    def __init__(self, info: TextStreamInfo) -> None:
        self.info = info
        self.aborted = False
        self.final_attributes: dict[str, str] = dict(info.attributes)
        self._send, self._receive = trio.open_memory_channel[str](_READER_BUFFER)

    def __aiter__(self) -> TextStreamReader:
        return self

    async def __anext__(self) -> str:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def read_all(self) -> str:
        return "".join([chunk async for chunk in self])

    def feed(self, text: str) -> bool:
        """Router side: queue a chunk; False (stream aborted) when the reader lags."""
        try:
            self._send.send_nowait(text)
        except trio.WouldBlock:
            self.finish(aborted=True)
            return False
        except trio.ClosedResourceError:
            return False
        return True

    def finish(self, attributes: Mapping[str, str] | None = None, *, aborted: bool = False) -> None:
        """Router side: the trailer arrived (attributes merged), or the stream was cut."""
        self.final_attributes.update(attributes or {})
        self.aborted = self.aborted or aborted
        self._send.close()


TextStreamHandler = Callable[[TextStreamReader], Awaitable[None]]


def split_utf8(text: str, limit: int = CHUNK_BYTES) -> list[bytes]:
    data = text.encode()
    pieces: list[bytes] = []
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # do not split a code point
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
    pieces.append(data)
    return pieces


class TextStreamWriter:
    """An open outgoing text stream; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, send: SendPacket, topic: str, destinations: Sequence[str]) -> None:
        self.stream_id = str(uuid.uuid4())
        self.topic = topic
        self._send = send
        self._destinations = list(destinations)
        self._index = 0
        self._closed = False

    async def open(self, attributes: Mapping[str, str]) -> None:
        header = models.DataStream.Header(
            stream_id=self.stream_id,
            timestamp=int(trio.current_time() * 1000),
            topic=self.topic,
            mime_type="text/plain",
            attributes=dict(attributes),
            text_header=models.DataStream.TextHeader(operation_type=models.DataStream.CREATE),
        )
        await self._packet(models.DataPacket(stream_header=header))

    async def write(self, text: str) -> None:
        for piece in split_utf8(text):
            chunk = models.DataStream.Chunk(
                stream_id=self.stream_id, chunk_index=self._index, content=piece
            )
            self._index += 1
            await self._packet(models.DataPacket(stream_chunk=chunk))

    async def aclose(self, attributes: Mapping[str, str] | None = None, reason: str = "") -> None:
        """Send the trailer once; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        trailer = models.DataStream.Trailer(
            stream_id=self.stream_id, reason=reason, attributes=dict(attributes or {})
        )
        await self._packet(models.DataPacket(stream_trailer=trailer))

    async def _packet(self, packet: models.DataPacket) -> None:
        packet.destination_identities.extend(self._destinations)
        await self._send(packet)


class TextStreams:
    """Routes incoming stream packets to readers; handlers run in ``nursery``."""

    def __init__(self) -> None:
        self._handlers: dict[str, TextStreamHandler] = {}
        self._readers: dict[str, TextStreamReader] = {}
        self.dropped_streams = 0

    def register(self, topic: str, handler: TextStreamHandler) -> None:
        self._handlers[topic] = handler

    def unregister(self, topic: str) -> None:
        self._handlers.pop(topic, None)

    def on_packet(self, packet: models.DataPacket, nursery: trio.Nursery) -> None:
        kind = packet.WhichOneof("value")
        if kind == "stream_header":
            self._on_header(packet, nursery)
        elif kind == "stream_chunk":
            reader = self._readers.get(packet.stream_chunk.stream_id)
            if reader is not None and not reader.feed(
                packet.stream_chunk.content.decode(errors="replace")
            ):
                self._readers.pop(reader.info.stream_id, None)
        elif kind == "stream_trailer":
            reader = self._readers.pop(packet.stream_trailer.stream_id, None)
            if reader is not None:
                trailer = packet.stream_trailer
                reader.finish(trailer.attributes, aborted=bool(trailer.reason))

    def _on_header(self, packet: models.DataPacket, nursery: trio.Nursery) -> None:
        header = packet.stream_header
        handler = self._handlers.get(header.topic)
        if handler is None or header.WhichOneof("content_header") == "byte_header":
            self.dropped_streams += 1
            return
        info = TextStreamInfo(
            header.stream_id, header.topic, packet.participant_identity, dict(header.attributes)
        )
        reader = TextStreamReader(info)
        if header.HasField("inline_content"):
            reader.feed(header.inline_content.decode(errors="replace"))
            reader.finish()
        else:
            self._readers[header.stream_id] = reader
        nursery.start_soon(handler, reader)

    def close_all(self) -> None:
        for reader in self._readers.values():
            reader.finish(aborted=True)
        self._readers.clear()
