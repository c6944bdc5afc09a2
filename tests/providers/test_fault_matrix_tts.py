"""Websocket TTS inside retry and fallback: every fault of the fake ElevenLabs
against ``with_retry(ElevenLabsTTS)`` as the first member of a streaming fallback
group whose second member is a CartesiaTTS on a healthy fake (and the other way
round). The fault hits the primary's first connection only.

A streaming TTS replays the text pushed so far into the next attempt, but only
while no audio reached the consumer (a user never hears a sentence twice):

* ``retried``     -- the primary reconnected and spoke the whole utterance;
* ``failed_over`` -- the primary gave up before any audio; the backup, fed the same
                     replayed text, spoke the whole utterance;
* ``cut``         -- the primary failed after audio was delivered: the error reaches
                     the caller with ``failed_over`` naming the backup (the voice
                     pipeline continues the turn there), and the next utterance
                     starts on the backup.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import trio

from trioagents.core import ProviderError
from trioagents.providers import (
    FallbackOptions,
    RetryPolicy,
    open_fallback_streaming_tts,
    with_retry,
)
from trioagents.testing import (
    CloseAfter,
    MalformedAfter,
    RefuseUpgrade,
    ResetStreamAfter,
    StallStreamAfter,
    TTSErrorAfter,
    TTSFault,
)

from ._tts_support import make_tts, open_fake, speak

NO_PROBES = FallbackOptions(probe_interval=10_000)
TEXT = "Hello there, this reply is long enough to be cut mid-way. Then it goes on."
PUSHES = [w + " " for w in TEXT.split(" ")]
MID_UTTERANCE = 0.5  # seconds of audio sent before the fault


@dataclass(frozen=True)
class Cell:
    fault: TTSFault
    expected: str


CELLS: dict[str, Cell] = {
    "unauthorized": Cell(RefuseUpgrade(401), "failed_over"),
    "rate_limited": Cell(RefuseUpgrade(429, b"", (("retry-after", "2"),)), "retried"),
    "server_error": Cell(RefuseUpgrade(503), "retried"),
    "closed_before_audio": Cell(CloseAfter(0.0), "retried"),
    "policy_close_before_audio": Cell(CloseAfter(0.0, 1008, "quota"), "failed_over"),
    "malformed_before_audio": Cell(MalformedAfter(0.0), "failed_over"),
    "error_before_audio": Cell(TTSErrorAfter(0.0, "x", status=400), "failed_over"),
    "closed_mid_utterance": Cell(CloseAfter(MID_UTTERANCE), "cut"),
    "reset_mid_utterance": Cell(ResetStreamAfter(MID_UTTERANCE), "cut"),
    "stall_mid_utterance": Cell(StallStreamAfter(MID_UTTERANCE), "cut"),
}


@pytest.mark.parametrize("primary_kind", ["elevenlabs", "cartesia"])
@pytest.mark.parametrize("name", sorted(CELLS))
async def test_fault_cell(name: str, primary_kind: str, autojump_clock: trio.abc.Clock) -> None:
    cell = CELLS[name]
    backup_kind = "cartesia" if primary_kind == "elevenlabs" else "elevenlabs"
    with trio.fail_after(300):
        async with open_fake(primary_kind) as primary, open_fake(backup_kind) as backup:
            primary.script(cell.fault)
            policy = RetryPolicy(rng=random.Random(0))
            first = with_retry(make_tts(primary_kind, primary.url, idle_timeout=2.0), policy)
            second = make_tts(backup_kind, backup.url)
            async with open_fallback_streaming_tts([first, second], options=NO_PROBES) as tts:
                assert tts.input_streaming
                run = await speak(tts, PUSHES)
                current = tts.statistics().current
                after = await speak(tts, ["The next reply. "])
    assert after.error is None
    assert after.text_ends[-1] == len("The next reply. ")
    if cell.expected == "cut":
        assert isinstance(run.error, ProviderError)
        assert run.error.failed_over == second.label
        assert run.frames  # part of the reply was heard
        assert run.text_ends[-1] is not None
        assert run.text_ends[-1] < len(TEXT)
        assert current == 1
        assert backup.utterances[0].text == "The next reply. "
        return
    assert run.error is None
    assert run.text_ends == sorted(run.text_ends)  # type: ignore[type-var]
    assert run.text_ends[-1] == len(TEXT) + 1  # the whole text, once
    if cell.expected == "retried":
        assert len(primary.sessions) == 3  # the failed attempt, its retry, the next reply
        assert primary.sessions[1].utterances[0].text == "".join(PUSHES)
        assert backup.sessions == []
        assert current == 0
    else:
        assert len(primary.sessions) == 1
        assert backup.utterances[0].text == "".join(PUSHES)
        assert current == 1
