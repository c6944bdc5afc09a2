"""Layer 6: session journal, journal stores (SQLite, Redis) and the re-dispatch supervisor."""

from ._errors import JournalCorruptError as JournalCorruptError
from ._errors import JournalError as JournalError
from ._errors import JournalStoreError as JournalStoreError
from ._errors import JournalStoreLostError as JournalStoreLostError
from ._errors import JournalVersionError as JournalVersionError
from ._errors import SequenceConflictError as SequenceConflictError
from ._errors import UserdataNotSerializableError as UserdataNotSerializableError
from ._journal import MIGRATIONS as MIGRATIONS
from ._journal import SCHEMA_VERSION as SCHEMA_VERSION
from ._journal import JournalEntry as JournalEntry
from ._journal import ToolResult as ToolResult
from ._journal import affinity_key as affinity_key
from ._journal import decode_entry as decode_entry
from ._journal import decode_tool_result as decode_tool_result
from ._journal import encode_entry as encode_entry
from ._journal import encode_tool_result as encode_tool_result
from ._journal import migrate_record as migrate_record
from ._journal import tool_idempotency_key as tool_idempotency_key
from ._open_store import open_journal_store as open_journal_store
from ._redis import RedisJournalStore as RedisJournalStore
from ._redispatch_plan import RedispatchPlanner as RedispatchPlanner
from ._resume import JournalObserver as JournalObserver
from ._resume import attach_journal as attach_journal
from ._resume import restore_agent as restore_agent
from ._session_journal import SessionJournal as SessionJournal
from ._sqlite import SqliteJournalStore as SqliteJournalStore
from ._store import JournalStore as JournalStore
from ._store import LeaseStore as LeaseStore
from ._supervisor import RedispatchCreated as RedispatchCreated
from ._supervisor import RedispatchFailed as RedispatchFailed
from ._supervisor import RoomAdminAPI as RoomAdminAPI
from ._supervisor import RoomWatch as RoomWatch
from ._supervisor import SupervisorEvent as SupervisorEvent
from ._supervisor import SupervisorLeaseChanged as SupervisorLeaseChanged
from ._supervisor import SupervisorOptions as SupervisorOptions
from ._supervisor import SupervisorPollFailed as SupervisorPollFailed
from ._supervisor import serve_redispatch_supervisor as serve_redispatch_supervisor
from ._supervisor import watch_journaled_rooms as watch_journaled_rooms
from ._supervisor import watch_marked_rooms as watch_marked_rooms
from ._userdata import JSON_USERDATA as JSON_USERDATA
from ._userdata import JsonValue as JsonValue
from ._userdata import UserdataCodec as UserdataCodec
from ._userdata import dataclass_userdata as dataclass_userdata
from ._userdata import ensure_json_value as ensure_json_value

__all__ = [
    "JSON_USERDATA",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "JournalCorruptError",
    "JournalEntry",
    "JournalError",
    "JournalObserver",
    "JournalStore",
    "JournalStoreError",
    "JournalStoreLostError",
    "JournalVersionError",
    "JsonValue",
    "LeaseStore",
    "RedisJournalStore",
    "RedispatchCreated",
    "RedispatchFailed",
    "RedispatchPlanner",
    "RoomAdminAPI",
    "RoomWatch",
    "SequenceConflictError",
    "SessionJournal",
    "SqliteJournalStore",
    "SupervisorEvent",
    "SupervisorLeaseChanged",
    "SupervisorOptions",
    "SupervisorPollFailed",
    "ToolResult",
    "UserdataCodec",
    "UserdataNotSerializableError",
    "affinity_key",
    "attach_journal",
    "dataclass_userdata",
    "decode_entry",
    "decode_tool_result",
    "encode_entry",
    "encode_tool_result",
    "ensure_json_value",
    "migrate_record",
    "open_journal_store",
    "restore_agent",
    "serve_redispatch_supervisor",
    "tool_idempotency_key",
    "watch_journaled_rooms",
    "watch_marked_rooms",
]
