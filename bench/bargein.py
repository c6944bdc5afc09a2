"""Barge-in latency in real time: how fast the agent stops when the user interrupts.

Each run is one session on the trioagents.testing fakes (LLM, TTS, STT, sink), on
the real clock: the user asks, the agent starts a long reply (LLM still streaming,
TTS synthesizing at real speed), and the user talks over it. Measured from the
interruption instant -- when the VAD first reports ``min_interruption_duration``
(0.5 s) of the interrupting speech, i.e. the delivery of the audio frame that made
the condition true -- to:

* stop: the sink's device queue was cleared (from then on it accepts no frame of
  that reply; frames accepted after the instant are counted as ghost frames);
* llm_closed / tts_closed: the LLM and TTS streams of the reply finished closing.

and ``vad_lag``: the interruption instant minus the true one (the interrupting
speech's start + 0.5 s), what the VAD's own decision adds before the session can act.

    python bench/bargein.py --runs 30                  # FakeVAD on marker audio
    python bench/bargein.py --runs 30 --vad energy     # the library's gated VAD stream
    python bench/bargein.py --runs 30 --vad silero     # Silero on synthesized speech
    python bench/bargein.py --runs 30 --vad silero-batched  # the same, batched Silero

``--vad energy`` runs the EnergyVAD (the same gated, inline stream SileroVAD uses)
with a threshold under the timeline's marker samples, so it hears the scripted user
where the timeline says. ``--vad silero`` (extras ``vad`` and ``piper``, or ``tts``
for espeak-ng) plays the user as real speech: "Tell me everything about your
opening hours." and "Stop, wait a moment please.", synthesized once by piper's joe
voice (espeak-ng if piper is missing) and played as 10 ms frames; the STT stays the
fake, fed the timeline's markers for the same stretch of audio
(``_speech_input.py``). Silero runs with LiveKit's defaults (0.05 s to start
speech, 0.55 s of silence to end it). ``--vad silero-batched`` scores the same
speech through ``open_silero_batcher`` (one session: batches of one, in a worker
thread): the stream is not inline, so the instant is when the session read the
VAD's event, after the batch returned.

Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _speech_input import (
    RATE,
    RecordedInput,
    RecordingVAD,
    TimelineSTT,
    offline_tts,
    synthesize,
)
from _speech_input import scene as build_scene

from trioagents.core import STT, VAD
from trioagents.providers import SileroBatcher
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
QUESTION = "Tell me everything about your opening hours."
INTERRUPTION = "Stop, wait a moment please."


def make_vad(kind: str, batcher: SileroBatcher | None = None) -> VAD:
    if kind == "energy":
        from trioagents.providers import EnergyVAD, VADOptions

        options = VADOptions(min_speech_duration=0.05, min_silence_duration=0.3)
        return EnergyVAD(threshold=1e-5, options=options)
    if kind in ("silero", "silero-batched"):
        from trioagents.providers import SileroVAD

        return SileroVAD(batcher=batcher)  # LiveKit's defaults: 0.05 s to start, 0.55 s to end
    return FakeVAD()


@dataclass(frozen=True, slots=True)
class Caller:
    """The scripted user of a run: audio input, STT, and when the barge-in starts."""

    audio_in: FakeAudioInput | RecordedInput
    stt: STT
    barge_in: float  # timeline time the interrupting speech starts


def marker_caller(barge_in: float) -> Caller:
    timeline = Timeline(
        [speech(0.3, 0.8, "tell me everything"), speech(barge_in, barge_in + 1.0, "stop")],
        tail=0.5,
    )
    return Caller(FakeAudioInput(timeline), FakeSTT(timeline, final_delay=0.0), barge_in)


async def speech_caller(voice: Voice, delay: float, seed: int) -> Caller:
    """Real speech: the question, then the barge-in ``delay`` after the reply began.

    The reply begins after the VAD's 0.55 s silence window and the 0.5 s endpointing
    delay; the barge-in starts ``delay`` later (0.55-0.85 s into the reply).
    """
    question, interruption = voice.utterances
    start = 0.3 + len(question) / RATE + 0.55 + 0.5 + delay
    scene = build_scene(
        [(question, "tell me everything", 0.3), (interruption, "stop", start)], 1.0, seed
    )
    return Caller(RecordedInput(scene.samples), TimelineSTT(scene.timeline), start)


@dataclass(frozen=True, slots=True)
class Voice:
    """The two utterances of the real-speech runs, synthesized once."""

    utterances: tuple[np.ndarray, np.ndarray]
    label: str


async def synthesize_voice() -> Voice:
    tts = offline_tts()
    question = await synthesize(tts, QUESTION)
    interruption = await synthesize(tts, INTERRUPTION)
    return Voice((question, interruption), tts.label)


async def one_run(
    caller: Caller | float, vad_kind: str = "fake", batcher: SileroBatcher | None = None
) -> dict[str, float]:
    """One barge-in. Times are from the interruption instant: when the VAD first
    reported ``MIN_DURATION`` of the interrupting speech (for the marker VADs, the
    delivery of the frame completing it). ``vad_lag``: that instant minus the true
    one (the speech's start + ``MIN_DURATION``), what the VAD itself adds."""
    if not isinstance(caller, Caller):
        caller = marker_caller(caller)
    llm = FakeLLM(default=LLMScript(REPLY, ttft=0.0, token_delay=0.03, hang=True))
    tts = FakeTTS(frame_interval=0.02)  # synthesizes at real speed: a stream is open
    output = FakeAudioOutput()  # 20 ms frames, 200 ms device queue
    vad = RecordingVAD(make_vad(vad_kind, batcher))
    session: AgentSession[None] = AgentSession(stt=caller.stt, llm=llm, tts=tts, vad=vad)
    audio_in = caller.audio_in
    async with session.start(
        Agent(instructions="bench"), audio_input=audio_in, audio_output=output
    ):
        await trio.sleep(caller.barge_in + MIN_DURATION + 0.6)
    onset = audio_in.to_clock(caller.barge_in)
    instant = vad.condition_instant(after=onset - 0.05, seconds=MIN_DURATION)
    assert output.clears, "the reply was not interrupted"
    ghosts = sum(1 for f in output.accepted if f.at > instant)
    llm_closed = [r.closed_at for r in llm.streams.records if r.opened_at < instant]
    tts_closed = [r.closed_at for r in tts.streams.records if r.opened_at < instant]
    return {
        "stop": output.clears[0] - instant,
        "ghosts": ghosts,
        "llm_closed": max(c for c in llm_closed if c is not None) - instant,
        "tts_closed": max(c for c in tts_closed if c is not None) - instant,
        "vad_lag": instant - (onset + MIN_DURATION),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int, seed: int, vad_kind: str = "fake") -> None:
    async with contextlib.AsyncExitStack() as stack:
        batcher = None
        if vad_kind == "silero-batched":
            from trioagents.providers import open_silero_batcher

            batcher = await stack.enter_async_context(open_silero_batcher())
        await run_all(runs, seed, vad_kind, batcher)


async def run_all(runs: int, seed: int, vad_kind: str, batcher: SileroBatcher | None) -> None:
    rng = random.Random(seed)
    voice = await synthesize_voice() if vad_kind.startswith("silero") else None
    results = []
    for index in range(runs):
        offset = rng.uniform(0.0, 0.3)
        if voice is None:
            caller = marker_caller(1.6 + offset)
        else:
            caller = await speech_caller(voice, offset, seed=index)
        result = await one_run(caller, vad_kind=vad_kind, batcher=batcher)
        results.append(result)
        print(
            f"run {index + 1}: stop {result['stop'] * 1000:.3f} ms, "
            f"llm closed {result['llm_closed'] * 1000:.3f} ms, "
            f"tts closed {result['tts_closed'] * 1000:.3f} ms, ghosts {result['ghosts']}, "
            f"vad lag {result['vad_lag'] * 1000:.1f} ms"
        )
    keys = ("stop", "llm_closed", "tts_closed", "vad_lag")
    ms = {k: [r[k] * 1000 for r in results] for k in keys}
    summary = {
        "runs": runs,
        "vad": vad_kind if voice is None else f"{vad_kind} ({voice.label})",
        "stop_p50_ms": round(statistics.median(ms["stop"]), 3),
        "stop_p95_ms": round(percentile(ms["stop"], 0.95), 3),
        "stop_p99_ms": round(percentile(ms["stop"], 0.99), 3),
        "stop_max_ms": round(max(ms["stop"]), 3),
        "ghost_frames": int(sum(r["ghosts"] for r in results)),
        "llm_closed_p99_ms": round(percentile(ms["llm_closed"], 0.99), 3),
        "tts_closed_p99_ms": round(percentile(ms["tts_closed"], 0.99), 3),
        "vad_lag_p50_ms": round(statistics.median(ms["vad_lag"]), 1),
        "vad_lag_p95_ms": round(percentile(ms["vad_lag"], 0.95), 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="barge-in latency (real time)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--vad", choices=["fake", "energy", "silero", "silero-batched"], default="fake"
    )
    args = parser.parse_args()
    trio.run(main, args.runs, args.seed, args.vad)
