"""ElevenLabsTTS and CartesiaTTS against their loopback fakes: the wire, the audio,
connection reuse. Virtual time (autojump) with real sockets on 127.0.0.1; every
test is bounded by a virtual ``fail_after``."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import trio

from trioagents.core import LocalProtocolError, StreamingTTS
from trioagents.protocol import ElevenLabsOptions
from trioagents.providers import ElevenLabsTTS, WebSocketTTSConnection
from trioagents.testing import (
    CloseAfter,
    FakeTTSOptions,
    TTSFaultInjector,
    check_tts_conformance,
)

from ._tts_support import KEY, PROVIDERS, RATE, covered, make_tts, provider_and_fake, speak

TEXT = "Hello there, my friend. How are you today? I am fine!"
WORDS = [w + " " for w in TEXT.split(" ")]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_utterance_end_to_end(provider: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, server):
            assert isinstance(tts, StreamingTTS)
            spoken = await speak(tts, WORDS)
    assert spoken.error is None
    session = server.sessions[0]
    utterance = session.utterances[0]
    assert utterance.text == "".join(WORDS)  # verbatim: nothing added or lost
    assert utterance.ended
    assert utterance.done_at is not None
    assert all(f.data.dtype == np.int16 and f.data.shape[1] == 1 for f in spoken.frames)
    assert {f.sample_rate for f in spoken.frames} == {RATE}
    assert sum(f.samples_per_channel for f in spoken.frames) * 2 == utterance.audio_bytes
    ends = spoken.text_ends
    assert ends == sorted(ends)
    assert ends[-1] == len(utterance.text)
    assert KEY not in session.path
    assert KEY not in str(session.query)


async def test_elevenlabs_wire(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with provider_and_fake("elevenlabs") as (tts, server):
            await speak(tts, WORDS)
    session = server.sessions[0]
    assert session.headers["xi-api-key"] == KEY
    assert session.path.endswith("/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream-input")
    assert session.query["output_format"] == ["pcm_16000"]
    assert session.query["sync_alignment"] == ["true"]
    requests = session.utterances[0].requests
    assert requests[0] == {"text": " "}
    assert requests[-1] == {"text": ""}  # the end of input
    flushed = [r["text"] for r in requests if r.get("flush")]
    assert flushed == ["friend. ", "fine! "]  # sentence ends, 20+ characters apart
    assert all(r["text"].endswith(" ") for r in requests[:-1])


async def test_cartesia_wire(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with provider_and_fake("cartesia") as (tts, server):
            await speak(tts, ["Hel", "lo th", "ere"])
    session = server.sessions[0]
    assert session.headers["x-api-key"] == KEY
    assert session.headers["cartesia-version"] == "2025-04-16"
    requests = session.utterances[0].requests
    assert [(r["transcript"], r["continue"]) for r in requests] == [
        ("Hello ", True),
        ("there", False),
    ]
    assert {r["context_id"] for r in requests} == {session.utterances[0].context_id}
    assert requests[0]["add_timestamps"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_odd_byte_chunks_lose_no_sample(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    """Every sample the fake spoke arrives, in order: each holds 1 + the characters
    spoken by its end, so the audio itself proves nothing was lost or shifted."""
    options = FakeTTSOptions(api_key=KEY, odd_bytes=True, message_ms=50)
    with trio.fail_after(60):
        async with provider_and_fake(provider, options) as (tts, server):
            spoken = await speak(tts, WORDS)
    utterance = server.utterances[0]
    samples = np.concatenate([f.data[:, 0] for f in spoken.frames])
    per_char = RATE * options.char_ms // 1000
    assert len(samples) == per_char * len(utterance.received)
    expected = np.repeat(np.arange(1, len(utterance.received) + 1), per_char)
    expected[per_char - 1 :: per_char] += 1
    assert np.array_equal(samples, expected)


async def test_elevenlabs_text_end_is_what_the_audio_says(autojump_clock: trio.abc.Clock) -> None:
    """The fake's samples say how many received characters were spoken by each one:
    every frame's text_end is exactly that (minus the leading space, plus the spaces
    that follow), and the last frame says everything."""
    with trio.fail_after(60):
        async with provider_and_fake("elevenlabs") as (tts, server):
            spoken = await speak(tts, WORDS)
    utterance = server.utterances[0]
    text = utterance.text
    truth = [covered(text, max(0, int(f.data[-1, 0]) - 1 - 1)) for f in spoken.frames]
    truth[-1] = len(text)
    assert spoken.text_ends == truth


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_input_contract(provider: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, _), tts.stream() as stream:
            await stream.push_text("Hi. ")
            await stream.end_input()
            await stream.end_input()  # idempotent
            with pytest.raises(LocalProtocolError):
                await stream.push_text("more")
            frames = [frame async for frame in stream]
            assert frames[-1].text_end == 4
            assert [f async for f in stream] == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_synthesize_and_empty_text(provider: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, _):
            async with tts.synthesize("Good morning.") as frames:
                got = [frame async for frame in frames]
            assert got[-1].text_end == len("Good morning.")
            empty = await speak(tts, [])
    assert empty.error is None
    assert all(f.text_end == 0 for f in empty.frames)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connected_streams_share_one_socket(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, server):
            async with tts.connected() as shared:
                assert shared.input_streaming
                first = await speak(shared, ["One sentence. "])
                second = await speak(shared, ["And another one. "])
                stats = shared.statistics()
            await server.wait_for(lambda s: s.sessions[0].ended_at is not None)  # closed
    assert (stats.connections, stats.utterances) == (1, 2)
    assert len(server.sessions) == 1
    utterances = server.sessions[0].utterances
    assert [u.text for u in utterances] == ["One sentence. ", "And another one. "]
    assert len({u.context_id for u in utterances}) == 2
    assert first.text_ends[-1] == len("One sentence. ")
    assert second.text_ends[-1] == len("And another one. ")
    if provider == "elevenlabs":
        assert server.sessions[0].path.endswith("/multi-stream-input")
        assert server.sessions[0].messages[-1] == {"close_socket": True}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_dead_shared_socket_is_replaced_before_the_next_utterance(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    """The server drops the shared socket mid-reply: that reply fails (retryable);
    the next one opens a new socket without any error."""
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, server):
            server.script(CloseAfter(0.2))
            async with tts.connected() as shared:
                broken = await speak(shared, WORDS)
                healed = await speak(shared, WORDS)
                stats = shared.statistics()
    assert broken.error is not None
    assert broken.error.retryable
    assert healed.error is None
    assert healed.text_ends[-1] == len("".join(WORDS))
    assert stats.connections == 2
    assert len(server.sessions) == 2


async def test_an_idle_shared_socket_closed_by_the_server_is_replaced(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(60):
        async with provider_and_fake("cartesia") as (tts, server), tts.connected() as shared:
            assert (await speak(shared, ["Hi. "])).error is None
            await server.hang_up()  # an inactivity timeout: the server closes the idle socket
            await server.wait_for(lambda s: s.sessions[0].ended_at is not None)
            again = await speak(shared, ["Hello again. "])
            assert shared.statistics().connections == 2
    assert again.error is None


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_conformance_with_faults(provider: str, autojump_clock: trio.abc.Clock) -> None:
    options = FakeTTSOptions(api_key=KEY, pace=1.0)
    with trio.fail_after(600):
        async with provider_and_fake(provider, options, idle_timeout=2.0) as (tts, server):
            report = await check_tts_conformance(tts, TTSFaultInjector(server))
    report.raise_if_failed()
    names = {result.name for result in report.results}
    assert {"cancel_closes_stream", "nothing_after_cancel", "error:stall"} <= names
    assert {"no_hidden_retries", "retries_obey_policy"} <= names


def test_configuration() -> None:
    with pytest.raises(ValueError, match="positive"):
        WebSocketTTSConnection(idle_timeout=0)
    with pytest.raises(ValueError, match="ws"):
        ElevenLabsTTS(connection=WebSocketTTSConnection(base_url="ftp://x"))
    tts = make_tts("cartesia", "ws://127.0.0.1:9")
    assert tts.label == "cartesia/sonic-2"
    assert KEY not in repr(tts.connection)
    assert ElevenLabsTTS(ElevenLabsOptions(model_id="m")).label == "elevenlabs/m"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_finished_utterance_leaves_no_reference_cycle(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    """Regression: the reader kept the server's close (ElevenLabs stream-input ends
    every utterance so) with its traceback, which held the reader's frame and so the
    socket: each utterance left its connection to the cyclic collector, whose full
    collections pause the whole process for tens of milliseconds."""
    with trio.fail_after(60):
        async with provider_and_fake(provider) as (tts, _):
            await speak(tts, WORDS)  # warm: first-use caches are not garbage
            gc.collect()
            gc.disable()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                spoken = await speak(tts, WORDS)
                gc.collect()
                ours = [
                    type(o).__qualname__
                    for o in gc.garbage
                    if type(o).__module__.startswith(("trioagents", "trio_websocket"))
                ]
            finally:
                gc.garbage.clear()
                gc.set_debug(0)
                gc.enable()
    assert spoken.error is None
    assert ours == []
