"""Whisper-style log-mel features: window, spectrum and filterbank properties."""

from __future__ import annotations

import numpy as np
import pytest

from trioagents.providers._log_mel import (
    N_MELS,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    _hz_to_mel,
    _mel_filters,
    _power_spectrum,
    log_mel_features,
    turn_window,
)


def test_the_window_keeps_the_end_and_pads_the_front() -> None:
    short = np.ones(1000, dtype=np.float32)
    window = turn_window(short)
    assert window.shape == (WINDOW_SAMPLES,)
    assert not window[:-1000].any()
    assert window[-1000:].all()
    long = np.arange(WINDOW_SAMPLES + 5, dtype=np.float32)
    assert turn_window(long)[0] == 5.0


def test_features_have_whisper_shape_and_range() -> None:
    rng = np.random.default_rng(7)
    features = log_mel_features(turn_window(rng.standard_normal(16000).astype(np.float32)))
    assert features.shape == (N_MELS, 800)
    assert features.dtype == np.float32
    # clamped to 8 decades below the peak, then (x + 4) / 4
    assert features.max() - features.min() <= 2.0 + 1e-6


def test_a_tone_lights_up_the_mel_band_of_its_frequency() -> None:
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    features = log_mel_features(turn_window(np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)))
    band = int(np.argmax(features[:, -150:].mean(axis=1)))
    edges = np.linspace(0.0, _hz_to_mel(np.array([8000.0]))[0], N_MELS + 2)
    expected = int(np.argmin(np.abs(edges[1:-1] - _hz_to_mel(np.array([1000.0]))[0])))
    assert abs(band - expected) <= 1


def test_the_spectrum_matches_a_frame_by_frame_transform() -> None:
    x = np.random.default_rng(3).standard_normal(4000)
    fast = _power_spectrum(x)
    padded = np.pad(x, (200, 200), mode="reflect")
    window = np.hanning(401)[:-1]  # periodic Hann
    for index in (0, 7, fast.shape[1] - 1):
        frame = padded[index * 160 : index * 160 + 400] * window
        assert np.allclose(fast[:, index], np.abs(np.fft.rfft(frame)) ** 2)


def test_each_mel_filter_has_unit_area_in_hertz() -> None:
    filters = _mel_filters()
    assert filters.shape == (N_MELS, 201)
    areas = filters.sum(axis=1) * (SAMPLE_RATE / 2 / 200)
    assert areas[5:] == pytest.approx(np.ones(N_MELS - 5), rel=0.15)


def test_the_window_must_be_8_seconds() -> None:
    with pytest.raises(ValueError, match="128000"):
        log_mel_features(np.zeros(10, dtype=np.float32))


def _features_frame_by_frame(window: np.ndarray) -> np.ndarray:
    """The features with every frame transformed (no shared padding spectrum)."""
    x = window.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))
    mel = _mel_filters() @ _power_spectrum(x.astype(np.float64))
    log_mel = np.log10(np.maximum(mel, 1e-10))[:, :-1]
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return ((log_mel + 4.0) / 4.0).astype(np.float32)


@pytest.mark.parametrize(
    "samples", [0, 1, 1000, 16000, 127639, 127640, 127641, 127799, 127800, 127801, 128000, 200000]
)
def test_the_padding_spectrum_computed_once_changes_nothing(samples: int) -> None:
    """Turns of any length, around the frame boundaries of the zero padding too."""
    x = np.random.default_rng(samples).standard_normal(samples).astype(np.float32) * 0.1
    window = turn_window(x)
    assert np.array_equal(log_mel_features(window), _features_frame_by_frame(window))


def test_digital_silence_after_the_padding_shares_its_spectrum() -> None:
    x = np.concatenate([np.zeros(361, np.float32), np.full(4000, 0.25, np.float32)])
    window = turn_window(x)
    assert np.array_equal(log_mel_features(window), _features_frame_by_frame(window))
