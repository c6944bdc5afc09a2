"""Every fault of the fake Deepgram against the production STT stack, in the fault
matrix style of test_fault_matrix.py.

Each cell runs one recognition stream (two utterances, played in virtual real time)
through ``with_retry(DeepgramSTT)`` as the first member of a fallback group whose
second member is a DeepgramSTT on a healthy fake server. The fault hits the
primary's first connection only. A streaming STT resumes by replaying the audio
since the last final, so even a stream that dies mid-utterance is recovered:

* ``retried``     -- the primary reconnected (after the policy's wait) and the
                     replayed audio gave the whole transcript; nothing failed over;
* ``failed_over`` -- the primary gave up (not retryable, or retries exhausted) and
                     the backup, fed the same replayed audio, gave the whole transcript.

Either way the user's words arrive complete and in order: no audio is lost.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.testing import (
    CloseAfter,
    MalformedAfter,
    RefuseUpgrade,
    ReportErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    deepgram_rate_limited,
    deepgram_unauthorized,
)

from ._stt_kits import DEEPGRAM, Cell, check_fault_cell

MID_UTTERANCE = 0.8  # seconds of audio: inside "turn on the lights" (0.3 .. 1.2 s)


CELLS: dict[str, Cell] = {
    "refused": Cell(None, "failed_over", 0),
    "unauthorized": Cell(deepgram_unauthorized(), "failed_over", 1),
    "forbidden": Cell(RefuseUpgrade(403), "failed_over", 1),
    "rate_limited": Cell(deepgram_rate_limited(retry_after=6), "retried", 2),
    "server_error": Cell(RefuseUpgrade(503), "retried", 2),
    "closed_mid_utterance": Cell(CloseAfter(MID_UTTERANCE), "retried", 2),
    "reset_mid_utterance": Cell(ResetStreamAfter(MID_UTTERANCE), "retried", 2),
    "error_mid_utterance": Cell(ReportErrorAfter(MID_UTTERANCE), "retried", 2),
    "stall_mid_utterance": Cell(StallStreamAfter(MID_UTTERANCE), "retried", 2),
    "closed_between_utterances": Cell(CloseAfter(1.6), "retried", 2),
    "bad_audio": Cell(CloseAfter(MID_UTTERANCE, 1008, "DATA-0000"), "failed_over", 1),
    "malformed": Cell(MalformedAfter(MID_UTTERANCE), "failed_over", 1),
}


@pytest.mark.parametrize("name", sorted(CELLS))
async def test_fault_cell(name: str, autojump_clock: trio.abc.Clock) -> None:
    await check_fault_cell(DEEPGRAM, CELLS[name], name)
