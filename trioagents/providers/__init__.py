"""Layer 6: VAD/STT/LLM/TTS implementations, retry and fallback wrappers."""

from ._adapters import SentenceStreamTTS as SentenceStreamTTS
from ._adapters import VADSegmentedSTT as VADSegmentedSTT
from ._cartesia_tts import CartesiaTTS as CartesiaTTS
from ._combined_turn import DANGLING_WORDS as DANGLING_WORDS
from ._combined_turn import AnyIncompleteDetector as AnyIncompleteDetector
from ._combined_turn import DanglingWordDetector as DanglingWordDetector
from ._deepgram_stt import DeepgramConnection as DeepgramConnection
from ._deepgram_stt import DeepgramSTT as DeepgramSTT
from ._deepgram_stt import DeepgramSTTStream as DeepgramSTTStream
from ._elevenlabs_tts import ElevenLabsTTS as ElevenLabsTTS
from ._energy_vad import EnergyVAD as EnergyVAD
from ._espeak_tts import EspeakTTS as EspeakTTS
from ._fallback import FallbackOptions as FallbackOptions
from ._fallback import FallbackStatistics as FallbackStatistics
from ._fallback_adapters import FallbackLLM as FallbackLLM
from ._fallback_adapters import FallbackStreamingTTS as FallbackStreamingTTS
from ._fallback_adapters import FallbackSTT as FallbackSTT
from ._fallback_adapters import FallbackTTS as FallbackTTS
from ._fallback_adapters import open_fallback_llm as open_fallback_llm
from ._fallback_adapters import open_fallback_streaming_tts as open_fallback_streaming_tts
from ._fallback_adapters import open_fallback_stt as open_fallback_stt
from ._fallback_adapters import open_fallback_tts as open_fallback_tts
from ._http import OpenAIConnection as OpenAIConnection
from ._llm_turn_detector import DEFAULT_TURN_INSTRUCTIONS as DEFAULT_TURN_INSTRUCTIONS
from ._llm_turn_detector import LLMTurnDetector as LLMTurnDetector
from ._openai_audio import OpenAISTT as OpenAISTT
from ._openai_audio import OpenAITTS as OpenAITTS
from ._openai_llm import OpenAIChatOptions as OpenAIChatOptions
from ._openai_llm import OpenAILLM as OpenAILLM
from ._openai_realtime import RealtimeModel as RealtimeModel
from ._openai_realtime_response import OpenAIRealtimeResponse as OpenAIRealtimeResponse
from ._openai_realtime_session import OpenAIRealtimeSession as OpenAIRealtimeSession
from ._piper_tts import PiperTTS as PiperTTS
from ._pocketsphinx_stt import PocketsphinxSTT as PocketsphinxSTT
from ._pocketsphinx_stt import pocketsphinx_unknown_words as pocketsphinx_unknown_words
from ._realtime_transcription_stt import OpenAIRealtimeSTT as OpenAIRealtimeSTT
from ._realtime_transcription_stt import OpenAIRealtimeSTTStream as OpenAIRealtimeSTTStream
from ._retry import RetryingBatchSTT as RetryingBatchSTT
from ._retry import RetryingLLM as RetryingLLM
from ._retry import RetryingStreamingTTS as RetryingStreamingTTS
from ._retry import RetryingSTT as RetryingSTT
from ._retry import RetryingTTS as RetryingTTS
from ._retry import RetryPolicy as RetryPolicy
from ._retry import with_retry as with_retry
from ._scripted_llm import Rule as Rule
from ._scripted_llm import ScriptedLLM as ScriptedLLM
from ._scripted_llm import ScriptedToolCall as ScriptedToolCall
from ._silero_batcher import SileroBatcher as SileroBatcher
from ._silero_batcher import SileroBatchOptions as SileroBatchOptions
from ._silero_batcher import SileroBatchStatistics as SileroBatchStatistics
from ._silero_batcher import open_silero_batcher as open_silero_batcher
from ._silero_vad import SileroVAD as SileroVAD
from ._smart_turn import EndOfTurnModel as EndOfTurnModel
from ._smart_turn import SmartTurnDetector as SmartTurnDetector
from ._smart_turn_model import fetch_model as fetch_smart_turn_model
from ._vad_gate import VADOptions as VADOptions
from ._ws_tts import WebSocketTTS as WebSocketTTS
from ._ws_tts_config import WebSocketTTSConnection as WebSocketTTSConnection
from ._ws_tts_pool import ConnectedTTS as ConnectedTTS
from ._ws_tts_pool import ConnectedTTSStatistics as ConnectedTTSStatistics
from ._ws_tts_stream import WebSocketTTSStream as WebSocketTTSStream

__all__ = [
    "DANGLING_WORDS",
    "DEFAULT_TURN_INSTRUCTIONS",
    "AnyIncompleteDetector",
    "CartesiaTTS",
    "ConnectedTTS",
    "ConnectedTTSStatistics",
    "DanglingWordDetector",
    "DeepgramConnection",
    "DeepgramSTT",
    "DeepgramSTTStream",
    "ElevenLabsTTS",
    "EndOfTurnModel",
    "EnergyVAD",
    "EspeakTTS",
    "FallbackLLM",
    "FallbackOptions",
    "FallbackSTT",
    "FallbackStatistics",
    "FallbackStreamingTTS",
    "FallbackTTS",
    "LLMTurnDetector",
    "OpenAIChatOptions",
    "OpenAIConnection",
    "OpenAILLM",
    "OpenAIRealtimeResponse",
    "OpenAIRealtimeSTT",
    "OpenAIRealtimeSTTStream",
    "OpenAIRealtimeSession",
    "OpenAISTT",
    "OpenAITTS",
    "PiperTTS",
    "PocketsphinxSTT",
    "RealtimeModel",
    "RetryPolicy",
    "RetryingBatchSTT",
    "RetryingLLM",
    "RetryingSTT",
    "RetryingStreamingTTS",
    "RetryingTTS",
    "Rule",
    "ScriptedLLM",
    "ScriptedToolCall",
    "SentenceStreamTTS",
    "SileroBatchOptions",
    "SileroBatchStatistics",
    "SileroBatcher",
    "SileroVAD",
    "SmartTurnDetector",
    "VADOptions",
    "VADSegmentedSTT",
    "WebSocketTTS",
    "WebSocketTTSConnection",
    "WebSocketTTSStream",
    "fetch_smart_turn_model",
    "open_fallback_llm",
    "open_fallback_streaming_tts",
    "open_fallback_stt",
    "open_fallback_tts",
    "open_silero_batcher",
    "pocketsphinx_unknown_words",
    "with_retry",
]
