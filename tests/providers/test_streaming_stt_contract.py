"""What every websocket STT keeps, run against each provider and its fake server.

Losing the connection, cancelling, leaving early, connecting to a silent server,
retries only by the wrapper, and the conformance kit: the same behaviour for
``DeepgramSTT`` and ``OpenAIRealtimeSTT`` (``_stt_kits.py``). What is a provider's
own (its wire messages, its fault table) is tested in its own modules. Virtual
time, real loopback sockets.
"""

from __future__ import annotations

import functools

import pytest
import trio

from trioagents.core import ProviderTimeoutError
from trioagents.providers import RetryPolicy, with_retry
from trioagents.testing import CloseAfter, RefuseUpgrade, check_stt_conformance

from ._streaming_stt_support import transcribe, two_utterances
from ._stt_kits import KITS, WORDS, Kit

pytestmark = pytest.mark.parametrize("kit", KITS.values(), ids=list(KITS))


async def test_push_after_the_connection_died_is_dropped(
    kit: Kit, autojump_clock: trio.abc.Clock
) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with kit.open_server(timeline, None) as server:
            server.script(CloseAfter(0.1))
            async with kit.client(kit.address(server)).stream() as stream:
                for index in range(10):
                    await stream.push_frame(timeline.frame(index))
                await server.wait_for(lambda s: s.sessions[0].ended_at is not None)
                await trio.sleep(0.1)
                for index in range(10, 20):
                    await stream.push_frame(timeline.frame(index))  # no error here
                with pytest.raises(Exception, match="closed mid-stream"):
                    await stream.__anext__()


async def test_cancel_is_not_an_error(kit: Kit, autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with kit.open_server(timeline, None) as server:
            with trio.CancelScope() as turn:
                async with kit.client(kit.address(server)).stream() as stream:
                    for index in range(100):
                        await stream.push_frame(timeline.frame(index))
                    async for event in stream:
                        if event.type.name == "INTERIM_TRANSCRIPT":
                            turn.cancel()
                            await trio.lowlevel.checkpoint()
            assert turn.cancelled_caught
            await server.wait_for(lambda s: s.sessions[0].ended_at is not None)
    # Deepgram: CloseStream went out, then the socket was dropped (nothing could
    # read an answer); OpenAI: there is nothing to say, the session is dropped
    assert tuple(server.sessions[0].controls) == kit.cancel_controls
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()  # nothing comes out after the block


async def test_leaving_early_closes_cleanly(kit: Kit, autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with kit.open_server(timeline, None) as server:
            async with kit.client(kit.address(server)).stream() as stream:
                for index in range(60):
                    await stream.push_frame(timeline.frame(index))
                async for _ in stream:
                    break
            await server.wait_for(lambda s: s.sessions[0].ended_at is not None)
    assert tuple(server.sessions[0].controls) == kit.cancel_controls


async def test_connect_timeout(kit: Kit, autojump_clock: trio.abc.Clock) -> None:
    """A server that accepts TCP but never answers the upgrade."""
    accepted: list[trio.SocketStream] = []

    async def silent(stream: trio.SocketStream) -> None:
        accepted.append(stream)
        await trio.sleep_forever()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            refused = kit.refused()
            url = refused.replace(refused.split("/")[2], f"127.0.0.1:{port}")
            start = trio.current_time()
            run = await transcribe(kit.client(url, connect_timeout=3.0), two_utterances())
            assert trio.current_time() - start == pytest.approx(3.0)
            nursery.cancel_scope.cancel()
    assert isinstance(run.error, ProviderTimeoutError)
    assert accepted


async def test_no_hidden_retries_and_policy_retries(
    kit: Kit, autojump_clock: trio.abc.Clock
) -> None:
    timeline = two_utterances()
    with trio.fail_after(120):
        async with kit.open_server(timeline, None) as server:
            server.script(RefuseUpgrade(503))
            run = await transcribe(kit.client(kit.address(server)), timeline)
            assert len(server.sessions) == 1  # the provider itself never retries
            assert run.error is not None
            server.script(RefuseUpgrade(503), CloseAfter(0.8))
            retrying = with_retry(kit.client(kit.address(server)), RetryPolicy(base_delay=0.1))
            healed = await transcribe(retrying, timeline)
    assert healed.error is None
    assert healed.finals == WORDS
    assert len(server.sessions) == 4


async def test_conformance_with_faults(kit: Kit, autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    frames = [timeline.frame(i) for i in range(round(timeline.duration / 0.01))]
    with trio.fail_after(600):
        async with kit.open_server(timeline, None) as server:
            stt = kit.client(kit.address(server), idle_timeout=2.0)
            report = await check_stt_conformance(stt, frames, kit.injector(server))
    report.raise_if_failed()
    names = {result.name for result in report.results}
    assert {"error:stall", "error:rate_limited", "no_hidden_retries"} <= names
    assert "retries_obey_policy" in names


async def test_conformance_cancellation(kit: Kit, autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    frames = [timeline.frame(i) for i in range(round(timeline.duration / 0.01))]
    with trio.fail_after(120):
        async with kit.open_server(timeline, None) as server:
            report = await check_stt_conformance(kit.client(kit.address(server)), frames)
    report.raise_if_failed()
