"""Counters and histograms with labels, rendered in the Prometheus text format (0.0.4).

Small on purpose: no registry globals, no background collection, no client library.
Values only go up (counters) or into buckets (histograms); label values are escaped
(backslash, double quote, newline) and label names are fixed per metric at creation,
so a typo is a ``ValueError`` at the call site rather than a silent new series.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

__all__ = ["Counter", "Histogram", "render_metrics"]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _check_names(name: str, labels: Sequence[str]) -> None:
    if not _NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    for label in labels:
        if not _LABEL.match(label) or label.startswith("__") or label == "le":
            raise ValueError(f"invalid label name {label!r}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    def __init__(self, name: str, help_text: str, labels: Sequence[str]) -> None:
        _check_names(name, labels)
        self.name, self.help_text, self.labels = name, help_text, tuple(labels)

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}")
        return tuple(str(labels[n]) for n in self.labels)


class Counter(_Metric):
    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0 or not math.isfinite(amount):
            raise ValueError("a counter only goes up by a finite amount")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.labels, key)} {_number(value)}"


class Histogram(_Metric):
    def __init__(
        self, name: str, help_text: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> None:
        super().__init__(name, help_text, labels)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError("histogram buckets must be distinct finite numbers")
        self.buckets = (*bounds, math.inf)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        if not math.isfinite(value):
            raise ValueError("histogram observations must be finite")
        key = self._key(labels)
        counts, total = self._series.setdefault(key, ([0] * len(self.buckets), [0.0]))
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                counts[index] += 1
        total[0] += value

    def count(self, **labels: str) -> int:
        series = self._series.get(self._key(labels))
        return 0 if series is None else series[0][-1]

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} histogram"
        for key, (counts, total) in sorted(self._series.items()):
            for bound, count in zip(self.buckets, counts, strict=True):
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.labels, key, le)} {count}"
            yield f"{self.name}_sum{_labels(self.labels, key)} {_number(total[0])}"
            yield f"{self.name}_count{_labels(self.labels, key)} {counts[-1]}"


def render_metrics(metrics: Iterable[Counter | Histogram]) -> str:
    """The text exposition of ``metrics`` (ends with a newline)."""
    return "".join(line + "\n" for metric in metrics for line in metric.render())
