"""The room's data plane: packets in and out, routed to user data, RPC, data streams.

Incoming packets arrive one by one from the subscriber PC's data channels (posted
into Trio by the connection). Malformed packets are counted and dropped: a peer's
bad packet never ends the room. Reliable packets are numbered on the way out and
de-duplicated on the way in (:class:`DataSequencer`). RPC requests and stream
handlers run as tasks in the room's nursery, so they end with the room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from livekit.protocol import models

from ..core import RemoteProtocolError
from ._data import DataSequencer, decode_data_packet
from ._events import DataReceived, RoomEvent
from ._rpc import RpcEndpoint
from ._stream_router import DataStreams

__all__ = ["DataPlane"]

SendRaw = Callable[[bytes, bool], Awaitable[None]]


class DataPlane:
    def __init__(
        self, send_raw: SendRaw, emit: Callable[[RoomEvent], None], nursery: trio.Nursery
    ) -> None:
        self._send_raw = send_raw
        self._emit = emit
        self._nursery = nursery
        self._sequencer = DataSequencer()
        self.rpc = RpcEndpoint(self.send_packet)
        self.streams = DataStreams()
        self.malformed = 0

    async def send_packet(self, packet: models.DataPacket, reliable: bool = True) -> None:
        if reliable:
            self._sequencer.stamp(packet)
        await self._send_raw(packet.SerializeToString(), reliable)

    def on_data(self, data: bytes, reliable: bool) -> None:
        """One data-channel message (in Trio, never blocks, never raises)."""
        try:
            packet = decode_data_packet(data)
        except RemoteProtocolError:
            self.malformed += 1
            return
        if reliable and not self._sequencer.accept(packet):
            return
        kind = packet.WhichOneof("value")
        sender = packet.participant_identity
        if kind == "user":
            user = packet.user
            self._emit(DataReceived(user.payload, user.topic, sender, reliable))
        elif kind == "rpc_request":
            self._nursery.start_soon(self.rpc.serve_request, packet.rpc_request, sender)
        elif kind == "rpc_ack":
            self.rpc.on_ack(packet.rpc_ack)
        elif kind == "rpc_response":
            self.rpc.on_response(packet.rpc_response)
        elif kind in ("stream_header", "stream_chunk", "stream_trailer"):
            self.streams.on_packet(packet, self._nursery)
