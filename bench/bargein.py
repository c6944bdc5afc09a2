"""Barge-in latency in real time: how fast the agent stops when the user interrupts.

Each run is one session on the trioagents.testing fakes, on the real clock: the user
asks, the agent starts a long reply (LLM still streaming, TTS synthesizing at real
speed), and the user talks over it. Measured from the instant the interruption
condition holds -- the audio frame that completes ``min_interruption_duration`` of
user speech is delivered -- to:

* stop: the sink's device queue was cleared (from then on it accepts no frame of
  that reply; frames accepted after the instant are counted as ghost frames);
* llm_closed / tts_closed: the LLM and TTS streams of the reply finished closing.

    python bench/bargein.py --runs 30
    python bench/bargein.py --runs 30 --vad energy   # the library's gated VAD stream

``--vad energy`` runs the EnergyVAD (the same gated, inline stream SileroVAD uses)
with a threshold under the timeline's marker samples, so it hears the scripted user
where the timeline says.

Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import AudioFrame
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession

REPLY = " ".join(["This is a long answer that keeps going for quite a while."] * 12)
MIN_DURATION = 0.5


class StampedInput(FakeAudioInput):
    """Records the Trio time each frame was delivered (pushed, as the session takes
    a FakeAudioInput's frames when the VAD runs inline, or iterated)."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(timeline)
        self.delivered: list[tuple[float, int]] = []

    async def push_frames(self, on_frame: Callable[[AudioFrame], bool]) -> bool:
        def stamped(frame: AudioFrame) -> bool:
            self.delivered.append((trio.current_time(), int(frame.data[0, 0])))
            return on_frame(frame)

        return await super().push_frames(stamped)


def condition_instant(delivered: list[tuple[float, int]], marker: int) -> float:
    """Delivery time of the frame completing MIN_DURATION of segment ``marker``."""
    frames = [t for t, m in delivered if m == marker]
    return frames[round(MIN_DURATION / 0.01) - 1]


def make_vad(kind: str) -> object:
    if kind == "energy":
        from trioagents.providers import EnergyVAD, VADOptions

        options = VADOptions(min_speech_duration=0.05, min_silence_duration=0.3)
        return EnergyVAD(threshold=1e-5, options=options)
    return FakeVAD()


async def one_run(barge_in: float, vad_kind: str = "fake") -> dict[str, float]:
    timeline = Timeline(
        [speech(0.3, 0.8, "tell me everything"), speech(barge_in, barge_in + 1.0, "stop")],
        tail=0.5,
    )
    llm = FakeLLM(default=LLMScript(REPLY, ttft=0.0, token_delay=0.03, hang=True))
    tts = FakeTTS(frame_interval=0.02)  # synthesizes at real speed: a stream is open
    output = FakeAudioOutput()  # 20 ms frames, 200 ms device queue
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=llm,
        tts=tts,
        vad=make_vad(vad_kind),  # type: ignore[arg-type]
    )
    audio_in = StampedInput(timeline)
    async with session.start(
        Agent(instructions="bench"), audio_input=audio_in, audio_output=output
    ):
        await trio.sleep(barge_in + MIN_DURATION + 0.4)
    instant = condition_instant(audio_in.delivered, 2)
    assert output.clears, "the reply was not interrupted"
    ghosts = sum(1 for f in output.accepted if f.at > instant)
    llm_closed = [r.closed_at for r in llm.streams.records if r.opened_at < instant]
    tts_closed = [r.closed_at for r in tts.streams.records if r.opened_at < instant]
    return {
        "stop": output.clears[0] - instant,
        "ghosts": ghosts,
        "llm_closed": max(c for c in llm_closed if c is not None) - instant,
        "tts_closed": max(c for c in tts_closed if c is not None) - instant,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int, seed: int, vad_kind: str = "fake") -> None:
    rng = random.Random(seed)
    results = []
    for index in range(runs):
        result = await one_run(barge_in=1.6 + rng.uniform(0.0, 0.3), vad_kind=vad_kind)
        results.append(result)
        print(
            f"run {index + 1}: stop {result['stop'] * 1000:.3f} ms, "
            f"llm closed {result['llm_closed'] * 1000:.3f} ms, "
            f"tts closed {result['tts_closed'] * 1000:.3f} ms, ghosts {result['ghosts']}"
        )
    ms = {k: [r[k] * 1000 for r in results] for k in ("stop", "llm_closed", "tts_closed")}
    summary = {
        "runs": runs,
        "vad": vad_kind,
        "stop_p50_ms": round(statistics.median(ms["stop"]), 3),
        "stop_p99_ms": round(percentile(ms["stop"], 0.99), 3),
        "stop_max_ms": round(max(ms["stop"]), 3),
        "ghost_frames": int(sum(r["ghosts"] for r in results)),
        "llm_closed_p99_ms": round(percentile(ms["llm_closed"], 0.99), 3),
        "tts_closed_p99_ms": round(percentile(ms["tts_closed"], 0.99), 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="barge-in latency (real time)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vad", choices=["fake", "energy"], default="fake")
    args = parser.parse_args()
    trio.run(main, args.runs, args.seed, args.vad)
