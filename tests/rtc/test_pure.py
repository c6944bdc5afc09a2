"""Pure logic of the rtc layer: registry, backoff, sequencing, text streams, RPC."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from livekit.protocol import models

from trioagents.core import ConfigurationError, RemoteProtocolError
from trioagents.rtc import (
    AudioStream,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    ReconnectPolicy,
    RemoteTrackPublished,
    RemoteTrackUnpublished,
    RpcError,
    RpcInvocation,
)
from trioagents.rtc._data import DataSequencer, decode_data_packet, user_packet
from trioagents.rtc._participants import ParticipantRegistry
from trioagents.rtc._rpc import RpcEndpoint
from trioagents.rtc._stream_router import DataStreams
from trioagents.rtc._text_streams import TextStreamReader, TextStreamWriter, split_utf8


def info(sid: str, version: int, *, tracks: tuple[str, ...] = (), state: int = 2, **attrs: str):  # type: ignore[no-untyped-def]
    return models.ParticipantInfo(
        sid=sid,
        identity=sid.lower(),
        version=version,
        state=state,
        attributes=attrs,
        tracks=[models.TrackInfo(sid=t, type=models.TrackType.AUDIO, name=t) for t in tracks],
    )


def test_registry_connect_update_disconnect() -> None:
    registry = ParticipantRegistry("PA_me")
    events = registry.apply([info("PA_me", 1), info("PA_u", 1, tracks=("TR_a",), mood="ok")])
    assert events == [
        ParticipantConnected("pa_u", "PA_u"),
        ParticipantAttributesChanged("pa_u", {"mood": "ok"}),
        RemoteTrackPublished("pa_u", "TR_a", "audio", "TR_a"),
    ]
    assert registry.apply([info("PA_u", 1, tracks=("TR_a",), mood="old")]) == [
        ParticipantAttributesChanged("pa_u", {"mood": "old"})
    ]  # same version is applied
    # version 0 means "unversioned": applied; the track is gone
    assert registry.apply([info("PA_u", 0, mood="old")]) == [RemoteTrackUnpublished("pa_u", "TR_a")]
    assert registry.apply([info("PA_u", 5, tracks=("TR_b",), mood="old")]) == [
        RemoteTrackPublished("pa_u", "TR_b", "audio", "TR_b")
    ]
    assert registry.apply([info("PA_u", 4, tracks=())]) == []  # stale version ignored
    assert registry.apply([info("PA_u", 6, state=models.ParticipantInfo.DISCONNECTED)]) == [
        RemoteTrackUnpublished("pa_u", "TR_b"),
        ParticipantDisconnected("pa_u", "PA_u"),
    ]
    assert registry.participants == {}


def test_registry_reset_after_rejoin_reports_only_differences() -> None:
    registry = ParticipantRegistry("PA_me")
    registry.apply([info("PA_a", 1), info("PA_b", 1)])
    events = registry.reset("PA_me2", [info("PA_a", 1), info("PA_c", 1)])
    assert events == [ParticipantDisconnected("pa_b", "PA_b"), ParticipantConnected("pa_c", "PA_c")]


def test_reconnect_policy() -> None:
    policy = ReconnectPolicy(max_attempts=4, initial_delay=0.1, max_delay=0.3, jitter=0)
    rng = random.Random(0)
    assert [policy.delay(n, rng) for n in range(1, 6)] == [0.1, 0.2, 0.3, 0.3, None]
    jittery = ReconnectPolicy(initial_delay=1.0, max_delay=1.0, jitter=0.5)
    delays = [jittery.delay(1, rng) for _ in range(200)]
    assert all(0.5 <= d <= 1.5 for d in delays if d is not None)
    with pytest.raises(ConfigurationError):
        ReconnectPolicy(initial_delay=2, max_delay=1)
    with pytest.raises(ConfigurationError):
        ReconnectPolicy(multiplier=0.5)


def test_data_packets_and_sequencing() -> None:
    packet = user_packet(b"hi", "topic", ["bob"])
    sequencer = DataSequencer()
    sequencer.stamp(packet)
    sequencer.stamp(second := user_packet(b"2", "", []))
    assert (packet.sequence, second.sequence) == (1, 2)
    decoded = decode_data_packet(packet.SerializeToString())
    assert decoded.user.payload == b"hi"
    decoded.participant_sid = "PA_x"
    assert sequencer.accept(decoded)
    assert not sequencer.accept(decoded)  # duplicate after a resume
    with pytest.raises(RemoteProtocolError):
        decode_data_packet(b"\xff\xff")
    with pytest.raises(RemoteProtocolError):
        decode_data_packet(b"")


@given(st.binary(max_size=200))
def test_data_decoder_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_data_packet(data)


@given(st.text(), st.integers(4, 64))
def test_split_utf8_round_trips_and_respects_limit(text: str, limit: int) -> None:
    pieces = split_utf8(text, limit)
    assert b"".join(pieces).decode() == text
    assert all(len(p) <= limit for p in pieces)
    for piece in pieces:
        piece.decode()  # every piece is valid UTF-8 on its own


async def test_text_stream_round_trip_in_memory() -> None:
    packets: list[models.DataPacket] = []

    async def send(packet: models.DataPacket) -> None:
        packets.append(packet)

    writer = TextStreamWriter(send, "lk.chat", ["agent"])
    await writer.open({"a": "1"})
    await writer.write("hello ")
    await writer.write("world")
    await writer.aclose({"lk.transcription_final": "true"})
    await writer.aclose()  # idempotent
    assert len(packets) == 4
    assert all(list(p.destination_identities) == ["agent"] for p in packets)

    streams = DataStreams()
    results: list[tuple[str, dict[str, str], bool]] = []

    async def handler(reader: TextStreamReader) -> None:
        results.append((await reader.read_all(), reader.final_attributes, reader.aborted))

    streams.register("lk.chat", handler)
    async with trio.open_nursery() as nursery:
        for packet in packets:
            packet.participant_identity = "user"
            streams.on_packet(packet, nursery)
        other = models.DataPacket(
            stream_header=models.DataStream.Header(stream_id="x", topic="nobody")
        )
        streams.on_packet(other, nursery)
    assert results == [("hello world", {"a": "1", "lk.transcription_final": "true"}, False)]
    assert streams.dropped_streams == 1


async def test_rpc_endpoint_pair_in_memory(autojump_clock: trio.abc.Clock) -> None:
    """Two endpoints wired back to back: request, ack, response, errors, deadline."""
    a_to_b, b_inbox = trio.open_memory_channel[models.DataPacket](10)
    b_to_a, a_inbox = trio.open_memory_channel[models.DataPacket](10)
    caller = RpcEndpoint(a_to_b.send)
    callee = RpcEndpoint(b_to_a.send)
    seen: list[RpcInvocation] = []

    async def echo(invocation: RpcInvocation) -> str:
        seen.append(invocation)
        return invocation.payload * 2

    async def broken(invocation: RpcInvocation) -> str:
        raise ValueError("secret internals")

    async def refuse(invocation: RpcInvocation) -> str:
        raise RpcError(1500, "no", "extra")

    callee.register("echo", echo)
    callee.register("broken", broken)
    callee.register("refuse", refuse)

    async def pump_b(nursery: trio.Nursery) -> None:
        async for packet in b_inbox:
            nursery.start_soon(callee.serve_request, packet.rpc_request, "alice")

    async def pump_a() -> None:
        async for packet in a_inbox:
            if packet.WhichOneof("value") == "rpc_response":
                caller.on_response(packet.rpc_response)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump_b, nursery)
        nursery.start_soon(pump_a)
        with trio.fail_after(3):
            assert await caller.perform("bob", "echo", "ab") == "abab"
        assert seen[0].caller_identity == "alice"
        assert seen[0].response_timeout == pytest.approx(3.0, abs=0.01)  # the caller's deadline
        with pytest.raises(RpcError) as info:
            await caller.perform("bob", "broken", "")
        assert (info.value.code, info.value.rpc_message) == (1500, "application error")
        assert "secret" not in str(info.value)
        with pytest.raises(RpcError) as info:
            await caller.perform("bob", "refuse", "")
        assert (info.value.code, info.value.data) == (1500, "extra")
        with pytest.raises(RpcError) as info:
            await caller.perform("bob", "missing", "")
        assert info.value.code == 1400
        callee.unregister("echo")

        async def slow(invocation: RpcInvocation) -> str:
            await trio.sleep_forever()

        callee.register("slow", slow)
        with pytest.raises(trio.TooSlowError), trio.fail_after(1):
            await caller.perform("bob", "slow", "")
        nursery.cancel_scope.cancel()


async def test_audio_stream_drops_when_consumer_is_slow() -> None:
    stream = AudioStream("TR_x", 16000, 1, buffer=2)
    for _ in range(5):
        stream.deliver(np.zeros((320, 1), dtype=np.int16))
    stream.end()
    stream.deliver(np.zeros((320, 1), dtype=np.int16))  # after the end: counted, no error
    got = [frame async for frame in stream]
    assert len(got) == 2
    assert (stream.received, stream.dropped) == (2, 4)
    assert got[0].sample_rate == 16000


def _text_stream_packets(stream_id: str, topic: str, text: str) -> list[models.DataPacket]:
    header = models.DataStream.Header(stream_id=stream_id, topic=topic)
    chunk = models.DataStream.Chunk(stream_id=stream_id, content=text.encode())
    trailer = models.DataStream.Trailer(stream_id=stream_id)
    return [
        models.DataPacket(participant_identity="user", stream_header=header),
        models.DataPacket(participant_identity="user", stream_chunk=chunk),
        models.DataPacket(participant_identity="user", stream_trailer=trailer),
    ]


@given(st.lists(st.text(max_size=20), min_size=1, max_size=12), st.randoms())
async def test_queued_topic_yields_streams_in_header_order(
    lines: list[str], rnd: random.Random
) -> None:
    """Streams interleaved on the wire still come out in the order they were opened."""
    streams = DataStreams()
    send, receive = trio.open_memory_channel[TextStreamReader](len(lines))
    streams.register_queue("lk.chat", send)
    per_stream = [_text_stream_packets(f"s{i}", "lk.chat", line) for i, line in enumerate(lines)]
    # a random interleaving that keeps each stream's own packets in order
    wire: list[models.DataPacket] = []
    cursors = [0] * len(per_stream)
    while len(wire) < 3 * len(lines):
        choices = [i for i, c in enumerate(cursors) if c < 3]
        i = rnd.choice(choices)
        wire.append(per_stream[i][cursors[i]])
        cursors[i] += 1
    opened = [p.stream_header.stream_id for p in wire if p.WhichOneof("value") == "stream_header"]
    async with trio.open_nursery() as nursery:
        for packet in wire:
            streams.on_packet(packet, nursery)
    send.close()
    got = [(reader.info.stream_id, await reader.read_all()) async for reader in receive]
    assert [stream_id for stream_id, _ in got] == opened
    assert dict(got) == {f"s{i}": line for i, line in enumerate(lines)}


async def test_full_queue_drops_new_streams_and_one_topic_one_consumer() -> None:
    streams = DataStreams()
    send, receive = trio.open_memory_channel[TextStreamReader](1)
    streams.register_queue("lk.chat", send)
    with pytest.raises(ValueError, match="already being read"):
        streams.register("lk.chat", _ignore_stream)
    with pytest.raises(ValueError, match="already being read"):
        streams.register_queue("lk.chat", send)
    async with trio.open_nursery() as nursery:
        for packet in _text_stream_packets("a", "lk.chat", "first"):
            streams.on_packet(packet, nursery)
        for packet in _text_stream_packets("b", "lk.chat", "second"):  # queue full
            streams.on_packet(packet, nursery)
    assert streams.dropped_streams == 1
    assert await receive.receive_nowait().read_all() == "first"
    streams.unregister_queue("lk.chat")
    streams.register("lk.chat", _ignore_stream)  # free again
    with pytest.raises(ValueError, match="already has a text stream handler"):
        streams.register_queue("lk.chat", send)


async def _ignore_stream(reader: TextStreamReader) -> None:
    await reader.read_all()
