"""A fallback group switches between Deepgram and OpenAI realtime mid-utterance and
loses no audio: the words after the switch are recognized by the other provider.

Both fakes hear the same timeline (Deepgram's at 16 kHz as sent, OpenAI's resampled
to 24 kHz), both report where each final's audio ends (``audio_end``), so the
recovering stream replays exactly the audio after the last final into whichever
member takes over. Finals arrive late on both (as from real servers) and the
primary fails in a way that is not retried, so the group fails over at once.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import STT
from trioagents.protocol import DeepgramOptions, RealtimeTranscriptionOptions, ServerVAD
from trioagents.providers import FallbackOptions, open_fallback_stt
from trioagents.testing import (
    CloseAfter,
    FakeDeepgramOptions,
    FakeRealtimeTranscriptionOptions,
    ReportRealtimeErrorAfter,
    Timeline,
    open_fake_deepgram,
    open_fake_realtime_transcription,
    speech,
)

from ._deepgram_support import deepgram
from ._realtime_transcription_support import realtime
from ._streaming_stt_support import transcribe

TIMELINE = Timeline([speech(0.3, 0.9, "turn on"), speech(1.0, 1.6, "the lights")], tail=0.6)
WORDS = ["turn on", "the lights"]
NO_PROBES = FallbackOptions(probe_interval=10_000)
# "turn on": final at 1.10 s of audio, covering audio up to 0.95 s (on both)
DEEPGRAM = DeepgramOptions(endpointing_ms=50)
REALTIME = RealtimeTranscriptionOptions(turn_detection=ServerVAD(silence_duration_ms=50))


@pytest.mark.parametrize(
    ("dies_at", "backup_finals"),
    [(0.6, WORDS), (1.4, ["the lights"])],  # inside the first / the second utterance
)
@pytest.mark.parametrize("primary", ["deepgram", "openai"])
async def test_switch_mid_utterance(
    primary: str, dies_at: float, backup_finals: list[str], autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(120):
        async with (
            open_fake_deepgram(TIMELINE, FakeDeepgramOptions(final_lag=0.15)) as dg,
            open_fake_realtime_transcription(
                TIMELINE, FakeRealtimeTranscriptionOptions(final_lag=0.15)
            ) as oa,
        ):
            deepgram_stt: STT = deepgram(dg.url, options=DEEPGRAM, idle_timeout=2.0)
            realtime_stt: STT = realtime(oa.base_url, options=REALTIME, idle_timeout=2.0)
            if primary == "deepgram":
                dg.script(CloseAfter(dies_at, 1008, "DATA-0000"))  # not retryable
                members = [deepgram_stt, realtime_stt]
                backup_sessions = oa.sessions
            else:
                oa.script(ReportRealtimeErrorAfter(dies_at, "invalid_request_error"))
                members = [realtime_stt, deepgram_stt]
                backup_sessions = dg.sessions  # type: ignore[assignment]
            async with open_fallback_stt(members, options=NO_PROBES) as stt:
                run = await transcribe(stt, TIMELINE)
                current = stt.statistics().current
    assert run.error is None
    assert run.finals == WORDS  # complete, in order, nothing twice
    assert current == 1
    (backup,) = backup_sessions
    assert backup.finals == backup_finals  # the words after the switch, recognized
    replayed_from = 0.0 if dies_at < 0.95 else 0.95
    assert backup.audio_seconds == pytest.approx(TIMELINE.duration - replayed_from, abs=0.011)
