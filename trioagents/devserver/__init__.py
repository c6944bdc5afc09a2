"""Layer 7: the embedded LiveKit-compatible development server."""

__all__: list[str] = []
