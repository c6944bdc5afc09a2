"""Layer 8: the public test kit (fakes, scripted timelines, state-machine helpers)."""

__all__: list[str] = []
