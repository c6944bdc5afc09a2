"""Byte streams between two of our rooms through the embedded dev server.

Real data channels on loopback, real clock, bounded by ``fail_after``.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.devserver import open_devserver
from trioagents.rtc import ByteStreamReader, Room, open_room

from .test_devserver_room import token

pytestmark = pytest.mark.slow

BLOB = bytes((i * 7) % 251 for i in range(40_000))  # larger than two 15 000-byte chunks


async def send_then_fail(room: Room) -> None:
    async with room.open_byte_stream("files", name="broken") as writer:
        await writer.write(b"partial")
        raise ValueError("disk")


async def test_byte_streams_round_trip_between_two_rooms() -> None:
    received: trio.MemorySendChannel[tuple[ByteStreamReader, list[bytes]]]
    received, arrivals = trio.open_memory_channel(4)

    async def on_file(reader: ByteStreamReader) -> None:
        chunks = [chunk async for chunk in reader]
        await received.send((reader, chunks))

    with trio.fail_after(15):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as agent,
            open_room(server.url, token(server, "user")) as user,
        ):
            agent.register_byte_stream_handler("files", on_file)
            await user.send_bytes(
                BLOB,
                topic="files",
                name="blob.bin",
                mime_type="application/x-test",
                attributes={"kind": "blob"},
                destination_identities=["agent"],
            )
            reader, chunks = await arrivals.receive()
            assert b"".join(chunks) == BLOB
            assert [len(c) for c in chunks] == [15_000, 15_000, 10_000]
            info = reader.info
            assert (info.topic, info.sender_identity, info.name, info.mime_type) == (
                "files",
                "user",
                "blob.bin",
                "application/x-test",
            )
            assert (info.total_length, dict(info.attributes), reader.aborted) == (
                len(BLOB),
                {"kind": "blob"},
                False,
            )

            # written piece by piece, trailer attributes merged; then an aborted stream
            async with user.open_byte_stream("files", name="parts") as writer:
                await writer.write(b"first ")
                await writer.write(b"second")
            reader, chunks = await arrivals.receive()
            assert (chunks, reader.info.total_length, reader.aborted) == (
                [b"first ", b"second"],
                None,
                False,
            )
            with pytest.raises(ValueError, match="disk"):
                await send_then_fail(user)
            reader, chunks = await arrivals.receive()
            assert (reader.info.name, chunks, reader.aborted) == ("broken", [b"partial"], True)
