"""ICE restarts for aiortc peer connections (which have no ``restartIce``).

LiveKit's resume restarts ICE on both peer connections: the server offers the
subscriber PC with fresh ICE credentials and the client re-offers its publisher PC
the same way. aiortc 1.16 neither creates such offers nor notices one: its ICE
transport starts once and keeps the credentials of the first negotiation, so the
peer's connectivity checks under the new credentials would fail (aioice checks the
remote username fragment of every request) and, after six failed consent checks,
the connection would close.

An ICE restart here swaps credentials on the live aioice connection and keeps its
sockets and selected pair; the DTLS association and SCTP run on unchanged. The
connection answers checks under the new credentials at once (learning new pairs as
triggered checks, which may move the selected pair) and its consent checks use
them. That is what RFC 8445 section 9 asks of an agent: new ufrag/pwd, same
components.

* Offerer: :func:`restart_local_ice` before ``createOffer``; after the answer is
  applied, :func:`adopt_remote_ice`.
* Answerer: :func:`adopt_remote_ice` after applying an offer; when it reports new
  remote credentials (the peer restarted), it renews ours too before the answer.

The one private attribute touched is aioice's ``Connection._local_username`` /
``_local_password`` (read-only properties, no setter); ``remote_username`` /
``remote_password`` are public. Rejected alternative: a new RTCPeerConnection per
resume, which is a full reconnect by another name (new DTLS, new tracks).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

__all__ = ["adopt_remote_ice", "ice_credentials", "restart_local_ice"]

_ALPHABET = string.ascii_letters + string.digits


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _connections(pc: Any) -> list[Any]:
    """The distinct aioice connections under ``pc``'s transports (one with BUNDLE)."""
    transports = [t.receiver.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    found: list[Any] = []
    for dtls in transports:
        connection = dtls.transport._connection  # RTCIceTransport's aioice Connection
        if all(connection is not seen for seen in found):
            found.append(connection)
    return found


def ice_credentials(sdp: str) -> tuple[str, str] | None:
    """The first ``a=ice-ufrag`` / ``a=ice-pwd`` pair of an SDP (BUNDLE: one transport)."""
    ufrag = password = None
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:") and ufrag is None:
            ufrag = line[len("a=ice-ufrag:") :].strip()
        elif line.startswith("a=ice-pwd:") and password is None:
            password = line[len("a=ice-pwd:") :].strip()
    return (ufrag, password) if ufrag and password else None


def restart_local_ice(pc: Any) -> None:
    """Give ``pc`` new local ICE credentials (on the loop; before an offer or answer)."""
    for connection in _connections(pc):
        connection._local_username = _random(8)
        connection._local_password = _random(24)


def adopt_remote_ice(pc: Any, sdp: str) -> bool:
    """Take the remote credentials of an applied ``sdp``; True when they changed.

    Only a connection that already had remote credentials can change them (the
    first negotiation sets them through aiortc itself).
    """
    credentials = ice_credentials(sdp)
    if credentials is None:
        return False
    changed = False
    for connection in _connections(pc):
        if connection.remote_username is None:
            continue
        if (connection.remote_username, connection.remote_password) != credentials:
            connection.remote_username, connection.remote_password = credentials
            changed = True
    return changed
