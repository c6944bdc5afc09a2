"""Layer 3: rooms, participants, tracks, audio frames over WebRTC, data, RPC."""

from ._audio_in import AudioStream as AudioStream
from ._audio_out import AudioSource as AudioSource
from ._audio_out import AudioSourceStatistics as AudioSourceStatistics
from ._byte_streams import ByteStreamInfo as ByteStreamInfo
from ._byte_streams import ByteStreamReader as ByteStreamReader
from ._byte_streams import ByteStreamWriter as ByteStreamWriter
from ._errors import JoinRefusedError as JoinRefusedError
from ._errors import RequestRefusedError as RequestRefusedError
from ._errors import RoomClosedError as RoomClosedError
from ._events import ConnectionLost as ConnectionLost
from ._events import ConnectionResumed as ConnectionResumed
from ._events import DataReceived as DataReceived
from ._events import ParticipantAttributesChanged as ParticipantAttributesChanged
from ._events import ParticipantConnected as ParticipantConnected
from ._events import ParticipantDisconnected as ParticipantDisconnected
from ._events import RemoteTrackPublished as RemoteTrackPublished
from ._events import RemoteTrackSubscribed as RemoteTrackSubscribed
from ._events import RemoteTrackUnpublished as RemoteTrackUnpublished
from ._events import RoomDisconnected as RoomDisconnected
from ._events import RoomEvent as RoomEvent
from ._open_room import open_room as open_room
from ._participants import RemoteParticipant as RemoteParticipant
from ._participants import TrackPublication as TrackPublication
from ._reconnect import ReconnectPolicy as ReconnectPolicy
from ._room import LocalParticipant as LocalParticipant
from ._room import Room as Room
from ._room import RoomOptions as RoomOptions
from ._room import RoomStatistics as RoomStatistics
from ._rpc import RpcError as RpcError
from ._rpc import RpcInvocation as RpcInvocation
from ._text_streams import TextStreamInfo as TextStreamInfo
from ._text_streams import TextStreamReader as TextStreamReader
from ._text_streams import TextStreamWriter as TextStreamWriter

__all__ = [
    "AudioSource",
    "AudioSourceStatistics",
    "AudioStream",
    "ByteStreamInfo",
    "ByteStreamReader",
    "ByteStreamWriter",
    "ConnectionLost",
    "ConnectionResumed",
    "DataReceived",
    "JoinRefusedError",
    "LocalParticipant",
    "ParticipantAttributesChanged",
    "ParticipantConnected",
    "ParticipantDisconnected",
    "ReconnectPolicy",
    "RemoteParticipant",
    "RemoteTrackPublished",
    "RemoteTrackSubscribed",
    "RemoteTrackUnpublished",
    "RequestRefusedError",
    "Room",
    "RoomClosedError",
    "RoomDisconnected",
    "RoomEvent",
    "RoomOptions",
    "RoomStatistics",
    "RpcError",
    "RpcInvocation",
    "TextStreamInfo",
    "TextStreamReader",
    "TextStreamWriter",
    "open_room",
]
