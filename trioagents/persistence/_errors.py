"""Errors of the session journal and its stores.

All derive from :class:`JournalError`. A corrupt record is also a
:class:`~trioagents.core.ProtocolError` (it is bytes that do not parse), so the
fuzz harness can state one invariant: "decodes, or raises our protocol error".
Messages never quote journal content (chat text, userdata): payloads stay in
attributes.
"""

from __future__ import annotations

from ..core import ConfigurationError, ProtocolError, TrioAgentsError

__all__ = [
    "JournalCorruptError",
    "JournalError",
    "JournalStoreError",
    "JournalStoreLostError",
    "JournalVersionError",
    "SequenceConflictError",
    "UserdataNotSerializableError",
]


class JournalError(TrioAgentsError):
    """Root of the persistence errors."""


class JournalCorruptError(JournalError, ProtocolError):
    """A stored record does not decode; ``payload`` holds (a prefix of) the bytes."""

    def __init__(self, message: str, *, payload: bytes | None = None) -> None:
        super().__init__(message)
        self.payload = payload


class JournalVersionError(JournalError):
    """A record was written by a newer schema than this code knows (``found`` > ``supported``).

    Deploy the newer version everywhere (or roll the writer back); never downgrade a record.
    """

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


class SequenceConflictError(JournalError):
    """Optimistic concurrency lost: another writer already wrote this turn.

    ``expected`` is the sequence number the store would have accepted, ``attempted``
    the one given. The losing worker must reload and stop acting for the session.
    """

    def __init__(self, message: str, *, session_key: str, expected: int, attempted: int) -> None:
        super().__init__(message)
        self.session_key = session_key
        self.expected = expected
        self.attempted = attempted


class JournalStoreError(JournalError):
    """The backend (``sqlite``, ``redis``) failed; the cause is chained."""

    def __init__(self, message: str, *, backend: str) -> None:
        super().__init__(message)
        self.backend = backend


class JournalStoreLostError(JournalStoreError):
    """A journal store that existed has lost its data or its marker; nothing was started over.

    Every store is marked when it is created (SQLite: a ``journal_store_meta`` table;
    Redis: a marker hash). Opening or using a store whose file was emptied, whose
    journal tables are gone, or whose Redis marker vanished (a restart without
    persistence, a flush, an eviction) raises this instead of loading "no entry" and
    silently starting every session over. Also raised with ``create=False`` when there
    is no store at all. ``found`` names what was found (``"empty"``,
    ``"tables-missing"``, ``"marker-missing"``, ``"absent"``); the message says how to
    fix it (restore from a backup, or remove the store on purpose to start a new one).
    """

    def __init__(self, message: str, *, backend: str, found: str) -> None:
        super().__init__(message, backend=backend)
        self.found = found


class UserdataNotSerializableError(JournalError, ConfigurationError):
    """Session userdata cannot be written to the journal.

    ``path`` locates the offending value (``$.cart[2].price``); ``type_name`` names
    its type. Provide a :class:`UserdataCodec` that converts it to JSON-able data.
    """

    def __init__(self, message: str, *, path: str, type_name: str) -> None:
        super().__init__(message)
        self.path = path
        self.type_name = type_name
