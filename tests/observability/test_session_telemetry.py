"""SessionTelemetry on a real (fake-provider) spoken session: spans, decisions, metrics."""

from __future__ import annotations

import io

import pytest
import trio
import trio.testing
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from trioagents.core import LLMToolCall
from trioagents.observability import (
    DecisionLog,
    MetricsRecorder,
    OtelScopeObserver,
    SessionTelemetry,
    read_decision_log,
    serve_session_telemetry,
)
from trioagents.rtc import ConnectionLost, ConnectionResumed
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    UserSpeech,
    speech,
)
from trioagents.voice import Agent, AgentHandedOff, AgentSession, function_tool

LONG = (
    "Our opening hours are nine to five on weekdays. On Saturdays we open at ten. "
    "We are closed on Sundays and on public holidays."
)


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.otel = OtelScopeObserver(provider)
        self.log_text = io.StringIO()
        self.metrics = MetricsRecorder()
        self.telemetry = SessionTelemetry(
            scopes=[self.otel],
            decisions=DecisionLog(self.log_text, "ses_test"),
            metrics=self.metrics,
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        [parent] = [s for s in self.spans() if s.context.span_id == span.parent.span_id]
        return parent


async def run_call(
    segments: list[UserSpeech],
    responses: dict[str, LLMScript | list[LLMScript]],
    agent: Agent,
    until: float,
) -> Telemetry:
    observed = Telemetry()
    timeline = Timeline(segments, tail=until + 5.0)
    audio_in = FakeAudioInput(timeline)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline), llm=FakeLLM(responses), tts=FakeTTS(), vad=FakeVAD()
    )
    session.add_observer(observed.telemetry)
    events = session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_session_telemetry, events, observed.telemetry)
        with observed.telemetry.job_scope(session, "AJ_test"):
            async with session.start(agent, audio_input=audio_in, audio_output=FakeAudioOutput()):
                await trio.sleep_until(audio_in.to_clock(until))
    assert observed.otel.open_scopes == 0
    return observed


async def test_barge_in_span_tree(autojump_clock: trio.testing.MockClock) -> None:
    observed = await run_call(
        [speech(0.5, 1.5, "hours"), speech(3.0, 4.0, "thanks bye")],
        {"hours": LLMScript(LONG, ttft=0.1, token_delay=0.01), "thanks bye": LLMScript("Bye!")},
        Agent(instructions="You answer questions."),
        until=10.0,
    )
    spans = observed.spans()
    [job_span] = [s for s in spans if s.name == "job_entrypoint"]
    assert job_span.parent is None
    [session_span] = [s for s in spans if s.name == "agent_session"]
    assert observed.parent_of(session_span) is job_span
    turns = sorted((s for s in spans if s.name == "agent_turn"), key=lambda s: s.start_time or 0)
    assert len(turns) == 2
    cut, reply = turns
    for turn in turns:
        assert observed.parent_of(turn) is session_span
    assert cut.attributes is not None
    assert reply.attributes is not None
    assert cut.attributes["trioagents.outcome"] == "cancelled"
    assert cut.attributes["trioagents.cancel_reason"] == "user_barge_in"
    assert cut.attributes["lk.interrupted"] is True
    assert reply.attributes["trioagents.outcome"] == "ok"
    assert reply.attributes["lk.interrupted"] is False
    [cut_utterance] = [
        s for s in spans if s.name == "agent_speaking" and observed.parent_of(s) is cut
    ]
    assert cut_utterance.attributes is not None
    assert cut_utterance.attributes["trioagents.cancel_reason"] == "user_barge_in"
    assert cut_utterance.attributes["lk.interrupted"] is True
    [cut_llm] = [
        s for s in spans if s.name == "llm_node" and observed.parent_of(s) is cut_utterance
    ]
    assert cut_llm.attributes is not None
    # the LLM finished streaming before the barge-in (token_delay is short): not cut
    assert cut_llm.attributes["trioagents.outcome"] in {"ok", "cancelled"}
    assert cut_llm.attributes["lk.llm.ttft"] == pytest.approx(0.1)
    [cut_tts] = [
        s for s in spans if s.name == "tts_node" and observed.parent_of(s) is cut_utterance
    ]
    assert cut_tts.attributes is not None
    assert cut_tts.attributes["trioagents.outcome"] in {"ok", "cancelled"}
    # spans close inside their parents
    for span in spans:
        parent = observed.parent_of(span)
        if parent is not None:
            assert parent.start_time is not None
            assert span.start_time is not None
            assert parent.end_time is not None
            assert span.end_time is not None
            assert parent.start_time <= span.start_time <= span.end_time <= parent.end_time

    records = read_decision_log(observed.log_text.getvalue().splitlines())
    interrupted = [r for r in records if r.type == "speech_interrupted"]
    assert [r.reason for r in interrupted] == ["user_barge_in"]
    assert interrupted[0].speech_id == cut.attributes["lk.speech_id"]
    assert [r.reason for r in records if r.type == "turn_ended" and r.data["kind"] == "agent"] == [
        "interrupted",
        "completed",
    ]
    assert len([r for r in records if r.type == "turn_ended" and r.data["kind"] == "user"]) == 2
    assert records[-1].type == "session_closed"
    text = observed.metrics.render_prometheus()
    assert "trioagents_e2e_latency_seconds_count 2" in text
    assert 'trioagents_llm_ttft_seconds_count{provider="llm"} 2' in text
    assert 'trioagents_jobs_total{outcome="succeeded"} 1' in text


class Booker(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You book tables.")
        self.booked = 0

    @function_tool
    async def book(self, people: int) -> str:
        """Book a table."""
        await trio.sleep(0.3)
        self.booked += 1
        return f"booked for {people}"


async def test_tool_scopes_metrics_and_decisions(autojump_clock: trio.testing.MockClock) -> None:
    call = LLMToolCall(call_id="call_1", name="book", arguments='{"people": 2}')
    agent = Booker()
    observed = await run_call(
        [speech(0.5, 1.5, "table for two")],
        {"table for two": [LLMScript(tool_calls=[call]), LLMScript("Done, see you.")]},
        agent,
        until=8.0,
    )
    assert agent.booked == 1
    spans = observed.spans()
    [tool] = [s for s in spans if s.name == "function_tool"]
    parent = observed.parent_of(tool)
    assert parent is not None
    assert parent.name == "agent_turn"
    assert tool.attributes is not None
    assert tool.attributes["lk.function_tool.name"] == "book"
    assert tool.attributes["trioagents.outcome"] == "ok"
    records = read_decision_log(observed.log_text.getvalue().splitlines())
    [ran] = [r for r in records if r.type == "tool_ran"]
    assert ran.data["tool"] == "book"
    assert ran.data["call_id"] == "call_1"
    assert ran.data["latency"] == pytest.approx(0.3)
    assert ran.content == {"arguments": '{"people": 2}', "output": "booked for 2"}
    assert tool.attributes["lk.function_tool.output"] == "booked for 2"
    assert 'trioagents_tool_latency_seconds_count{outcome="ok",tool="book"} 1' in (
        observed.metrics.render_prometheus()
    )


def test_reconnects_and_task_transitions_from_events() -> None:
    metrics = MetricsRecorder()
    text = io.StringIO()
    telemetry = SessionTelemetry(
        decisions=DecisionLog(text, "s", clock=lambda: 1.0), metrics=metrics
    )
    telemetry.record_room_event(ConnectionLost("signal dropped", 1))
    telemetry.record_room_event(ConnectionResumed(attempts=1))
    telemetry.record_event(AgentHandedOff("Host", "Survey", "task_started", 1.0))
    telemetry.record_event(AgentHandedOff("Host", "Booker", "handoff", 1.0))  # from its scope
    assert 'trioagents_reconnects_total{transport="signal"} 1' in metrics.render_prometheus()
    [fired] = read_decision_log(text.getvalue().splitlines())
    assert (fired.data["to_agent"], fired.reason) == ("Survey", "task_started")
