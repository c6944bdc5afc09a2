"""MetricsRecorder: Prometheus text exposition and metric events."""

from __future__ import annotations

import re

import prometheus_client
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from trioagents.observability import Counter, Histogram, MetricRecorded, MetricsRecorder

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> dict[str, float]:
    """Parse the exposition strictly enough to catch format mistakes.

    Keys spell the labels in name order (the exposition's order is not part of the
    format); the text must also parse with prometheus_client's reference parser.
    """
    assert text.endswith("\n")
    list(text_string_to_metric_families(text))
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, labels, value = match.groups()
        pairs = sorted(_PAIR.findall(labels or ""))
        key = "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else ""
        out[name + key] = float(value)
    return out


def test_exposition_of_every_metric() -> None:
    metrics = MetricsRecorder()
    for seconds in (0.04, 0.3, 0.3, 12.0):
        metrics.observe_e2e_latency(seconds)
    metrics.observe_llm_ttft(0.25, provider="openai")
    metrics.observe_tts_ttfb(0.12, provider="piper")
    metrics.observe_eou_delay(0.5)
    metrics.observe_tool_latency(0.8, tool="book", outcome="ok")
    metrics.record_handoff(succeeded=True)
    metrics.record_handoff(succeeded=True)
    metrics.record_handoff(succeeded=False)
    metrics.record_job(outcome="failed")
    metrics.record_provider_request(provider="openai")
    metrics.record_provider_request(provider="openai", error="ProviderTimeoutError")
    metrics.record_reconnect(transport="signal")
    text = metrics.render_prometheus()
    values = samples(text)
    assert values['trioagents_e2e_latency_seconds_bucket{le="0.05"}'] == 1
    assert values['trioagents_e2e_latency_seconds_bucket{le="0.3"}'] == 3
    assert values['trioagents_e2e_latency_seconds_bucket{le="10"}'] == 3
    assert values['trioagents_e2e_latency_seconds_bucket{le="+Inf"}'] == 4
    assert values["trioagents_e2e_latency_seconds_count"] == 4
    assert values["trioagents_e2e_latency_seconds_sum"] == pytest.approx(12.64)
    assert values['trioagents_llm_ttft_seconds_count{provider="openai"}'] == 1
    assert values['trioagents_tts_ttfb_seconds_sum{provider="piper"}'] == 0.12
    assert values["trioagents_eou_delay_seconds_count"] == 1
    assert values['trioagents_tool_latency_seconds_count{outcome="ok",tool="book"}'] == 1
    assert values['trioagents_handoffs_total{outcome="succeeded"}'] == 2
    assert values['trioagents_handoffs_total{outcome="failed"}'] == 1
    assert values['trioagents_jobs_total{outcome="failed"}'] == 1
    assert values['trioagents_provider_requests_total{provider="openai"}'] == 2
    key = 'trioagents_provider_errors_total{error="ProviderTimeoutError",provider="openai"}'
    assert values[key] == 1
    assert values['trioagents_reconnects_total{transport="signal"}'] == 1
    assert "# TYPE trioagents_e2e_latency_seconds histogram" in text
    assert "# TYPE trioagents_jobs_total counter" in text


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("h_seconds", "h", [1, 0.5, 2])
    for value in (0.1, 0.6, 0.7, 1.5, 3):
        histogram.observe(value)
    values = samples("".join(line + "\n" for line in histogram.render()))
    counts = [values[f'h_seconds_bucket{{le="{le}"}}'] for le in ("0.5", "1", "2", "+Inf")]
    assert counts == [1, 3, 4, 5]
    assert histogram.count() == 5


def test_label_values_are_escaped_and_label_sets_enforced() -> None:
    counter = Counter("c_total", "c", ["provider"])
    counter.inc(provider='we"ird\\name\nx')
    (line,) = [line for line in counter.render() if not line.startswith("#")]
    assert line == 'c_total{provider="we\\"ird\\\\name\\nx"} 1.0'
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(model="x")
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1, provider="x")
    for bad_name, labels in (("1bad", ()), ("ok", ("le",)), ("ok", ("__x",)), ("ok", ("a-b",))):
        with pytest.raises(ValueError, match="invalid"):
            Counter(bad_name, "x", labels)
    with pytest.raises(ValueError, match="finite"):
        Histogram("h", "h", [1]).observe(float("nan"))
    with pytest.raises(ValueError, match="distinct"):
        Histogram("h", "h", [1, 1])


async def test_metrics_are_also_events_and_never_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    send, receive = trio.open_memory_channel[MetricRecorded](2)
    metrics = MetricsRecorder(events=send)
    await trio.sleep(5)
    metrics.observe_llm_ttft(0.2, provider="openai")
    metrics.record_reconnect(transport="signal")
    metrics.record_job(outcome="succeeded")  # the channel is full: dropped, not blocking
    assert metrics.statistics().events_sent == 2
    assert metrics.statistics().events_dropped == 1
    first = receive.receive_nowait()
    assert first == MetricRecorded(
        "trioagents_llm_ttft_seconds", 0.2, (("provider", "openai"),), 5.0
    )
    assert receive.receive_nowait().name == "trioagents_reconnects_total"
    receive.close()
    metrics.record_job(outcome="failed")  # receiver gone: recording still works
    assert metrics.jobs.value(outcome="failed") == 1


SERIES = {
    "trioagents_e2e_latency_seconds": ("histogram", set()),
    "trioagents_llm_ttft_seconds": ("histogram", {"provider"}),
    "trioagents_tts_ttfb_seconds": ("histogram", {"provider"}),
    "trioagents_eou_delay_seconds": ("histogram", set()),
    "trioagents_tool_latency_seconds": ("histogram", {"tool", "outcome"}),
    "trioagents_handoffs": ("counter", {"outcome"}),
    "trioagents_jobs": ("counter", {"outcome"}),
    "trioagents_provider_requests": ("counter", {"provider"}),
    "trioagents_provider_errors": ("counter", {"provider", "error"}),
    "trioagents_reconnects": ("counter", {"transport"}),
}


def test_names_types_and_labels_are_the_documented_ones() -> None:
    """What dashboards query: the reference parser reads back every family as before."""
    metrics = MetricsRecorder()
    metrics.observe_e2e_latency(1.0)
    metrics.observe_llm_ttft(0.2, provider="p")
    metrics.observe_tts_ttfb(0.2, provider="p")
    metrics.observe_eou_delay(0.3)
    metrics.observe_tool_latency(0.1, tool="t", outcome="ok")
    metrics.record_handoff(succeeded=True)
    metrics.record_job(outcome="succeeded")
    metrics.record_provider_request(provider="p", error="E")
    metrics.record_reconnect(transport="signal")
    text = metrics.render_prometheus()
    found = {}
    for family in text_string_to_metric_families(text):
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        found[family.name] = (family.type, labels)
        assert all(s.name.startswith(family.name) for s in family.samples)
    assert found == SERIES
    assert "_created" not in text  # no wall-clock series per label set
    assert 'le="10"' in text  # bucket bounds spelled as before (not "10.0")


def test_each_recorder_has_a_private_registry() -> None:
    first, second = MetricsRecorder(), MetricsRecorder()  # no duplicate-name clash
    first.record_job(outcome="failed")
    assert 'trioagents_jobs_total{outcome="failed"} 1.0' in first.render_prometheus()
    assert "trioagents_jobs_total{" not in second.render_prometheus()
    assert "trioagents_jobs_total" not in prometheus_client.generate_latest().decode()
    own = prometheus_client.Gauge("my_app_queue_depth", "Mine.", registry=first.registry)
    own.set(3)
    assert "my_app_queue_depth 3.0" in first.render_prometheus()
    with pytest.raises(ValueError, match="Duplicated"):
        prometheus_client.Counter("trioagents_jobs", "again", registry=first.registry)
