"""Layer 8: the public test kit (fakes, scripted timelines, state-machine helpers).

Everything here runs on Trio's clock, so a conversation scripted with
:class:`Timeline` plays out in milliseconds under ``autojump_clock`` and in real
time otherwise.
"""

from ._fake_audio_output import AcceptedFrame as AcceptedFrame
from ._fake_audio_output import FakeAudioOutput as FakeAudioOutput
from ._fake_audio_output import PlayedSegment as PlayedSegment
from ._fake_llm import FakeLLM as FakeLLM
from ._fake_llm import LLMRequest as LLMRequest
from ._fake_llm import LLMScript as LLMScript
from ._fake_stt import FakeSTT as FakeSTT
from ._fake_text_output import FakeTextOutput as FakeTextOutput
from ._fake_text_output import PublishedTranscript as PublishedTranscript
from ._fake_tts import FakeTTS as FakeTTS
from ._fake_tts import heard_chars as heard_chars
from ._fake_vad import FakeVAD as FakeVAD
from ._timeline import FakeAudioInput as FakeAudioInput
from ._timeline import Timeline as Timeline
from ._timeline import UserSpeech as UserSpeech
from ._timeline import noise as noise
from ._timeline import speech as speech
from ._tracking import StreamRecord as StreamRecord
from ._tracking import StreamTracker as StreamTracker

__all__ = [
    "AcceptedFrame",
    "FakeAudioInput",
    "FakeAudioOutput",
    "FakeLLM",
    "FakeSTT",
    "FakeTTS",
    "FakeTextOutput",
    "FakeVAD",
    "LLMRequest",
    "LLMScript",
    "PlayedSegment",
    "PublishedTranscript",
    "StreamRecord",
    "StreamTracker",
    "Timeline",
    "UserSpeech",
    "heard_chars",
    "noise",
    "speech",
]
