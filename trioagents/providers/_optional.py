"""Lazy imports of optional model packages, with an error that says how to fix it.

The offline models are optional extras (``vad``, ``stt``, ``tts``); importing
trioagents never imports them. A provider imports its package when it is
constructed, so a missing extra fails at configuration time with a
:class:`~trioagents.core.ConfigurationError` naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from ..core import AudioFrame, ConfigurationError

__all__ = ["mono_at", "require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise ConfigurationError naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"{module} is not installed; install the extra: pip install 'trioagents[{extra}]'"
        ) from exc


def mono_at(frame: AudioFrame, sample_rate: int) -> NDArray[np.float32]:
    """``frame`` as mono float32 in [-1, 1] at ``sample_rate`` (linear interpolation).

    Linear interpolation is enough for VAD and STT input; it is not a playback
    resampler (use PyAV's for audio a person hears).
    """
    mono = frame.to_float_mono()
    if frame.sample_rate == sample_rate or mono.size == 0:
        return mono
    count = max(1, round(mono.size * sample_rate / frame.sample_rate))
    positions = np.arange(count, dtype=np.float64) * (frame.sample_rate / sample_rate)
    return np.interp(positions, np.arange(mono.size), mono).astype(np.float32)
