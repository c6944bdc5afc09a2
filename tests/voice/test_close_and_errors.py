"""Close paths and provider errors: the session never crashes and always closes in bounds."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import (
    ContentFilterError,
    ErrorAction,
    ErrorContext,
    FallBack,
    ProviderConnectionError,
    ProviderStatusError,
    SkipTurn,
)
from trioagents.testing import (
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import ErrorOccurred, SessionClosed, SessionOptions

from .harness import open_call
from .test_scenarios import LONG, assistant_messages


@pytest.mark.parametrize("reports_playout", [True, False])
async def test_disconnect_mid_speech_closes_within_bound(
    autojump_clock: trio.testing.MockClock, reports_playout: bool
) -> None:
    options = SessionOptions(close_grace=1.0)
    async with open_call(
        [speech(0.5, 1.5, "hours")],
        responses={"hours": LLMScript(LONG, ttft=0.1, token_delay=0.05, hang=True)},
        output=FakeAudioOutput(reports_playout=reports_playout),
        options=options,
    ) as call:
        await call.sleep_until(3.0)
        assert call.session.agent_state == "speaking"
        closing_at = trio.current_time()
    closed_in = trio.current_time() - closing_at
    assert closed_in <= (1.0 if not reports_playout else 0.0) + 1e-6
    [closed] = call.of_type(SessionClosed)
    assert closed.reason == "user_initiated"
    assert call.events[-1] is closed
    [heard] = assistant_messages(call)
    assert heard.interrupted
    assert LONG.startswith(heard.content)
    assert heard.content
    for tracker in (call.llm.streams, call.tts.streams, call.stt.streams, call.vad.streams):
        assert tracker.all_closed()


async def test_llm_error_skips_turn_and_session_continues(
    autojump_clock: trio.testing.MockClock,
) -> None:
    error = ProviderStatusError("bad gateway", provider="fake-llm", status=502)
    async with open_call(
        [speech(0.5, 1.5, "first"), speech(4.0, 5.0, "second")],
        responses={"first": LLMScript(error=error), "second": LLMScript("Second answer.")},
    ) as call:
        await call.sleep_until(9.0)
    [occurred] = call.of_type(ErrorOccurred)
    assert occurred.source == "llm"
    assert isinstance(occurred.action, SkipTurn)
    assert occurred.error is error
    assert occurred.consecutive == 1
    assert [m.content for m in assistant_messages(call)] == ["Second answer."]
    assert call.session.errors.consecutive("llm") == 0  # reset when the agent spoke


async def test_consecutive_errors_close_the_session(autojump_clock: trio.testing.MockClock) -> None:
    error = ProviderConnectionError("reset", provider="fake-llm")
    segments = [speech(0.5 + 3 * i, 1.5 + 3 * i, f"try {i}") for i in range(4)]
    async with open_call(segments, default=LLMScript(error=error)) as call:
        await trio.sleep_forever()  # the session closes itself, cancelling this body
    closed = call.of_type(SessionClosed)
    assert [(c.reason, c.error) for c in closed] == [("error", error)]
    assert [e.consecutive for e in call.of_type(ErrorOccurred)] == [1, 2, 3]
    assert call.session.close_reason == "error"
    assert call.llm.streams.all_closed()


async def test_content_filter_says_apology(autojump_clock: trio.testing.MockClock) -> None:
    refused = ContentFilterError("refused", provider="fake-llm")
    async with open_call(
        [speech(0.5, 1.5, "something bad")],
        responses={"something bad": LLMScript(error=refused)},
        options=SessionOptions(content_filter_message="Let's talk about something else."),
    ) as call:
        await call.sleep_until(8.0)
    assert [m.content for m in assistant_messages(call)] == ["Let's talk about something else."]
    assert call.session.errors.consecutive("llm") == 0


class FailoverLLM(FakeLLM):
    def __init__(self) -> None:
        super().__init__(default=LLMScript(error=ProviderConnectionError("x", provider="a")))
        self.failovers = 0

    def fail_over(self) -> bool:
        self.failovers += 1
        self.default = LLMScript("Backup model here.")
        return True


async def test_error_handler_fallback_retries_on_next_provider(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[ErrorContext] = []

    async def handler(ctx: ErrorContext) -> ErrorAction | None:
        seen.append(ctx)
        return FallBack()

    timeline = Timeline([speech(0.5, 1.5, "hello")], tail=10.0)
    llm = FailoverLLM()
    from trioagents.testing import FakeAudioInput, FakeVAD
    from trioagents.voice import Agent, AgentSession

    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline), llm=llm, tts=FakeTTS(), vad=FakeVAD()
    )
    session.error_handler = handler
    output = FakeAudioOutput()
    async with session.start(
        Agent(instructions="x"), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        await trio.sleep(8.0)
    assert llm.failovers == 1
    assert [c.source for c in seen] == ["llm"]
    replies = [m.content for m in session.history.messages() if m.role == "assistant"]
    assert replies == ["Backup model here."]
    assert len(llm.requests) == 2  # preemptive (failed; its error is the turn's), retry on backup


async def test_tts_error_skips_the_reply(autojump_clock: trio.testing.MockClock) -> None:
    broken = ProviderStatusError("tts down", provider="fake-tts", status=503)
    async with open_call(
        [speech(0.5, 1.5, "hello")],
        responses={"hello": LLMScript("This sentence cannot be spoken at all.")},
        tts=FakeTTS(errors={"This sentence cannot be spoken at all.": broken}),
    ) as call:
        await call.sleep_until(6.0)
    [occurred] = call.of_type(ErrorOccurred)
    assert occurred.source == "tts"
    assert occurred.error is broken
    assert assistant_messages(call) == []
    assert call.tts.streams.all_closed()
    assert call.llm.streams.all_closed()


async def test_stt_error_restarts_stream(autojump_clock: trio.testing.MockClock) -> None:
    timeline = Timeline([speech(1.5, 2.5, "hello")], tail=10.0)
    stt = FakeSTT(timeline, errors=[ProviderConnectionError("ws closed", provider="fake-stt")])
    async with open_call([speech(1.5, 2.5, "hello")], stt=stt) as call:
        await call.sleep_until(8.0)
    assert [e.source for e in call.of_type(ErrorOccurred)] == ["stt"]
    assert stt.streams.opened == 2
    assert [m.content for m in call.session.history.messages() if m.role == "user"] == ["hello"]
