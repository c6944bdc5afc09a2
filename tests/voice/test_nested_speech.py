"""Speech from inside a turn: a tool's say/generate_reply plays nested, never wedges."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import numpy as np
import pytest
import trio
import trio.testing

from trioagents.core import (
    AudioFrame,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    LLMToolCall,
    ProviderConnectionError,
)
from trioagents.testing import FakeLLM, LLMScript, speech
from trioagents.voice import (
    Agent,
    AgentSession,
    CircularWaitError,
    InterruptionNotAllowedError,
    RunContext,
    SessionClosedError,
    SessionOptions,
    SpeechHandle,
    SpeechPriority,
    function_tool,
)

from .harness import open_call

LOOKUP = LLMToolCall(call_id="c1", name="lookup", arguments="{}")
LONG_HOLD = "Please hold on while I check the system. " * 4


class Checker(Agent):
    """A tool that tells the caller to wait, then works, as LiveKit users write it."""

    def __init__(self, *, hold: str = "One moment.", work: float = 2.0) -> None:
        super().__init__(instructions="Be helpful.")
        self.hold = hold
        self.work = work
        self.said: list[SpeechHandle] = []
        self.resumed_at: float | None = None

    @function_tool
    async def lookup(self, context: RunContext[None]) -> str:
        """Slow lookup."""
        handle = context.session.say(self.hold)
        self.said.append(handle)
        await handle
        self.resumed_at = trio.current_time()
        await trio.sleep(self.work)
        return "table free at 7"


def text_session(agent_script: list[LLMScript]) -> tuple[AgentSession[None], FakeLLM]:
    llm = FakeLLM({"book": agent_script})
    return AgentSession(llm=llm), llm


async def test_awaited_say_in_a_tool_plays_before_the_output_reaches_the_llm(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, llm = text_session([LLMScript("", tool_calls=[LOOKUP]), LLMScript("Seven it is.")])
    agent = Checker()
    async with session.start(agent):
        with trio.fail_after(30):
            result = await session.run(user_input="book")
        assert session.agent_state == "listening"
    [hold] = agent.said
    assert hold.done()
    assert not hold.interrupted
    kinds = [
        (type(i).__name__, getattr(i, "content", getattr(i, "name", "")))
        for i in session.history
        if isinstance(i, ChatMessage | FunctionCall | FunctionCallOutput)
    ]
    assert kinds == [
        ("ChatMessage", "book"),
        ("ChatMessage", "One moment."),
        ("FunctionCall", "lookup"),
        ("FunctionCallOutput", "lookup"),
        ("ChatMessage", "Seven it is."),
    ]
    # the LLM's second step saw the hold message and the tool output
    second = [m.content for m in llm.requests[1].chat_ctx.messages()]
    assert "One moment." in second
    result.expect.contains_message(role="assistant", contains="Seven")


async def test_barge_in_cuts_the_nested_say_and_the_turn_together(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Audio: the user barges in on a tool's hold message; the next turn is answered
    at once (not after the tool's 10 s interrupt deadline) and nothing of the old turn
    is heard after the cut."""
    agent = Checker(hold=LONG_HOLD, work=5.0)
    async with open_call(
        [speech(0.5, 1.5, "book"), speech(4.0, 5.0, "actually cancel that")],
        responses={
            "book": [LLMScript("", tool_calls=[LOOKUP]), LLMScript("Seven it is.")],
            "actually cancel that": LLMScript("Cancelled."),
        },
        agent=agent,
    ) as call:
        await call.sleep_until(20.0)
    [hold] = agent.said
    assert hold.interrupted
    cut = call.audio_out.clears[0]
    assert cut <= call.at(4.6)
    old = [f for f in call.audio_out.accepted if call.at(2.0) <= f.at < call.at(5.0)]
    assert old
    assert all(f.at <= cut + 1e-9 for f in old), "a frame left after the cancel point"
    messages = [(m.role, m.content, m.interrupted) for m in call.session.history.messages()]
    contents = [c for _, c, _ in messages]
    assert "Seven it is." not in contents, "the cut turn said nothing more"
    held = [m for m in call.session.history.messages() if m.content.startswith("Please hold")]
    assert held
    assert held[0].interrupted
    assert LONG_HOLD.startswith(held[0].content)
    answer = next(m for m in call.session.history.messages() if m.content == "Cancelled.")
    user = next(m for m in call.session.history.messages() if m.content == "actually cancel that")
    assert answer.created_at - user.created_at < 3.0, "answered at once, not after a deadline"
    assert agent.resumed_at is None, "the tool awaiting the cut speech was cancelled with it"
    [output] = [i for i in call.session.history if isinstance(i, FunctionCallOutput)]
    assert output.is_error
    assert "cancelled" in output.output
    assert call.llm.streams.all_closed()
    assert call.tts.streams.all_closed()


async def test_generate_reply_from_a_tool_uses_extra_instructions_and_no_tools(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Reporter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="Be brief.")
            self.handle: SpeechHandle | None = None

        @function_tool
        async def lookup(self, context: RunContext[None]) -> str:
            """Slow lookup."""
            self.handle = context.session.generate_reply(instructions="Say you are checking.")
            await self.handle
            return "free"

    llm = FakeLLM(
        {"book": [LLMScript("", tool_calls=[LOOKUP]), LLMScript("Checking."), LLMScript("Free.")]}
    )
    session = AgentSession(llm=llm)
    agent = Reporter()
    async with session.start(agent):
        await session.run(user_input="book")
    nested = llm.requests[1]
    system = nested.chat_ctx.messages()[0]
    assert system.role == "system"
    assert system.content == "Be brief.\n\nSay you are checking."
    assert nested.tools == ()
    assert nested.tool_choice == "auto"
    assert llm.requests[0].tools
    assert llm.requests[2].chat_ctx.messages()[0].content == "Be brief."
    contents = [m.content for m in session.history.messages() if m.role == "assistant"]
    assert contents == ["Checking.", "Free."]


async def test_tool_choice_reaches_the_llm(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM(default=LLMScript("Sure."))
    session = AgentSession(llm=llm)
    async with session.start(Checker()):
        await session.generate_reply(user_input="x", tool_choice="required")
    assert llm.requests[0].tool_choice == "required"
    assert llm.requests[0].tools


async def test_awaiting_ones_own_turn_is_a_circular_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    errors: list[BaseException] = []

    class Waiter(Agent):
        @function_tool
        async def lookup(self, context: RunContext[None]) -> str:
            """Waits for its own turn."""
            try:
                await context.speech_handle
            except CircularWaitError as exc:
                errors.append(exc)
            return "ok"

    session, _ = text_session([LLMScript("", tool_calls=[LOOKUP]), LLMScript("Fine.")])
    async with session.start(Waiter(instructions="x")):
        with trio.fail_after(5):
            await session.run(user_input="book")
    assert len(errors) == 1


async def test_llm_node_awaiting_its_own_say_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    errors: list[BaseException] = []

    class Eager(Agent):
        async def llm_node(self, chat_ctx, tools, events):  # type: ignore[no-untyped-def]
            try:
                await self.session.say("first this")
            except CircularWaitError as exc:
                errors.append(exc)
            await super().llm_node(chat_ctx, tools, events)

    session = AgentSession(llm=FakeLLM(default=LLMScript("Then that.")))
    async with session.start(Eager(instructions="x")):
        with trio.fail_after(5):
            await session.run(user_input="hi")
    assert len(errors) == 1
    said = [m.content for m in session.history.messages() if m.role == "assistant"]
    assert said == ["Then that.", "first this"]  # created during the step: played after it


async def test_awaiting_a_queued_speech_from_a_tool_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    errors: list[BaseException] = []
    queued: list[SpeechHandle] = []

    class Waiter(Agent):
        @function_tool
        async def lookup(self, context: RunContext[None]) -> str:
            """Waits for a speech queued behind its turn."""
            try:
                await queued[0]
            except CircularWaitError as exc:
                errors.append(exc)
            return "ok"

    session, _ = text_session([LLMScript("", tool_calls=[LOOKUP]), LLMScript("Fine.")])
    async with session.start(Waiter(instructions="x")):
        reply = session.generate_reply(user_input="book")
        queued.append(session.say("after the reply"))
        with trio.fail_after(5):
            await reply
            await queued[0]
    assert len(errors) == 1


async def test_priorities_order_the_queue(autojump_clock: trio.testing.MockClock) -> None:
    session = AgentSession(llm=FakeLLM(default=LLMScript("first", ttft=1.0)))
    async with session.start(Agent(instructions="")):
        first = session.generate_reply()
        await trio.sleep(0.5)  # playing: later speech never cuts in
        session.say("low", priority=SpeechPriority.LOW)
        session.say("normal")
        last = session.say("high", priority=SpeechPriority.HIGH)
        await first
        await last
        await session.wait_idle()
        with pytest.raises(ConfigurationError, match="priority must be an int"):
            session.say("x", priority="high")  # type: ignore[arg-type]
    said = [m.content for m in session.history.messages()]
    assert said == ["first", "high", "normal", "low"]


def _tone(seconds: float, rate: int = 24000) -> list[AudioFrame]:
    samples = int(rate * 0.02)
    data = np.full((samples, 1), 1000, dtype=np.int16)
    return [AudioFrame(data, rate) for _ in range(round(seconds / 0.02))]


async def test_say_with_prerendered_audio_plays_the_frames_not_the_tts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    closed: list[bool] = []

    async def hold_music() -> AsyncIterator[AudioFrame]:
        try:
            for frame in _tone(1.0):
                yield frame
        finally:
            closed.append(True)

    async with open_call([], tail=5.0) as call:
        handle = call.session.say("Please hold.", audio=hold_music())
        with trio.fail_after(5):
            await handle
    assert len(call.audio_out.accepted) == 50
    assert call.tts.streams.opened == 0
    [message] = call.session.history.messages()
    assert message.content == "Please hold."
    assert not message.interrupted
    assert closed == [True]


async def test_say_audio_with_a_wrong_item_stops_with_a_logged_error(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> AsyncIterator[object]:
        for frame in _tone(0.2):
            yield frame
        yield b"not a frame"
        for frame in _tone(5.0):
            yield frame

    async with open_call([], tail=5.0) as call:
        with caplog.at_level(logging.ERROR):
            handle = call.session.say("Hold.", audio=broken())  # type: ignore[arg-type]
            with trio.fail_after(5):
                await handle
    assert len(call.audio_out.accepted) == 10
    record = next(r for r in caplog.records if "not an AudioFrame" in r.getMessage())
    assert record.item_type == "bytes"  # type: ignore[attr-defined]


async def test_an_uninterruptible_nested_say_holds_the_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    refused: list[object] = []

    class Careful(Agent):
        @function_tool
        async def lookup(self, context: RunContext[None]) -> str:
            """Reads the terms, which must not be cut."""
            handle = context.session.say(LONG_HOLD, allow_interruptions=False)
            await trio.sleep(0.5)
            try:
                context.speech_handle.interrupt()
            except InterruptionNotAllowedError:
                refused.append("refused")
            context.session.interrupt()  # stops at the uninterruptible speech
            refused.append(context.speech_handle.allow_interruptions)
            await handle
            refused.append(context.speech_handle.allow_interruptions)
            return "ok"

    async with open_call(
        [speech(0.5, 1.5, "book")],
        responses={"book": [LLMScript("", tool_calls=[LOOKUP]), LLMScript("Done.")]},
        agent=Careful(instructions="x"),
    ) as call:
        await call.sleep_until(30.0)
    assert refused == ["refused", False, True]
    held = next(m for m in call.session.history.messages() if m.content.startswith("Please"))
    assert not held.interrupted


async def test_a_completing_tool_after_a_barge_in_is_not_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    late: list[SpeechHandle] = []

    class Slow(Agent):
        @function_tool(on_interrupt="complete", interrupt_deadline=5.0)
        async def lookup(self, context: RunContext[None]) -> str:
            """Completes after an interruption and then talks (it must not be heard)."""
            await trio.sleep(3.0)
            late.append(context.session.say("Found it!"))
            await late[0]
            return "found"

    session, _ = text_session([LLMScript("", tool_calls=[LOOKUP]), LLMScript("Great.")])
    async with session.start(Slow(instructions="x")):
        reply = session.generate_reply(user_input="book")
        await trio.sleep(1.0)
        session.interrupt()
        with trio.fail_after(10):
            await reply
    assert late[0].interrupted
    assert late[0].done()
    assert "Found it!" not in [m.content for m in session.history.messages()]


# ------------------------------------------------------------------ session close


async def test_a_pending_run_learns_why_the_session_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=FakeLLM(default=LLMScript("slow", ttft=10.0)))
    caught: list[SessionClosedError] = []
    async with session.start(Agent(instructions="")):
        async with trio.open_nursery() as nursery:

            async def close_soon() -> None:
                await trio.sleep(1.0)
                session.close("max_unrecoverable_errors")

            nursery.start_soon(close_soon)
            try:
                await session.run(user_input="hi")
            except SessionClosedError as exc:
                caught.append(exc)
        with pytest.raises(SessionClosedError, match="max_unrecoverable_errors"):
            session.say("too late")
    assert [e.reason for e in caught] == ["max_unrecoverable_errors"]


async def test_an_awaited_handle_raises_session_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=FakeLLM(default=LLMScript("slow", ttft=10.0)))
    queued: list[SpeechHandle] = []

    async def converse() -> None:
        async with session.start(Agent(instructions="")), trio.open_nursery() as nursery:
            handle = session.generate_reply(user_input="hi")
            queued.append(session.say("after"))

            async def disconnect() -> None:
                await trio.sleep(1.0)
                session.close("participant_disconnected")

            nursery.start_soon(disconnect)
            await handle

    with pytest.raises(SessionClosedError) as info:
        await converse()
    assert info.value.reason == "participant_disconnected"
    assert queued[0].done()
    assert queued[0].interrupted


async def test_a_body_not_waiting_on_the_session_is_cancelled_on_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=FakeLLM())
    async with session.start(Agent(instructions="")):
        session.close("job_shutdown")
        await trio.sleep_forever()
    assert session.close_reason == "job_shutdown"


async def test_a_body_that_swallows_the_error_is_cancelled_next(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = AgentSession(llm=FakeLLM(default=LLMScript("slow", ttft=10.0)))
    async with session.start(Agent(instructions="")):
        handle = session.generate_reply(user_input="hi")
        session.close("user_initiated")
        with pytest.raises(SessionClosedError):
            await handle
        await trio.sleep_forever()  # cancelled: the conversation is over


async def test_run_learns_that_errors_closed_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The issue's case: max_unrecoverable_errors closes the session under a run()."""
    error = ProviderConnectionError("reset", provider="fake-llm")
    session = AgentSession(
        llm=FakeLLM(default=LLMScript(error=error)),
        options=SessionOptions(max_unrecoverable_errors=1),
    )
    async with session.start(Agent(instructions="")):
        with pytest.raises(SessionClosedError) as info:
            await session.run(user_input="hi")
        assert info.value.reason == "error"
        assert info.value.error is error
        assert info.value.__cause__ is error
        await trio.sleep_forever()  # told once; the rest of the body is cancelled
    assert session.close_reason == "error"
