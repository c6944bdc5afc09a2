"""The console's microphone and speaker, on a fake ``sounddevice`` (no sound card here).

The device layer is the fake in ``fake_sounddevice.py``: PortAudio-like callback
threads. The speaker and microphone bridges are also driven by hand, callback
by callback, for their bookkeeping (no threads, no clock).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trio

from tests.cli.fake_sounddevice import FakeSoundDevice
from trioagents.cli import _console
from trioagents.cli._console import run_console
from trioagents.cli._console_audio import (
    Microphone,
    NoSoundDevice,
    Speaker,
    open_console_audio,
)
from trioagents.core import AudioFrame
from trioagents.testing import FakeLLM, FakeSTT, FakeTTS, FakeVAD, LLMScript, Timeline, speech
from trioagents.voice import Agent, AgentSession

ROOT = Path(__file__).resolve().parents[2]


class ScriptedPrompt:
    """The console's prompt with nobody typing: Ctrl-D when the test says so."""

    interactive = False

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ended = trio.Event()
        self._printed = trio.Event()

    def emit(self, text: str) -> None:
        self.lines.append(text)
        self._printed.set()
        self._printed = trio.Event()

    async def read_line(self) -> str | None:
        await self.ended.wait()
        return None

    async def wait_for(self, line: str) -> None:
        while line not in self.lines:
            await self._printed.wait()


def _frame(value: int, samples: int = 480, rate: int = 24000) -> AudioFrame:
    return AudioFrame.from_mono(np.full(samples, value, dtype=np.int16), rate)


def _play(speaker: Speaker, samples: int) -> np.ndarray:
    out = np.full((samples, 1), -1, dtype=np.int16)
    speaker.callback(out, samples, None, None)
    return out[:, 0]


async def test_session_hears_the_microphone_and_speaks_through_the_speaker() -> None:
    device = FakeSoundDevice()
    timeline = Timeline([speech(0.0, 0.6, "hello")], sample_rate=16000)
    session: AgentSession[None] = AgentSession(
        vad=FakeVAD(),
        stt=FakeSTT(timeline),
        llm=FakeLLM({"hello": LLMScript(text="Hi there.")}),
        tts=FakeTTS(),
    )
    prompt = ScriptedPrompt()
    with trio.fail_after(20):
        async with open_console_audio(device, input_rate=16000, output_rate=24000) as audio:
            async with trio.open_nursery() as nursery:
                agent = Agent(instructions="x")
                nursery.start_soon(run_console, session, agent, prompt, None, audio)
                device.speak(np.full(round(0.6 * 16000), 1, dtype=np.int16), blocksize=320)
                await prompt.wait_for("agent: Hi there.")
                prompt.ended.set()  # Ctrl-D
            streams = list(device.streams)
            assert all(s.started and not s.closed for s in streams)
    assert "  you: hello" in prompt.lines  # the session heard the microphone
    played = device.played_samples()
    spoken = played[played > 0]  # FakeTTS samples are 1 + characters spoken so far
    expected = round(len("Hi there.") / 16.0 * 24000)
    assert abs(spoken.size - expected) <= 480, (spoken.size, expected)
    assert spoken.max() == len("Hi there.") + 1  # the whole reply reached the speaker
    assert [type(s).__name__ for s in streams] == ["InputStream", "OutputStream"]
    assert all(s.aborted and s.closed for s in streams)  # leaving the console stopped them
    assert all(s._thread is not None and not s._thread.is_alive() for s in streams)


async def test_cancelling_the_console_closes_the_streams() -> None:
    device = FakeSoundDevice()
    with trio.CancelScope() as scope:
        async with open_console_audio(device) as audio:
            async for _ in audio.microphone:  # the first block of silence: Ctrl-C
                scope.cancel()
    assert scope.cancelled_caught
    assert len(device.streams) == 2
    assert all(s.aborted and s.closed for s in device.streams)


async def test_no_device_says_use_text() -> None:
    with pytest.raises(NoSoundDevice, match="--text"):
        async with open_console_audio(FakeSoundDevice(has_devices=False)):
            pass


def test_console_without_a_device_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_console, "load_sounddevice", lambda: FakeSoundDevice(has_devices=False))
    assert _console.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no sound input device" in err[0]
    assert "--text" in err[0]


def test_real_device_path_degrades_with_a_message() -> None:
    """This machine: sounddevice is installed (pocketsphinx needs it), PortAudio is not."""
    probe = subprocess.run([sys.executable, "-c", "import sounddevice"], capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    result = subprocess.run(
        [sys.executable, "-m", "trioagents.cli", "console"],
        input="", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    if probe.returncode == 0:
        pytest.skip("PortAudio is installed here: a device (or its absence) is real")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--text" in result.stderr
    assert "PortAudio" in result.stderr


async def test_speaker_reports_what_played_and_stops_at_once_on_clear() -> None:
    speaker = Speaker(24000)
    for _ in range(5):  # 100 ms
        await speaker.wait_for_capacity()
        speaker.capture_frame(_frame(7))
    speaker.flush()
    assert (_play(speaker, 1440) == 7).all()  # 60 ms
    speaker.clear_buffer()  # barge-in
    assert (_play(speaker, 480) == 0).all()  # the next block is silence
    report = await speaker.wait_for_playout()
    assert report.interrupted
    assert report.playback_position == pytest.approx(0.06)

    speaker.capture_frame(_frame(3))
    speaker.flush()
    _play(speaker, 960)
    report = await speaker.wait_for_playout()
    assert (report.interrupted, report.playback_position) == (False, pytest.approx(0.02))


async def test_speaker_backpressure_is_its_queue(autojump_clock: trio.abc.Clock) -> None:
    speaker = Speaker(24000, queue_duration=0.04)
    speaker.capture_frame(_frame(1))
    speaker.capture_frame(_frame(1))  # 40 ms queued: full
    with trio.move_on_after(0.05) as waited:
        await speaker.wait_for_capacity()
    assert waited.cancelled_caught
    async with trio.open_nursery() as nursery:
        nursery.start_soon(speaker.wait_for_capacity)
        await trio.testing.wait_all_tasks_blocked()
        _play(speaker, 480)  # the device took 20 ms: room for one frame
    speaker.pause()
    assert (_play(speaker, 480) == 0).all()  # paused: silence, the queue is kept
    speaker.resume()
    assert (_play(speaker, 480) == 1).all()


async def test_microphone_is_bounded_and_drops_the_oldest() -> None:
    microphone = Microphone(16000)
    for index in range(60):
        microphone.callback(np.full((320, 1), index, dtype=np.int16), 320, None, None)
    microphone.close()
    values = [int(frame.data[0, 0]) async for frame in microphone]
    assert values == list(range(10, 60))
    assert microphone.dropped == 10
