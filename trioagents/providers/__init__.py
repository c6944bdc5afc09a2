"""Layer 6: VAD/STT/LLM/TTS implementations, retry and fallback wrappers."""

from ._http import OpenAIConnection as OpenAIConnection
from ._openai_audio import OpenAISTT as OpenAISTT
from ._openai_audio import OpenAITTS as OpenAITTS
from ._openai_llm import OpenAILLM as OpenAILLM

__all__ = [
    "OpenAIConnection",
    "OpenAILLM",
    "OpenAISTT",
    "OpenAITTS",
]
