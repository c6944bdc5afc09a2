"""Every fault of the fake realtime transcription against the production STT stack,
in the fault matrix style of test_fault_matrix_deepgram.py.

Each cell runs one recognition stream (two utterances, played in virtual real time)
through ``with_retry(OpenAIRealtimeSTT)`` as the first member of a fallback group
whose second member is an OpenAIRealtimeSTT on a healthy fake server. The fault hits
the primary's first connection only. The stream resumes by replaying the audio
since the last final, so even a stream that dies mid-utterance is recovered:

* ``retried``     -- the primary reconnected (after the policy's wait) and the
                     replayed audio gave the whole transcript; nothing failed over;
* ``failed_over`` -- the primary gave up (not retryable, or retries exhausted) and
                     the backup, fed the same replayed audio, gave the whole transcript.

Either way the user's words arrive complete and in order: no audio is lost.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import trio

from trioagents.providers import FallbackOptions, RetryPolicy, open_fallback_stt, with_retry
from trioagents.testing import (
    CloseAfter,
    FailTranscriptionAfter,
    FakeRealtimeTranscriptionOptions,
    Healthy,
    MalformedAfter,
    RealtimeTranscriptionFault,
    RefuseUpgrade,
    ReportRealtimeErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    open_fake_realtime_transcription,
    realtime_rate_limited,
    realtime_unauthorized,
    refused_realtime_base_url,
)

from ._realtime_transcription_support import realtime
from ._streaming_stt_support import transcribe, two_utterances

NO_PROBES = FallbackOptions(probe_interval=10_000)
WORDS = ["turn on the lights", "thank you"]
MID_UTTERANCE = 0.8  # seconds of audio: inside "turn on the lights" (0.3 .. 1.2 s)


@dataclass(frozen=True)
class Cell:
    fault: RealtimeTranscriptionFault | None  # None: connection refused
    expected: str
    primary_sessions: int


CELLS: dict[str, Cell] = {
    "refused": Cell(None, "failed_over", 0),
    "unauthorized": Cell(realtime_unauthorized(), "failed_over", 1),
    "unauthorized_in_band": Cell(Healthy(), "failed_over", 1),
    "forbidden": Cell(RefuseUpgrade(403), "failed_over", 1),
    "rate_limited": Cell(realtime_rate_limited(retry_after=6), "retried", 2),
    "server_error": Cell(RefuseUpgrade(503), "retried", 2),
    "closed_mid_utterance": Cell(CloseAfter(MID_UTTERANCE), "retried", 2),
    "reset_mid_utterance": Cell(ResetStreamAfter(MID_UTTERANCE), "retried", 2),
    "error_mid_utterance": Cell(ReportRealtimeErrorAfter(MID_UTTERANCE), "retried", 2),
    "stall_mid_utterance": Cell(StallStreamAfter(MID_UTTERANCE), "retried", 2),
    "closed_between_utterances": Cell(CloseAfter(1.6), "retried", 2),
    "transcription_failed": Cell(FailTranscriptionAfter(MID_UTTERANCE), "retried", 2),
    "invalid_request": Cell(
        ReportRealtimeErrorAfter(MID_UTTERANCE, "invalid_request_error", "invalid_value"),
        "failed_over",
        1,
    ),
    "malformed": Cell(MalformedAfter(MID_UTTERANCE), "failed_over", 1),
}


@pytest.mark.parametrize("name", sorted(CELLS))
async def test_fault_cell(name: str, autojump_clock: trio.abc.Clock) -> None:
    cell = CELLS[name]
    timeline = two_utterances()
    keyed = FakeRealtimeTranscriptionOptions(api_key="sk-not-ours")
    options = keyed if name == "unauthorized_in_band" else None
    with trio.fail_after(300):
        async with (
            open_fake_realtime_transcription(timeline, options) as primary,
            open_fake_realtime_transcription(timeline) as backup,
        ):
            url = refused_realtime_base_url() if cell.fault is None else primary.base_url
            if cell.fault is not None:
                primary.script(cell.fault)
            policy = RetryPolicy(rng=random.Random(0))
            members = [
                with_retry(realtime(url, idle_timeout=2.0), policy),
                realtime(backup.base_url),
            ]
            async with open_fallback_stt(members, options=NO_PROBES) as stt:
                start = trio.current_time()
                run = await transcribe(stt, timeline)
                elapsed = trio.current_time() - start
                current = stt.statistics().current
    assert run.error is None
    assert run.finals == WORDS  # complete, in order, nothing twice
    assert len(primary.sessions) == cell.primary_sessions
    if cell.expected == "retried":
        assert backup.sessions == []
        assert current == 0
        assert primary.sessions[-1].finals[-1] == "thank you"
    else:
        assert len(backup.sessions) == 1
        assert backup.sessions[0].finals == WORDS
        assert current == 1
    if name == "rate_limited":
        assert elapsed >= 6  # Retry-After honoured
    if name == "refused":
        assert elapsed >= 0.8 * (1 + 2 + 4)  # three backed-off retries first
