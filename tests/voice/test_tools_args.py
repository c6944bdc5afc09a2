"""Validation of the LLM's argument JSON against tool signatures."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import fuzz_tool_arguments
from trioagents.core import ToolError
from trioagents.voice import ToolArgumentsError, function_tool


class Meal(enum.Enum):
    LUNCH = "lunch"
    DINNER = "dinner"


class Guest(TypedDict, total=False):
    name: str
    vegetarian: bool


@dataclass
class Slot:
    day: str
    hour: int

    def __post_init__(self) -> None:
        if not 0 <= self.hour < 24:
            raise ValueError("hour out of range")


@function_tool
def reserve(
    slot: Slot,
    party_size: Annotated[int, "people"],
    meal: Meal = Meal.DINNER,
    guests: list[Guest] | None = None,
    budget: float = 0.0,
    seating: Literal["inside", "terrace"] = "inside",
    extras: dict[str, int] | None = None,
    window: tuple[int, ...] = (),
) -> str:
    """Reserve."""
    return "ok"


def parse(text: str) -> dict[str, Any]:
    return reserve.parse_arguments(text)


def test_valid_arguments_are_converted() -> None:
    args = parse(
        json.dumps(
            {
                "slot": {"day": "mon", "hour": 19.0},
                "party_size": 4,
                "meal": "lunch",
                "guests": [{"name": "ann"}, {"vegetarian": True}],
                "budget": 120,
                "seating": "terrace",
                "extras": {"cake": 1},
                "window": [1, 2],
            }
        )
    )
    assert args == {
        "slot": Slot("mon", 19),
        "party_size": 4,
        "meal": Meal.LUNCH,
        "guests": [{"name": "ann"}, {"vegetarian": True}],
        "budget": 120.0,
        "seating": "terrace",
        "extras": {"cake": 1},
        "window": (1, 2),
    }
    assert isinstance(args["slot"].hour, int)
    assert isinstance(args["budget"], float)


def test_defaults_are_left_to_python_and_empty_text_means_no_arguments() -> None:
    assert parse('{"slot": {"day": "x", "hour": 1}, "party_size": 2}') == {
        "slot": Slot("x", 1),
        "party_size": 2,
    }

    @function_tool
    def ping() -> str:
        return "pong"

    assert ping.parse_arguments("") == {}
    assert ping.parse_arguments("  \n") == {}
    assert ping.parse_arguments("{}") == {}


BASE = {"slot": {"day": "mon", "hour": 1}, "party_size": 2}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"party_size": "four"}, "party_size: expected integer, got string (not a whole"),
        ({"party_size": "4.0"}, "party_size: expected integer, got string (a decimal number"),
        ({"party_size": "1_000"}, "party_size: expected integer, got string (not a whole"),
        ({"party_size": True}, "party_size: expected integer, got boolean"),
        ({"party_size": 2.5}, "party_size: expected integer, got number (it has a fraction"),
        ({"budget": False}, "budget: expected number, got boolean"),
        ({"budget": "nan"}, "budget: expected number, got string (not a number in digits"),
        ({"budget": "2,5"}, "budget: expected number, got string (not a number in digits"),
        ({"budget": "1e999"}, "budget: expected a finite number"),
        ({"meal": "breakfast"}, 'meal: expected one of "lunch", "dinner"'),
        ({"seating": "roof"}, 'seating: expected one of "inside", "terrace"'),
        ({"guests": [{"name": 3}]}, "guests[0].name: expected string, got integer"),
        ({"guests": [{"age": 3}]}, "guests[0]: unknown field(s) 'age'"),
        ({"guests": {"name": "x"}}, "guests: no alternative matched"),
        ({"slot": {"day": "mon"}}, "slot: missing field 'hour'"),
        ({"slot": {"day": "mon", "hour": 30}}, "slot: invalid Slot"),
        ({"slot": []}, "slot: expected object, got array"),
        ({"extras": {"cake": "one"}}, "extras.cake: expected integer, got string"),
        ({"window": [1, "two"]}, "window[1]: expected integer, got string"),
        ({"color": "red"}, "unknown argument"),
    ],
)
def test_wrong_types_give_precise_errors(patch: dict[str, Any], message: str) -> None:
    text = json.dumps({**BASE, **patch})
    with pytest.raises(ToolArgumentsError, match=re.escape(message)) as info:
        parse(text)
    assert isinstance(info.value, ToolError)
    assert info.value.arguments == text


def test_missing_required_and_non_object_and_bad_json() -> None:
    with pytest.raises(ToolArgumentsError, match="missing required argument 'party_size'"):
        parse('{"slot": {"day": "mon", "hour": 1}}')
    with pytest.raises(ToolArgumentsError, match="must be a JSON object, got array"):
        parse("[1, 2]")
    with pytest.raises(ToolArgumentsError, match=r"not valid JSON \(Expecting"):
        parse('{"party_size": ')
    with pytest.raises(ToolArgumentsError, match="unsupported number"):
        parse('{"budget": NaN}')
    with pytest.raises(ToolArgumentsError, match="finite"):
        parse(json.dumps({**BASE, "budget": 1e308}).replace("1e+308", "1e999"))
    with pytest.raises(ToolArgumentsError, match="nested too deeply"):
        parse('{"guests": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_error_messages_do_not_echo_values() -> None:
    secret = "4111 1111 1111 1111"
    for text in (
        json.dumps({**BASE, "party_size": secret}),
        json.dumps({**BASE, "meal": secret}),
        '{"slot": "' + secret,
    ):
        with pytest.raises(ToolArgumentsError) as info:
            parse(text)
        assert secret not in str(info.value)
        assert info.value.arguments == text


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=100),
    st.sampled_from(list(Meal)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=5),
)
def test_round_trip_of_well_typed_arguments(
    party_size: int, meal: Meal, budget: float, window: list[int]
) -> None:
    text = json.dumps({**BASE, "party_size": party_size, "meal": meal.value, "budget": budget})
    args = parse(text[:-1] + ', "window": ' + json.dumps(window) + "}")
    assert args["party_size"] == party_size
    assert args["meal"] is meal
    assert args["budget"] == budget
    assert args["window"] == tuple(window)


def test_fuzz_harness_holds_for_a_few_hundred_examples() -> None:
    fuzz_tool_arguments.run(max_examples=300)


def test_fuzz_harness_can_fail() -> None:
    # The harness's check must reject a parser that lets a foreign exception out.
    @function_tool
    def broken(x: int) -> None:
        """Broken."""

    original = broken.parse_arguments

    def explode(text: str) -> dict[str, Any]:
        if text.startswith("{"):
            raise KeyError("boom")
        return original(text)

    class Exploding:
        signature = broken.signature

        def parse_arguments(self, text: str) -> dict[str, Any]:
            return explode(text)

    with pytest.raises(KeyError):
        fuzz_tool_arguments.check(Exploding(), '{"x": 1}')  # type: ignore[arg-type]


# ------------------------------------------------------------ lax, lossless coercions


@function_tool
def coerce(
    count: int = 0,
    price: float = 0.0,
    vip: bool = False,
    label: str = "",
    either: int | str = 0,
    maybe: int | None = None,
    counts: list[int] | None = None,
) -> None:
    """Coercions."""


def test_quoted_numbers_and_booleans_are_coerced_when_lossless() -> None:
    args = coerce.parse_arguments(
        json.dumps(
            {
                "count": "4",
                "price": "2.5",
                "vip": "TRUE",
                "maybe": " 7 ",
                "counts": ["1", 2, 3.0],
            }
        )
    )
    assert args == {"count": 4, "price": 2.5, "vip": True, "maybe": 7, "counts": [1, 2, 3]}
    assert type(args["count"]) is int
    assert coerce.parse_arguments('{"price": 4}') == {"price": 4.0}
    assert type(coerce.parse_arguments('{"price": 4}')["price"]) is float
    assert coerce.parse_arguments('{"price": "4"}') == {"price": 4.0}
    assert coerce.parse_arguments('{"vip": "false"}') == {"vip": False}


def test_no_coercion_where_it_would_lose_or_invent_information() -> None:
    for text, message in [
        ('{"count": "4.0"}', "count: expected integer, got string (a decimal number"),
        ('{"count": "4.5"}', "count: expected integer, got string (a decimal number"),
        ('{"count": "four"}', "count: expected integer, got string (not a whole number"),
        ('{"count": true}', "count: expected integer, got boolean"),
        ('{"vip": 1}', "vip: expected boolean, got integer"),
        ('{"vip": "yes"}', 'vip: expected boolean, got string (not "true" or "false")'),
        ('{"label": 4}', "label: expected string, got integer"),
        ('{"price": "inf"}', "price: expected number, got string"),
        ('{"price": "0x10"}', "price: expected number, got string"),
    ]:
        with pytest.raises(ToolArgumentsError, match=re.escape(message)):
            coerce.parse_arguments(text)


def test_a_union_keeps_a_value_that_fits_an_alternative_as_is() -> None:
    assert coerce.parse_arguments('{"either": "4"}') == {"either": "4"}
    assert coerce.parse_arguments('{"either": 4}') == {"either": 4}
    assert coerce.parse_arguments('{"maybe": null}') == {"maybe": None}


def test_a_refused_string_is_not_echoed() -> None:
    secret = "4111-1111-1111-1111"
    for name in ("count", "price", "vip", "maybe"):
        with pytest.raises(ToolArgumentsError) as info:
            coerce.parse_arguments(json.dumps({name: secret}))
        assert secret not in str(info.value)


def test_very_long_digit_strings_are_refused_not_parsed() -> None:
    with pytest.raises(ToolArgumentsError, match="count: expected integer, got string"):
        coerce.parse_arguments(json.dumps({"count": "9" * 100_000}))


_PAD = st.sampled_from(["", " ", "\t", "\n "])


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30), _PAD, _PAD)
def test_property_an_integer_spelled_as_a_string_converts_to_itself(
    n: int, left: str, right: str
) -> None:
    assert coerce.parse_arguments(json.dumps({"count": f"{left}{n}{right}"})) == {"count": n}
    assert coerce.parse_arguments(json.dumps({"maybe": str(n)})) == {"maybe": n}
    assert coerce.parse_arguments(json.dumps({"price": str(n)})) == {"price": float(n)}
    assert coerce.parse_arguments(json.dumps({"either": str(n)})) == {"either": str(n)}


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_property_a_finite_number_spelled_as_a_string_converts_to_itself(x: float) -> None:
    spelled = json.dumps(x)  # the JSON spelling of x ("1e+300", "-0.0", "2.5")
    assert coerce.parse_arguments(json.dumps({"price": spelled})) == {"price": x}
    if not x.is_integer():  # "2.5" is not an integer; "4.0" is refused too (see above)
        with pytest.raises(ToolArgumentsError, match="count: expected integer"):
            coerce.parse_arguments(json.dumps({"count": spelled}))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=20))
def test_property_any_string_converts_losslessly_or_is_refused_with_a_reason(
    text: str,
) -> None:
    for name, hint in (("count", int), ("price", float), ("vip", bool)):
        try:
            value = coerce.parse_arguments(json.dumps({name: text}))[name]
        except ToolArgumentsError as exc:
            refused = exc
        else:
            refused = None
        if refused is not None:
            assert str(refused).startswith(f"{name}: expected ")
            assert ", got string (" in str(refused)  # the reason is given
            assert refused.path == name
            continue
        assert type(value) is hint
        stripped = text.strip()
        if hint is bool:
            assert stripped.lower() == str(value).lower()
        else:  # the string was the JSON spelling of exactly this number
            assert json.loads(stripped) == value
            assert stripped == stripped.lstrip("+")
