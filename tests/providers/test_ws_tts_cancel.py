"""Barge-in: leaving a websocket TTS stream by cancellation makes the server stop.

The fake speaks in real (virtual) time, so the cancel lands mid-generation. It
records when it *saw* the cancel (Cartesia ``cancel``, ElevenLabs
``close_context``, or the socket closing on a single-utterance ElevenLabs
connection): the same virtual instant as the cancel, since the cancel is sent
inside the cancelled scope (shielded) and loopback I/O takes no virtual time. No
frame comes out after the cancel, nothing is reported as an error, and the server
sends no more audio for that utterance.
"""

from __future__ import annotations

import numpy as np
import pytest
import trio

from trioagents.core import AudioFrame
from trioagents.providers import WebSocketTTS
from trioagents.testing import FakeTTSOptions

from ._tts_support import KEY, PROVIDERS, provider_and_fake, speak

LONG = "This reply is long enough to be interrupted while it plays. " * 4


async def barge_in(tts: object, frames_before: int = 5) -> tuple[float, list[AudioFrame], object]:
    """Read ``frames_before`` frames, then cancel the turn; (cancel time, frames,
    the stream)."""
    frames: list[AudioFrame] = []
    with trio.CancelScope() as turn:
        async with tts.stream() as stream:  # type: ignore[attr-defined]
            for word in LONG.split(" "):
                await stream.push_text(word + " ")
            async for frame in stream:
                frames.append(frame)
                if len(frames) == frames_before:
                    cancelled_at = trio.current_time()
                    turn.cancel()
                await trio.sleep(frame.duration)  # played in real time
    assert turn.cancelled_caught
    return cancelled_at, frames, stream


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_server_sees_the_cancel_within_it(
    provider: str, shared: bool, autojump_clock: trio.abc.Clock
) -> None:
    options = FakeTTSOptions(api_key=KEY, pace=1.0)
    with trio.fail_after(60):
        async with provider_and_fake(provider, options) as (tts, server):
            assert isinstance(tts, WebSocketTTS)
            if shared:
                async with tts.connected() as connected:
                    cancelled_at, frames, stream = await barge_in(connected)
                    await server.wait_for(lambda s: s.utterances[0].cancelled_at is not None)
                    after = await speak(connected, ["And now something else. "])
                    assert connected.statistics().connections == 1
            else:
                cancelled_at, frames, stream = await barge_in(tts)
                await server.wait_for(lambda s: s.utterances[0].cancelled_at is not None)
            utterance = server.utterances[0]
            audio_then = utterance.audio_bytes
            await trio.sleep(10)  # the server has stopped: no more audio for it
            assert utterance.audio_bytes == audio_then
    assert utterance.cancelled_at == cancelled_at
    expected_by = "disconnect" if provider == "elevenlabs" and not shared else "message"
    assert utterance.cancelled_by == expected_by  # the cancel message got there
    assert utterance.done_at is None
    assert len(frames) == 5
    assert utterance.audio_bytes < len(LONG) * 60 * 16 * 2  # it did not speak it all
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()  # type: ignore[attr-defined]
    if provider == "elevenlabs" and not shared:
        assert server.sessions[0].ended_by == "client"  # the socket close was the cancel
    if provider == "elevenlabs" and shared:
        last = utterance.requests[-1]
        assert last == {"close_context": True, "context_id": utterance.context_id}
    if shared:
        # the next reply on the same socket hears nothing of the cancelled one
        assert after.error is None
        assert after.text_ends[-1] == len("And now something else. ")
        second = server.utterances[1]
        samples = np.concatenate([f.data[:, 0] for f in after.frames])
        assert samples[0] == 1  # its own first character, not a straggler
        assert len(samples) * 2 == second.audio_bytes


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_leaving_early_without_a_cancel_also_stops_the_server(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    """A consumer that stops reading and leaves the block (no cancellation) cancels
    the utterance on the wire too; the close is bounded."""
    options = FakeTTSOptions(api_key=KEY, pace=1.0)
    with trio.fail_after(60):
        async with provider_and_fake(provider, options) as (tts, server):
            async with tts.stream() as stream:
                await stream.push_text(LONG)
                await stream.__anext__()
                left_at = trio.current_time()
            await server.wait_for(lambda s: s.utterances[0].cancelled_at is not None)
    assert server.utterances[0].cancelled_at == left_at


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_cancel_right_after_a_flushed_sentence_still_stops(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    """The last thing pushed ended a sentence (ElevenLabs flushed it): the cancel is
    still a cancel, not the end of the utterance."""
    options = FakeTTSOptions(api_key=KEY, pace=1.0)
    with trio.fail_after(60):
        async with (
            provider_and_fake(provider, options) as (tts, server),
            tts.connected() as shared,
        ):
            with trio.CancelScope() as turn:
                async with shared.stream() as stream:
                    await stream.push_text(LONG[:61])  # one sentence, flushed
                    await stream.__anext__()
                    cancelled_at = trio.current_time()
                    turn.cancel()
                    await trio.sleep_forever()
            await server.wait_for(lambda s: s.utterances[0].cancelled_at is not None)
    utterance = server.utterances[0]
    assert utterance.cancelled_at == cancelled_at
    assert utterance.cancelled_by == "message"
    assert utterance.done_at is None


async def test_the_cancel_message_goes_out_though_the_reader_was_cancelled_first(
    autojump_clock: trio.abc.Clock,
) -> None:
    """On its own connection the socket's reader sits in the cancelled turn too; it
    may stop before the stream's cleanup runs, and the cancel must still be sent
    (a socket's reader stopping is not the socket being lost)."""
    with trio.fail_after(60):
        async with provider_and_fake("cartesia", FakeTTSOptions(api_key=KEY, pace=1.0)) as (
            tts,
            server,
        ):
            with trio.CancelScope() as turn:
                async with tts.stream() as stream:
                    await stream.push_text(LONG)
                    await stream.__anext__()
                    turn.cancel()
                    await trio.lowlevel.checkpoint()  # the reader unwinds here first
            await server.wait_for(lambda s: s.utterances[0].cancelled_at is not None)
    assert server.utterances[0].cancelled_by == "message"
