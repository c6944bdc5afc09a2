"""Session userdata ⇄ JSON-able data, through a pluggable codec.

The journal stores userdata as plain JSON values (dict with str keys, list, str,
int, finite float, bool, None). A :class:`UserdataCodec` converts the
application's object to and from that form; :data:`JSON_USERDATA` is the identity
codec for userdata that already is JSON-able, :func:`dataclass_userdata` handles
a flat dataclass whose fields are JSON-able.

Validation walks the value and reports the *path* of the first bad value
(``$.cart[2].price``) and its type, never the value itself.

Rejected alternative: pickle. It serializes anything, including things that do not
survive a redeploy (code objects, open sockets), and loading it from a shared
Redis is remote code execution.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from ._errors import JournalCorruptError, UserdataNotSerializableError

__all__ = [
    "JSON_USERDATA",
    "JsonValue",
    "UserdataCodec",
    "dataclass_userdata",
    "ensure_json_value",
]

JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"
T = TypeVar("T")


class UserdataCodec(Protocol[T]):
    """Converts session userdata to JSON-able data and back."""

    def encode(self, userdata: T) -> JsonValue: ...

    def decode(self, data: JsonValue) -> T: ...


def ensure_json_value(value: Any, path: str = "$") -> JsonValue:
    """Return ``value`` (copied into plain dicts/lists) if it is JSON-able.

    Tuples become lists. Raises :class:`UserdataNotSerializableError` naming the path.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UserdataNotSerializableError(
                f"userdata at {path} is a non-finite float", path=path, type_name="float"
            )
        return value
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UserdataNotSerializableError(
                    f"userdata at {path} has a non-str key ({type(key).__name__})",
                    path=path,
                    type_name=type(key).__name__,
                )
            out[key] = ensure_json_value(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [ensure_json_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    type_name = type(value).__name__
    raise UserdataNotSerializableError(
        f"userdata at {path} is a {type_name}, which is not JSON-able; "
        "convert it in a UserdataCodec",
        path=path,
        type_name=type_name,
    )


class _JsonUserdata:
    """Identity codec that validates (and copies) JSON-able userdata."""

    def encode(self, userdata: Any) -> JsonValue:
        return ensure_json_value(userdata)

    def decode(self, data: JsonValue) -> Any:
        return data


JSON_USERDATA: UserdataCodec[Any] = _JsonUserdata()


class _DataclassUserdata(Generic[T]):
    def __init__(self, cls: type[T]) -> None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError("dataclass_userdata needs a dataclass type")
        self._cls = cls

    def encode(self, userdata: T) -> JsonValue:
        if not isinstance(userdata, self._cls):
            raise UserdataNotSerializableError(
                f"userdata is a {type(userdata).__name__}, expected {self._cls.__name__}",
                path="$",
                type_name=type(userdata).__name__,
            )
        fields = {f.name: getattr(userdata, f.name) for f in dataclasses.fields(userdata)}  # type: ignore[arg-type]
        return ensure_json_value(fields)

    def decode(self, data: JsonValue) -> T:
        if not isinstance(data, dict):
            raise UserdataNotSerializableError(
                "stored userdata is not an object", path="$", type_name=type(data).__name__
            )
        try:
            return self._cls(**data)
        except TypeError as exc:
            raise JournalCorruptError(
                f"stored userdata does not fit {self._cls.__name__}; add a migration or a codec"
            ) from exc


def dataclass_userdata(cls: type[T]) -> UserdataCodec[T]:
    """A codec for a flat dataclass whose field values are JSON-able.

    Nested dataclasses are not reconstructed; write a codec for those.
    """
    return _DataclassUserdata(cls)
