"""Layer 2: Trio transports (websockets, streaming HTTP, the aiortc bridge)."""

from ._aiortc_bridge import AsyncioBridge as AsyncioBridge
from ._aiortc_bridge import BridgeStatistics as BridgeStatistics
from ._aiortc_bridge import open_asyncio_bridge as open_asyncio_bridge
from ._audio_track import OUTPUT_RATE as OUTPUT_RATE
from ._audio_track import PacedAudioTrack as PacedAudioTrack
from ._audio_track import pump_audio_track as pump_audio_track
from ._ice_restart import adopt_remote_ice as adopt_remote_ice
from ._ice_restart import ice_credentials as ice_credentials
from ._ice_restart import restart_local_ice as restart_local_ice
from ._jitter import set_audio_prefetch as set_audio_prefetch
from ._peer_connection import IceServer as IceServer
from ._peer_connection import open_peer_connection as open_peer_connection
from ._twirp import LiveKitAPI as LiveKitAPI
from ._twirp import LiveKitAPIError as LiveKitAPIError
from ._twirp import open_livekit_api as open_livekit_api
from ._websocket import WebSocketClient as WebSocketClient
from ._websocket import open_websocket_client as open_websocket_client

__all__ = [
    "OUTPUT_RATE",
    "AsyncioBridge",
    "BridgeStatistics",
    "IceServer",
    "LiveKitAPI",
    "LiveKitAPIError",
    "PacedAudioTrack",
    "WebSocketClient",
    "adopt_remote_ice",
    "ice_credentials",
    "open_asyncio_bridge",
    "open_livekit_api",
    "open_peer_connection",
    "open_websocket_client",
    "pump_audio_track",
    "restart_local_ice",
    "set_audio_prefetch",
]
