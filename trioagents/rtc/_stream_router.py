"""Routes incoming data-stream packets (text and byte streams) to readers.

A header opens a stream: its content header (``text_header`` / ``byte_header``,
none counts as text, as the SDKs do) and topic pick the handler, which is started
in the room's nursery with a new reader. Chunks and the trailer go to the reader
by stream id. Streams for topics without a handler, chunks of unknown streams and
a reader that lags (its stream is aborted) are dropped and never stall the room.
A second header with an open stream's id aborts the open one (its handler would
otherwise wait forever).
A header with ``inline_content`` is a whole stream in one packet.

A topic can instead be *queued* (``register_queue``): its readers go, in the order
their headers arrived, into a bounded channel the application iterates, so the
streams of one topic are read in the order they were sent. Handlers started per
stream give no such order: Trio deliberately varies the order in which tasks made
runnable together first run. A full queue drops the new stream (counted in
``dropped_streams``) instead of stalling the room.

Invariant: ``on_packet`` never blocks and never raises (it runs in the room's
data callback); everything a stream does happens in its handler's task.
"""

from __future__ import annotations

from typing import Any

import trio
from livekit.protocol import models

from ._byte_streams import ByteStreamHandler, ByteStreamReader, byte_stream_info
from ._text_streams import StreamReaderBase, TextStreamHandler, TextStreamInfo, TextStreamReader

__all__ = ["DataStreams"]


class DataStreams:
    """Text- and byte-stream handlers per topic, and the readers of open streams."""

    def __init__(self) -> None:
        self._text_handlers: dict[str, TextStreamHandler] = {}
        self._byte_handlers: dict[str, ByteStreamHandler] = {}
        self._text_queues: dict[str, trio.MemorySendChannel[TextStreamReader]] = {}
        self._readers: dict[str, StreamReaderBase[Any]] = {}
        self.dropped_streams = 0

    def register(self, topic: str, handler: TextStreamHandler) -> None:
        self._check_not_queued(topic)
        self._text_handlers[topic] = handler

    def unregister(self, topic: str) -> None:
        self._text_handlers.pop(topic, None)

    def register_queue(self, topic: str, queue: trio.MemorySendChannel[TextStreamReader]) -> None:
        """``topic``'s text streams go into ``queue`` in arrival order (see the module doc)."""
        self._check_not_queued(topic)
        if topic in self._text_handlers:
            raise ValueError(f"topic {topic!r} already has a text stream handler")
        self._text_queues[topic] = queue

    def unregister_queue(self, topic: str) -> None:
        self._text_queues.pop(topic, None)

    def _check_not_queued(self, topic: str) -> None:
        if topic in self._text_queues:
            raise ValueError(f"topic {topic!r} is already being read as a queue")

    def register_bytes(self, topic: str, handler: ByteStreamHandler) -> None:
        self._byte_handlers[topic] = handler

    def unregister_bytes(self, topic: str) -> None:
        self._byte_handlers.pop(topic, None)

    def on_packet(self, packet: models.DataPacket, nursery: trio.Nursery) -> None:
        kind = packet.WhichOneof("value")
        if kind == "stream_header":
            self._on_header(packet, nursery)
        elif kind == "stream_chunk":
            chunk = packet.stream_chunk
            reader = self._readers.get(chunk.stream_id)
            if reader is not None and not reader.feed_content(chunk.content):
                self._readers.pop(chunk.stream_id, None)
        elif kind == "stream_trailer":
            trailer = packet.stream_trailer
            reader = self._readers.pop(trailer.stream_id, None)
            if reader is not None:
                reader.finish(trailer.attributes, aborted=bool(trailer.reason))

    def _on_header(self, packet: models.DataPacket, nursery: trio.Nursery) -> None:
        header = packet.stream_header
        sender = packet.participant_identity
        previous = self._readers.pop(header.stream_id, None)
        if previous is not None:  # a reused stream id: the earlier stream cannot go on
            previous.finish(aborted=True)
        reader: StreamReaderBase[Any]
        if header.WhichOneof("content_header") == "byte_header":
            byte_handler = self._byte_handlers.get(header.topic)
            if byte_handler is None:
                self.dropped_streams += 1
                return
            reader = byte_reader = ByteStreamReader(byte_stream_info(header, sender))
            nursery.start_soon(byte_handler, byte_reader)
        else:
            generated = header.text_header.generated
            attributes = dict(header.attributes)
            info = TextStreamInfo(header.stream_id, header.topic, sender, attributes, generated)
            reader = text_reader = TextStreamReader(info)
            if not self._deliver_text(text_reader, nursery):
                self.dropped_streams += 1
                return
        if header.HasField("inline_content"):
            reader.feed_content(header.inline_content)
            reader.finish()
        else:
            self._readers[header.stream_id] = reader

    def _deliver_text(self, reader: TextStreamReader, nursery: trio.Nursery) -> bool:
        topic = reader.info.topic
        queue = self._text_queues.get(topic)
        if queue is not None:
            try:
                queue.send_nowait(reader)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                return False
            return True
        handler = self._text_handlers.get(topic)
        if handler is None:
            return False
        nursery.start_soon(handler, reader)
        return True

    def close_all(self) -> None:
        for reader in self._readers.values():
            reader.finish(aborted=True)
        self._readers.clear()
