"""The OpenAI-compatible providers on the wire: requests they send, answers they read."""

from __future__ import annotations

import json

import pytest
import trio

from trioagents.core import (
    ConfigurationError,
    ContentFilterError,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    ProviderError,
    ProviderStatusError,
    ToolSpec,
)
from trioagents.providers import (
    OpenAIConnection,
    OpenAILLM,
    OpenAISTT,
    OpenAITTS,
    with_retry,
)
from trioagents.testing import (
    OpenAIServerOptions,
    RespondWithStatus,
    SendGarbage,
    ServeHTMLPage,
    open_openai_server,
)

from ._support import collect_chat, connection, policy, tone_burst, user_says

CALL = LLMToolCall("call_9", "get_weather", '{"city": "Oslo", "unit": "C"}')


def sse(*chunks: object) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


async def test_chat_request_and_streamed_tool_call(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIServerOptions(chat_text="Checking.", chat_tool_calls=(CALL,))
    async with open_openai_server(options) as server:
        llm = OpenAILLM("gpt-x", connection=connection(server.base_url), extra_body={"seed": 3})
        tool = ToolSpec("get_weather", "Weather")
        async with llm.chat(user_says("weather?"), tools=[tool], tool_choice="required") as events:
            got = [event async for event in events]
        sent = server.requests_to("chat")[0]
    assert got[:2] == [LLMTextDelta("Checking."), CALL]
    assert isinstance(got[-1], LLMUsage)
    body = sent.json()
    assert (body["model"], body["seed"], body["tool_choice"], body["stream"]) == (
        "gpt-x",
        3,
        "required",
        True,
    )
    assert body["messages"] == [{"role": "user", "content": "weather?"}]
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_azure_style_connection(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        azure = OpenAIConnection(
            base_url=server.base_url + "/deployments/gpt4o",
            api_key="azure-key",
            api_key_header="api-key",
            query={"api-version": "2024-10-21"},
            headers={"x-trace": "1"},
        )
        await collect_chat(OpenAILLM("gpt-4o", connection=azure))
        sent = server.requests_to("chat")[0]
    assert sent.path.endswith("/deployments/gpt4o/chat/completions")
    assert sent.headers["api-key"] == "azure-key"
    assert "authorization" not in sent.headers
    assert sent.headers["x-trace"] == "1"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            sse(
                {"choices": [{"delta": {"content": "Well"}}]},
                {"choices": [{"delta": {}, "finish_reason": "content_filter"}]},
            ),
            ContentFilterError,
        ),
        (sse({"error": {"code": "content_filter", "message": "no"}}), ContentFilterError),
        (sse({"error": {"message": "overloaded", "code": 503}}), ProviderStatusError),
    ],
)
async def test_errors_inside_a_200_stream(
    body: bytes, error: type[ProviderError], autojump_clock: trio.abc.Clock
) -> None:
    async with open_openai_server() as server:
        server.script(SendGarbage(body), endpoint="chat")
        with pytest.raises(error) as info:
            await collect_chat(OpenAILLM("m", connection=connection(server.base_url)))
    if error is ProviderStatusError:
        assert info.value.retryable
        assert info.value.status == 503


async def test_chat_html_page_is_a_malformed_response_not_retried(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_openai_server() as server:
        server.script(ServeHTMLPage(), endpoint="chat")
        llm = with_retry(OpenAILLM("m", connection=connection(server.base_url)), policy())
        with pytest.raises(ProviderError) as info:
            await collect_chat(llm)
        attempts = len(server.requests_to("chat"))
    assert type(info.value) is ProviderError
    assert info.value.retryable is False
    assert "malformed response" in str(info.value)
    assert "text/html" in str(info.value)
    assert attempts == 1


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("text/event-stream", True),
        ("text/event-stream; charset=utf-8", True),
        ("Text/Event-Stream", True),
        (None, True),  # no header: read the body as SSE
        ("application/json", False),  # a non-streamed answer to a streamed request
        ("text/plain", False),
    ],
)
async def test_chat_content_type(
    content_type: str | None, accepted: bool, autojump_clock: trio.abc.Clock
) -> None:
    body = sse({"choices": [{"delta": {"content": "Hi"}, "finish_reason": "stop"}]})
    body += b"data: [DONE]\n\n"
    headers = (("content-type", content_type),) if content_type else ()
    async with open_openai_server() as server:
        server.script(RespondWithStatus(200, body, headers), endpoint="chat")
        llm = OpenAILLM("m", connection=connection(server.base_url))
        if accepted:
            assert await collect_chat(llm) == [LLMTextDelta("Hi")]
        else:
            with pytest.raises(ProviderError, match="malformed response") as info:
                await collect_chat(llm)
            assert info.value.retryable is False


async def test_chat_event_without_end_is_refused_at_the_cap(
    autojump_clock: trio.abc.Clock,
) -> None:
    endless = b"".join(b"data: " + b"x" * 1018 + b"\n" for _ in range(5 * 1024))  # 5 MiB
    async with open_openai_server() as server:
        server.script(SendGarbage(endless), endpoint="chat")
        llm = with_retry(OpenAILLM("m", connection=connection(server.base_url)), policy())
        with pytest.raises(ProviderError, match="event larger than 4194304 bytes") as info:
            await collect_chat(llm)
        attempts = len(server.requests_to("chat"))
    assert info.value.retryable is False
    assert attempts == 1


@pytest.mark.parametrize("declared", [True, False])
async def test_stt_response_is_capped(declared: bool, autojump_clock: trio.abc.Clock) -> None:
    """A 2 MiB transcript: refused at 1 MiB, whether declared (Content-Length, nothing
    read) or only streamed (chunked: refused as the cap is passed)."""
    big = b'{"text": "' + b"x" * (2 << 20) + b'"}'
    reply = RespondWithStatus(
        200, big, (("content-type", "application/json"),), chunked=not declared
    )
    async with open_openai_server() as server:
        server.script(reply, endpoint="transcription")
        stt = with_retry(OpenAISTT(connection=connection(server.base_url)), policy())
        with pytest.raises(ProviderError, match="larger than 1048576 bytes") as info:
            await stt.recognize(tone_burst())
        attempts = len(server.requests_to("transcription"))
    assert info.value.retryable is False
    assert attempts == 1
    async with open_openai_server() as server:
        server.script(reply, endpoint="transcription")
        roomy = OpenAISTT(connection=connection(server.base_url), max_response_bytes=4 << 20)
        assert (await roomy.recognize(tone_burst())).text == "x" * (2 << 20)
    with pytest.raises(ConfigurationError, match="max_bytes"):
        OpenAISTT(max_response_bytes=0)


async def test_tts_request_and_audio_format(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        tts = OpenAITTS("tts-1", voice="nova", connection=connection(server.base_url))
        async with tts.synthesize("Hello.") as frames:
            got = [frame async for frame in frames]
        body = server.requests_to("speech")[0].json()
    assert (body["voice"], body["response_format"], body["input"]) == ("nova", "pcm", "Hello.")
    assert all(frame.sample_rate == 24000 and frame.num_channels == 1 for frame in got)
    assert sum(f.duration for f in got) == pytest.approx(6 * 0.01)


async def test_stt_uploads_wav_with_language(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server(OpenAIServerOptions(transcript="bonjour")) as server:
        stt = OpenAISTT("whisper-1", connection=connection(server.base_url), language="fr")
        event = await stt.recognize(tone_burst())
        raw = server.requests_to("transcription")[0]
    assert (event.text, event.language) == ("bonjour", "fr")
    assert raw.headers["content-type"].startswith("multipart/form-data")
    assert b"RIFF" in raw.body
    assert b'name="language"' in raw.body


def test_connection_is_validated() -> None:
    with pytest.raises(ConfigurationError):
        OpenAIConnection(base_url="ftp://x")
    with pytest.raises(ConfigurationError):
        OpenAIConnection(idle_timeout=0)
    assert "sk-" not in repr(OpenAIConnection(api_key="sk-secret"))
