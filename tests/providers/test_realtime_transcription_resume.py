"""Resuming a realtime transcription stream loses no audio, even when finals arrive late.

The same story as tests/providers/test_deepgram_resume.py: a final comes some time
after the audio it covers, so the reconnecting wrapper must replay from the end of
the item's audio (``speech_stopped.audio_end_ms``), not from what had been sent
when the final arrived, or the start of the next words is lost.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import STT
from trioagents.protocol import RealtimeTranscriptionOptions, ServerVAD
from trioagents.providers import FallbackOptions, RetryPolicy, open_fallback_stt, with_retry
from trioagents.testing import (
    CloseAfter,
    FakeRealtimeTranscriptionOptions,
    ReportRealtimeErrorAfter,
    Timeline,
    open_fake_realtime_transcription,
    speech,
)

from ._realtime_transcription_support import realtime
from ._streaming_stt_support import transcribe

TIMELINE = Timeline([speech(0.3, 0.9, "turn on"), speech(1.0, 1.6, "the lights")], tail=0.6)
LATE_FINALS = FakeRealtimeTranscriptionOptions(final_lag=0.15)  # "turn on" at 1.10 s of audio
OPTIONS = RealtimeTranscriptionOptions(turn_detection=ServerVAD(silence_duration_ms=50))
# ... its item ending at 0.95 s (speech end + 50 ms of silence)


def member(url: str) -> STT:
    return realtime(url, options=OPTIONS, idle_timeout=2.0)


async def test_retry_replays_from_the_end_of_the_last_final(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(120):
        async with open_fake_realtime_transcription(TIMELINE, LATE_FINALS) as server:
            server.script(CloseAfter(1.4))  # inside "the lights"
            stt = with_retry(member(server.base_url), RetryPolicy(base_delay=0.1))
            run = await transcribe(stt, TIMELINE)
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    first, second = server.sessions
    assert first.finals == ["turn on"]
    assert second.finals == ["the lights"]
    # the second connection heard the audio from the end of "turn on"'s item on
    assert second.audio_seconds == pytest.approx(TIMELINE.duration - 0.95, abs=0.011)


async def test_fallback_gets_the_whole_rest_of_the_utterance(
    autojump_clock: trio.abc.Clock,
) -> None:
    refused = ReportRealtimeErrorAfter(1.4, "invalid_request_error", "invalid_value")
    with trio.fail_after(120):
        async with (
            open_fake_realtime_transcription(TIMELINE, LATE_FINALS) as primary,
            open_fake_realtime_transcription(TIMELINE, LATE_FINALS) as backup,
        ):
            primary.script(refused)  # not retryable: fail over
            members = [member(primary.base_url), member(backup.base_url)]
            options = FallbackOptions(probe_interval=10_000)
            async with open_fallback_stt(members, options=options) as stt:
                run = await transcribe(stt, TIMELINE)
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    assert backup.sessions[0].finals == ["the lights"]
