"""Tool declaration: names, options, JSON schema from hints and docstrings, discovery."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trioagents.core import ConfigurationError, FunctionCall, ToolSpec
from trioagents.voice import (
    FunctionTool,
    RunContext,
    StopResponse,
    ToolSet,
    find_function_tools,
    function_tool,
)
from trioagents.voice._tools_docstring import parse_docstring


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@dataclass
class Address:
    street: str
    city: str
    zip_code: str | None = None


class Item(TypedDict):
    name: str
    quantity: int


@dataclass
class Order:
    items: list[Item]
    notes: list[str] = field(default_factory=list)


@function_tool
async def book_table(
    ctx: RunContext[dict[str, str]],
    party_size: int,
    when: str,
    size: Size = Size.SMALL,
    outdoor: bool = False,
) -> str:
    """Book a table at the restaurant.

    Args:
        party_size: How many people, including
            the caller.
        when (str): ISO date and time.
        size: Table size.

    Returns:
        A confirmation.
    """
    return "ok"


def test_bare_decorator_builds_spec_from_hints_and_google_docstring() -> None:
    spec = book_table.spec
    assert isinstance(spec, ToolSpec)
    assert spec.name == "book_table"
    assert spec.description == "Book a table at the restaurant."
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "party_size": {
                "type": "integer",
                "description": "How many people, including the caller.",
            },
            "when": {"type": "string", "description": "ISO date and time."},
            "size": {"type": "string", "enum": ["small", "large"], "description": "Table size."},
            "outdoor": {"type": "boolean"},
        },
        "required": ["party_size", "when"],
        "additionalProperties": False,
    }
    assert book_table.signature.context_parameter == "ctx"


def test_sphinx_docstring_and_annotated_descriptions() -> None:
    @function_tool(name="lookup", description="Look an order up.")
    def lookup_order(
        order_id: Annotated[str, "The order number printed on the receipt"],
        verbose: bool = False,
    ) -> str:
        """Ignored summary.

        :param order_id: overridden by Annotated
        :param verbose: Include every line
            of the order.
        :returns: the order
        """
        return order_id

    spec = lookup_order.spec
    assert spec.name == "lookup"
    assert spec.description == "Look an order up."
    props = spec.parameters["properties"]
    assert props["order_id"]["description"] == "The order number printed on the receipt"
    assert props["verbose"]["description"] == "Include every line of the order."


def test_every_supported_type_maps_to_schema() -> None:
    @function_tool
    def everything(
        a: float,
        b: Literal["x", "y"],
        c: list[int],
        d: dict[str, float],
        e: Optional[str],  # noqa: UP045  (Optional is part of what we support)
        f: Address,
        g: Order,
        h: Any,
        i: Sequence[bool],
        j: tuple[str, ...],
        k: int | str,
    ) -> None:
        """Everything."""

    props = everything.spec.parameters["properties"]
    assert props["a"] == {"type": "number"}
    assert props["b"] == {"type": "string", "enum": ["x", "y"]}
    assert props["c"] == {"type": "array", "items": {"type": "integer"}}
    assert props["d"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["e"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["f"] == {
        "type": "object",
        "properties": {
            "street": {"type": "string"},
            "city": {"type": "string"},
            "zip_code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["street", "city"],
        "additionalProperties": False,
    }
    assert props["g"]["properties"]["items"]["items"] == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "quantity": {"type": "integer"}},
        "required": ["name", "quantity"],
        "additionalProperties": False,
    }
    assert props["g"]["required"] == ["items"]
    assert props["h"] == {}
    assert props["i"] == {"type": "array", "items": {"type": "boolean"}}
    assert props["j"] == {"type": "array", "items": {"type": "string"}}
    assert props["k"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert everything.spec.parameters["required"] == list("abcdefghijk")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def f(x): pass", "add a type annotation"),
        ("def f(*args: int): pass", "named parameter"),
        ("def f(**kw: int): pass", "named parameter"),
        ("def f(x: int, /): pass", "named parameter"),
        ("def f(x: set[int]): pass", "unsupported type"),
        ("def f(x: dict[int, str]): pass", "mapping keys must be str"),
        ("def f(x: 'NoSuchName'): pass", "cannot evaluate"),
        ("def f(x: bytes): pass", "unsupported type"),
    ],
)
def test_unsupported_signatures_are_refused_with_a_fix(source: str, fragment: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    tool = function_tool(namespace["f"])
    with pytest.raises(ConfigurationError, match=fragment) as info:
        _ = tool.spec
    assert "'f'" in str(info.value)


@dataclass
class Node:
    value: int
    children: list[Node]


def test_recursive_types_are_refused() -> None:
    @function_tool
    def tree(root: Node) -> None:
        """Tree."""

    with pytest.raises(ConfigurationError, match="recursive"):
        _ = tree.spec


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "has space"},
        {"name": ""},
        {"name": "x" * 65},
        {"on_interrupt": "later"},
        {"interrupt_deadline": 0},
        {"interrupt_deadline": float("inf")},
        {"interrupt_deadline": -1.0},
    ],
)
def test_invalid_options_fail_at_decoration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        function_tool(**kwargs)


def test_options_are_recorded() -> None:
    @function_tool(on_interrupt="cancel", interrupt_deadline=2.5, name="search-web")
    async def search(query: str) -> str:
        return query

    assert search.name == "search-web"
    assert search.options.on_interrupt == "cancel"
    assert search.options.interrupt_deadline == 2.5


def test_default_policy_is_complete_with_deadline() -> None:
    assert book_table.options.on_interrupt == "complete"
    assert book_table.options.interrupt_deadline == 10.0


class Greeter:
    greeting = "hello"

    @function_tool
    async def greet(self, name: str) -> str:
        """Greet someone."""
        return f"{self.greeting} {name}"

    @function_tool
    def farewell(self, ctx: RunContext[None]) -> str:
        """Say goodbye."""
        return "bye"


class LoudGreeter(Greeter):
    greeting = "HELLO"

    @function_tool(name="shout")
    async def greet(self, name: str) -> str:
        """Shout at someone."""
        return f"{self.greeting} {name}!"

    farewell = None  # type: ignore[assignment]


async def test_methods_bind_per_instance_and_skip_self() -> None:
    first, second = Greeter(), Greeter()
    second.greeting = "hi"
    assert Greeter.greet.spec.parameters["required"] == ["name"]
    assert "self" not in Greeter.greet.spec.parameters["properties"]
    assert await first.greet("ann") == "hello ann"
    assert await second.greet("bob") == "hi bob"
    assert Greeter.greet.needs_binding
    assert not first.greet.needs_binding


async def test_find_function_tools_follows_overrides() -> None:
    tools = find_function_tools(Greeter())
    assert [t.name for t in tools] == ["greet", "farewell"]
    loud = find_function_tools(LoudGreeter())
    assert [t.name for t in loud] == ["shout"]
    ctx = RunContext(None, None, FunctionCall("c1", "shout", "{}"), None)
    assert await loud[0].invoke({"name": "x"}, ctx) == "HELLO x!"
    assert [t.name for t in find_function_tools(Greeter)] == ["greet", "farewell"]
    assert all(t.needs_binding for t in find_function_tools(Greeter))


async def test_unbound_method_cannot_be_invoked_or_put_in_a_tool_set() -> None:
    ctx = RunContext(None, None, FunctionCall("c1", "greet", "{}"), None)
    with pytest.raises(ConfigurationError, match="bind"):
        await Greeter.greet.invoke({"name": "x"}, ctx)
    with pytest.raises(ConfigurationError, match="unbound"):
        ToolSet([Greeter.greet])


def test_tool_set_refuses_duplicates_and_lists_specs() -> None:
    greeter = Greeter()
    tools = ToolSet([greeter.greet, greeter.farewell, book_table])
    assert list(tools) == ["greet", "farewell", "book_table"]
    assert [s.name for s in tools.specs()] == ["greet", "farewell", "book_table"]
    assert tools["greet"].name == "greet"
    assert len(tools) == 3
    with pytest.raises(ConfigurationError, match="two tools are named 'greet'"):
        ToolSet([greeter.greet, Greeter().greet])


async def test_context_is_injected_and_not_in_schema() -> None:
    seen: list[RunContext[dict[str, int]]] = []

    @function_tool
    async def count(ctx: RunContext[dict[str, int]], step: int) -> int:
        """Count."""
        seen.append(ctx)
        ctx.userdata["n"] = ctx.userdata.get("n", 0) + step
        return ctx.userdata["n"]

    assert list(count.spec.parameters["properties"]) == ["step"]
    userdata: dict[str, int] = {}
    call = FunctionCall("call_1", "count", '{"step": 2}')
    ctx = RunContext("session", "handle", call, userdata)
    assert await count.invoke(count.parse_arguments(call.arguments), ctx) == 2
    assert await count.invoke({"step": 3}, ctx) == 5
    assert seen[0].call_id == "call_1"
    assert seen[0].tool_name == "count"
    assert seen[0].session == "session"
    assert userdata == {"n": 5}


def test_repr_and_stop_response() -> None:
    assert repr(book_table) == "<FunctionTool book_table (unbound)>"
    assert "bound" in repr(Greeter().greet)
    assert isinstance(Greeter.greet, FunctionTool)
    assert StopResponse("done").output == "done"


def test_docstring_parser_edge_cases() -> None:
    assert parse_docstring(None).summary == ""
    parsed = parse_docstring(
        """Summary line
        continues here.

        Args:
            a: first
            b (list[int]): second
                more about b
            *args: ignored style

        Raises:
            ValueError: never

        Extra trailing text.
        """
    )
    assert parsed.summary == "Summary line continues here. Extra trailing text."
    assert parsed.params == {"a": "first", "b": "second more about b", "args": "ignored style"}
    sphinx = parse_docstring(":param int x: the x\n:type x: int\n:param y: the y")
    assert sphinx.params == {"x": "the x", "y": "the y"}
    assert sphinx.summary == ""


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Args:", "Returns:", ":param x: y", ":type x:", "    ", "  a: b", "\t"])
        | st.text(max_size=30),
        max_size=12,
    ).map("\n".join)
)
def test_docstring_parser_never_raises(doc: str) -> None:
    parsed = parse_docstring(doc)
    assert isinstance(parsed.summary, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.params.items())


def test_static_and_class_methods_and_bad_transitions_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="staticmethod or classmethod"):
        function_tool(staticmethod(lambda: None))
    with pytest.raises(ConfigurationError, match="staticmethod or classmethod"):
        function_tool(classmethod(lambda cls: None))
    with pytest.raises(ConfigurationError, match="agent classes or their names"):
        function_tool(transitions=[42])
    tool = function_tool(name="go", transitions=("BookingAgent",))(lambda: None)
    assert tool.options.transitions == ("BookingAgent",)
    with pytest.raises(ConfigurationError, match="pass name="):
        function_tool(lambda: None)
