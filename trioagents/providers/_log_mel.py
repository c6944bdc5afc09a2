"""Whisper-style log-mel features in numpy, the input of the Smart Turn model.

Smart Turn v3 is a Whisper-Tiny encoder with a classifier head, so it expects
exactly the features Whisper's feature extractor computes, for an 8 s window at
16 kHz:

* the last 8 s of the turn (128,000 samples), zero-padded *at the front* when
  shorter (the end of the turn is what matters and always sits at the end);
* the waveform normalized to zero mean and unit variance (variance + 1e-7);
* a centred short-time Fourier transform: reflect padding of half a frame on each
  side, 400-sample frames (25 ms) every 160 samples (10 ms), a periodic Hann
  window, the power spectrum of the 201 non-negative bins, the last frame dropped
  (800 frames);
* 80 triangular mel filters from 0 to 8 kHz on the Slaney mel scale (linear below
  1 kHz, logarithmic above), each scaled to unit area (Slaney normalization);
* ``log10`` of the mel energies floored at 1e-10, clamped to at most 8 decades
  below the maximum, then mapped with ``(x + 4) / 4``.

These parameters were read from Pipecat's Smart Turn feature code and Whisper's
feature extractor; this module is an independent implementation of them. One
shortcut, exact: the frames that read only the front padding are all equal, so
their spectrum and mel energies are computed once (most turns are shorter than
8 s; a 2 s turn transforms 200 frames instead of 801).
Everything is pure and synchronous; the detector runs it in a worker thread.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

__all__ = ["N_MELS", "SAMPLE_RATE", "WINDOW_SAMPLES", "log_mel_features", "turn_window"]

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 8 * SAMPLE_RATE
N_MELS = 80
_FRAME = 400
_HOP = 160


def turn_window(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """The last 8 s of ``samples`` (16 kHz mono), zero-padded at the front."""
    if samples.size >= WINDOW_SAMPLES:
        return samples[-WINDOW_SAMPLES:].astype(np.float32, copy=False)
    out = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    if samples.size:
        out[-samples.size :] = samples
    return out


def log_mel_features(window: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(80, 800)`` float32 features of an 8 s window (see the module docstring)."""
    if window.shape != (WINDOW_SAMPLES,):
        raise ValueError(f"expected {WINDOW_SAMPLES} samples, got shape {window.shape}")
    x = window.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))
    power, repeats = _distinct_power(x.astype(np.float64), _leading_zeros(window))
    distinct = np.log10(np.maximum(_mel_filters() @ power, 1e-10))
    log_mel = np.repeat(distinct, [repeats] + [1] * (distinct.shape[1] - 1), axis=1)[:, :-1]
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    features: NDArray[np.float32] = ((log_mel + 4.0) / 4.0).astype(np.float32)
    return features


def _leading_zeros(window: NDArray[np.float32]) -> int:
    """How many samples at the front of ``window`` are zero (the padding of a turn
    shorter than 8 s, and any digital silence after it)."""
    nonzero = np.flatnonzero(window)
    return int(nonzero[0]) if nonzero.size else int(window.size)


def _power_spectrum(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(201, frames)`` power of the centred STFT."""
    power, repeats = _distinct_power(x, 0)
    assert repeats == 1
    return power


def _distinct_power(x: NDArray[np.float64], constant: int) -> tuple[NDArray[np.float64], int]:
    """The STFT power of the distinct frames, and how many frames the first stands for.

    ``constant``: the first samples of ``x`` all have one value (after
    normalization the padding is ``-mean/std``, not zero). Every frame that reads
    only those -- reflected padding included -- has the same spectrum, so it is
    computed once: a 2 s turn transforms a quarter of the 801 frames. Exact: the
    frames are equal, so are their transforms.
    """
    half = _FRAME // 2
    padded = np.pad(x, (half, half), mode="reflect")
    frames = sliding_window_view(padded, _FRAME)[::_HOP]
    # frame i reads x[160 i - 200 : 160 i + 200], and x[1 : 201] reflected at the front
    same = min((constant - half) // _HOP + 1, frames.shape[0]) if constant > half else 0
    first = max(same - 1, 0)
    spectrum = np.fft.rfft(frames[first:] * _hann(), axis=-1)
    power: NDArray[np.float64] = (spectrum.real**2 + spectrum.imag**2).T
    return power, max(same, 1)


@cache
def _hann() -> NDArray[np.float64]:
    """Periodic Hann window of one frame."""
    n = np.arange(_FRAME, dtype=np.float64)
    window: NDArray[np.float64] = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / _FRAME)
    return window


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slaney: 3 mels per 200 Hz up to 1 kHz (15 mels), then 27 mels per factor 6.4."""
    mel = hz * 3.0 / 200.0
    log_part = hz >= 1000.0
    mel[log_part] = 15.0 + np.log(hz[log_part] / 1000.0) * (27.0 / np.log(6.4))
    return mel


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    hz = mel * 200.0 / 3.0
    log_part = mel >= 15.0
    hz[log_part] = 1000.0 * np.exp((mel[log_part] - 15.0) * (np.log(6.4) / 27.0))
    return hz


@cache
def _mel_filters() -> NDArray[np.float64]:
    """``(80, 201)`` Slaney-normalized triangular filters over 0–8 kHz."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2, _FRAME // 2 + 1)
    edges_mel = np.linspace(
        _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([SAMPLE_RATE / 2]))[0], N_MELS + 2
    )
    edges = _mel_to_hz(edges_mel)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters
