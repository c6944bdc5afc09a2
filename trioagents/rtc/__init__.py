"""Layer 3: rooms, participants, tracks, audio frames over WebRTC, data, RPC."""

__all__: list[str] = []
