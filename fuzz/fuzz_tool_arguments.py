"""Fuzz harness for tool argument validation.

Invariant: for any text the LLM may send as a tool call's ``arguments``,
``FunctionTool.parse_arguments`` either returns keyword arguments whose values
have the declared Python types, or raises ``ToolArgumentsError`` (a ``ToolError``,
turned into an error output for the LLM). Nothing else escapes: no ``KeyError``,
``TypeError``, ``RecursionError`` or ``json`` internals.

Inputs mix arbitrary text, JSON documents of arbitrary shape, near-miss documents
built from the tools' own parameter names, and deeply nested arrays.

Run: ``python fuzz/fuzz_tool_arguments.py --examples 20000``. A quick run is part
of the test suite (``tests/voice/test_tools_args.py``).
"""

from __future__ import annotations

import argparse
import enum
import json
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.voice import FunctionTool, ToolArgumentsError, function_tool


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Line(TypedDict):
    sku: str
    quantity: int


@dataclass
class Delivery:
    address: str
    floor: int | None = None


@function_tool
def order(
    lines: list[Line],
    delivery: Delivery,
    colour: Colour = Colour.RED,
    urgency: Literal["low", "high"] = "low",
    tip: float = 0.0,
    notes: dict[str, str] | None = None,
    gift: bool = False,
) -> str:
    """Place an order."""
    return "ok"


@function_tool
def no_arguments() -> str:
    """Takes nothing."""
    return "ok"


@function_tool
def anything(value: Any, tags: tuple[str, ...] = ()) -> str:
    """Takes anything."""
    return "ok"


TOOLS: tuple[FunctionTool, ...] = (order, no_arguments, anything)
NAMES = ["lines", "delivery", "colour", "urgency", "tip", "notes", "gift", "sku", "quantity"]
NAMES += ["address", "floor", "value", "tags", "red", "low", "high"]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(NAMES)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


arguments_text = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(NAMES), json_values, max_size=7).map(json.dumps),
    st.integers(min_value=1, max_value=50_000).map(lambda n: '{"value": ' + _nested(n) + "}"),
    st.sampled_from(["NaN", '{"tip": Infinity}', '{"tip": 1e999}', '{"tip": -0.0}', " ", ""]),
)


def check(tool: FunctionTool, text: str) -> None:
    """Assert the invariant for one input (raises AssertionError on violation)."""
    try:
        parsed = tool.parse_arguments(text)
    except ToolArgumentsError as exc:
        if not str(exc):
            raise AssertionError("error outputs must say something") from exc
        return
    assert isinstance(parsed, dict)
    names = {p.name for p in tool.signature.parameters}
    assert set(parsed) <= names
    if tool is order:
        assert isinstance(parsed["delivery"], Delivery)
        assert all(isinstance(line["quantity"], int) for line in parsed["lines"])
        assert isinstance(parsed.get("colour", Colour.RED), Colour)
        assert not isinstance(parsed.get("tip", 0.0), bool)


def run(max_examples: int) -> None:
    """Run the harness for ``max_examples`` inputs (raises on the first violation)."""

    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.sampled_from(TOOLS), arguments_text)
    def fuzz(tool: FunctionTool, text: str) -> None:
        check(tool, text)

    fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=5000)
    args = parser.parse_args()
    run(args.examples)
    print(f"ok: {args.examples} examples, invariant held")


if __name__ == "__main__":
    main()
