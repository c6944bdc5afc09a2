"""Layer 1: sans-I/O protocol cores (LiveKit signal and worker messages, SSE, tokens).

No trio import here: a core takes bytes/events in and gives events/bytes out.
"""

__all__: list[str] = []
