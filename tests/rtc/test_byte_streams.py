"""Byte streams in memory: writer packets, routing to byte handlers, inline, abort, lag."""

from __future__ import annotations

import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from livekit.protocol import models

from trioagents.rtc import ByteStreamInfo, ByteStreamReader, ByteStreamWriter
from trioagents.rtc._stream_router import DataStreams
from trioagents.rtc._text_streams import TextStreamReader

PAYLOAD = bytes(range(256)) * 150  # 38 400 bytes: three chunks


async def written(data: bytes, **header: str) -> list[models.DataPacket]:
    packets: list[models.DataPacket] = []

    async def send(packet: models.DataPacket) -> None:
        packet.participant_identity = "user"
        packets.append(packet)

    writer = ByteStreamWriter(send, "files", ["agent"], name="a.bin", **header)
    await writer.open({"k": "v"}, len(data))
    await writer.write(data)
    await writer.aclose({"done": "yes"})
    await writer.aclose()  # idempotent
    return packets


async def test_writer_sends_header_chunks_of_15000_and_trailer() -> None:
    packets = await written(PAYLOAD, mime_type="image/png")
    kinds = [p.WhichOneof("value") for p in packets]
    assert kinds == ["stream_header"] + ["stream_chunk"] * 3 + ["stream_trailer"]
    header = packets[0].stream_header
    assert header.WhichOneof("content_header") == "byte_header"
    assert (header.byte_header.name, header.mime_type, header.total_length) == (
        "a.bin",
        "image/png",
        len(PAYLOAD),
    )
    chunks = [p.stream_chunk for p in packets[1:4]]
    assert [c.chunk_index for c in chunks] == [0, 1, 2]
    assert [len(c.content) for c in chunks] == [15_000, 15_000, 8_400]
    assert all(list(p.destination_identities) == ["agent"] for p in packets)
    assert len({p.SerializeToString() for p in packets}) == 5
    assert {p.stream_header.stream_id for p in packets[:1]} == {c.stream_id for c in chunks}


async def test_byte_streams_reach_byte_handlers_only() -> None:
    streams = DataStreams()
    got: list[tuple[ByteStreamInfo, bytes, dict[str, str], bool]] = []
    texts: list[TextStreamReader] = []

    async def on_bytes(reader: ByteStreamReader) -> None:
        data = await reader.read_all()
        got.append((reader.info, data, reader.final_attributes, reader.aborted))

    async def on_text(reader: TextStreamReader) -> None:
        texts.append(reader)

    streams.register_bytes("files", on_bytes)
    streams.register("files", on_text)
    async with trio.open_nursery() as nursery:
        for packet in await written(PAYLOAD):
            streams.on_packet(packet, nursery)
        for packet in await written(b"x"):  # no handler after unregistering: dropped
            streams.unregister_bytes("files")
            streams.on_packet(packet, nursery)
    assert texts == []
    assert streams.dropped_streams == 1
    [(info, data, final, aborted)] = got
    assert data == PAYLOAD
    assert (info.topic, info.sender_identity, info.name, info.total_length) == (
        "files",
        "user",
        "a.bin",
        len(PAYLOAD),
    )
    assert info.mime_type == "application/octet-stream"
    assert dict(info.attributes) == {"k": "v"}
    assert (final, aborted) == ({"k": "v", "done": "yes"}, False)


async def test_inline_abort_and_lagging_reader() -> None:
    streams = DataStreams()
    results: list[tuple[bytes, bool, int | None]] = []
    release = trio.Event()

    async def on_bytes(reader: ByteStreamReader) -> None:
        if reader.info.name == "slow":
            await release.wait()
        results.append((await reader.read_all(), reader.aborted, reader.info.total_length))

    streams.register_bytes("t", on_bytes)

    def header(stream_id: str, name: str, **extra: bytes) -> models.DataPacket:
        h = models.DataStream.Header(stream_id=stream_id, topic="t", **extra)
        h.byte_header.name = name
        return models.DataPacket(stream_header=h)

    def chunk(stream_id: str, index: int) -> models.DataPacket:
        c = models.DataStream.Chunk(stream_id=stream_id, chunk_index=index, content=b"ab")
        return models.DataPacket(stream_chunk=c)

    async with trio.open_nursery() as nursery:
        streams.on_packet(header("i", "inline", inline_content=b"whole"), nursery)
        streams.on_packet(header("a", "cut"), nursery)
        streams.on_packet(chunk("a", 0), nursery)
        trailer = models.DataStream.Trailer(stream_id="a", reason="sender gave up")
        streams.on_packet(models.DataPacket(stream_trailer=trailer), nursery)
        streams.on_packet(header("s", "slow"), nursery)
        for index in range(300):  # the reader holds 256 chunks, then the stream is cut
            streams.on_packet(chunk("s", index), nursery)
        streams.on_packet(chunk("unknown", 0), nursery)  # ignored
        release.set()
    assert (b"whole", False, None) in results
    assert (b"ab", True, None) in results
    [slow] = [r for r in results if len(r[0]) > 2 and r[0] != b"whole"]
    assert slow == (b"ab" * 256, True, None)


_PACKET_OPS = st.lists(
    st.tuples(
        st.sampled_from(["text_header", "byte_header", "chunk", "trailer"]),
        st.sampled_from(["s1", "s2"]),
        st.binary(max_size=8),
        st.sampled_from(["", "abort"]),
    ),
    max_size=30,
)


@settings(max_examples=50, deadline=None)
@given(ops=_PACKET_OPS)
async def test_any_packet_order_is_routed_without_raising(
    ops: list[tuple[str, str, bytes, str]],
) -> None:
    """Invariant: headers, chunks and trailers in any order never raise; every
    delivered stream's content is a concatenation of chunks sent after its header."""
    streams = DataStreams()
    results: list[bytes] = []

    async def on_bytes(reader: ByteStreamReader) -> None:
        results.append(await reader.read_all())

    async def on_text(reader: TextStreamReader) -> None:
        results.append((await reader.read_all()).encode())

    streams.register_bytes("t", on_bytes)
    streams.register("t", on_text)
    sent = b""
    async with trio.open_nursery() as nursery:
        for kind, stream_id, content, reason in ops:
            if kind.endswith("header"):
                h = models.DataStream.Header(stream_id=stream_id, topic="t")
                if kind == "byte_header":
                    h.byte_header.name = "n"
                else:
                    h.text_header.version = 1
                packet = models.DataPacket(stream_header=h)
            elif kind == "chunk":
                sent += content
                packet = models.DataPacket(
                    stream_chunk=models.DataStream.Chunk(stream_id=stream_id, content=content)
                )
            else:
                trailer = models.DataStream.Trailer(stream_id=stream_id, reason=reason)
                packet = models.DataPacket(stream_trailer=trailer)
            streams.on_packet(packet, nursery)
        streams.close_all()
    headers = sum(1 for op in ops if op[0].endswith("header"))
    assert len(results) == headers
    assert sum(len(r) for r in results) <= len(sent) * 3  # text decoding may widen bytes
