"""One join of a room: signal socket, signal core, publisher and subscriber PCs.

:func:`open_room_connection` owns, for the duration of its ``async with`` block,
the websocket, the two aiortc peer connections (closed shielded and bounded by
``open_peer_connection``) and a nursery with exactly two tasks: the signal reader
and the pinger. A reconnect throws the whole connection away and opens a new one
(aiortc cannot ICE-restart, so a resume is never attempted).

Concurrency rules:

* The reader is the only task that receives; it applies events in order
  (subscriber offers are answered inline so their order is kept).
* Sends go through the websocket's send lock; publisher negotiations are
  serialized by ``_negotiation_lock`` (one offer in flight).
* The connection ends when the reader sees a leave, the socket closes, the
  server is silent for ``ping_timeout``, or a protocol error occurs; then
  :attr:`RoomConnection.outcome` says which and :meth:`wait_closed` returns.
  A protocol error is answered with a leave before the socket closes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import trio

from ..core import ConnectionClosedError, RemoteProtocolError, TrioAgentsError
from ..protocol import (
    IceCandidateReceived,
    JoinAccepted,
    LeaveRequested,
    LocalTrackPublished,
    PongReceived,
    PublisherAnswerReceived,
    RequestAnswered,
    SignalClient,
    SignalConnectOptions,
    SignalEvent,
    SubscriberOfferReceived,
    signal_url,
)
from ..transport import AsyncioBridge, WebSocketClient, open_peer_connection, open_websocket_client
from ._errors import JoinRefusedError

__all__ = ["ConnectionOutcome", "RoomConnection", "SignalHandler", "open_room_connection"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConnectionOutcome:
    """``kind``: "left" (server said disconnect), "reconnect", or "error" (``error`` set)."""

    kind: str
    reason: str
    error: TrioAgentsError | None = None


class SignalHandler(Protocol):
    """What the room supplies: called in Trio, must not block (except ``on_event``)."""

    async def on_event(self, event: SignalEvent) -> None: ...
    def on_remote_track(self, track_sid: str, track: Any) -> None: ...
    def on_data(self, data: bytes, reliable: bool) -> None: ...


class RoomConnection:
    def __init__(
        self, bridge: AsyncioBridge, ws: WebSocketClient, core: SignalClient, join: Any
    ) -> None:
        self.bridge = bridge
        self.join = join
        self._ws = ws
        self._core = core
        self._publisher: Any = None
        self._subscriber: Any = None
        self._channels: dict[bool, Any] = {}
        self._channels_open = trio.Event()
        self._negotiation_lock = trio.Lock()
        self._answer: trio.MemorySendChannel[str] | None = None
        self._pending_tracks: dict[str, trio.MemorySendChannel[Any]] = {}
        self._pending_requests: dict[int, trio.MemorySendChannel[RequestAnswered]] = {}
        self._closed = trio.Event()
        self.outcome: ConnectionOutcome | None = None
        self.rtt_ms: int | None = None
        self._last_heard = trio.current_time()

    # -- signalling -------------------------------------------------------------------

    async def send_signal(self, data: bytes) -> None:
        await self._ws.send(data)

    async def serve_reader(self, handler: SignalHandler) -> None:
        """Receive until the connection ends; records :attr:`outcome`."""
        try:
            while True:
                data = await self._ws.receive()
                self._core.set_time(int(trio.current_time() * 1000))
                event = self._core.receive_message(data)
                self._last_heard = trio.current_time()
                if event is not None and await self._dispatch(event, handler):
                    return
        except RemoteProtocolError as exc:
            await self._leave_after_error()
            self._finish(ConnectionOutcome("error", "protocol error", exc))
        except ConnectionClosedError as exc:  # after our own leave the outcome is kept
            self._finish(ConnectionOutcome("reconnect", "signal connection closed", exc))

    async def _dispatch(self, event: SignalEvent, handler: SignalHandler) -> bool:
        if isinstance(event, SubscriberOfferReceived):
            sdp = await self._apply_remote(_answer_offer, self._subscriber, event.sdp)
            await self.send_signal(self._core.send_answer(sdp, event.offer_id))
        elif isinstance(event, PublisherAnswerReceived):
            if self._answer is not None:
                with suppress(trio.WouldBlock):  # a second answer to one offer: ignored
                    self._answer.send_nowait(event.sdp)
        elif isinstance(event, IceCandidateReceived):
            pc = self._publisher if event.target == "publisher" else self._subscriber
            await self._apply_remote(_add_candidate, pc, event.candidate_init)
        elif isinstance(event, LocalTrackPublished):
            _resolve(self._pending_tracks.pop(event.cid, None), event.track)
        elif isinstance(event, RequestAnswered):
            _resolve(self._pending_requests.pop(event.request_id, None), event)
        elif isinstance(event, PongReceived):
            self.rtt_ms = event.rtt_ms
        elif isinstance(event, LeaveRequested):
            kind = "left" if event.action == "disconnect" else "reconnect"
            self._finish(ConnectionOutcome(kind, event.reason))
            return True
        else:
            await handler.on_event(event)
        return False

    async def _leave_after_error(self) -> None:
        # a dead socket makes the leave fail: nothing left to tell, so suppressed
        with trio.CancelScope(shield=True), trio.move_on_after(1), suppress(TrioAgentsError):
            await self.send_signal(self._core.send_leave("STATE_MISMATCH"))

    async def serve_pings(self) -> None:
        """Ping every ``ping_interval``; end the connection after ``ping_timeout`` of silence."""
        interval = self.join.ping_interval or 5
        timeout = self.join.ping_timeout or 15
        while True:
            await trio.sleep(interval)
            if trio.current_time() - self._last_heard > timeout:
                self._finish(ConnectionOutcome("reconnect", "server silent past ping timeout"))
                return
            try:
                await self.send_signal(self._core.send_ping(int(trio.current_time() * 1000)))
            except TrioAgentsError:
                return  # the reader reports the closed socket

    def _finish(self, outcome: ConnectionOutcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
        self._closed.set()
        if self._answer is not None:
            self._answer.close()  # a negotiation waiting for the answer ends now

    async def wait_closed(self) -> ConnectionOutcome:
        await self._closed.wait()
        assert self.outcome is not None
        return self.outcome

    async def leave(self, *, close_socket: bool = True) -> None:
        """Send our leave (client initiated) and close the socket; bound it by the caller.

        Errors on an already dead socket are ignored: there is nobody left to tell.
        """
        self._finish(ConnectionOutcome("left", "CLIENT_INITIATED"))
        with suppress(TrioAgentsError):
            await self.send_signal(self._core.send_leave("CLIENT_INITIATED"))
        if close_socket:
            await self._ws.aclose()

    # -- peer connections -----------------------------------------------------------------

    async def negotiate_publisher(self) -> None:
        """Offer the publisher PC's current state and apply the server's answer.

        Raises ConnectionClosedError when the connection ends before the answer
        (the offer may or may not have been sent; the room's next join renegotiates).
        """
        async with self._negotiation_lock:
            send, receive = trio.open_memory_channel[str](1)
            self._answer = send
            try:
                if self._closed.is_set():
                    raise ConnectionClosedError("the signal connection has ended")
                sdp = await self.bridge.run(_create_offer, self._publisher)
                if self._closed.is_set():  # the core would refuse the offer
                    raise ConnectionClosedError("the signal connection ended during an offer")
                await self.send_signal(self._core.send_offer(sdp))
                answer = await receive.receive()
            except trio.EndOfChannel:
                ended = "the signal connection ended before the answer"
                raise ConnectionClosedError(ended) from None
            finally:
                self._answer = None
            await self._apply_remote(_apply_answer, self._publisher, answer)

    async def _apply_remote(self, corofn: Callable[..., Awaitable[T]], pc: Any, text: str) -> T:
        """Apply server-sent SDP or a candidate on the loop.

        Whatever aiortc raises on it (ValueError mostly, InvalidStateError for an
        answer out of turn) is the server's fault: RemoteProtocolError.
        """
        try:
            return await self.bridge.run(corofn, pc, text)
        except Exception as exc:  # the aiortc boundary with untrusted input
            raise RemoteProtocolError(
                "the server sent a session description or candidate that cannot be applied",
                payload=text[:256].encode(),
            ) from exc

    async def wait_data_channels_open(self) -> None:
        """Wait until the publisher's data channels are open (so ICE and DTLS are up).

        Renegotiating aiortc before its first connection completes races its
        connect task, so the room waits for this after the first negotiation.
        """
        await self._channels_open.wait()

    async def publish_track(self, track: Any, name: str) -> Any:
        """``add_track``, wait for the TrackInfo, add the sender, renegotiate."""
        send, receive = trio.open_memory_channel[Any](1)
        self._pending_tracks[track.id] = send
        await self.send_signal(self._core.send_add_track(track.id, name))
        info = await receive.receive()
        await self.bridge.run(_add_audio_sender, self._publisher, track)
        await self.negotiate_publisher()
        return info

    async def unpublish_track(self, track: Any) -> None:
        """Stop sending ``track`` and renegotiate; the server then unpublishes it.

        Its transceiver goes ``inactive`` (aiortc cannot remove an m-line), which
        is what the server reads as the track being unpublished.
        """
        await self.bridge.run(_remove_audio_sender, self._publisher, track)
        await self.negotiate_publisher()

    async def update_subscription(self, track_sids: list[str], subscribe: bool) -> None:
        await self.send_signal(self._core.send_subscription(track_sids, subscribe))

    async def update_attributes(self, attributes: dict[str, str]) -> RequestAnswered:
        request_id, data = self._core.send_update_attributes(attributes)
        send, receive = trio.open_memory_channel[RequestAnswered](1)
        self._pending_requests[request_id] = send
        await self.send_signal(data)
        return await receive.receive()

    async def send_data(self, data: bytes, reliable: bool) -> None:
        """Send one packet on the publisher's data channel (waits for it to open)."""
        await self._channels_open.wait()
        self.bridge.call_soon(self._channels[reliable].send, data)

    async def setup_peers(self, publisher: Any, subscriber: Any, handler: SignalHandler) -> None:
        self._publisher, self._subscriber = publisher, subscriber
        post = self.bridge.post

        def channel_open() -> None:
            if all(c.readyState == "open" for c in self._channels.values()):
                self._channels_open.set()

        async def wire() -> None:  # on the loop
            reliable = publisher.createDataChannel("_reliable", ordered=True)
            lossy = publisher.createDataChannel("_lossy", ordered=False, maxRetransmits=0)
            self._channels = {True: reliable, False: lossy}
            for channel in (reliable, lossy):
                channel.on("open", lambda: post(channel_open))

            @subscriber.on("track")  # type: ignore[untyped-decorator]
            def on_track(track: Any) -> None:
                post(handler.on_remote_track, track.id, track)

            @subscriber.on("datachannel")  # type: ignore[untyped-decorator]
            def on_channel(channel: Any) -> None:
                is_reliable = channel.label == "_reliable"
                channel.on("message", lambda m: post(_deliver, handler.on_data, m, is_reliable))

        await self.bridge.run(wire)


def _deliver(on_data: Callable[[bytes, bool], None], message: object, reliable: bool) -> None:
    if isinstance(message, bytes):
        on_data(message, reliable)


def _resolve(channel: trio.MemorySendChannel[Any] | None, value: Any) -> None:
    if channel is not None:
        channel.send_nowait(value)


async def _answer_offer(pc: Any, sdp: str) -> str:
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return str(pc.localDescription.sdp)


async def _create_offer(pc: Any) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def _apply_answer(pc: Any, sdp: str) -> None:
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


async def _add_audio_sender(pc: Any, track: Any) -> None:
    from aiortc.rtcrtpsender import RTCRtpSender

    transceiver = pc.addTransceiver(track, direction="sendonly")
    opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name == "opus"]
    transceiver.setCodecPreferences(opus)


async def _remove_audio_sender(pc: Any, track: Any) -> None:
    for transceiver in pc.getTransceivers():
        if transceiver.sender.track is track:
            transceiver.sender.replaceTrack(None)
            transceiver.direction = "inactive"
    track.stop()


async def _add_candidate(pc: Any, candidate_init: str) -> None:
    from aiortc.sdp import candidate_from_sdp

    init = json.loads(candidate_init)
    text = str(init.get("candidate", ""))
    if not text or pc.remoteDescription is None:
        return  # end-of-candidates, or a candidate before the description: skip
    candidate = candidate_from_sdp(text.removeprefix("candidate:"))
    candidate.sdpMid = init.get("sdpMid")
    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
    await pc.addIceCandidate(candidate)


@asynccontextmanager
async def open_room_connection(
    bridge: AsyncioBridge,
    url: str,
    token: str,
    options: SignalConnectOptions,
    handler: SignalHandler,
) -> AsyncIterator[RoomConnection]:
    """Join once; yields after the JoinResponse with both PCs created and wired.

    The caller bounds the join with its own deadline. Raises ConnectError when the
    socket cannot be opened, RemoteProtocolError when the server misbehaves before
    the join, ConnectionClosedError if it hangs up first, and
    :class:`JoinRefusedError` when the server answers with a leave.
    """
    ws_url, headers = signal_url(url, token, options)
    async with open_websocket_client(ws_url, extra_headers=headers) as ws:
        core = SignalClient()
        join = await _receive_join(ws, core)
        async with (
            open_peer_connection(bridge) as publisher,
            open_peer_connection(bridge) as subscriber,
            trio.open_nursery() as nursery,
        ):
            connection = RoomConnection(bridge, ws, core, join.join)
            await connection.setup_peers(publisher, subscriber, handler)
            nursery.start_soon(connection.serve_reader, handler)
            nursery.start_soon(connection.serve_pings)
            try:
                yield connection
            finally:
                nursery.cancel_scope.cancel()


async def _receive_join(ws: WebSocketClient, core: SignalClient) -> JoinAccepted:
    try:
        event = core.receive_message(await ws.receive())
    except RemoteProtocolError:
        with trio.CancelScope(shield=True), trio.move_on_after(1), suppress(TrioAgentsError):
            await ws.send(core.send_leave("JOIN_FAILURE"))
        raise
    if isinstance(event, LeaveRequested):
        raise JoinRefusedError(event.reason)
    assert isinstance(event, JoinAccepted)  # the core accepts nothing else first
    return event
