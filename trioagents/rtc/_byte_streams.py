"""Byte streams (LiveKit data streams with a ``byte_header``): files, images, blobs.

The wire format is the text streams' (header, chunks, trailer, all reliable, one
destination list); only the header differs: ``byte_header`` with the stream's
``name``, a MIME type (default ``application/octet-stream``) and an optional
``total_length``. Chunks are cut at 15 000 bytes, the size both SDKs use.

Receiving is routed by :class:`~._stream_router.DataStreams`, exactly like text:
one handler per topic, started in the room's nursery with a
:class:`ByteStreamReader`; a reader 256 chunks behind is aborted (``aborted``),
never stalls the room. Chunks are delivered as they arrive, so a large transfer
need not be held in memory unless the handler calls :meth:`~ByteStreamReader.read_all`.

Rejected: a separate reader type per content size (inline single-packet streams
need ``client_protocol`` ≥ 2, which we do not advertise; an inline header is still
accepted and delivered as one chunk).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from livekit.protocol import models

from ._text_streams import CHUNK_BYTES, SendPacket, StreamReaderBase, StreamWriterBase

__all__ = [
    "DEFAULT_BYTE_MIME_TYPE",
    "ByteStreamHandler",
    "ByteStreamInfo",
    "ByteStreamReader",
    "ByteStreamWriter",
    "byte_stream_info",
]

DEFAULT_BYTE_MIME_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ByteStreamInfo:
    """What the header said; ``total_length`` is None when the sender did not know it."""

    stream_id: str
    topic: str
    sender_identity: str
    name: str
    mime_type: str
    total_length: int | None
    attributes: Mapping[str, str] = field(default_factory=dict)


def byte_stream_info(header: models.DataStream.Header, sender_identity: str) -> ByteStreamInfo:
    total = header.total_length if header.HasField("total_length") else None
    return ByteStreamInfo(
        header.stream_id,
        header.topic,
        sender_identity,
        header.byte_header.name,
        header.mime_type or DEFAULT_BYTE_MIME_TYPE,
        total,
        dict(header.attributes),
    )


class ByteStreamReader(StreamReaderBase[bytes]):
    """Async iterator of the stream's chunks (``bytes``); :meth:`read_all` joins them."""

    def __init__(self, info: ByteStreamInfo) -> None:
        super().__init__()
        self.info = info
        self.final_attributes.update(info.attributes)

    def __aiter__(self) -> ByteStreamReader:
        return self

    async def read_all(self) -> bytes:
        """Every chunk until the trailer (or an abort: check ``aborted``)."""
        return b"".join([chunk async for chunk in self])

    def decode(self, content: bytes) -> bytes:
        return content


ByteStreamHandler = Callable[[ByteStreamReader], Awaitable[None]]


class ByteStreamWriter(StreamWriterBase):
    """An open outgoing byte stream; :meth:`write` any size, :meth:`aclose` sends the trailer."""

    def __init__(
        self,
        send: SendPacket,
        topic: str,
        destinations: Sequence[str],
        *,
        name: str = "",
        mime_type: str = DEFAULT_BYTE_MIME_TYPE,
    ) -> None:
        super().__init__(send, topic, destinations)
        self.name = name
        self.mime_type = mime_type

    async def open(self, attributes: Mapping[str, str], total_length: int | None = None) -> None:
        header = self._header(self.mime_type, attributes)
        header.byte_header.name = self.name
        if total_length is not None:
            header.total_length = total_length
        await self._packet(models.DataPacket(stream_header=header))

    async def write(self, data: bytes) -> None:
        """Send ``data`` as chunks of at most 15 000 bytes (one checkpoint per chunk)."""
        view = memoryview(data)
        pieces = [bytes(view[i : i + CHUNK_BYTES]) for i in range(0, len(view), CHUNK_BYTES)]
        await self._write_pieces(pieces)
