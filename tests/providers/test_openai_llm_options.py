"""``OpenAIChatOptions`` on the wire: what the request body carries, and what it leaves out."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from trioagents.core import LLM, ConfigurationError, ToolSpec
from trioagents.providers import OpenAIChatOptions, OpenAILLM, open_fallback_llm, with_retry
from trioagents.testing import open_openai_server

from ._support import connection, policy, user_says

WEATHER = ToolSpec("get_weather", "Weather")
OPTIONAL_FIELDS = ("temperature", "max_completion_tokens", "max_tokens", "parallel_tool_calls")


async def sent_body(
    options: OpenAIChatOptions | None,
    *,
    tools: tuple[ToolSpec, ...] = (WEATHER,),
    **chat: Any,
) -> dict[str, Any]:
    """The JSON body one chat call sends to the loopback server."""
    async with open_openai_server() as server:
        llm = OpenAILLM("m", connection=connection(server.base_url), options=options)
        async with llm.chat(user_says(), tools=tools, **chat) as events:
            async for _ in events:
                pass
        body: dict[str, Any] = server.requests_to("chat")[0].json()
    return body


async def test_options_reach_the_request_body(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIChatOptions(
        temperature=0.3, max_tokens=120, parallel_tool_calls=False, tool_choice="required"
    )
    body = await sent_body(options)
    assert body["temperature"] == 0.3
    assert body["max_completion_tokens"] == 120
    assert "max_tokens" not in body
    assert body["parallel_tool_calls"] is False
    assert body["tool_choice"] == "required"


async def test_unset_options_are_left_out(autojump_clock: trio.abc.Clock) -> None:
    for body in (await sent_body(None), await sent_body(OpenAIChatOptions())):
        assert not [key for key in OPTIONAL_FIELDS if key in body]
        assert body["tool_choice"] == "auto"  # with tools and no default: as before
    bare = await sent_body(None, tools=())
    assert "tool_choice" not in bare
    assert "tools" not in bare


async def test_the_cap_can_use_the_older_field_name(autojump_clock: trio.abc.Clock) -> None:
    body = await sent_body(OpenAIChatOptions(max_tokens=64, max_tokens_field="max_tokens"))
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body


async def test_a_per_call_tool_choice_wins_over_the_default(
    autojump_clock: trio.abc.Clock,
) -> None:
    options = OpenAIChatOptions(tool_choice="get_weather")
    assert (await sent_body(options))["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }
    for per_call in ("auto", "none"):
        assert (await sent_body(options, tool_choice=per_call))["tool_choice"] == per_call


async def test_tool_options_are_not_sent_without_tools(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIChatOptions(parallel_tool_calls=True, tool_choice="required", temperature=0)
    body = await sent_body(options, tools=())
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body
    assert body["temperature"] == 0


@pytest.mark.parametrize(
    ("fields", "fix"),
    [
        ({"temperature": 2.5}, "from 0 to 2"),
        ({"temperature": -0.1}, "from 0 to 2"),
        ({"temperature": float("nan")}, "from 0 to 2"),
        ({"temperature": "0.2"}, "from 0 to 2"),
        ({"max_tokens": 0}, ">= 1"),
        ({"max_tokens": True}, ">= 1"),
        ({"max_tokens": 10.0}, ">= 1"),
        ({"max_tokens_field": "max_output_tokens"}, "Ollama"),
        ({"parallel_tool_calls": "false"}, "True, False or None"),
        ({"tool_choice": ""}, "a tool name"),
        ({"tool_choice": "no spaces allowed"}, "a tool name"),
        ({"tool_choice": {"type": "function"}}, "a tool name"),
    ],
)
def test_bad_options_are_refused_at_construction(fields: dict[str, Any], fix: str) -> None:
    with pytest.raises(ConfigurationError, match=fix):
        OpenAIChatOptions(**fields)


def test_a_setting_in_both_options_and_extra_body_is_refused() -> None:
    for extra in ({"temperature": 1}, {"max_tokens": 5}, {"max_completion_tokens": 5}):
        with pytest.raises(ConfigurationError, match="both options and extra_body"):
            OpenAILLM(
                "m",
                connection=connection("http://127.0.0.1:9/v1"),
                options=OpenAIChatOptions(temperature=0.5, max_tokens=9),
                extra_body=extra,
            )
    # what options leave unset, extra_body may still send
    OpenAILLM("m", connection=connection("http://127.0.0.1:9/v1"), extra_body={"top_p": 0.9})


async def test_wrappers_pass_not_given_on_to_the_member(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIChatOptions(tool_choice="required")
    async with open_openai_server() as server:
        member = OpenAILLM("m", connection=connection(server.base_url), options=options)

        async def one_call(llm: LLM) -> None:
            async with llm.chat(user_says(), tools=[WEATHER]) as events:
                async for _ in events:
                    pass

        await one_call(with_retry(member, policy()))
        async with open_fallback_llm([member]) as group:
            await one_call(group)
        choices = [r.json()["tool_choice"] for r in server.requests_to("chat")]
    assert choices == ["required", "required"]
