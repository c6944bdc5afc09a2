"""Layer 2: Trio transports (websockets, streaming HTTP, the aiortc bridge)."""

from ._aiortc_bridge import AsyncioBridge as AsyncioBridge
from ._aiortc_bridge import BridgeStatistics as BridgeStatistics
from ._aiortc_bridge import open_asyncio_bridge as open_asyncio_bridge
from ._peer_connection import IceServer as IceServer
from ._peer_connection import open_peer_connection as open_peer_connection
from ._websocket import WebSocketClient as WebSocketClient
from ._websocket import open_websocket_client as open_websocket_client

__all__ = [
    "AsyncioBridge",
    "BridgeStatistics",
    "IceServer",
    "WebSocketClient",
    "open_asyncio_bridge",
    "open_peer_connection",
    "open_websocket_client",
]
