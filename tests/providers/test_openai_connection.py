"""``OpenAIConnection`` from the environment: what is read, when, what wins, what never leaks.

Every test sets or clears ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` itself (monkeypatch),
so none depends on the environment the suite runs in.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import trio

from trioagents.core import ConfigurationError, ProviderStatusError
from trioagents.providers import OpenAIConnection, OpenAILLM
from trioagents.testing import RespondWithStatus, open_openai_server

from ._support import collect_chat

CANARY = "sk-canary-7f3a9c1e5b"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return monkeypatch


async def test_the_environment_alone_reaches_the_server(
    clean_env: pytest.MonkeyPatch, autojump_clock: trio.abc.Clock
) -> None:
    async with open_openai_server() as server:
        clean_env.setenv("OPENAI_BASE_URL", server.base_url)
        clean_env.setenv("OPENAI_API_KEY", "sk-from-env")
        await collect_chat(OpenAILLM("m"))
        sent = server.requests_to("chat")[0]
    assert sent.headers["authorization"] == "Bearer sk-from-env"


def test_the_environment_is_read_at_construction_not_at_import(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    first = OpenAIConnection()
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    clean_env.setenv("OPENAI_API_KEY", "sk-later")
    second = OpenAIConnection()
    assert (first.base_url, first.api_key) == ("http://127.0.0.1:1/v1", None)
    assert (second.base_url, second.api_key) == ("http://127.0.0.1:2/v1", "sk-later")
    clean_env.delenv("OPENAI_BASE_URL")
    clean_env.delenv("OPENAI_API_KEY")
    assert first.base_url == "http://127.0.0.1:1/v1"  # a built connection never re-reads


def test_explicit_arguments_win(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_BASE_URL", "http://env.invalid/v1")
    clean_env.setenv("OPENAI_API_KEY", "sk-env")
    explicit = OpenAIConnection(base_url="http://127.0.0.1:8000/v1", api_key="sk-arg")
    assert (explicit.base_url, explicit.api_key) == ("http://127.0.0.1:8000/v1", "sk-arg")
    # each field falls back on its own, as in the openai SDK
    assert OpenAIConnection(api_key="sk-arg").base_url == "http://env.invalid/v1"
    assert OpenAIConnection(base_url="http://127.0.0.1:8000/v1").api_key == "sk-env"


def test_an_empty_variable_counts_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_BASE_URL", "")
    clean_env.setenv("OPENAI_API_KEY", "sk-x")
    assert OpenAIConnection().base_url == "https://api.openai.com/v1"
    clean_env.setenv("OPENAI_API_KEY", "")
    local = OpenAIConnection(base_url="http://127.0.0.1:11434/v1")
    assert local.api_key is None
    assert "Authorization" not in local.request_headers()
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIConnection()  # api.openai.com, and "" is no key


def test_api_openai_com_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        OpenAIConnection()
    message = str(info.value)
    assert "api_key=" in message
    assert "OPENAI_API_KEY" in message
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAILLM("gpt-4o-mini")
    with pytest.raises(ConfigurationError):
        OpenAIConnection(base_url="https://api.openai.com/v1/", api_key="")
    # a key in the headers (a proxy token, a header of your own) is a key
    OpenAIConnection(headers={"Authorization": "Bearer sk-h"})
    OpenAIConnection(api_key_header="x-key", headers={"X-Key": "k"})


def test_local_servers_need_no_key() -> None:
    for base_url in ("http://127.0.0.1:8000/v1", "http://localhost:11434/v1"):
        connection = OpenAIConnection(base_url=base_url)
        assert connection.api_key is None
        assert connection.request_headers() == {}


async def test_an_empty_key_sends_none_even_with_the_variable_set(
    clean_env: pytest.MonkeyPatch, autojump_clock: trio.abc.Clock
) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-for-openai-only")
    async with open_openai_server() as server:
        local = OpenAIConnection(base_url=server.base_url, api_key="")
        await collect_chat(OpenAILLM("m", connection=local))
        # dataclasses.replace keeps the choice (it does not re-read the variable)
        await collect_chat(OpenAILLM("m", connection=dataclasses.replace(local, idle_timeout=3)))
        sent = server.requests_to("chat")
    assert [r.headers.get("authorization") for r in sent] == [None, None]


def test_a_bad_url_from_the_environment_names_the_variable(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("OPENAI_BASE_URL", "127.0.0.1:8000/v1")
    with pytest.raises(ConfigurationError, match="OPENAI_BASE_URL must start with http"):
        OpenAIConnection(api_key="k")


async def test_the_key_never_appears_in_repr_messages_or_logs(
    clean_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.abc.Clock,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    clean_env.setenv("OPENAI_API_KEY", CANARY)
    texts = [repr(OpenAIConnection()), repr(OpenAIConnection(api_key=CANARY))]
    for bad in ({"base_url": "ftp://x"}, {"idle_timeout": -1.0}):
        with pytest.raises(ConfigurationError) as info:
            OpenAIConnection(api_key=CANARY, **bad)  # type: ignore[arg-type]
        texts += [str(info.value), repr(info.value)]
    async with open_openai_server() as server:
        clean_env.setenv("OPENAI_BASE_URL", server.base_url)
        await collect_chat(OpenAILLM("m"))
        assert server.requests_to("chat")[0].headers["authorization"] == f"Bearer {CANARY}"
        echo = json.dumps({"error": {"message": f"Incorrect API key provided: {CANARY}"}})
        server.script(RespondWithStatus(401, echo.encode()), endpoint="chat")
        with pytest.raises(ProviderStatusError) as failed:
            await collect_chat(OpenAILLM("m"))
    texts += [str(failed.value), repr(failed.value), repr(OpenAILLM("m").__dict__)]
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records  # the loggers did run
    assert not [text for text in texts if CANARY in text]
