"""Validating the LLM's argument JSON against a tool's signature.

The LLM's text is untrusted input: every path through :func:`parse_arguments`
ends in either a ``dict`` of converted keyword arguments or a
:class:`ToolArgumentsError` (a :class:`~trioagents.core.ToolError`, so its message is
returned to the LLM as the call's error output and the model can correct itself).
Nothing else escapes; ``fuzz/fuzz_tool_arguments.py`` holds that invariant.

Error messages name the failing location (``items[2].quantity``) and the expected
and received JSON *types*, never the received values: the LLM already has its own
text, and our logs must not carry user content. The raw text is kept on the
exception's ``arguments`` attribute for debugging.

Conversion is lax where it is lossless, as pydantic's lax mode, because models
routinely quote numbers and booleans (``{"party_size": "4"}``):

* ``int``: an integral float (``3.0``), or a string spelling a JSON integer
  (``"4"``, ``" -12 "``); not ``"4.0"``, ``"4.5"``, ``"four"``, ``"1_000"``;
* ``float``: an integer (``4`` → ``4.0``), or a string spelling a finite JSON
  number (``"2.5"``, ``"4"``, ``"1e3"``); not ``"nan"``, ``"inf"``, ``"2,5"``;
* ``bool``: the strings ``"true"`` / ``"false"`` (any case); never a number;
* ``str``: only a string (a number is not turned into text).

Surrounding whitespace in such a string is ignored. Unions are matched *smart*,
as pydantic does: every alternative strictly first, then laxly, so ``"4"`` for
``int | str`` stays the string. When a string is refused the error says why
("expected integer, got string (not a whole number in digits, e.g. 4)"), still
without echoing it. An empty or whitespace-only argument text means "no
arguments" (some providers send that for parameterless tools).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

from ..core import ToolError
from ._tools_schema import (
    ToolParameter,
    field_hints,
    is_typed_dict,
    is_union,
    required_fields,
    sequence_item,
    strip_annotated,
)

__all__ = ["ToolArgumentsError", "convert_value", "parse_arguments"]

_NONE = type(None)
_MAX_DEPTH = 64
_MAX_NUMBER_TEXT = 400  # longer "numbers" are refused before int()/float() parse them
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLS = {"true": True, "false": False}


class ToolArgumentsError(ToolError):
    """The LLM's arguments do not fit the tool's signature.

    ``path`` locates the problem (``""`` for the whole object); ``arguments`` holds
    the raw text the LLM sent (never part of the message).
    """

    def __init__(self, message: str, *, path: str = "", arguments: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.arguments = arguments


def parse_arguments(arguments: str, parameters: Sequence[ToolParameter]) -> dict[str, Any]:
    """Parse and convert ``arguments``; raises :class:`ToolArgumentsError` only."""
    try:
        raw = _load_json(arguments)
        return _convert_top_level(raw, parameters)
    except ToolArgumentsError as exc:
        exc.arguments = arguments
        raise
    except RecursionError as exc:
        raise ToolArgumentsError("arguments are nested too deeply", arguments=arguments) from exc


def _load_json(text: str) -> Any:
    if not isinstance(text, str):
        raise ToolArgumentsError("arguments must be a JSON string")
    if not text.strip():
        return {}
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ToolArgumentsError(
            f"arguments are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except ValueError as exc:  # _reject_constant, or int too large to parse
        raise ToolArgumentsError("arguments are not valid JSON (unsupported number)") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _convert_top_level(raw: Any, parameters: Sequence[ToolParameter]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ToolArgumentsError(f"arguments must be a JSON object, got {_kind(raw)}")
    known = {p.name for p in parameters}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ToolArgumentsError(
            f"unknown argument(s) {', '.join(map(repr, unknown[:5]))}; "
            f"expected: {', '.join(sorted(known)) or 'none'}",
            path=unknown[0],
        )
    result: dict[str, Any] = {}
    for param in parameters:
        if param.name in raw:
            result[param.name] = convert_value(raw[param.name], param.hint, param.name)
        elif param.required:
            raise ToolArgumentsError(f"missing required argument {param.name!r}", path=param.name)
    return result


def convert_value(value: Any, hint: Any, path: str, depth: int = 0, *, lax: bool = True) -> Any:
    """Convert one decoded JSON value to ``hint``; raises ToolArgumentsError.

    ``lax=False`` turns off the string coercions (used for the strict pass of a union).
    """
    if depth > _MAX_DEPTH:
        raise ToolArgumentsError("arguments are nested too deeply", path=path)
    hint, _ = strip_annotated(hint)
    if hint is Any:
        return value
    scalar = _SCALARS.get(hint) if hint is None or isinstance(hint, type) else None
    if scalar is not None:
        return scalar(value, path, lax)
    if get_origin(hint) is Literal:
        return _convert_literal(value, get_args(hint), path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _convert_enum(value, hint, path)
    if is_union(hint):
        return _convert_union(value, get_args(hint), path, depth, lax)
    item = sequence_item(hint)
    if item is not None:
        return _convert_sequence(value, hint, item, path, depth, lax)
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or is_typed_dict(hint)):
        return _convert_object(value, hint, path, depth, lax)
    # dict[str, T] / Mapping[str, T] (the schema layer refused every other type)
    args = get_args(hint)
    value_hint = args[1] if len(args) == 2 else Any
    mapping = _expect(value, dict, "object", path)
    return {
        k: convert_value(v, value_hint, f"{path}.{k}", depth + 1, lax=lax)
        for k, v in mapping.items()
    }


def _expect(value: Any, python_type: type, name: str, path: str) -> Any:
    if isinstance(value, bool) and python_type is not bool:
        raise _type_error(name, value, path)
    if not isinstance(value, python_type):
        raise _type_error(name, value, path)
    return value


def _type_error(expected: str, value: Any, path: str) -> ToolArgumentsError:
    return ToolArgumentsError(f"{path}: expected {expected}, got {_kind(value)}", path=path)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
    for python_type, name in names:
        if isinstance(value, python_type):
            return name
    return "array" if isinstance(value, list) else "object"


def _convert_str(value: Any, path: str, lax: bool) -> str:
    return str(_expect(value, str, "string", path))


def _convert_bool(value: Any, path: str, lax: bool) -> bool:
    if lax and isinstance(value, str):
        word = _BOOLS.get(value.strip().lower())
        if word is not None:
            return word
        raise _string_error("boolean", 'not "true" or "false"', path)
    return bool(_expect(value, bool, "boolean", path))


def _convert_int(value: Any, path: str, lax: bool) -> int:
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    if lax and isinstance(value, str):
        text = value.strip()
        if len(text) <= _MAX_NUMBER_TEXT and _JSON_INT.fullmatch(text):
            return int(text)
        if len(text) <= _MAX_NUMBER_TEXT and _JSON_NUMBER.fullmatch(text):
            raise _string_error("integer", "a decimal number, not a whole one", path)
        raise _string_error("integer", "not a whole number in digits, e.g. 4", path)
    if isinstance(value, float) and not isinstance(value, bool):
        raise ToolArgumentsError(
            f"{path}: expected integer, got number (it has a fractional part)", path=path
        )
    return int(_expect(value, int, "integer", path))


def _convert_float(value: Any, path: str, lax: bool) -> float:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if lax and isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_TEXT or not _JSON_NUMBER.fullmatch(text):
            raise _string_error("number", "not a number in digits, e.g. 2.5", path)
        value = float(text)
    number = float(_expect(value, float, "number", path))
    if not math.isfinite(number):
        raise ToolArgumentsError(f"{path}: expected a finite number", path=path)
    return number


def _convert_none(value: Any, path: str, lax: bool) -> None:
    if value is not None:
        raise _type_error("null", value, path)


def _string_error(expected: str, why: str, path: str) -> ToolArgumentsError:
    """A string that does not convert: say why, without echoing it."""
    return ToolArgumentsError(f"{path}: expected {expected}, got string ({why})", path=path)


_SCALARS: Mapping[Any, Any] = {
    str: _convert_str,
    bool: _convert_bool,
    int: _convert_int,
    float: _convert_float,
    _NONE: _convert_none,
    None: _convert_none,
}


def _convert_literal(value: Any, choices: tuple[Any, ...], path: str) -> Any:
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    allowed = ", ".join(json.dumps(c) if _json_safe(c) else repr(c) for c in choices)
    raise ToolArgumentsError(f"{path}: expected one of {allowed}", path=path)


def _convert_enum(value: Any, enum_type: type[enum.Enum], path: str) -> enum.Enum:
    for member in enum_type:
        if value == member.value and type(value) is type(member.value):
            return member
    return _convert_literal(value, tuple(m.value for m in enum_type), path)  # type: ignore[no-any-return]


def _json_safe(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _convert_union(value: Any, arms: tuple[Any, ...], path: str, depth: int, lax: bool) -> Any:
    """Smart matching: an alternative the value fits as is wins over a coercion."""
    errors: list[ToolArgumentsError] = []
    for strict in (True, False) if lax else (True,):
        errors = []
        for arm in arms:
            try:
                return convert_value(value, arm, path, depth + 1, lax=not strict)
            except ToolArgumentsError as exc:
                errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    reasons = "; ".join(str(e).removeprefix(f"{path}: ") for e in errors)
    raise ToolArgumentsError(f"{path}: no alternative matched ({reasons})", path=path)


def _convert_sequence(value: Any, hint: Any, item: Any, path: str, depth: int, lax: bool) -> Any:
    items = _expect(value, list, "array", path)
    converted = [
        convert_value(v, item, f"{path}[{i}]", depth + 1, lax=lax) for i, v in enumerate(items)
    ]
    return tuple(converted) if get_origin(hint) is tuple else converted


def _convert_object(value: Any, cls: type, path: str, depth: int, lax: bool) -> Any:
    fields = _expect(value, dict, "object", path)
    hints = field_hints(cls, path)
    unknown = sorted(set(fields) - set(hints))
    if unknown:
        raise ToolArgumentsError(f"{path}: unknown field(s) {', '.join(map(repr, unknown[:5]))}")
    required = required_fields(cls)
    missing = [name for name in required if name not in fields]
    if missing:
        raise ToolArgumentsError(f"{path}: missing field {missing[0]!r}", path=path)
    kwargs = {
        name: convert_value(v, hints[name], f"{path}.{name}", depth + 1, lax=lax)
        for name, v in fields.items()
    }
    if is_typed_dict(cls):
        return kwargs
    try:
        return cls(**kwargs)
    except ToolError:
        raise
    except (TypeError, ValueError) as exc:  # the dataclass's own validation refused it
        raise ToolArgumentsError(f"{path}: invalid {cls.__name__}", path=path) from exc
