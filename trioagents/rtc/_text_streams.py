"""Text streams (LiveKit data streams): header, chunks, trailer, all reliable.

Sending: :class:`TextStreamWriter` (from ``room.open_text_stream``) sends the
header when opened, one chunk packet per :meth:`~TextStreamWriter.write` (split
into ≤ 15 000-byte pieces on UTF-8 boundaries), and the trailer on close, whose
attributes are merged into the header's (how ``lk.transcription_final`` is set).
A ``sender_identity`` (an agent publishing a user's transcript on their behalf, as
livekit-agents does) goes on every packet of the stream; the server keeps it only
for agents and marks the text ``generated``, otherwise it stamps the sender.

Receiving (routing is :class:`~._stream_router.DataStreams`): a handler
registered per topic is started in the room's nursery with a
:class:`TextStreamReader` when a header arrives; chunks are fed to it in order.
Readers are bounded (``_READER_BUFFER`` chunks); a reader that does not keep up
has its stream aborted (``reader.aborted``) rather than stalling the room.
:class:`StreamReaderBase` is shared with byte streams (``_byte_streams.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio
from livekit.protocol import models

__all__ = [
    "CHUNK_BYTES",
    "SendPacket",
    "StreamReaderBase",
    "StreamWriterBase",
    "TextStreamHandler",
    "TextStreamInfo",
    "TextStreamReader",
    "TextStreamWriter",
    "split_utf8",
]

CHUNK_BYTES = 15_000
_READER_BUFFER = 256

SendPacket = Callable[[models.DataPacket], Awaitable[None]]
ChunkT = TypeVar("ChunkT")  # str for text streams, bytes for byte streams


@dataclass(frozen=True, slots=True)
class TextStreamInfo:
    stream_id: str
    topic: str
    sender_identity: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    generated: bool = False  # an agent published it on the sender's behalf


class StreamReaderBase(Generic[ChunkT]):
    """A bounded queue of one incoming stream's chunks, fed by the router.

    ``__anext__`` is a checkpoint and ends the iteration when the trailer arrived
    (or the stream was aborted: ``aborted``); it never raises otherwise.
    """

    def __init__(self) -> None:
        self.aborted = False
        self.final_attributes: dict[str, str] = {}
        channel: tuple[trio.MemorySendChannel[ChunkT], trio.MemoryReceiveChannel[ChunkT]]
        channel = trio.open_memory_channel(_READER_BUFFER)
        self._send, self._receive = channel

    def __aiter__(self) -> StreamReaderBase[ChunkT]:
        return self

    async def __anext__(self) -> ChunkT:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    def decode(self, content: bytes) -> ChunkT:
        """Router side: one chunk packet's content as this stream's chunk type."""
        raise NotImplementedError

    def feed_content(self, content: bytes) -> bool:
        """Router side: :meth:`feed` one chunk packet's content."""
        return self.feed(self.decode(content))

    def feed(self, chunk: ChunkT) -> bool:
        """Router side: queue a chunk; False (stream aborted) when the reader lags."""
        try:
            self._send.send_nowait(chunk)
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


class TextStreamReader(StreamReaderBase[str]):
    """Async iterator of text chunks; :meth:`read_all` joins them."""

    def __init__(self, info: TextStreamInfo) -> None:
        super().__init__()
        self.info = info
        self.final_attributes.update(info.attributes)

    def __aiter__(self) -> TextStreamReader:
        return self

    async def read_all(self) -> str:
        return "".join([chunk async for chunk in self])

    def decode(self, content: bytes) -> str:
        return content.decode(errors="replace")  # chunks are cut on UTF-8 boundaries


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


class StreamWriterBase:
    """An open outgoing stream: header sent by the subclass's ``open``, chunks, trailer.

    Every send is a checkpoint (it waits while the room rejoins, raises
    ``RoomClosedError`` once it is closed).
    """

    def __init__(
        self,
        send: SendPacket,
        topic: str,
        destinations: Sequence[str],
        *,
        sender_identity: str = "",
    ) -> None:
        self.stream_id = str(uuid.uuid4())
        self.topic = topic
        self._send = send
        self._destinations = list(destinations)
        self._sender_identity = sender_identity
        self._index = 0
        self._closed = False

    def _header(self, mime_type: str, attributes: Mapping[str, str]) -> models.DataStream.Header:
        return models.DataStream.Header(
            stream_id=self.stream_id,
            timestamp=int(trio.current_time() * 1000),
            topic=self.topic,
            mime_type=mime_type,
            attributes=dict(attributes),
        )

    async def _write_pieces(self, pieces: Sequence[bytes]) -> None:
        for piece in pieces:
            chunk = models.DataStream.Chunk(
                stream_id=self.stream_id, chunk_index=self._index, content=piece
            )
            self._index += 1
            await self._packet(models.DataPacket(stream_chunk=chunk))

    async def aclose(self, attributes: Mapping[str, str] | None = None, reason: str = "") -> None:
        """Send the trailer once (``reason`` non-empty = aborted); later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        trailer = models.DataStream.Trailer(
            stream_id=self.stream_id, reason=reason, attributes=dict(attributes or {})
        )
        await self._packet(models.DataPacket(stream_trailer=trailer))

    async def _packet(self, packet: models.DataPacket) -> None:
        packet.destination_identities.extend(self._destinations)
        packet.participant_identity = self._sender_identity
        await self._send(packet)


class TextStreamWriter(StreamWriterBase):
    """An open outgoing text stream; close it with :meth:`aclose` (or ``async with``)."""

    async def open(self, attributes: Mapping[str, str]) -> None:
        header = self._header("text/plain", attributes)
        header.text_header.operation_type = models.DataStream.CREATE
        await self._packet(models.DataPacket(stream_header=header))

    async def write(self, text: str) -> None:
        await self._write_pieces(split_utf8(text))
