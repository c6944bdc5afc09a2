"""SmartTurnDetector.warm: the model runs once per turn's audio, started early."""

from __future__ import annotations

import threading

import numpy as np
import trio
import trio.testing
from numpy.typing import NDArray

from trioagents.core import AudioFrame, ChatContext
from trioagents.providers import AnyIncompleteDetector, DanglingWordDetector, SmartTurnDetector


class CountingModel:
    def __init__(self) -> None:
        self.calls = 0

    def predict(self, samples: NDArray[np.float32]) -> float:
        self.calls += 1
        return 0.8


def turn_audio(seconds: float = 1.0) -> tuple[AudioFrame, ...]:
    frame = AudioFrame.from_mono(np.full(160, 1000, dtype=np.int16), 16000)
    return tuple(AudioFrame(frame.data, 16000) for _ in range(round(seconds / 0.01)))


async def test_a_prediction_after_warm_reuses_its_verdict() -> None:
    model = CountingModel()
    detector = SmartTurnDetector(model=model)
    audio = turn_audio()
    await detector.warm(audio)
    assert await detector.predict_end_of_turn(ChatContext(), "hi", audio) == 0.8
    assert model.calls == 1
    other = turn_audio()  # other frames: the model runs again
    assert await detector.predict_end_of_turn(ChatContext(), "hi", other) == 0.8
    assert model.calls == 2


async def test_the_combined_detector_warms_only_its_audio_members() -> None:
    model = CountingModel()
    combined = AnyIncompleteDetector([SmartTurnDetector(model=model), DanglingWordDetector()])
    audio = turn_audio()
    await combined.warm(audio)
    assert model.calls == 1
    assert await combined.predict_end_of_turn(ChatContext(), "a table for", audio) < 0.5
    assert await combined.predict_end_of_turn(ChatContext(), "a table", audio) > 0.5
    assert model.calls == 1


async def test_a_cancelled_warm_leaves_the_prediction_to_the_later_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    model = CountingModel()
    detector = SmartTurnDetector(model=model)
    audio = turn_audio()
    with trio.CancelScope() as scope:
        scope.cancel()
        await detector.warm(audio)
    assert await detector.predict_end_of_turn(ChatContext(), "hi", audio) == 0.8
    assert model.calls >= 1


class HeldModel(CountingModel):
    """Blocks in its worker thread until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def predict(self, samples: NDArray[np.float32]) -> float:
        self.release.wait(timeout=10)
        return super().predict(samples)


async def test_a_prediction_that_starts_before_the_warm_up_is_shared_with_it() -> None:
    """The session starts the warm-up and the endpointing wait in the same step, and
    Trio runs new tasks in either order: whichever asks first runs the model, the
    other waits for that verdict (before: the model ran twice, side by side)."""
    model = HeldModel()
    detector = SmartTurnDetector(model=model)
    audio = turn_audio()
    verdicts: list[float] = []

    async def predict() -> None:
        verdicts.append(await detector.predict_end_of_turn(ChatContext(), "hi", audio))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(predict)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(detector.warm, audio)
        await trio.testing.wait_all_tasks_blocked()
        model.release.set()
    assert verdicts == [0.8]
    assert model.calls == 1
