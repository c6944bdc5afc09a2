"""Resuming a participant whose signal websocket dropped (LiveKit's ``reconnect=1``).

livekit-server keeps a participant whose signal connection closed as long as its
peer connections are up (``HandleSignalSourceClose``) and lets the client resume on
a new socket (``Room.ResumeParticipant``): it answers ``reconnect`` (a
ReconnectResponse), then a ParticipantUpdate with everyone (the client's own info
included), a RoomUpdate, and restarts ICE on the subscriber PC. The client restarts
ICE on its publisher PC and sends SyncState; a published track in it that the server
does not know means the states diverged, and the server asks for a full reconnect.

Here a detached session waits at most ``RESUME_WINDOW`` for the new socket; the
participant stays in the room meanwhile (the others see no departure) and its media
keeps flowing. The new socket is accepted by another connection task, which owns it:
:class:`ResumeSlot` lends it to the session and waits until the session is done with
it, so every socket still closes in the task that accepted it.

A resume for an unknown identity, a session that is not waiting, or a different
participant sid is refused with ``leave(STATE_MISMATCH, RECONNECT)``, as
livekit-server does; both SDKs (and our room) then join afresh.
"""

from __future__ import annotations

from typing import Any

import trio
from livekit.protocol import models, rtc

from ._registry import ParticipantRecord

__all__ = [
    "RESUME_WINDOW",
    "ResumeSlot",
    "full_reconnect_leave",
    "reconnect_messages",
    "sync_state_mismatch",
]

RESUME_WINDOW = 20.0  # seconds a detached participant waits for its resume


class ResumeSlot:
    """Where a resuming connection hands its websocket to the waiting session."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[tuple[Any, trio.Event]](0)

    async def hand_over(self, websocket: Any) -> bool:
        """Lend ``websocket`` to the session; return once it is done with it.

        False at once when no session is waiting (the caller refuses the resume).
        """
        done = trio.Event()
        try:
            self._send.send_nowait((websocket, done))
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        await done.wait()
        return True

    async def wait(self, window: float, closing: trio.Event) -> tuple[Any, trio.Event] | None:
        """The next lent socket and its done event, or None after ``window`` seconds or
        once ``closing`` is set (the participant was removed meanwhile)."""
        handed: tuple[Any, trio.Event] | None = None
        async with trio.open_nursery() as nursery:

            async def stop_on_close() -> None:
                await closing.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(stop_on_close)
            with trio.move_on_after(window):
                handed = await self._receive.receive()
            nursery.cancel_scope.cancel()
        return handed

    def close(self) -> None:
        """No more resumes; a socket lent meanwhile is given back at once."""
        self._send.close()
        while True:
            try:
                _, done = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            done.set()


def reconnect_messages(
    me: ParticipantRecord, server_info: models.ServerInfo
) -> list[rtc.SignalResponse]:
    """What a resumed participant is sent first, in livekit-server's order."""
    response = rtc.ReconnectResponse(
        server_info=server_info,
        client_configuration=models.ClientConfiguration(),
        last_message_seq=0,  # data channels live on the PCs: nothing was lost with the socket
    )
    everyone = [me.info, *me.room.visible_infos(exclude=me)]
    return [
        rtc.SignalResponse(reconnect=response),
        rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=everyone)),
        rtc.SignalResponse(room_update=rtc.RoomUpdate(room=me.room.snapshot())),
    ]


def sync_state_mismatch(me: ParticipantRecord, state: rtc.SyncState) -> bool:
    """A published track the client reports that we do not know (livekit-server's
    ``onSyncState`` check): the states diverged and only a full reconnect helps."""
    known = {t.sid for t in me.info.tracks} | {t.sid for t in me.pending_tracks.values()}
    return any(not p.HasField("track") or p.track.sid not in known for p in state.publish_tracks)


def full_reconnect_leave() -> rtc.SignalResponse:
    leave = rtc.LeaveRequest(
        reason=models.DisconnectReason.STATE_MISMATCH, action=rtc.LeaveRequest.RECONNECT
    )
    return rtc.SignalResponse(leave=leave)
