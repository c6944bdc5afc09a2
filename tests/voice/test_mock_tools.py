"""``mock_tools``: fake tool implementations, scoped to a block, never leaking."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import ConfigurationError, ToolError
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    RunContext,
    RunResult,
    function_tool,
    mock_tools,
)

REAL_CALLS: list[str] = []


class WeatherAgent(Agent):
    def __init__(self, instructions: str = "weather") -> None:
        super().__init__(instructions=instructions)

    @function_tool
    async def get_weather(self, context: RunContext[None], city: str, unit: str = "C") -> str:
        """Weather for a city.

        Args:
            city: the city
            unit: C or F
        """
        REAL_CALLS.append(city)
        return f"real weather in {city}"


class SpecialWeatherAgent(WeatherAgent):
    pass


class Helpdesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="helpdesk")

    @function_tool
    async def get_weather(self, city: str) -> str:
        """Same tool name on another agent class."""
        REAL_CALLS.append(f"helpdesk:{city}")
        return "helpdesk weather"


def weather_llm(*questions: str, arguments: str = '{"city": "Oslo", "unit": "F"}') -> FakeLLM:
    """Each question (default "weather?") gets a get_weather call, then "Done."."""
    step = LLMScript(tool_calls=[call("get_weather", arguments)])
    return FakeLLM({q: [step, LLMScript("Done.")] for q in questions or ("weather?",)})


async def run_once(session: AgentSession[None], text: str = "weather?") -> str:
    result = await session.run(user_input=text)
    return tool_output(result)


def tool_output(result: RunResult) -> str:
    return result.expect.next_event(type="function_call_output").output


@pytest.fixture(autouse=True)
def _clear() -> None:
    REAL_CALLS.clear()


async def test_mocks_apply_to_sessions_started_inside_the_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = weather_llm()
    session = AgentSession(llm=llm)
    with mock_tools(WeatherAgent, {"get_weather": lambda city: f"sunny in {city}"}):
        async with session.start(WeatherAgent()):
            assert await run_once(session) == "sunny in Oslo"
    assert REAL_CALLS == []
    [spec] = llm.requests[0].tools  # the LLM still sees the real tool's schema
    assert spec.name == "get_weather"
    assert set(spec.parameters["properties"]) == {"city", "unit"}


async def test_a_block_inside_the_session_body_applies_then_restores(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=weather_llm("first", "second"))
    async with session.start(WeatherAgent()):
        with mock_tools(WeatherAgent, {"get_weather": lambda: "sunny"}):
            assert await run_once(session, "first") == "sunny"
        assert await run_once(session, "second") == "real weather in Oslo"
    assert REAL_CALLS == ["Oslo"]


async def test_a_block_inside_the_body_covers_replies_it_did_not_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=weather_llm())
    async with session.start(WeatherAgent()):
        with mock_tools(WeatherAgent, {"get_weather": lambda: "sunny"}):
            await session.generate_reply(user_input="weather?")
            await session.wait_idle()
    outputs = [i for i in session.history if getattr(i, "output", None) is not None]
    assert [o.output for o in outputs] == ["sunny"]  # type: ignore[attr-defined]
    assert REAL_CALLS == []


async def test_no_leak_after_the_block_or_into_a_concurrent_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    outputs: dict[str, str] = {}

    async def mocked() -> None:
        session = AgentSession(llm=weather_llm())
        with mock_tools(WeatherAgent, {"get_weather": lambda: "mocked"}):
            async with session.start(WeatherAgent()):
                await trio.sleep(1)  # the other session runs meanwhile
                outputs["mocked"] = await run_once(session)

    async def plain() -> None:
        session = AgentSession(llm=weather_llm())
        async with session.start(WeatherAgent()):
            outputs["plain"] = await run_once(session)
            await trio.sleep(2)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(mocked)
        nursery.start_soon(plain)
    assert outputs == {"mocked": "mocked", "plain": "real weather in Oslo"}
    later = AgentSession(llm=weather_llm())
    async with later.start(WeatherAgent()):
        assert await run_once(later) == "real weather in Oslo"


async def test_a_class_target_covers_subclasses_not_other_classes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with mock_tools(WeatherAgent, {"get_weather": lambda: "mocked"}):
        special = AgentSession(llm=weather_llm())
        async with special.start(SpecialWeatherAgent()):
            assert await run_once(special) == "mocked"
        helpdesk = AgentSession(llm=weather_llm(arguments='{"city": "Oslo"}'))
        async with helpdesk.start(Helpdesk()):
            assert await run_once(helpdesk) == "helpdesk weather"
    assert REAL_CALLS == ["helpdesk:Oslo"]


async def test_an_instance_target_covers_only_that_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mocked_agent, other_agent = WeatherAgent(), WeatherAgent()
    with mock_tools(mocked_agent, {"get_weather": lambda: "mocked"}):
        first = AgentSession(llm=weather_llm())
        async with first.start(mocked_agent):
            assert await run_once(first) == "mocked"
        second = AgentSession(llm=weather_llm())
        async with second.start(other_agent):
            assert await run_once(second) == "real weather in Oslo"


async def test_inner_blocks_win_and_outer_ones_come_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=weather_llm("a", "b"))
    with mock_tools(WeatherAgent, {"get_weather": lambda: "outer"}):
        async with session.start(WeatherAgent()):
            with mock_tools(WeatherAgent, {"get_weather": lambda: "inner"}):
                assert await run_once(session, "a") == "inner"
            assert await run_once(session, "b") == "outer"


async def test_async_mocks_get_validated_arguments_and_the_context(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[object] = []

    async def fake(context: RunContext[None], city: str, unit: str) -> str:
        await trio.sleep(0.5)
        seen.append((type(context).__name__, context.function_call.name, city, unit))
        return f"{city}:{unit}"

    session = AgentSession(llm=weather_llm())
    async with session.start(WeatherAgent()):
        with mock_tools(WeatherAgent, {"get_weather": fake}):
            assert await run_once(session) == "Oslo:F"
    assert seen == [("RunContext", "get_weather", "Oslo", "F")]


async def test_a_mock_that_raises_is_the_tools_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def fail(**kwargs: object) -> str:
        raise ToolError(f"no weather for {kwargs['city']}")

    session = AgentSession(llm=weather_llm())
    async with session.start(WeatherAgent()):
        with mock_tools(WeatherAgent, {"get_weather": fail}):
            result = await session.run(user_input="weather?")
    output = result.expect.contains_function_call_output(is_error=True)
    assert output.output == "no weather for Oslo"


async def test_invalid_arguments_never_reach_the_mock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    called: list[str] = []
    bad = LLMScript(tool_calls=[call("get_weather", '{"unit": "C"}')])  # no city
    session = AgentSession(llm=AgentLLM({"weather": [bad, LLMScript("Sorry.")]}))
    async with session.start(WeatherAgent()):
        with mock_tools(WeatherAgent, {"get_weather": lambda: called.append("x") or "x"}):
            result = await session.run(user_input="weather?")
    assert called == []
    result.expect.contains_function_call_output(is_error=True)


def test_mistakes_are_refused_at_entry() -> None:
    with (
        pytest.raises(ConfigurationError, match="no tool 'get_wether' to mock"),
        mock_tools(WeatherAgent, {"get_wether": lambda: "x"}),
    ):
        pass
    with (
        pytest.raises(ConfigurationError, match="must be callable"),
        mock_tools(
            WeatherAgent,
            {"get_weather": "sunny"},  # type: ignore[dict-item]
        ),
    ):
        pass
    with (
        pytest.raises(ConfigurationError, match="agent class or an agent instance"),
        mock_tools(object(), {}),
    ):
        pass
    with (
        pytest.raises(ConfigurationError, match="needs 'location', which the tool"),
        mock_tools(WeatherAgent, {"get_weather": lambda location: "x"}),
    ):
        pass
    spec_only = Agent(instructions="x", tools=[Helpdesk().get_weather])
    with mock_tools(spec_only, {"get_weather": lambda: "ok"}):  # tools= on an instance
        pass
