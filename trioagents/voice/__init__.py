"""Layer 5: sessions, agents, turns, speech, interruption, tools, handoffs."""

__all__: list[str] = []
