"""``MetricsRecorder``: the session and worker metrics, as events and as Prometheus text.

Each recorder owns a private ``prometheus_client.CollectorRegistry`` (:attr:`registry`,
never the library's global one): :meth:`render_prometheus` is
``generate_latest(registry)``, and metrics of your own registered there appear on the
same page (the worker's ``/metrics`` with ``WorkerOptions(extra_metrics=...)``).

Recorded (seconds for latencies):

* ``trioagents_e2e_latency_seconds`` — user end of speech → first agent audio
* ``trioagents_llm_ttft_seconds{provider}`` — LLM time to first token
* ``trioagents_tts_ttfb_seconds{provider}`` — TTS time to first audio byte
* ``trioagents_eou_delay_seconds`` — VAD end of speech → end-of-turn decision
* ``trioagents_tool_latency_seconds{tool,outcome}``
* ``trioagents_handoffs_total{outcome}`` (succeeded/failed → success rate)
* ``trioagents_jobs_total{outcome}`` (succeeded/failed → failure rate)
* ``trioagents_provider_requests_total{provider}`` and
  ``trioagents_provider_errors_total{provider,error}`` (→ API error rate by provider)
* ``trioagents_reconnects_total{transport}``

Every ``observe_*``/``record_*`` call is synchronous and never a checkpoint (safe in
cleanup). If an event channel is given, a frozen :class:`MetricRecorded` is sent
with ``send_nowait``; a full channel drops the event and counts it
(``statistics().events_dropped``): metrics never slow the voice path. Rates are
left to PromQL (``rate(..._errors_total) / rate(..._requests_total)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import trio
from prometheus_client import CollectorRegistry, generate_latest

from ._prometheus import Counter, Histogram, MetricFamilies

__all__ = ["LATENCY_BUCKETS", "MetricRecorded", "MetricsRecorder", "MetricsStatistics"]

LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class MetricRecorded:
    name: str
    value: float
    labels: tuple[tuple[str, str], ...]
    at: float


@dataclass(frozen=True, slots=True)
class MetricsStatistics:
    events_sent: int
    events_dropped: int


class MetricsRecorder:
    """Holds one process's metrics; :meth:`render_prometheus` serves the endpoint."""

    def __init__(
        self,
        *,
        events: trio.MemorySendChannel[MetricRecorded] | None = None,
        latency_buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        def latency(name: str, help_text: str, labels: Sequence[str] = ()) -> Histogram:
            return Histogram(f"trioagents_{name}_seconds", help_text, latency_buckets, labels)

        self.e2e_latency = latency("e2e_latency", "User end of speech to first agent audio.")
        self.llm_ttft = latency("llm_ttft", "LLM time to first token.", ["provider"])
        self.tts_ttfb = latency("tts_ttfb", "TTS time to first audio byte.", ["provider"])
        self.eou_delay = latency("eou_delay", "End of speech to end-of-turn decision.")
        self.tool_latency = latency("tool_latency", "Tool call duration.", ["tool", "outcome"])
        self.handoffs = Counter("trioagents_handoffs_total", "Agent handoffs.", ["outcome"])
        self.jobs = Counter("trioagents_jobs_total", "Jobs finished.", ["outcome"])
        self.provider_requests = Counter(
            "trioagents_provider_requests_total", "Provider API requests.", ["provider"]
        )
        self.provider_errors = Counter(
            "trioagents_provider_errors_total", "Provider API errors.", ["provider", "error"]
        )
        self.reconnects = Counter("trioagents_reconnects_total", "Reconnections.", ["transport"])
        self._events = events
        self._sent = 0
        self._dropped = 0
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(MetricFamilies(self._metrics()))

    @property
    def registry(self) -> CollectorRegistry:
        """This recorder's registry (private to it: never ``prometheus_client.REGISTRY``)."""
        return self._registry

    def _metrics(self) -> list[Counter | Histogram]:
        return [
            self.e2e_latency,
            self.llm_ttft,
            self.tts_ttfb,
            self.eou_delay,
            self.tool_latency,
            self.handoffs,
            self.jobs,
            self.provider_requests,
            self.provider_errors,
            self.reconnects,
        ]

    def _emit(self, name: str, value: float, **labels: str) -> None:
        if self._events is None:
            return
        event = MetricRecorded(name, value, tuple(sorted(labels.items())), trio.current_time())
        try:
            self._events.send_nowait(event)
        except trio.WouldBlock:
            self._dropped += 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._events = None  # nobody listens any more
        else:
            self._sent += 1

    def observe_e2e_latency(self, seconds: float) -> None:
        self.e2e_latency.observe(seconds)
        self._emit(self.e2e_latency.name, seconds)

    def observe_llm_ttft(self, seconds: float, *, provider: str) -> None:
        self.llm_ttft.observe(seconds, provider=provider)
        self._emit(self.llm_ttft.name, seconds, provider=provider)

    def observe_tts_ttfb(self, seconds: float, *, provider: str) -> None:
        self.tts_ttfb.observe(seconds, provider=provider)
        self._emit(self.tts_ttfb.name, seconds, provider=provider)

    def observe_eou_delay(self, seconds: float) -> None:
        self.eou_delay.observe(seconds)
        self._emit(self.eou_delay.name, seconds)

    def observe_tool_latency(self, seconds: float, *, tool: str, outcome: str) -> None:
        self.tool_latency.observe(seconds, tool=tool, outcome=outcome)
        self._emit(self.tool_latency.name, seconds, tool=tool, outcome=outcome)

    def record_handoff(self, *, succeeded: bool) -> None:
        outcome = "succeeded" if succeeded else "failed"
        self.handoffs.inc(outcome=outcome)
        self._emit(self.handoffs.name, 1, outcome=outcome)

    def record_job(self, *, outcome: Literal["succeeded", "failed"]) -> None:
        self.jobs.inc(outcome=outcome)
        self._emit(self.jobs.name, 1, outcome=outcome)

    def record_provider_request(self, *, provider: str, error: str | None = None) -> None:
        """One provider request; ``error`` is the error class/code if it failed."""
        self.provider_requests.inc(provider=provider)
        self._emit(self.provider_requests.name, 1, provider=provider)
        if error is not None:
            self.provider_errors.inc(provider=provider, error=error)
            self._emit(self.provider_errors.name, 1, provider=provider, error=error)

    def record_reconnect(self, *, transport: str) -> None:
        self.reconnects.inc(transport=transport)
        self._emit(self.reconnects.name, 1, transport=transport)

    def render_prometheus(self) -> str:
        """Text exposition of :attr:`registry` (``text/plain; version=0.0.4``)."""
        return generate_latest(self._registry).decode()

    def statistics(self) -> MetricsStatistics:
        return MetricsStatistics(events_sent=self._sent, events_dropped=self._dropped)
