"""OpenTelemetry adapter: spans mirror the scope tree; cancellation reasons recorded."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from trioagents.core import LocalProtocolError
from trioagents.observability import OtelScopeObserver, ScopeObserver


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def observer(exporter: InMemorySpanExporter) -> OtelScopeObserver:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelScopeObserver(provider)


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def test_spans_mirror_the_scope_tree(
    observer: OtelScopeObserver, exporter: InMemorySpanExporter
) -> None:
    scopes: ScopeObserver = observer
    scopes.on_scope_started("job", "job1", None, {"lk.job_id": "AJ_1"})
    scopes.on_scope_started("session", "s1", "job1", {"lk.agent_name": "support"})
    scopes.on_scope_started("agent_turn", "t1", "s1", {})
    scopes.on_scope_started("utterance", "u1", "t1", {"lk.speech_id": "speech_1"})
    scopes.on_scope_started("llm", "l1", "u1", {"gen_ai.request.model": "m"})
    scopes.on_scope_started("tts", "x1", "u1", {})
    scopes.on_scope_ended("l1", "ok", attributes={"lk.response.ttft": 0.21})
    scopes.on_scope_ended("x1", "cancelled", "user_barge_in")
    scopes.on_scope_ended("u1", "cancelled", "user_barge_in")
    scopes.on_scope_ended("t1", "cancelled", "user_barge_in")
    scopes.on_scope_started("tool", "f1", "s1", {"lk.function_tool.name": "book"})
    scopes.on_scope_ended("f1", "error", "tool_error")
    scopes.on_scope_started("handoff", "h1", "s1", {})
    scopes.on_scope_ended("h1", "ok")
    scopes.on_scope_ended("s1", "ok")
    scopes.on_scope_ended("job1", "ok")
    assert observer.open_scopes == 0
    spans = by_name(exporter)
    assert set(spans) == {
        "job_entrypoint",
        "agent_session",
        "agent_turn",
        "agent_speaking",
        "llm_node",
        "tts_node",
        "function_tool",
        "agent_handoff",
    }
    parent_of = {
        name: next(
            (p.name for p in spans.values() if s.parent and p.context.span_id == s.parent.span_id),
            None,
        )
        for name, s in spans.items()
    }
    assert parent_of == {
        "job_entrypoint": None,
        "agent_session": "job_entrypoint",
        "agent_turn": "agent_session",
        "agent_speaking": "agent_turn",
        "llm_node": "agent_speaking",
        "tts_node": "agent_speaking",
        "function_tool": "agent_session",
        "agent_handoff": "agent_session",
    }
    assert len({s.context.trace_id for s in spans.values()}) == 1
    tts = spans["tts_node"]
    assert tts.attributes is not None
    assert tts.attributes["trioagents.cancel_reason"] == "user_barge_in"
    assert tts.attributes["lk.interrupted"] is True
    assert tts.status.status_code is StatusCode.UNSET  # cancellation is not an error
    llm = spans["llm_node"].attributes
    assert llm is not None
    assert llm["lk.interrupted"] is False
    assert llm["lk.response.ttft"] == 0.21
    assert llm["gen_ai.request.model"] == "m"
    tool = spans["function_tool"]
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "tool_error"
    assert spans["job_entrypoint"].attributes == {
        "trioagents.scope_id": "job1",
        "lk.job_id": "AJ_1",
        "trioagents.outcome": "ok",
    }


def test_misuse_is_a_local_protocol_error(observer: OtelScopeObserver) -> None:
    observer.on_scope_started("session", "s", None, {})
    with pytest.raises(LocalProtocolError):
        observer.on_scope_started("session", "s", None, {})
    with pytest.raises(LocalProtocolError):
        observer.on_scope_started("agent_turn", "t", "missing", {})
    with pytest.raises(LocalProtocolError):
        observer.on_scope_started("bogus", "b", None, {})  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        observer.on_scope_ended("never-opened", "ok")
    observer.on_scope_ended("s", "ok")
    with pytest.raises(LocalProtocolError):
        observer.on_scope_ended("s", "ok")


def test_missing_opentelemetry_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from trioagents.core import ConfigurationError

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r"trioagents\[otel\]"):
        OtelScopeObserver()
