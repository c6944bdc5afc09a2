"""Resuming a Deepgram stream loses no audio, even when finals arrive late.

A real server's final result comes a few hundred milliseconds after the audio it
covers: by the time "turn on" is final, the client has already sent the start of
"the lights". If the stream then dies, the reconnecting wrapper must replay from
the end of the audio that final covered (``Results.start + duration``), not from
what had been sent when the final arrived, or the start of "the lights" is lost.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import STT
from trioagents.protocol import DeepgramOptions
from trioagents.providers import FallbackOptions, RetryPolicy, open_fallback_stt, with_retry
from trioagents.testing import CloseAfter, FakeDeepgramOptions, Timeline, open_fake_deepgram, speech

from ._deepgram_support import deepgram, transcribe

TIMELINE = Timeline([speech(0.3, 0.9, "turn on"), speech(1.0, 1.6, "the lights")], tail=0.6)
LATE_FINALS = FakeDeepgramOptions(final_lag=0.15)  # "turn on" is sent at 1.10 s of audio
OPTIONS = DeepgramOptions(endpointing_ms=50)  # ... covering audio up to 0.95 s
DIES = CloseAfter(1.4)  # inside "the lights"


def member(url: str) -> STT:
    return deepgram(url, options=OPTIONS, idle_timeout=2.0)


async def test_retry_replays_from_the_end_of_the_last_final(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(120):
        async with open_fake_deepgram(TIMELINE, LATE_FINALS) as server:
            server.script(DIES)
            stt = with_retry(member(server.url), RetryPolicy(base_delay=0.1))
            run = await transcribe(stt, TIMELINE)
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    first, second = server.sessions
    assert first.finals == ["turn on"]
    assert second.finals == ["the lights"]
    # the second connection heard the audio from the end of "turn on"'s span on
    assert second.audio_seconds == pytest.approx(TIMELINE.duration - 0.95, abs=0.011)


async def test_fallback_gets_the_whole_rest_of_the_utterance(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(120):
        async with (
            open_fake_deepgram(TIMELINE, LATE_FINALS) as primary,
            open_fake_deepgram(TIMELINE, LATE_FINALS) as backup,
        ):
            primary.script(CloseAfter(1.4, 1008, "DATA-0000"))  # not retryable: fail over
            members = [member(primary.url), member(backup.url)]
            options = FallbackOptions(probe_interval=10_000)
            async with open_fallback_stt(members, options=options) as stt:
                run = await transcribe(stt, TIMELINE)
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    assert backup.sessions[0].finals == ["the lights"]
