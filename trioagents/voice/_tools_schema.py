"""From a Python signature to the JSON schema the LLM sees.

Supported parameter types (the same set :mod:`._tools_args` validates): ``str``,
``int``, ``float``, ``bool``, ``None``, ``Any``, ``Literal[...]``, ``Enum`` subclasses
(by value), ``list[T]``/``Sequence[T]``/``tuple[T, ...]``, ``dict[str, T]``/
``Mapping[str, T]``, unions (``X | None``, ``Optional[X]``), dataclasses and
``TypedDict`` (nested, not recursive), and ``Annotated[T, "description"]``.
Anything else is refused when the schema is first built, with a message naming the
tool and parameter: a type we cannot validate must not reach the LLM.

Annotations are resolved lazily (on first use of the tool, not at decoration), so
tools may refer to classes defined later in their module. String annotations are
evaluated in the function's globals plus the defining class's namespace.

Rejected alternative: pydantic. It would do the validation well, but it is a heavy
dependency for the handful of JSON shapes tool arguments take, and its error
messages echo the offending input, which our error rules forbid.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import types
import typing
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from ..core import ConfigurationError
from ._run_context import RunContext
from ._tools_docstring import parse_docstring

__all__ = [
    "ToolParameter",
    "ToolSignature",
    "analyse_signature",
    "field_hints",
    "is_context_hint",
    "is_typed_dict",
    "is_union",
    "json_schema",
    "required_fields",
    "resolve_annotation",
    "sequence_item",
    "strip_annotated",
]

_NONE = type(None)
_SEQUENCES = (list, collections.abc.Sequence, tuple)
_MAPPINGS = (dict, collections.abc.Mapping)


@dataclass(frozen=True, slots=True)
class ToolParameter:
    name: str
    hint: Any
    required: bool
    default: Any


@dataclass(frozen=True, slots=True)
class ToolSignature:
    """What the tool layer knows about a tool function once its hints are resolved."""

    parameters: tuple[ToolParameter, ...]
    context_parameter: str | None
    description: str
    schema: dict[str, Any]


def strip_annotated(hint: Any) -> tuple[Any, str | None]:
    """``Annotated[T, "text", ...]`` -> ``(T, "text")``; other hints unchanged."""
    if get_origin(hint) is Annotated:
        base, *metadata = get_args(hint)
        text = next((m for m in metadata if isinstance(m, str)), None)
        return base, text
    return hint, None


def is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__required_keys__")


def is_context_hint(hint: Any) -> bool:
    hint, _ = strip_annotated(hint)
    return hint is RunContext or get_origin(hint) is RunContext


def sequence_item(hint: Any) -> Any | None:
    """The item type of a homogeneous sequence hint, else None."""
    origin = get_origin(hint)
    if hint in (list, collections.abc.Sequence):
        return Any
    if origin not in _SEQUENCES:
        return None
    args = get_args(hint)
    if origin is tuple:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else None
    return args[0] if args else Any


_FIELD_HINTS: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()


def field_hints(cls: type, where: str) -> dict[str, Any]:
    """Resolved field hints of a dataclass or TypedDict (raises ConfigurationError).

    Cached per class: argument validation asks for them on every call.
    """
    cached = _FIELD_HINTS.get(cls)
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(
            f"{where}: cannot resolve the field types of {cls.__qualname__}; "
            "define it at module level so its annotations can be evaluated"
        ) from exc
    _FIELD_HINTS[cls] = hints
    return hints


def resolve_annotation(annotation: Any, fn: Callable[..., Any], localns: Mapping[str, Any]) -> Any:
    """Evaluate a string annotation in ``fn``'s globals plus ``localns``.

    A quoted annotation under ``from __future__ import annotations`` is a string
    twice over, so evaluation repeats (a bounded number of times) until a
    non-string comes out.
    """
    for _ in range(3):
        if not isinstance(annotation, str):
            break
        annotation = eval(annotation, fn.__globals__, dict(localns))
    return annotation


def json_schema(hint: Any, where: str, seen: frozenset[type] = frozenset()) -> dict[str, Any]:
    """The JSON schema of ``hint``; ``where`` names the parameter for error messages."""
    base, text = strip_annotated(hint)
    schema = _schema(base, where, seen)
    return {**schema, "description": text} if text else schema


def _schema(hint: Any, where: str, seen: frozenset[type]) -> dict[str, Any]:
    scalar = _scalar_schema(hint)
    if scalar is not None:
        return scalar
    if get_origin(hint) is Literal:
        return _enum_schema(list(get_args(hint)))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema([member.value for member in hint])
    if is_union(hint):
        return {"anyOf": [json_schema(arm, where, seen) for arm in get_args(hint)]}
    item = sequence_item(hint)
    if item is not None:
        return {"type": "array", "items": json_schema(item, where, seen)}
    if hint in _MAPPINGS or get_origin(hint) in _MAPPINGS:
        return _mapping_schema(hint, where, seen)
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or is_typed_dict(hint)):
        return _object_schema(hint, where, seen)
    raise ConfigurationError(
        f"{where}: unsupported type {hint!r}; use str, int, float, bool, Literal, Enum, "
        "list[...], dict[str, ...], Optional, a dataclass or a TypedDict"
    )


def _scalar_schema(hint: Any) -> dict[str, Any] | None:
    if hint is Any:
        return {}
    if hint is None or hint is _NONE:
        return {"type": "null"}
    names: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return {"type": names[hint]} if isinstance(hint, type) and hint in names else None


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {_json_type(v) for v in values}
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1 and None not in kinds:
        schema = {"type": kinds.pop(), **schema}
    return schema


def _json_type(value: Any) -> str | None:
    for python_type, name in ((bool, "boolean"), (int, "integer"), (float, "number")):
        if isinstance(value, python_type):
            return name
    return "string" if isinstance(value, str) else None


def _mapping_schema(hint: Any, where: str, seen: frozenset[type]) -> dict[str, Any]:
    args = get_args(hint)
    key, value = args if len(args) == 2 else (str, Any)
    if key is not str:
        raise ConfigurationError(f"{where}: mapping keys must be str (JSON object keys)")
    return {"type": "object", "additionalProperties": json_schema(value, where, seen)}


def _object_schema(cls: type, where: str, seen: frozenset[type]) -> dict[str, Any]:
    if cls in seen:
        raise ConfigurationError(f"{where}: recursive type {cls.__qualname__} is not supported")
    hints = field_hints(cls, where)
    required = required_fields(cls)
    properties = {
        name: json_schema(hint, f"{where}.{name}", seen | {cls}) for name, hint in hints.items()
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def required_fields(cls: type) -> list[str]:
    """Names of the fields of a dataclass or TypedDict that have no default."""
    if is_typed_dict(cls):
        keys: frozenset[str] = cls.__required_keys__  # type: ignore[attr-defined]
        return sorted(keys)
    missing = dataclasses.MISSING
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is missing and f.default_factory is missing and f.init
    ]


def analyse_signature(
    fn: Callable[..., Any],
    *,
    tool_name: str,
    description: str | None,
    localns: Mapping[str, Any],
    is_method: bool,
) -> ToolSignature:
    """Resolve ``fn``'s hints and docstring into a :class:`ToolSignature`.

    Raises ConfigurationError for unannotated, variadic or positional-only
    parameters, unsupported types and annotations that cannot be evaluated.
    """
    docs = parse_docstring(fn.__doc__)
    params = list(inspect.signature(fn).parameters.values())
    if is_method and params:
        params = params[1:]
    parameters: list[ToolParameter] = []
    context: str | None = None
    properties: dict[str, Any] = {}
    for param in params:
        where = f"tool {tool_name!r} parameter {param.name!r}"
        hint = _parameter_hint(param, fn, localns, where)
        if is_context_hint(hint):
            context = param.name
            continue
        required = param.default is inspect.Parameter.empty
        default = None if required else param.default
        parameters.append(ToolParameter(param.name, hint, required, default))
        properties[param.name] = _property_schema(hint, where, docs.params.get(param.name))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required_names = [p.name for p in parameters if p.required]
    if required_names:
        schema["required"] = required_names
    schema["additionalProperties"] = False
    text = description if description is not None else docs.summary
    return ToolSignature(tuple(parameters), context, text, schema)


def _parameter_hint(
    param: inspect.Parameter, fn: Callable[..., Any], localns: Mapping[str, Any], where: str
) -> Any:
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
        raise ConfigurationError(
            f"{where}: *args, **kwargs and positional-only parameters cannot be filled "
            "from JSON; declare each argument as a named parameter"
        )
    if param.annotation is inspect.Parameter.empty:
        raise ConfigurationError(f"{where}: add a type annotation (the LLM needs a schema)")
    try:
        return resolve_annotation(param.annotation, fn, localns)
    except Exception as exc:
        raise ConfigurationError(
            f"{where}: cannot evaluate the annotation; import the names it uses at module level"
        ) from exc


def _property_schema(hint: Any, where: str, doc_text: str | None) -> dict[str, Any]:
    schema = json_schema(hint, where)
    if doc_text and "description" not in schema:
        schema = {**schema, "description": doc_text}
    return schema
