"""A streaming STT over a real loopback websocket: first interim, and end of speech to final.

Runs the test kit's fake server for ``--provider`` (``deepgram``: the fake Deepgram,
``DeepgramSTT``; ``openai``: the fake OpenAI realtime transcription,
``OpenAIRealtimeSTT``) on 127.0.0.1 (real clock) and streams ``--runs`` one-word
utterances through one stream, timing each against the moment a frame was sent
(``push_frame`` returned) to the moment an event came out of the iterator:

* ``finalize``: speech sent unpaced, then the client asks for the final right after
  the last frame (Deepgram's ``Finalize``; OpenAI without turn detection, a commit):
  the pure round trip -- encode, websocket both ways, the fake's recognition, JSON,
  parse -- from the last frame to the ``FINAL_TRANSCRIPT``;
* ``endpointing``: audio streamed in real time (a 10 ms frame 10 ms after the
  previous one, as a microphone delivers it) and the server's endpointing
  (Deepgram's ``endpointing``, OpenAI's ``server_vad`` with ``silence_duration_ms``:
  ``--endpointing-ms`` of silence) ends the utterance. ``latency`` is from the last
  speech frame to the final (it includes the silence window), ``overhead`` from the
  silence frame that completed the window; ``first_interim`` from the speech frame
  that let the fake send the utterance's first interim (its 20th: both fakes send
  interim results every 0.2 s of speech) to that ``INTERIM_TRANSCRIPT``.

Also the cost of one ``push_frame``'s encoding of 10 ms, at 16 kHz and 48 kHz
(Deepgram: PCM at 16 kHz; OpenAI: resampled to 24 kHz, base64 in a JSON append).
The fakes answer instantly, so these are the client's and the transport's own
costs, not the provider's. Prints one JSON line.

    python bench/streaming_stt.py --runs 200 --provider openai
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import STT, SpeechEventType, STTStream
from trioagents.protocol import (
    DeepgramOptions,
    RealtimeTranscriptionOptions,
    RealtimeTranscriptionProtocol,
    ServerVAD,
)
from trioagents.providers import (
    DeepgramConnection,
    DeepgramSTT,
    OpenAIConnection,
    OpenAIRealtimeSTT,
)
from trioagents.providers._websocket_stt import linear16
from trioagents.testing import (
    FakeRealtimeTranscriptionOptions,
    Timeline,
    open_fake_deepgram,
    open_fake_realtime_transcription,
    speech,
)

PROVIDERS = ("deepgram", "openai")
WARM_UP = 5
WORD = 0.2  # seconds of speech per utterance
GAP = 0.3  # silence between utterances in the timeline (endpointing mode)
INTERIM_FRAME = 19  # the speech frame (0-based) after which both fakes send a first interim


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"p50": round(statistics.median(ms), 3), "p99": round(p99, 3), "max": round(ms[-1], 3)}


class Arrivals:
    """The perf_counter when each final, and each utterance's first interim, came out."""

    def __init__(self) -> None:
        self.finals: list[float] = []
        self.interims: list[float] = []
        self.changed = trio.Event()

    async def read(self, stream: STTStream) -> None:
        async for event in stream:
            now = time.perf_counter()
            if event.type is SpeechEventType.FINAL_TRANSCRIPT:
                self.finals.append(now)
            elif event.type is SpeechEventType.INTERIM_TRANSCRIPT:
                if len(self.interims) == len(self.finals):
                    self.interims.append(now)
            else:
                continue
            self.changed.set()
            self.changed = trio.Event()

    async def wait_for(self, count: int) -> float:
        while len(self.finals) < count:
            await self.changed.wait()
        return self.finals[count - 1]


@asynccontextmanager
async def open_provider(
    provider: str, timeline: Timeline, mode: str, endpointing_ms: int
) -> AsyncIterator[STT]:
    """The provider's fake server and a client for it, configured for ``mode``."""
    paced = mode == "endpointing"
    if provider == "deepgram":
        options = DeepgramOptions(endpointing_ms=endpointing_ms, interim_results=paced)
        async with open_fake_deepgram(timeline) as server:
            connection = DeepgramConnection(base_url=server.url, api_key="bench")
            yield DeepgramSTT(options, connection=connection)
        return
    turns = ServerVAD(prefix_padding_ms=0, silence_duration_ms=endpointing_ms) if paced else None
    realtime = RealtimeTranscriptionOptions(turn_detection=turns)
    interims = FakeRealtimeTranscriptionOptions(interim_interval=0.2 if paced else None)
    async with open_fake_realtime_transcription(timeline, interims) as fake:
        link = OpenAIConnection(base_url=fake.base_url, api_key="bench")
        yield OpenAIRealtimeSTT(realtime, connection=link)


async def paced_push(stream: Any, timeline: Timeline, index: int) -> float:
    """Push frame ``index`` 10 ms after the previous one; the perf_counter after."""
    await trio.sleep_until(trio.current_time() + 0.01)
    await stream.push_frame(timeline.frame(index))
    return time.perf_counter()


async def run_mode(
    provider: str, timeline: Timeline, runs: int, mode: str, endpointing_ms: int
) -> dict[str, list[float]]:
    """Per utterance (warm-up dropped): ``latency`` from the last speech frame to the
    final, ``overhead`` from the last frame sent before it, ``first_interim``."""
    frame_count = round(timeline.duration / 0.01)
    arrivals = Arrivals()
    result: dict[str, list[float]] = {"latency": [], "overhead": [], "first_interim": []}
    async with (
        open_provider(provider, timeline, mode, endpointing_ms) as stt,
        stt.stream() as stream,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(arrivals.read, stream)
        index = 0
        for utterance, segment in enumerate(timeline.segments):
            first_speech = round(segment.start / 0.01)
            sent_at: dict[int, float] = {}
            while index < round(segment.end / 0.01):
                if mode == "finalize":
                    await stream.push_frame(timeline.frame(index))
                    sent_at[index] = time.perf_counter()
                else:
                    sent_at[index] = await paced_push(stream, timeline, index)
                index += 1
            last_sent = sent = sent_at[index - 1]
            if mode == "finalize":
                await stream.flush()  # type: ignore[attr-defined]
            else:
                with trio.move_on_after(5):
                    while len(arrivals.finals) <= utterance and index < frame_count:
                        pushed = await paced_push(stream, timeline, index)
                        if len(arrivals.finals) > utterance:
                            break
                        sent, index = pushed, index + 1
                trigger = sent_at[first_speech + INTERIM_FRAME]
                result["first_interim"].append(arrivals.interims[utterance] - trigger)
            done = await arrivals.wait_for(utterance + 1)
            result["latency"].append(done - last_sent)
            result["overhead"].append(done - sent)
        await stream.end_input()
        nursery.cancel_scope.cancel()
    if len(result["latency"]) != runs + WARM_UP:
        raise RuntimeError("an utterance was not transcribed")
    return {name: samples[WARM_UP:] for name, samples in result.items()}


def push_cost(provider: str, sample_rate: int, frames: int = 2000) -> float:
    """Median seconds to encode one 10 ms frame (what push_frame does before sending)."""
    timeline = Timeline([speech(0.0, frames * 0.01, "x")], tail=0.0, sample_rate=sample_rate)
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    samples = []
    for index in range(frames):
        frame = timeline.frame(index)
        started = time.perf_counter()
        if provider == "deepgram":
            linear16(frame, 16000)
        else:
            protocol.append(linear16(frame, 24000))
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(runs: int, endpointing_ms: int, provider: str = "deepgram") -> dict[str, object]:
    count = runs + WARM_UP
    finalize_tl = Timeline([speech(i * WORD, (i + 1) * WORD, f"w{i}") for i in range(count)])
    spaced = [speech(i * (WORD + GAP), i * (WORD + GAP) + WORD, f"w{i}") for i in range(count)]
    endpointing_tl = Timeline(spaced, tail=1.0)
    finalize = await run_mode(provider, finalize_tl, runs, "finalize", endpointing_ms)
    endpointed = await run_mode(provider, endpointing_tl, runs, "endpointing", endpointing_ms)
    return {
        "provider": provider,
        "runs": runs,
        "endpointing_ms": endpointing_ms,
        "finalize_ms": percentiles(finalize["latency"]),
        "first_interim_ms": percentiles(endpointed["first_interim"]),
        "endpointing_latency_ms": percentiles(endpointed["latency"]),
        "endpointing_overhead_ms": percentiles(endpointed["overhead"]),
        "push_frame_16k_us": round(push_cost(provider, 16000) * 1e6, 2),
        "push_frame_48k_us": round(push_cost(provider, 48000) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--endpointing-ms", type=int, default=30)
    parser.add_argument("--provider", choices=PROVIDERS, default="deepgram")
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, args.runs, args.endpointing_ms, args.provider)))


if __name__ == "__main__":
    main()
