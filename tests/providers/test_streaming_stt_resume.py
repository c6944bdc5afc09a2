"""Resuming a websocket STT stream loses no audio, even when finals arrive late.

A real server's final comes a few hundred milliseconds after the audio it covers:
by the time "turn on" is final, the client has already sent the start of "the
lights". If the stream then dies, the reconnecting wrapper must replay from the end
of the audio that final covered (Deepgram's ``Results.start + duration``, OpenAI's
``speech_stopped.audio_end_ms`` of the item), not from what had been sent when the
final arrived, or the start of "the lights" is lost. Both fakes send "turn on" at
1.10 s of audio, covering audio up to 0.95 s (speech end + 50 ms of silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio

from trioagents.protocol import DeepgramOptions, RealtimeTranscriptionOptions, ServerVAD
from trioagents.testing import (
    CloseAfter,
    FakeDeepgramOptions,
    FakeRealtimeTranscriptionOptions,
    ReportRealtimeErrorAfter,
    Timeline,
    speech,
)

from ._stt_kits import DEEPGRAM, OPENAI, Kit, resume_after

TIMELINE = Timeline([speech(0.3, 0.9, "turn on"), speech(1.0, 1.6, "the lights")], tail=0.6)
DIES = CloseAfter(1.4)  # inside "the lights"


@dataclass(frozen=True)
class Setup:
    kit: Kit
    late_finals: object  # the fake's options
    endpointing: object  # the client's options
    refusal: object  # a fault at 1.4 s that is not retried


SETUPS = {
    "deepgram": Setup(
        DEEPGRAM,
        FakeDeepgramOptions(final_lag=0.15),
        DeepgramOptions(endpointing_ms=50),
        CloseAfter(1.4, 1008, "DATA-0000"),
    ),
    "openai": Setup(
        OPENAI,
        FakeRealtimeTranscriptionOptions(final_lag=0.15),
        RealtimeTranscriptionOptions(turn_detection=ServerVAD(silence_duration_ms=50)),
        ReportRealtimeErrorAfter(1.4, "invalid_request_error", "invalid_value"),
    ),
}
pytestmark = pytest.mark.parametrize("setup", SETUPS.values(), ids=list(SETUPS))


async def test_retry_replays_from_the_end_of_the_last_final(
    setup: Setup, autojump_clock: trio.abc.Clock
) -> None:
    run, server, _ = await resume_after(
        setup.kit,
        TIMELINE,
        DIES,
        server_options=setup.late_finals,
        client_options=setup.endpointing,
        retry=True,
    )
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    first, second = server.sessions
    assert first.finals == ["turn on"]
    assert second.finals == ["the lights"]
    # the second connection heard the audio from the end of "turn on"'s span on
    assert second.audio_seconds == pytest.approx(TIMELINE.duration - 0.95, abs=0.011)


async def test_fallback_gets_the_whole_rest_of_the_utterance(
    setup: Setup, autojump_clock: trio.abc.Clock
) -> None:
    run, _, backup = await resume_after(
        setup.kit,
        TIMELINE,
        setup.refusal,
        server_options=setup.late_finals,
        client_options=setup.endpointing,
        retry=False,
    )
    assert run.error is None
    assert run.finals == ["turn on", "the lights"]
    assert backup.sessions[0].finals == ["the lights"]
