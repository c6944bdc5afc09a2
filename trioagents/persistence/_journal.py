"""The session journal entry: what a session needs to continue after a crash.

An entry is written at a turn boundary (turns are cancel scopes, so "between two
turns" is a well-defined point where no reply is half-spoken). It holds the chat
context, the current agent and handoff-FSM state, the userdata (as JSON-able data,
see :mod:`._userdata`), the completed tool calls by idempotency key with their
recorded outputs, and the schema version.

Invariants:

* ``sequence`` numbers a session's entries 0, 1, 2, … with no gaps; stores accept
  entry ``n`` only if ``n - 1`` is the latest (optimistic concurrency), so two
  workers cannot both write turn ``n``.
* The encoding is canonical JSON (sorted keys, no spaces, UTF-8): equal entries
  give equal bytes.
* Decoding migrates forward: a record of version ``v`` < :data:`SCHEMA_VERSION`
  passes through ``MIGRATIONS[v]``, ``MIGRATIONS[v+1]``, …; a newer version raises
  :class:`JournalVersionError`; anything malformed raises
  :class:`JournalCorruptError`. Nothing else escapes :func:`decode_entry`.

``written_at`` is wall-clock seconds supplied by the writer: a journal outlives the
process, and Trio's clock is only meaningful inside one run.

Rejected alternative: storing the whole session object (pickle). Only the data
above survives a redeploy; everything else is rebuilt from code.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import ChatContext, ChatItem, ConfigurationError
from ._errors import JournalCorruptError, JournalVersionError, UserdataNotSerializableError
from ._userdata import JsonValue, ensure_json_value

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "JournalEntry",
    "ToolResult",
    "affinity_key",
    "decode_entry",
    "decode_tool_result",
    "encode_entry",
    "encode_tool_result",
    "migrate_record",
    "tool_idempotency_key",
]

SCHEMA_VERSION = 2
_PAYLOAD_PREVIEW = 256


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The recorded output of a completed tool call (what the LLM was given).

    ``userdata``: the session's encoded userdata right after the tool ran (None: not
    recorded), so a replay can restore what the tool changed there.
    """

    output: str
    is_error: bool = False
    userdata: JsonValue = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"output": self.output, "is_error": self.is_error}
        if self.userdata is not None:
            record["userdata"] = self.userdata
        return record


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One durable snapshot of a session, taken at a turn boundary.

    ``chat_items`` is immutable; :attr:`chat_context` gives a fresh, mutable copy.
    ``userdata`` must already be JSON-able (encode it with a ``UserdataCodec``).
    """

    session_key: str
    sequence: int
    agent_name: str
    written_at: float
    chat_items: tuple[ChatItem, ...] = ()
    fsm_state: str | None = None
    userdata: JsonValue = None
    tool_results: Mapping[str, ToolResult] = field(default_factory=dict)
    writer_version: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.session_key:
            raise ConfigurationError("JournalEntry.session_key must be non-empty")
        if isinstance(self.sequence, bool) or self.sequence < 0:
            raise ConfigurationError("JournalEntry.sequence must be an int >= 0")
        object.__setattr__(self, "chat_items", tuple(self.chat_items))
        object.__setattr__(self, "tool_results", dict(self.tool_results))
        object.__setattr__(self, "userdata", ensure_json_value(self.userdata))

    @property
    def chat_context(self) -> ChatContext:
        return ChatContext(self.chat_items)

    @classmethod
    def from_context(cls, chat_context: ChatContext, **fields: Any) -> JournalEntry:
        """Build an entry from a live chat context (items are snapshotted)."""
        return cls(chat_items=chat_context.items, **fields)


def affinity_key(room: str, participant_identity: str, agent_name: str) -> str:
    """The deterministic session key for (room, participant, agent).

    Any worker computes the same key from the same job, so a resumed session finds
    its journal in a shared store. Components are length-prefixed before hashing, so
    ``("a/b", "c")`` and ``("a", "b/c")`` differ. Safe as a Redis or SQL key.
    """
    digest = hashlib.sha256(_framed(("session", room, participant_identity, agent_name)))
    return "ses_" + digest.hexdigest()[:40]


def tool_idempotency_key(
    session_key: str,
    *,
    call_id: str | None = None,
    turn: int | None = None,
    tool: str | None = None,
    arguments: Mapping[str, Any] | str | None = None,
) -> str:
    """The idempotency key of one tool call within a session.

    Use the LLM's ``call_id`` when it is stable across a replay; otherwise give
    ``turn``, ``tool`` and ``arguments`` (a mapping, or the raw JSON text), which are
    canonicalised (sorted keys, no whitespace) so equal calls give equal keys.
    Raises :class:`ConfigurationError` if neither form is complete.
    """
    if call_id:
        parts: tuple[str, ...] = ("call", session_key, call_id)
    elif turn is not None and tool:
        parts = ("args", session_key, str(turn), tool, _canonical_arguments(arguments))
    else:
        raise ConfigurationError("tool_idempotency_key needs call_id, or turn and tool")
    return "tool_" + hashlib.sha256(_framed(parts)).hexdigest()[:40]


def _canonical_arguments(arguments: Mapping[str, Any] | str | None) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError as exc:
            raise ConfigurationError("tool arguments are not valid JSON") from exc
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _framed(parts: tuple[str, ...]) -> bytes:
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def encode_tool_result(result: ToolResult) -> bytes:
    return _dumps(result.to_record())


def decode_tool_result(data: bytes) -> ToolResult:
    """Decode a stored :class:`ToolResult`; raises :class:`JournalCorruptError` only."""
    return _tool_from_record(_loads(data), data)


def _tool_from_record(record: Any, payload: bytes = b"") -> ToolResult:
    if not isinstance(record, dict) or set(record) - {"output", "is_error", "userdata"}:
        raise JournalCorruptError(
            "tool result record is malformed", payload=payload[:_PAYLOAD_PREVIEW]
        )
    output, is_error = record.get("output"), record.get("is_error", False)
    if not isinstance(output, str) or not isinstance(is_error, bool):
        raise JournalCorruptError(
            "tool result fields have the wrong type", payload=payload[:_PAYLOAD_PREVIEW]
        )
    try:
        userdata = ensure_json_value(record.get("userdata"))
    except UserdataNotSerializableError as exc:
        raise JournalCorruptError(
            "tool result userdata is not JSON", payload=payload[:_PAYLOAD_PREVIEW]
        ) from exc
    return ToolResult(output=output, is_error=is_error, userdata=userdata)


def encode_entry(entry: JournalEntry) -> bytes:
    """Canonical JSON bytes of ``entry`` at its schema version."""
    return _dumps(
        {
            "schema_version": entry.schema_version,
            "session_key": entry.session_key,
            "sequence": entry.sequence,
            "agent_name": entry.agent_name,
            "fsm_state": entry.fsm_state,
            "written_at": entry.written_at,
            "writer_version": entry.writer_version,
            "chat_context": ChatContext(entry.chat_items).to_dict(),
            "userdata": entry.userdata,
            "tool_results": {key: r.to_record() for key, r in entry.tool_results.items()},
        }
    )


def decode_entry(data: bytes) -> JournalEntry:
    """Decode (and migrate forward) one stored entry.

    Raises :class:`JournalVersionError` for a newer schema and
    :class:`JournalCorruptError` for anything malformed; nothing else.
    """
    record = migrate_record(_loads(data), payload=data)
    try:
        return _entry_from_record(record)
    except JournalCorruptError:
        raise
    except (ConfigurationError, TypeError, ValueError, RecursionError) as exc:
        raise JournalCorruptError(
            f"journal entry does not match schema v{SCHEMA_VERSION}",
            payload=data[:_PAYLOAD_PREVIEW],
        ) from exc


_ENTRY_KEYS = frozenset(
    {
        "schema_version",
        "session_key",
        "sequence",
        "agent_name",
        "fsm_state",
        "written_at",
        "writer_version",
        "chat_context",
        "userdata",
        "tool_results",
    }
)


def _entry_from_record(record: dict[str, Any]) -> JournalEntry:
    if set(record) != _ENTRY_KEYS:
        raise JournalCorruptError("journal entry has missing or unknown fields")
    _expect(record, "session_key", str)
    _expect(record, "agent_name", str)
    _expect(record, "writer_version", str)
    _expect(record, "chat_context", list)
    _expect(record, "tool_results", dict)
    sequence, written_at = record["sequence"], record["written_at"]
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        raise JournalCorruptError("journal entry sequence is not an int")
    if not isinstance(written_at, int | float) or isinstance(written_at, bool):
        raise JournalCorruptError("journal entry written_at is not a number")
    if record["fsm_state"] is not None and not isinstance(record["fsm_state"], str):
        raise JournalCorruptError("journal entry fsm_state is not a string")
    if not all(isinstance(item, dict) for item in record["chat_context"]):
        raise JournalCorruptError("journal chat_context items must be objects")
    tools = {key: _tool_from_record(value) for key, value in record["tool_results"].items()}
    return JournalEntry(
        session_key=record["session_key"],
        sequence=sequence,
        agent_name=record["agent_name"],
        written_at=float(written_at),
        chat_items=ChatContext.from_dict(record["chat_context"]).items,
        fsm_state=record["fsm_state"],
        userdata=record["userdata"],
        tool_results=tools,
        writer_version=record["writer_version"],
    )


def _expect(record: Mapping[str, Any], key: str, kind: type) -> None:
    if not isinstance(record[key], kind):
        raise JournalCorruptError(f"journal entry field {key} has the wrong type")


def _migrate_v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    """v1 (first draft): ``agent`` instead of ``agent_name``, FSM state absent,
    tool results as a list of ``[key, output]`` pairs, no writer version."""
    out = {k: v for k, v in record.items() if k not in ("agent", "tools")}
    out["agent_name"] = record.get("agent")
    out["fsm_state"] = None
    out["writer_version"] = ""
    pairs = record.get("tools", [])
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs
    ):
        raise JournalCorruptError("v1 journal tools are not [key, output] pairs")
    out["tool_results"] = {key: {"output": output, "is_error": False} for key, output in pairs}
    out["schema_version"] = 2
    return out


MIGRATIONS: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_v1_to_v2}
"""``MIGRATIONS[v]`` turns a version-``v`` record into a version-``v+1`` record."""


def migrate_record(record: Any, *, payload: bytes = b"") -> dict[str, Any]:
    """Apply forward migrations until ``record`` is at :data:`SCHEMA_VERSION`."""
    if not isinstance(record, dict):
        raise JournalCorruptError(
            "journal entry is not a JSON object", payload=payload[:_PAYLOAD_PREVIEW]
        )
    version = record.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JournalCorruptError(
            "journal entry has no valid schema_version", payload=payload[:_PAYLOAD_PREVIEW]
        )
    if version > SCHEMA_VERSION:
        raise JournalVersionError(
            f"journal entry has schema v{version}; this code reads up to v{SCHEMA_VERSION}",
            found=version,
            supported=SCHEMA_VERSION,
        )
    migrated: dict[str, Any] = record
    while version < SCHEMA_VERSION:
        migrated = MIGRATIONS[version](migrated)
        version += 1
        if migrated.get("schema_version") != version:
            raise JournalCorruptError(f"migration to v{version} did not stamp its version")
    return migrated


def _dumps(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _loads(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JournalCorruptError(
            "journal record is not UTF-8 JSON", payload=data[:_PAYLOAD_PREVIEW]
        ) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value
