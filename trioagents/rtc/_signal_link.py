"""One signal websocket of a room connection: socket, sans-I/O core, reader, pinger.

A :class:`~._connection.RoomConnection` keeps its peer connections across signal
links: the first link joins, a later one resumes (``reconnect=1``) when only the
socket was lost. :func:`serve_signal_link` runs one link as a task in the
connection's nursery (started with ``nursery.start``): it reports the link once the
first server message arrived (JoinResponse, or ReconnectResponse for a resume), so
an unreachable server, a refused join or resume (a leave) or a protocol error before
that is raised to whoever started it. After that the link records how it ended
(:class:`ConnectionOutcome`) instead of raising, and the task ends with it.

Outcomes: "left" (the server said disconnect, or we left), "resume" (the socket
closed, the server went silent past ``ping_timeout``, or asked for a resume: the
peer connections may still be up), "reconnect" (the server asked for a full
rejoin), "error" (a protocol error, answered with a leave).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import trio

from ..core import ConnectionClosedError, RemoteProtocolError, TrioAgentsError
from ..protocol import (
    JoinAccepted,
    LeaveRequested,
    PongReceived,
    Reconnected,
    SignalClient,
    SignalConnectOptions,
    SignalEvent,
    signal_url,
)
from ..transport import WebSocketClient, open_websocket_client
from ._errors import JoinRefusedError

__all__ = ["ConnectionOutcome", "SignalLink", "serve_signal_link"]


@dataclass(frozen=True, slots=True)
class ConnectionOutcome:
    """``kind``: "left", "resume", "reconnect" or "error" (``error`` set)."""

    kind: str
    reason: str
    error: TrioAgentsError | None = None


Dispatch = Callable[["SignalLink", SignalEvent], Awaitable[None]]


class SignalLink:
    """A live signal socket; obtain it from :func:`serve_signal_link`."""

    def __init__(
        self,
        ws: WebSocketClient,
        core: SignalClient,
        first: JoinAccepted | Reconnected,
        on_end: Callable[[], None],
    ) -> None:
        self.ws = ws
        self.core = core
        self.first = first
        self.outcome: ConnectionOutcome | None = None
        self.closed = trio.Event()
        self.rtt_ms: int | None = None
        self._on_end = on_end
        self._last_heard = trio.current_time()

    async def send(self, data: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionClosedError("the signal connection has ended")
        await self.ws.send(data)

    def finish(self, outcome: ConnectionOutcome) -> None:
        """Record how the link ended (the first outcome wins). Never raises."""
        if self.outcome is None:
            self.outcome = outcome
        if not self.closed.is_set():
            self.closed.set()
            self._on_end()

    async def serve_reader(self, dispatch: Dispatch) -> None:
        """Receive until the link ends; leaves are handled here, the rest dispatched."""
        try:
            while not self.closed.is_set():
                data = await self.ws.receive()
                self.core.set_time(int(trio.current_time() * 1000))
                event = self.core.receive_message(data)
                self._last_heard = trio.current_time()
                if isinstance(event, LeaveRequested):
                    kinds = {"disconnect": "left", "resume": "resume", "reconnect": "reconnect"}
                    self.finish(ConnectionOutcome(kinds[event.action], event.reason))
                elif isinstance(event, PongReceived):
                    self.rtt_ms = event.rtt_ms
                elif event is not None:
                    await dispatch(self, event)
        except RemoteProtocolError as exc:
            await self.fail(exc)
        except ConnectionClosedError:  # after our own leave the outcome is kept
            self.finish(ConnectionOutcome("resume", "signal connection closed"))

    async def fail(self, error: RemoteProtocolError) -> None:
        """End the link for a protocol error of the server's: a leave, then the outcome."""
        await self._leave_after_error()
        self.finish(ConnectionOutcome("error", "protocol error", error))

    async def _leave_after_error(self) -> None:
        # a dead socket makes the leave fail: nothing left to tell, so suppressed
        with trio.CancelScope(shield=True), trio.move_on_after(1), suppress(TrioAgentsError):
            await self.ws.send(self.core.send_leave("STATE_MISMATCH"))

    async def serve_pings(self, interval: float, silence_limit: float) -> None:
        """Ping every ``interval``; end the link after ``silence_limit`` of silence."""
        while not self.closed.is_set():
            await trio.sleep(interval)
            if trio.current_time() - self._last_heard > silence_limit:
                self.finish(ConnectionOutcome("resume", "server silent past ping timeout"))
                return
            try:
                await self.send(self.core.send_ping(int(trio.current_time() * 1000)))
            except TrioAgentsError:
                return  # the reader reports the closed socket

    async def leave(self, *, close_socket: bool = True) -> None:
        """Send our leave and close the socket (bounded by the caller); a dead socket
        is ignored: there is nobody left to tell."""
        self.finish(ConnectionOutcome("left", "CLIENT_INITIATED"))
        with suppress(TrioAgentsError):
            await self.ws.send(self.core.send_leave("CLIENT_INITIATED"))
        if close_socket:
            await self.ws.aclose()


async def serve_signal_link(
    url: str,
    token: str,
    options: SignalConnectOptions,
    dispatch: Dispatch,
    on_end: Callable[[], None],
    previous: SignalLink | None = None,
    *,
    task_status: trio.TaskStatus[SignalLink] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open a link (a resume of ``previous``'s participant when given) and serve it.

    Before ``task_status.started``: raises ConnectError, ConnectionClosedError,
    RemoteProtocolError, or :class:`JoinRefusedError` for a leave instead of the
    join (or reconnect) response. The caller bounds it with its deadline.
    """
    resume_sid = ""
    if previous is not None and previous.core.join is not None:
        resume_sid = previous.core.join.participant.sid
    ws_url, headers = signal_url(url, token, options, resume_sid=resume_sid)
    async with open_websocket_client(ws_url, extra_headers=headers) as ws:
        core = SignalClient.resumed(previous.core) if previous is not None else SignalClient()
        first = await _receive_first(ws, core)
        link = SignalLink(ws, core, first, on_end)
        assert core.join is not None
        interval = core.join.ping_interval or 5
        timeout = core.join.ping_timeout or 15
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(link.serve_pings, interval, timeout)
                task_status.started(link)
                await link.serve_reader(dispatch)
                nursery.cancel_scope.cancel()
        finally:
            link.finish(ConnectionOutcome("resume", "signal link cancelled"))


async def _receive_first(ws: WebSocketClient, core: SignalClient) -> JoinAccepted | Reconnected:
    try:
        event = core.receive_message(await ws.receive())
    except RemoteProtocolError:
        with trio.CancelScope(shield=True), trio.move_on_after(1), suppress(TrioAgentsError):
            await ws.send(core.send_leave("JOIN_FAILURE"))
        raise
    if isinstance(event, LeaveRequested):
        raise JoinRefusedError(event.reason)
    assert isinstance(event, JoinAccepted | Reconnected)  # the core accepts nothing else first
    return event
