"""Resource limits: open connections and name lengths.

The dev server is for development, but it listens on a socket: a client that opens
connections without end, or names a room with 900 KB, must get a refusal that says
which limit it hit, not grow the server's memory.

* Names are limited as livekit-server limits them (``limit.max_room_name_length``,
  ``limit.max_participant_identity_length``: 256 bytes by default, Go's ``len`` of
  the UTF-8 string), on ``/rtc`` and on CreateRoom/CreateDispatch, with the same
  error text (``room name length exceeds limits: max length 256``).
* :class:`ConnectionGate` counts open TCP connections; one over ``max_connections``
  is answered ``503`` and closed. The first refusal is logged; the next line only
  after the count fell below the limit again, so a flood of connections does not
  flood the log as well.

Rejected alternative for the connection cap: stop accepting while full (a semaphore
around ``accept``). The kernel's backlog then holds the clients, which time out
without knowing why; a 503 says it.
"""

from __future__ import annotations

import logging

__all__ = ["ConnectionGate", "identity_error", "room_name_error"]

log = logging.getLogger("trioagents.devserver")


def room_name_error(name: str, limit: int) -> str | None:
    """livekit-server's error text if ``name`` is over ``limit`` bytes, else ``None``."""
    if len(name.encode("utf-8")) > limit:
        return f"room name length exceeds limits: max length {limit}"
    return None


def identity_error(identity: str, limit: int) -> str | None:
    """livekit-server's error text if ``identity`` is over ``limit`` bytes, else ``None``."""
    if len(identity.encode("utf-8")) > limit:
        return f"participant identity length exceeds limits: max length {limit}"
    return None


class ConnectionGate:
    """Counts open connections against ``limit``; synchronous, no checkpoint."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.refused = 0
        self._logged = False

    @property
    def refusal(self) -> bytes:
        return f"too many connections: max_connections {self.limit}".encode()

    def try_enter(self) -> bool:
        """Count a new connection in; ``False`` (and counted as refused) when full."""
        if self.open < self.limit:
            self.open += 1
            return True
        self.refused += 1
        if not self._logged:
            self._logged = True
            log.warning(
                "connection limit reached (max_connections %d): refusing with 503",
                self.limit,
                extra={"max_connections": self.limit},
            )
        return False

    def leave(self) -> None:
        self.open -= 1
        if self.open < self.limit:
            self._logged = False
