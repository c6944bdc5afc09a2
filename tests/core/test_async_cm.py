"""Awaiting an async context manager says to use ``async with`` (porting from LiveKit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from trioagents.core import AsyncWithRequiredError, ConfigurationError, async_with_only
from trioagents.rtc import open_room
from trioagents.testing import FakeLLM
from trioagents.voice import Agent, AgentSession


async def test_awaiting_session_start_names_the_async_with_form() -> None:
    session: AgentSession[None] = AgentSession(llm=FakeLLM())
    with pytest.raises(AsyncWithRequiredError, match=r"async with session\.start\(agent"):
        await session.start(Agent(instructions="hi"))  # type: ignore[misc]
    # nothing ran: the session can still be started the right way
    async with session.start(Agent(instructions="hi")) as started:
        assert started is session


async def test_the_error_is_a_type_error_and_a_configuration_error() -> None:
    session: AgentSession[None] = AgentSession(llm=FakeLLM())
    with pytest.raises(TypeError):
        await session.start(Agent(instructions="hi"))  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        await session.start(Agent(instructions="hi"))  # type: ignore[misc]


async def test_awaiting_open_room_names_the_async_with_form() -> None:
    with pytest.raises(AsyncWithRequiredError, match=r"async with open_room\(url, token\)"):
        await open_room("ws://127.0.0.1:1", "token")  # type: ignore[misc]


async def test_decorated_factory_still_works_in_async_with() -> None:
    entered: list[str] = []

    @async_with_only("async with thing() as value:")
    @asynccontextmanager
    async def thing() -> AsyncIterator[int]:
        entered.append("in")
        try:
            yield 42
        finally:
            entered.append("out")

    async with thing() as value:
        assert value == 42
    assert entered == ["in", "out"]
    assert thing.__name__ == "thing"
    with pytest.raises(ValueError, match="boom"):
        async with thing():
            raise ValueError("boom")
    assert entered == ["in", "out", "in", "out"]
