"""Layer 6: decision log and trace viewer, OpenTelemetry adapter, metrics."""

from ._decision_log import DECISION_LOG_VERSION as DECISION_LOG_VERSION
from ._decision_log import REQUIRED_DATA as REQUIRED_DATA
from ._decision_log import DecisionLog as DecisionLog
from ._decision_log import DecisionLogFormatError as DecisionLogFormatError
from ._decision_log import DecisionRecord as DecisionRecord
from ._decision_log import DecisionType as DecisionType
from ._decision_log import open_decision_log as open_decision_log
from ._decision_log import parse_decision_record as parse_decision_record
from ._decision_log import read_decision_log as read_decision_log
from ._metrics import LATENCY_BUCKETS as LATENCY_BUCKETS
from ._metrics import MetricRecorded as MetricRecorded
from ._metrics import MetricsRecorder as MetricsRecorder
from ._metrics import MetricsStatistics as MetricsStatistics
from ._otel import SPAN_NAMES as SPAN_NAMES
from ._otel import OtelScopeObserver as OtelScopeObserver
from ._prometheus import Counter as Counter
from ._prometheus import Histogram as Histogram
from ._prometheus import render_metrics as render_metrics
from ._scopes import AttributeValue as AttributeValue
from ._scopes import ScopeKind as ScopeKind
from ._scopes import ScopeObserver as ScopeObserver
from ._scopes import ScopeOutcome as ScopeOutcome
from ._session_telemetry import SessionTelemetry as SessionTelemetry
from ._session_telemetry import serve_session_telemetry as serve_session_telemetry
from ._timeline import render_timeline_html as render_timeline_html
from ._trace_cli import trace_main as trace_main

__all__ = [
    "DECISION_LOG_VERSION",
    "LATENCY_BUCKETS",
    "REQUIRED_DATA",
    "SPAN_NAMES",
    "AttributeValue",
    "Counter",
    "DecisionLog",
    "DecisionLogFormatError",
    "DecisionRecord",
    "DecisionType",
    "Histogram",
    "MetricRecorded",
    "MetricsRecorder",
    "MetricsStatistics",
    "OtelScopeObserver",
    "ScopeKind",
    "ScopeObserver",
    "ScopeOutcome",
    "SessionTelemetry",
    "open_decision_log",
    "parse_decision_record",
    "read_decision_log",
    "render_metrics",
    "render_timeline_html",
    "serve_session_telemetry",
    "trace_main",
]
