"""Layer 6: VAD/STT/LLM/TTS implementations, retry and fallback wrappers."""

__all__: list[str] = []
