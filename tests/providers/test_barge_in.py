"""Barge-in: cancelling the turn's scope closes the HTTP response at once.

The server streams slowly (one chunk a second); the client cancels after the
first token. The server's watcher must observe the disconnect in the same
virtual instant, long before the reply would have finished, through the bare
provider and through every wrapper (retry, fallback), and nothing may be
delivered after the cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from trioagents.core import LLM, AudioFrame
from trioagents.providers import (
    FallbackOptions,
    OpenAILLM,
    OpenAITTS,
    SentenceStreamTTS,
    open_fallback_llm,
    with_retry,
)
from trioagents.testing import OpenAIServerOptions, open_openai_server, server_error

from ._support import connection, policy, user_says

SLOW = OpenAIServerOptions(chunk_interval=1.0)


def _bare(llm: OpenAILLM) -> AbstractAsyncContextManager[LLM]:
    return _Given(llm)


class _Given:
    def __init__(self, value: Any) -> None:
        self._value = value

    async def __aenter__(self) -> Any:
        return self._value

    async def __aexit__(self, *exc: object) -> None:
        return None


WRAPPINGS: dict[str, Callable[[OpenAILLM], AbstractAsyncContextManager[LLM]]] = {
    "bare": _bare,
    "retry": lambda llm: _Given(with_retry(llm, policy())),
    "fallback": lambda llm: open_fallback_llm(
        [with_retry(llm, policy()), OpenAILLM("spare", connection=llm_connection_spare())],
        options=FallbackOptions(probe_interval=10_000),
    ),
}


def llm_connection_spare() -> Any:
    return connection("http://127.0.0.1:9/v1")  # never reached in these tests


@pytest.mark.parametrize("wrapping", sorted(WRAPPINGS))
async def test_cancel_closes_chat_response(wrapping: str, autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server(SLOW) as server:
        raw = OpenAILLM("gpt", connection=connection(server.base_url))
        async with WRAPPINGS[wrapping](raw) as llm:
            received: list[object] = []
            with trio.CancelScope() as turn:
                async with llm.chat(user_says()) as events:
                    async for event in events:
                        received.append(event)
                        cancelled_at = trio.current_time()
                        turn.cancel()
            with trio.fail_after(0.01):  # the disconnect was seen within the same cancel
                await server.wait_disconnects()
        assert len(received) == 1
        disconnect = server.disconnects[0]
        assert disconnect.endpoint == "chat"
        assert disconnect.at - cancelled_at < 0.01
        assert len(server.requests) == 1  # cancellation is never retried


async def test_cancel_during_retry_backoff_sends_nothing_more(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_openai_server() as server:
        server.script(server_error(), endpoint="chat")
        llm = with_retry(OpenAILLM("gpt", connection=connection(server.base_url)), policy())
        async with trio.open_nursery() as nursery:
            turn = trio.CancelScope()

            async def barge_in() -> None:
                await trio.sleep(0.5)  # inside the first backoff (~1 s); not a deadline
                turn.cancel()

            nursery.start_soon(barge_in)
            with turn:
                async with llm.chat(user_says()) as events:
                    async for _ in events:
                        pytest.fail("no event expected before the cancel")
        assert turn.cancelled_caught
        await trio.sleep(30)
        assert len(server.requests) == 1


async def test_cancel_stops_streaming_tts_audio(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server(SLOW) as server:
        tts = SentenceStreamTTS(OpenAITTS(connection=connection(server.base_url)))
        frames: list[AudioFrame] = []
        with trio.CancelScope() as turn:
            async with tts.stream() as stream:
                await stream.push_text("This sentence is long enough to be spoken. And another.")
                await stream.end_input()
                async for frame in stream:
                    frames.append(frame)
                    if len(frames) == 3:
                        turn.cancel()
        with trio.fail_after(0.01):
            await server.wait_disconnects()
        assert len(frames) == 3  # nothing after the cancel
        assert server.disconnects[0].endpoint == "speech"
