from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trioagents.core import AudioFrame, ConfigurationError, concat_frames, silence


def test_frame_is_immutable_and_does_not_touch_the_callers_array() -> None:
    samples = np.arange(480, dtype=np.int16).reshape(-1, 1)
    frame = AudioFrame(samples, 24000)
    assert samples.flags.writeable  # caller's array untouched
    with pytest.raises(ValueError, match="read-only"):
        frame.data[0, 0] = 1
    samples[0, 0] = 99
    assert frame.data[0, 0] == 0
    assert frame.duration == pytest.approx(0.02)
    assert (frame.samples_per_channel, frame.num_channels) == (480, 1)


@pytest.mark.parametrize(
    ("data", "rate", "match"),
    [
        (np.zeros((10, 1), dtype=np.float32), 16000, "int16"),
        (np.zeros(10, dtype=np.int16), 16000, "shaped"),
        (np.zeros((10, 0), dtype=np.int16), 16000, "shaped"),
        (np.zeros((10, 1), dtype=np.int16), 0, "sample_rate"),
        ([1, 2, 3], 16000, "numpy array"),
    ],
)
def test_bad_frames_are_rejected_with_a_fix(data: object, rate: int, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AudioFrame(data, rate)  # type: ignore[arg-type]


def test_bytes_round_trip_and_errors() -> None:
    frame = AudioFrame(np.array([[1, -2], [3, -4]], dtype=np.int16), 48000)
    assert AudioFrame.from_bytes(frame.to_bytes(), 48000, 2).data.tolist() == [[1, -2], [3, -4]]
    with pytest.raises(ConfigurationError, match="multiple"):
        AudioFrame.from_bytes(b"\x00\x01\x02", 48000, 2)


def test_float_conversion_clips_and_mixes() -> None:
    frame = AudioFrame.from_float(np.array([0.0, 0.5, 2.0, -2.0]), 16000)
    assert frame.data[:, 0].tolist() == [0, 16384, 32767, -32768]
    stereo = AudioFrame(np.array([[1000, 3000]], dtype=np.int16), 16000)
    assert stereo.to_float_mono()[0] == pytest.approx(2000 / 32768)


def test_silence_concat_and_rms() -> None:
    joined = concat_frames([silence(0.01, 16000), AudioFrame.from_float(np.ones(160) * 0.5, 16000)])
    assert joined.samples_per_channel == 320
    assert silence(0.02, 16000).rms() == 0.0
    assert joined.slice(160, 320).rms() == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ConfigurationError, match="mixed"):
        concat_frames([silence(0.01, 16000), silence(0.01, 48000)])
    with pytest.raises(ConfigurationError):
        concat_frames([])


@given(arrays(np.int16, st.tuples(st.integers(0, 64), st.integers(1, 3))))
def test_bytes_round_trip_property(data: np.ndarray) -> None:  # type: ignore[type-arg]
    frame = AudioFrame(data, 8000)
    back = AudioFrame.from_bytes(frame.to_bytes(), 8000, data.shape[1])
    assert np.array_equal(back.data, data)
