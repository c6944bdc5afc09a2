"""DataPacket encoding and decoding, reliable sequence numbers (pure logic).

Every data-channel message is one serialized ``livekit.DataPacket``. Reliable
packets we send are numbered 1, 2, 3…; received reliable packets whose sequence is
not above the last seen from that sender are duplicates (after a resume) and
dropped. Malformed packets raise :class:`RemoteProtocolError`: the room counts and
drops them, a peer's bad packet never ends the room.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import DecodeError
from livekit.protocol import models

from ..core import RemoteProtocolError

__all__ = ["MAX_DATA_PAYLOAD", "DataSequencer", "decode_data_packet", "user_packet"]

MAX_DATA_PAYLOAD = 15_000  # what both SDKs keep packets under (64 kB SCTP cap minus slack)


def user_packet(payload: bytes, topic: str, destinations: Sequence[str]) -> models.DataPacket:
    user = models.UserPacket(payload=payload, topic=topic, destination_identities=destinations)
    return models.DataPacket(user=user, destination_identities=destinations)


def decode_data_packet(data: bytes) -> models.DataPacket:
    if len(data) > 1 << 20:
        raise RemoteProtocolError("data packet exceeds 1 MiB", payload=data[:256])
    packet = models.DataPacket()
    try:
        packet.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise RemoteProtocolError("malformed data packet", payload=data[:256]) from exc
    if packet.WhichOneof("value") is None:
        raise RemoteProtocolError("data packet without a value", payload=data[:256])
    return packet


class DataSequencer:
    """Numbers outgoing reliable packets and drops duplicated incoming ones."""

    def __init__(self) -> None:
        self._next = 0
        self._last_seen: dict[str, int] = {}

    def stamp(self, packet: models.DataPacket) -> None:
        self._next += 1
        packet.sequence = self._next

    def accept(self, packet: models.DataPacket) -> bool:
        if not packet.sequence or not packet.participant_sid:
            return True
        last = self._last_seen.get(packet.participant_sid, 0)
        if packet.sequence <= last:
            return False
        self._last_seen[packet.participant_sid] = packet.sequence
        return True
