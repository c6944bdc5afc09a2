"""The fault-injecting OpenAI test server, exercised with a plain httpx client."""

from __future__ import annotations

import httpx
import pytest
import trio

from trioagents.core import ConfigurationError
from trioagents.testing import (
    OpenAIServer,
    OpenAIServerOptions,
    ResetAfter,
    StallAfter,
    TruncateBody,
    open_openai_server,
    rate_limited,
    refused_base_url,
    serve_openai_server,
)

CHAT = {"model": "m", "messages": [], "stream": True}


async def test_normal_chat_stream_and_recording(autojump_clock: trio.abc.Clock) -> None:
    async with (
        open_openai_server(OpenAIServerOptions(chat_text="a b")) as server,
        httpx.AsyncClient() as client,
    ):
        response = await client.post(server.base_url + "/chat/completions", json=CHAT)
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.text.count('"content"') == 3  # role chunk + two words
    assert server.requests_to("chat")[0].json() == CHAT
    assert server.disconnects == []  # a complete response is not an early disconnect


async def test_faults_apply_once_in_order(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server, httpx.AsyncClient() as client:
        server.script(rate_limited(retry_after=4), TruncateBody(1), endpoint="chat")
        url = server.base_url + "/chat/completions"
        first = await client.post(url, json=CHAT)
        assert (first.status_code, first.headers["retry-after"]) == (429, "4")
        second = await client.post(url, json=CHAT)
        assert "[DONE]" not in second.text
        third = await client.post(url, json=CHAT)
        assert third.text.endswith("data: [DONE]\n\n")
        missing = await client.post(server.base_url + "/nope", json={})
        assert missing.status_code == 404


async def test_reset_and_stall(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server, httpx.AsyncClient() as client:
        server.script(ResetAfter(10), StallAfter(10))
        url = server.base_url + "/audio/speech"
        with pytest.raises(httpx.ReadError):  # RST: "connection reset by peer"
            await client.post(url, json={"input": "hello"})
        with trio.move_on_after(5) as stalled:
            await client.post(url, json={"input": "hello"})
        assert stalled.cancelled_caught
        with trio.fail_after(1):
            await server.wait_disconnects()
        assert server.disconnects[0].bytes_sent == 10


async def test_refused_and_lifecycle(nursery: trio.Nursery) -> None:
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(refused_base_url())
    server = OpenAIServer()
    with pytest.raises(ConfigurationError):
        _ = server.base_url
    started = await nursery.start(serve_openai_server, server)
    assert started is server
    assert server.base_url.startswith("http://127.0.0.1:")
