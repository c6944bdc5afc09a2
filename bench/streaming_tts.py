"""ElevenLabsTTS and CartesiaTTS over real loopback websockets: first audio, barge-in.

Runs the test kit's fake ElevenLabs and Cartesia on 127.0.0.1 (real clock) and,
for each provider, ``--runs`` utterances after a warm-up:

* ``first_audio``: from the moment the first text is available (the stream is
  opened and the sentence pushed at once, as the voice pipeline does when the
  LLM's first sentence is ready) to the first frame out of the iterator --
  ``own``: a websocket per utterance (TCP connect + upgrade + first message each
  time); ``reused``: streams of one ``tts.connected()`` block sharing a socket;
* ``cancel_seen``: barge-in -- the consumer cancels the turn's scope while the fake
  is still speaking (paced at ``--pace`` times real time); from the cancel to the
  moment the fake *read* the cancel (Cartesia ``cancel``, ElevenLabs
  ``close_context``, or the socket closing on a single-utterance ElevenLabs
  connection), both on Trio's clock.

The fake answers at once, so these are the client's and the transport's costs, not
a provider's model time. Client and fake share one process, so a full (generation
2) collection of CPython's cyclic garbage collector -- 25-50 ms with this heap --
stalls both: each figure's ``full_gc`` counts the samples during whose run one
ran (a max of that size with ``full_gc: 1`` is the collector, not the path
measured). Prints one JSON line.

    python bench/streaming_tts.py --runs 200
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import StreamingTTS
from trioagents.protocol import CartesiaOptions, ElevenLabsOptions
from trioagents.providers import CartesiaTTS, ElevenLabsTTS, WebSocketTTS, WebSocketTTSConnection
from trioagents.testing import (
    FakeCartesiaServer,
    FakeElevenLabsServer,
    FakeTTSOptions,
    open_fake_cartesia,
    open_fake_elevenlabs,
)

WARM_UP = 5
SENTENCE = "Hello there, this is the first sentence of the reply. "
LONG = SENTENCE * 8
T = TypeVar("T")


class FullCollections:
    """How many full (generation 2) collections the cyclic collector has run."""

    count = 0

    @classmethod
    def callback(cls, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            cls.count += 1


async def sampled(sample: Awaitable[T]) -> tuple[T, bool]:
    """The sample, and whether a full collection ran during it."""
    before = FullCollections.count
    value = await sample
    return value, FullCollections.count > before


def summary(samples: list[tuple[float, bool]]) -> dict[str, float]:
    ms = sorted(x * 1000 for x, _ in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {
        "p50": round(statistics.median(ms), 3),
        "p95": round(p95, 3),
        "max": round(ms[-1], 3),
        "full_gc": sum(hit for _, hit in samples),
    }


@asynccontextmanager
async def provider(
    name: str, options: FakeTTSOptions
) -> AsyncIterator[tuple[WebSocketTTS, FakeElevenLabsServer | FakeCartesiaServer]]:
    opening: AbstractAsyncContextManager[FakeElevenLabsServer | FakeCartesiaServer]
    opening = open_fake_elevenlabs(options) if name == "elevenlabs" else open_fake_cartesia(options)
    async with opening as server:
        connection = WebSocketTTSConnection(base_url=server.url, api_key="bench")
        tts: WebSocketTTS
        if name == "elevenlabs":
            tts = ElevenLabsTTS(ElevenLabsOptions(sample_rate=16000), connection=connection)
        else:
            tts = CartesiaTTS(CartesiaOptions(sample_rate=16000), connection=connection)
        yield tts, server


async def first_audio(tts: StreamingTTS) -> float:
    """Seconds from the text being available to the first frame; then drain."""
    started = trio.current_time()
    async with tts.stream() as stream:
        await stream.push_text(SENTENCE)
        await stream.end_input()
        async for _ in stream:
            elapsed = trio.current_time() - started
            break
        async for _ in stream:
            pass
    return elapsed


async def cancel_seen(
    tts: StreamingTTS, server: FakeElevenLabsServer | FakeCartesiaServer
) -> tuple[float, str]:
    """Seconds from cancelling a playing utterance to the fake reading the cancel,
    and how it saw it (``message`` or ``disconnect``)."""
    count = len(server.utterances)
    with trio.CancelScope() as turn:
        async with tts.stream() as stream:
            await stream.push_text(LONG)
            frames = 0
            async for _ in stream:
                frames += 1
                if frames == 3:
                    cancelled_at = trio.current_time()
                    turn.cancel()
                    await trio.lowlevel.checkpoint()
    with trio.fail_after(5):
        await server.wait_for(lambda s: s.utterances[count].cancelled_at is not None)
    seen = server.utterances[count]
    assert seen.cancelled_at is not None
    return seen.cancelled_at - cancelled_at, seen.cancelled_by or "?"


async def measure_one(name: str, runs: int, pace: float) -> dict[str, object]:
    figures: dict[str, object] = {}
    async with provider(name, FakeTTSOptions()) as (tts, _):
        own = [await sampled(first_audio(tts)) for _ in range(runs + WARM_UP)][WARM_UP:]
        async with tts.connected() as shared:
            reused = [await sampled(first_audio(shared)) for _ in range(runs + WARM_UP)]
    reused = reused[WARM_UP:]
    figures["first_audio_own_ms"] = summary(own)
    figures["first_audio_reused_ms"] = summary(reused)
    async with provider(name, FakeTTSOptions(pace=pace)) as (tts, server):
        alone = [await sampled(cancel_seen(tts, server)) for _ in range(runs + WARM_UP)]
        async with tts.connected() as shared:
            on_shared = [await sampled(cancel_seen(shared, server)) for _ in range(runs + WARM_UP)]
    for label, seen in (("own", alone[WARM_UP:]), ("reused", on_shared[WARM_UP:])):
        figures[f"cancel_seen_{label}_ms"] = summary([(delta, hit) for (delta, _), hit in seen])
        ways = [by for (_, by), _ in seen]
        figures[f"cancel_seen_{label}_by"] = {way: ways.count(way) for way in sorted(set(ways))}
    return figures


async def measure(runs: int, pace: float = 4.0) -> dict[str, object]:
    result: dict[str, object] = {"runs": runs}
    for name in ("elevenlabs", "cartesia"):
        result[name] = await measure_one(name, runs, pace)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pace", type=float, default=4.0)
    args = parser.parse_args()
    gc.callbacks.append(FullCollections.callback)
    print(json.dumps(trio.run(measure, args.runs, args.pace)))


if __name__ == "__main__":
    main()
