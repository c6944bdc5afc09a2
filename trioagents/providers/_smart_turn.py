"""SmartTurnDetector: the offline Smart Turn v3.2 audio model as a turn detector.

Smart Turn reads the *sound* of the end of the turn (intonation, lengthening,
"um"), in 23 languages, from up to the last 8 s of the turn at 16 kHz. The session
hands it the turn's audio (pre-roll, pauses and trailing silence included); it is
mixed to mono and converted to 16 kHz, then features and inference run in a worker
thread:

* ``trio.to_thread.run_sync(..., abandon_on_cancel=True)``: new user speech
  cancels the endpointing wait and the prediction is *abandoned* -- the call
  returns at once, the thread finishes on its own and its result is dropped;
* bounded by one :class:`trio.CapacityLimiter` per Trio run (:func:`inference_limiter`,
  2 tokens: this machine kind has 2 cores). An abandoned thread keeps its token
  until it finishes, so abandoned work still counts against the bound;
* the model is loaded once per process (``shared_model``), on first use, in the
  thread; every detector and session of the process shares it.

``model=`` replaces the model by anything with a blocking ``predict(samples) ->
float`` (tests, another ONNX turn model). Rejected alternative: running the model
on the event loop -- 50 ms of inference would stall every session's audio.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import trio
from numpy.typing import NDArray

from ..core import AudioFrame, ChatContext, ProviderError, concat_frames
from ._log_mel import SAMPLE_RATE, WINDOW_SAMPLES
from ._optional import mono_at, require
from ._smart_turn_model import locate_model, shared_model

__all__ = ["EndOfTurnModel", "SmartTurnDetector", "inference_limiter"]

_LIMITER: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar(
    "trioagents_turn_inference"
)
MAX_CONCURRENT_INFERENCES = 2


def inference_limiter() -> trio.CapacityLimiter:
    """The limiter of every SmartTurnDetector in this Trio run (adjust ``total_tokens``)."""
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = trio.CapacityLimiter(MAX_CONCURRENT_INFERENCES)
        _LIMITER.set(limiter)
        return limiter


class EndOfTurnModel(Protocol):
    """A blocking audio end-of-turn model: P(complete) for 16 kHz mono float samples."""

    def predict(self, samples: NDArray[np.float32]) -> float: ...


class SmartTurnDetector:
    """A :class:`~trioagents.voice.TurnDetector` over Smart Turn v3.2 (extra ``turn``).

    ``model_path``: the ONNX file (default: see ``locate_model``). Construction
    checks that onnxruntime and the file are there (ConfigurationError saying how to
    get them) but loads nothing. ``unlikely_threshold`` 0.5 is the model's own
    decision boundary.
    """

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        unlikely_threshold: float = 0.5,
        model: EndOfTurnModel | None = None,
    ) -> None:
        if model is None:
            require("onnxruntime", "turn")
            model = shared_model(locate_model(model_path))
        self._model = model
        self._threshold = unlikely_threshold
        self._ready: dict[tuple[int, int], _Verdict] = {}  # warmed audio -> its verdict

    @property
    def label(self) -> str:
        return "smart-turn-v3.2"

    @property
    def unlikely_threshold(self) -> float:
        return self._threshold

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        """P(the turn is over), from ``audio`` only (text and context are unused).

        Runs in a worker thread (see the module docstring); cancellation abandons
        it. A prediction for the frames a :meth:`warm` (or another prediction) is
        already running for waits for that verdict instead of running the model
        again. Raises ProviderError if inference fails.
        """
        return await self._shared(audio)

    async def warm(self, audio: Sequence[AudioFrame]) -> None:
        """Predict for ``audio`` now (the session calls this at the VAD's end of speech,
        while the STT still decodes): a later :meth:`predict_end_of_turn` for the same
        frames waits for this result instead of running the model again, and this
        waits for an earlier one. Cancellation (new speech) abandons it; a failure is
        left for that later call to meet."""
        with contextlib.suppress(ProviderError):
            await self._shared(audio)

    async def _shared(self, audio: Sequence[AudioFrame]) -> float:
        """One model run per audio: join the running one, else run and publish it.

        The session starts the warm-up and the endpointing wait in the same step and
        Trio runs new tasks in either order, so either may come first. A joined run
        that failed or was abandoned leaves no verdict: this call then runs its own.
        """
        key = _audio_key(audio)
        running = self._ready.get(key)
        if running is not None and audio and running.last is audio[-1]:
            await running.done.wait()
            if running.probability is not None:
                return running.probability
        verdict = _Verdict(audio[-1] if audio else None)
        self._ready = {key: verdict}  # only the latest turn's audio is worth keeping
        try:
            verdict.probability = await self._infer(audio)
            return verdict.probability
        finally:
            verdict.done.set()
            if verdict.probability is None and self._ready.get(key) is verdict:
                del self._ready[key]

    async def _infer(self, audio: Sequence[AudioFrame]) -> float:
        samples = _samples_16k(audio)
        await trio.lowlevel.checkpoint()
        return await trio.to_thread.run_sync(
            self._model.predict, samples, abandon_on_cancel=True, limiter=inference_limiter()
        )


class _Verdict:
    __slots__ = ("done", "last", "probability")

    def __init__(self, last: AudioFrame | None) -> None:
        self.done = trio.Event()
        self.last = last  # kept alive, so its id cannot be reused while cached
        self.probability: float | None = None


def _audio_key(audio: Sequence[AudioFrame]) -> tuple[int, int]:
    """The same frames (immutable objects) in the same number: the same model input."""
    return (id(audio[-1]) if audio else 0, len(audio))


def _samples_16k(audio: Sequence[AudioFrame]) -> NDArray[np.float32]:
    """The last 8 s of ``audio`` as 16 kHz mono float32 (one conversion, not per frame)."""
    kept: list[AudioFrame] = []
    seconds = 0.0
    for frame in reversed(audio):
        kept.append(frame)
        seconds += frame.duration
        if seconds >= WINDOW_SAMPLES / SAMPLE_RATE:
            break
    if not kept:
        return np.zeros(0, dtype=np.float32)
    return mono_at(concat_frames(kept[::-1]), SAMPLE_RATE)
