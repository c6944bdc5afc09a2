"""Layer 2: Trio transports (websockets, streaming HTTP, the aiortc bridge)."""

__all__: list[str] = []
