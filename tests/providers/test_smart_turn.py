"""SmartTurnDetector: the thread seam (any machine) and the real model (extra ``turn``)."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trio

from trioagents.core import AudioFrame, ChatContext, ConfigurationError, concat_frames
from trioagents.providers import SmartTurnDetector
from trioagents.providers._smart_turn import inference_limiter
from trioagents.providers._smart_turn_model import (
    MODEL_FILE,
    _extract,
    locate_model,
    shared_model,
)


class BlockingModel:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.samples: list[int] = []

    def predict(self, samples: np.ndarray) -> float:
        self.samples.append(samples.size)
        self.entered.set()
        self.release.wait(10)
        return 0.25


def frames(seconds: float, rate: int) -> list[AudioFrame]:
    step = rate // 100
    return [
        AudioFrame.from_mono(np.zeros(step, dtype=np.int16), rate)
        for _ in range(round(seconds * 100))
    ]


async def test_audio_is_mixed_to_16k_and_cut_to_8_s() -> None:
    model = BlockingModel()
    model.release.set()
    detector = SmartTurnDetector(model=model)
    assert await detector.predict_end_of_turn(ChatContext(), "", frames(1.0, 48000)) == 0.25
    await detector.predict_end_of_turn(ChatContext(), "", frames(12.0, 24000))
    assert model.samples[0] == 16000
    assert 128000 <= model.samples[1] <= 128000 + 160


async def test_a_cancelled_prediction_is_abandoned_not_waited_for() -> None:
    model = BlockingModel()
    detector = SmartTurnDetector(model=model)
    inference_limiter().total_tokens = 1
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def predict() -> None:
                await detector.predict_end_of_turn(ChatContext(), "", frames(0.5, 16000))

            nursery.start_soon(predict)
            await trio.to_thread.run_sync(model.entered.wait)
            nursery.cancel_scope.cancel()
        # the call returned while the model still runs: its limiter token is still held
        assert inference_limiter().borrowed_tokens == 1
        model.release.set()
        async with inference_limiter():  # available again once the thread has finished
            assert inference_limiter().borrowed_tokens == 1


def test_a_missing_model_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        locate_model(tmp_path / "nope.onnx")


def test_the_model_is_found_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / MODEL_FILE
    model.write_bytes(b"onnx")
    monkeypatch.setenv("TRIOAGENTS_SMART_TURN_MODEL", str(model))
    assert locate_model() == model
    monkeypatch.delenv("TRIOAGENTS_SMART_TURN_MODEL")
    monkeypatch.setenv("TRIOAGENTS_CACHE", str(tmp_path))
    monkeypatch.setattr("trioagents.providers._smart_turn_model._installed_pipecat", lambda: None)
    assert locate_model() == model


def test_a_wheel_with_another_model_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "pipecat_ai-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"pipecat/audio/turn/smart_turn/data/{MODEL_FILE}", b"not it")
    with pytest.raises(ConfigurationError, match="SHA-256"):
        _extract(wheel)


def test_one_model_per_file_per_process(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / MODEL_FILE
    path.write_bytes(b"x")
    assert shared_model(path) is shared_model(tmp_path / "." / MODEL_FILE)


# ------------------------------------------------------------ the real model


def _real_detector() -> SmartTurnDetector:
    pytest.importorskip("onnxruntime")
    try:
        return SmartTurnDetector()
    except ConfigurationError:
        pytest.skip("Smart Turn model not fetched (trioagents fetch-turn-model)")


async def _spoken(text: str) -> list[AudioFrame]:
    from trioagents.providers import PiperTTS

    try:
        tts = PiperTTS(deterministic=True)
    except ConfigurationError:
        pytest.skip("needs the piper extra to synthesize speech")
    async with tts.synthesize(text) as audio:
        speech = [frame async for frame in audio]
    rate = speech[0].sample_rate
    return [concat_frames(speech), AudioFrame.from_mono(np.zeros(rate // 5, np.int16), rate)]


@pytest.mark.parametrize(
    ("text", "done"),
    [("Can you tell me the opening hours?", True), ("I'd like to book a table for, um", False)],
)
async def test_the_model_hears_a_finished_question_and_a_hesitation(text: str, done: bool) -> None:
    detector = _real_detector()
    audio = await _spoken(text)
    with trio.fail_after(30):
        probability = await detector.predict_end_of_turn(ChatContext(), text, audio)
    assert (probability >= detector.unlikely_threshold) is done
