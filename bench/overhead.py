"""Response overhead in real time: user end of speech → first agent frame at the sink,
minus the endpointing delay, with zero-latency providers and concurrent sessions.

Every session holds a conversation on the trioagents.testing fakes (STT final
transcript with no delay, LLM and TTS answering at once); the scripted user speaks
``--turns`` times. For each reply, overhead = first frame captured by the sink −
(user's last speech + ``min_endpointing_delay``): what the framework adds on top of
the endpointing wait (timer lateness, scheduling, sentence splitting, playout).

    python bench/overhead.py --sessions 10 --turns 6

``--tts streaming --token-delay 0.01 --reply twelve --no-preemptive`` is issue 17's case: a
12-word one-sentence answer written 10 ms a word, into a TTS that takes streamed
input (word-fed) versus ``--tts chunked`` (one request per sentence, so synthesis
waits for the sentence's last word).

Prints one JSON line at the end. ``concurrency.py`` reuses :func:`run_sessions`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import open_ticker
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeStreamingTTS,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession, SessionOptions, TurnMetricsCollected

REPLIES = {
    "short": "Sure, I can help with that. Here is the answer.",
    "twelve": "Sure, I can book that table for you at eight tonight, okay?",
}


@dataclass(frozen=True)
class Setup:
    """What each session runs with (the defaults: the documented overhead run)."""

    tts: str = "chunked"  # or "streaming"
    token_delay: float = 0.0  # seconds between the LLM's words
    reply: str = REPLIES["short"]
    preemptive: bool = True  # LLM on the final transcript, before the turn is confirmed
    stt_chunk: float | None = None  # SessionOptions.stt_chunk_duration (None: its default)

    def options(self) -> SessionOptions:
        if self.stt_chunk is None:
            return SessionOptions(preemptive_generation=self.preemptive)
        return SessionOptions(
            preemptive_generation=self.preemptive, stt_chunk_duration=self.stt_chunk
        )


@dataclass
class Measured:
    overheads: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    turns: int = 0


def script(turns: int, offset: float) -> Timeline:
    """User speaks 1.0 s, then waits for the ~3 s reply, ``turns`` times."""
    segments = [
        speech(offset + 0.5 + i * 5.0, offset + 1.5 + i * 5.0, f"question {i}")
        for i in range(turns)
    ]
    return Timeline(segments, tail=4.0)


async def one_session(
    turns: int, offset: float, measured: Measured, setup: Setup = Setup()
) -> None:
    timeline = script(turns, offset)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0, interim_interval=0.5),
        llm=FakeLLM(default=LLMScript(setup.reply, token_delay=setup.token_delay)),
        tts=FakeStreamingTTS() if setup.tts == "streaming" else FakeTTS(),
        vad=FakeVAD(),
        options=setup.options(),
    )
    output = FakeAudioOutput()
    audio_in = FakeAudioInput(timeline)
    delay, _ = session.options.endpointing_delays(detector=False)

    def note(event: TurnMetricsCollected) -> None:  # as they come: a call buffers no events
        if event.e2e_latency is not None:
            measured.overheads.append(event.e2e_latency - delay)
            measured.turns += 1

    session.on(TurnMetricsCollected, note)
    async with session.start(
        Agent(instructions="bench"), audio_input=audio_in, audio_output=output
    ):
        await audio_in.finished.wait()
    measured.lateness.extend(output.lateness)


async def run_sessions(
    sessions: int, turns: int, setup: Setup = Setup(), *, ticker: bool = True
) -> Measured:
    """Start ``sessions`` sessions (staggered over 1 s) and wait until all are done.

    With ``ticker`` (the default, as a worker runs its jobs) the scripted inputs
    pace themselves through one process-wide :func:`~trioagents.core.open_ticker`.
    """
    measured = Measured()
    async with contextlib.AsyncExitStack() as stack:
        if ticker:
            await stack.enter_async_context(open_ticker())
        async with trio.open_nursery() as nursery:
            for index in range(sessions):
                nursery.start_soon(one_session, turns, (index % 100) / 100, measured, setup)
    return measured


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(sessions: int, turns: int, setup: Setup) -> None:
    measured = await run_sessions(sessions, turns, setup)
    ms = [v * 1000 for v in measured.overheads]
    summary = {
        "runs": len(ms),
        "overhead_p50_ms": round(statistics.median(ms), 3),
        "overhead_p99_ms": round(percentile(ms, 0.99), 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="response overhead (real time)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--tts", choices=["chunked", "streaming"], default="chunked")
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--reply", choices=sorted(REPLIES), default="short")
    parser.add_argument("--no-preemptive", action="store_true")
    args = parser.parse_args()
    setup = Setup(args.tts, args.token_delay, REPLIES[args.reply], not args.no_preemptive)
    trio.run(main, args.sessions, args.turns, setup)
