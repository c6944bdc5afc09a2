"""An error in the ``async with session.start(...)`` body leaves the block as itself.

pytest sees the test's own ``AssertionError`` (``type(...) is AssertionError``),
not an exception group of one, whatever the session was doing: replying in text,
speaking into an audio sink, hearing the user, reporting to observers. Several
errors at once stay a group (nothing is hidden).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import pytest
import trio
import trio.testing

from trioagents.core import exception_leaves
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession, HookAttribute

LONG = LLMScript("This is a long reply. It has several sentences. And it keeps going on.")


def audio_session(*segments: object) -> tuple[AgentSession[None], FakeAudioInput]:
    timeline = Timeline(list(segments), tail=30)  # type: ignore[arg-type]
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline), llm=FakeLLM(default=LONG), tts=FakeTTS(), vad=FakeVAD()
    )
    return session, FakeAudioInput(timeline)


async def body_error(call: Callable[[], Awaitable[None]]) -> AssertionError:
    with pytest.raises(AssertionError) as excinfo:
        await call()
    assert type(excinfo.value) is AssertionError
    return excinfo.value


async def test_a_failed_expectation_in_text_mode(autojump_clock: trio.testing.MockClock) -> None:
    session = AgentSession(llm=FakeLLM(default=LLMScript("Fine.")))

    async def call() -> None:
        async with session.start(Agent(instructions="")):
            result = await session.run(user_input="hi")
            result.expect.skip_next().next_event().is_message(contains="weather")

    error = await body_error(call)
    assert str(error).startswith("event 1: expected a message containing 'weather'")


async def test_while_the_agent_speaks_into_the_sink(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, audio_in = audio_session()

    async def call() -> None:
        output = FakeAudioOutput()
        async with session.start(Agent(instructions=""), audio_input=audio_in, audio_output=output):
            session.say("Hello there, this is a long sentence. Another one follows.")
            await trio.sleep(0.5)  # mid-utterance
            assert session.agent_state == "listening"

    await body_error(call)
    assert session.close_reason == "user_initiated"


async def test_while_the_user_is_speaking(autojump_clock: trio.testing.MockClock) -> None:
    session, audio_in = audio_session(speech(0.2, 3.0, "hello there how are you"))

    async def call() -> None:
        async with session.start(Agent(instructions=""), audio_input=audio_in):
            await trio.sleep(1.0)
            assert session.user_state == "listening"

    await body_error(call)


class Recorder:
    def __init__(self) -> None:
        self.ended: list[tuple[str, str | None]] = []
        self.kinds: dict[str, str] = {}

    def on_scope_started(
        self,
        kind: str,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None:
        self.kinds[scope_id] = kind

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: str,
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        self.ended.append((self.kinds[scope_id], reason if outcome == "error" else outcome))

    async def on_turn_committed(self, snapshot: object) -> None:
        pass


async def test_with_observers_attached(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    session = AgentSession(llm=FakeLLM(default=LLMScript("Fine.")))
    session.add_observer(recorder)  # type: ignore[arg-type]

    async def call() -> None:
        async with session.start(Agent(instructions="")):
            await session.run(user_input="hi")
            raise AssertionError("checked in the body")

    await body_error(call)
    assert ("session", "AssertionError") in recorder.ended


class FailingEntry(Agent):
    async def on_enter(self) -> None:
        await trio.sleep(1)
        raise KeyError("agent bug")


async def test_an_internal_error_alone_comes_out_as_itself(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=FakeLLM())
    with pytest.raises(KeyError):
        async with session.start(FailingEntry(instructions="")):
            await trio.sleep_forever()


async def test_two_errors_stay_a_group(autojump_clock: trio.testing.MockClock) -> None:
    session = AgentSession(llm=FakeLLM())

    async def call() -> None:
        async with session.start(FailingEntry(instructions="")):
            try:
                await trio.sleep_forever()
            finally:  # the body fails too, while the agent's error cancels it
                raise AssertionError("and the body's own check")

    with pytest.raises(BaseExceptionGroup) as excinfo:
        await call()
    kinds = sorted(type(leaf).__name__ for leaf in exception_leaves(excinfo.value))
    assert kinds == ["AssertionError", "KeyError"]
