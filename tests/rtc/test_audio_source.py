"""AudioSource: any input format per segment (a handoff to an agent with another TTS)."""

from __future__ import annotations

import numpy as np
import pytest

from trioagents.core import AudioFrame, ConfigurationError
from trioagents.rtc import AudioSource
from trioagents.transport import PacedAudioTrack


def tone(rate: int, seconds: float, channels: int = 1) -> AudioFrame:
    samples = round(rate * seconds)
    data = np.full((samples, channels), 1000, dtype=np.int16)
    return AudioFrame(data, rate)


def test_segments_may_change_format_between_flushes() -> None:
    source = AudioSource(24000, 1)
    source.attach(PacedAudioTrack())
    source.push_frame(tone(24000, 0.1))
    source.flush()
    source.push_frame(tone(16000, 0.1))  # the next agent's TTS: 16 kHz
    source.push_frame(tone(16000, 0.1))
    source.flush()
    source.push_frame(tone(48000, 0.1, channels=2))
    source.flush()
    assert source.statistics().pushed == pytest.approx(0.4, abs=0.01)


def test_a_format_change_inside_a_segment_is_refused() -> None:
    source = AudioSource(24000, 1)
    source.attach(PacedAudioTrack())
    source.push_frame(tone(24000, 0.1))
    with pytest.raises(ConfigurationError, match="flush"):
        source.push_frame(tone(16000, 0.1))


def test_clearing_the_queue_ends_the_segment_and_drops_held_samples() -> None:
    source = AudioSource(24000, 1)
    source.attach(PacedAudioTrack())
    source.push_frame(tone(24000, 0.1))
    source.clear_queue()  # barge-in: the next reply may come from another TTS
    source.push_frame(tone(16000, 0.1))
    source.flush()
    assert source.queued_duration == pytest.approx(0.1, abs=0.01)
