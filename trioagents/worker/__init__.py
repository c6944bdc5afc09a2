"""Layer 4: worker registration, availability, job dispatch and isolation, drain."""

__all__: list[str] = []
