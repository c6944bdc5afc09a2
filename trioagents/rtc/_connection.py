"""One join of a room: the publisher and subscriber PCs and their signal links.

:func:`open_room_connection` owns, for the duration of its ``async with`` block,
the two aiortc peer connections (closed shielded and bounded by
``open_peer_connection``) and a nursery holding the current signal link
(``_signal_link.py``: websocket, core, reader, pinger). The first link joins; when
only the socket is lost, :meth:`RoomConnection.resume` opens another one with
``reconnect=1`` on the same PCs (LiveKit's resume: ReconnectResponse, SyncState,
ICE restart on both PCs). A refused or failed resume is the caller's cue to throw
the whole connection away and join afresh.

Concurrency rules:

* The link's reader is the only task that receives; it applies events in order
  (subscriber offers are answered inline so their order is kept). The exception:
  a renegotiation offer that arrives before the subscriber PC first connected is
  answered by ``answer_late_offers`` once it has (aiortc would leave the new
  track silent), and offers behind it queue there too, in order.
* Sends go through the websocket's send lock; publisher negotiations are
  serialized by ``_negotiation_lock`` (one offer in flight).
* A link ends when the reader sees a leave, the socket closes, the server is
  silent for ``ping_timeout``, or a protocol error occurs; its outcome says which
  and :meth:`wait_closed` returns it. A negotiation or request waiting on that link
  fails with ConnectionClosedError.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, Protocol, TypeVar

import trio
from livekit.protocol import rtc

from ..core import ConnectionClosedError, RemoteProtocolError, collapse_single_error
from ..protocol import (
    IceCandidateReceived,
    LocalTrackPublished,
    PublisherAnswerReceived,
    RequestAnswered,
    SignalConnectOptions,
    SignalEvent,
    SubscriberOfferReceived,
)
from ..transport import AsyncioBridge, adopt_remote_ice, open_peer_connection, restart_local_ice
from ._signal_link import ConnectionOutcome, SignalLink, serve_signal_link

__all__ = ["ConnectionOutcome", "RoomConnection", "SignalHandler", "open_room_connection"]

T = TypeVar("T")

SUBSCRIBER_CONNECT_WAIT = 10.0
"""Longest a renegotiation offer waits for the subscriber PC's first connection."""
MAX_LATE_OFFERS = 8
"""Offers queued before the subscriber PC connected; more is a protocol error."""


class SignalHandler(Protocol):
    """What the room supplies: called in Trio, must not block (except ``on_event``)."""

    async def on_event(self, event: SignalEvent) -> None: ...
    def on_remote_track(self, track_sid: str, track: Any) -> None: ...
    def on_data(self, data: bytes, reliable: bool) -> None: ...


class RoomConnection:
    def __init__(
        self,
        bridge: AsyncioBridge,
        publisher: Any,
        subscriber: Any,
        handler: SignalHandler,
        nursery: trio.Nursery,
    ) -> None:
        self.bridge = bridge
        self.link: SignalLink | None = None
        self.join: Any = None
        self.resumes = 0
        self._publisher = publisher
        self._subscriber = subscriber
        self._handler = handler
        self._nursery = nursery
        self._channels: dict[bool, Any] = {}
        self._remote_channels: list[Any] = []
        self._channels_open = trio.Event()
        self._negotiation_lock = trio.Lock()
        self._answer: trio.MemorySendChannel[str] | None = None
        self._pending_tracks: dict[str, trio.MemorySendChannel[Any]] = {}
        self._pending_requests: dict[int, trio.MemorySendChannel[RequestAnswered]] = {}
        self._published: dict[str, Any] = {}  # cid -> TrackInfo, for SyncState
        self._last_offer = ""
        self._last_answer = ""
        self._subscriber_up = trio.Event()
        self._late_offers_pending = 0
        self._late_send, self._late_receive = trio.open_memory_channel[
            tuple[SignalLink, SubscriberOfferReceived]
        ](MAX_LATE_OFFERS)

    @property
    def rtt_ms(self) -> int | None:
        return self.link.rtt_ms if self.link is not None else None

    # -- signalling -------------------------------------------------------------------

    def _live_link(self) -> SignalLink:
        link = self.link
        if link is None or link.closed.is_set():
            raise ConnectionClosedError("the signal connection has ended")
        return link

    async def send_signal(self, data: bytes) -> None:
        await self._live_link().send(data)

    async def open_link(
        self, url: str, token: str, options: SignalConnectOptions, *, resume: bool = False
    ) -> SignalLink:
        """Start a link in the connection's nursery; returns after its first message.

        ``resume``: ``reconnect=1`` for the participant of the current link.
        Raises what :func:`serve_signal_link` raises before its first message.
        """
        previous = self.link if resume else None
        run = partial(serve_signal_link, url, token, options, self._dispatch, self._link_ended)
        with collapse_single_error():  # the link's own error, not a group
            link: SignalLink = await self._nursery.start(run, previous)
        self.link = link
        if self.join is None:
            self.join = link.core.join
        return link

    async def resume(self, url: str, token: str, options: SignalConnectOptions) -> None:
        """Resume on a new socket: reconnect response, SyncState, publisher ICE restart.

        Raises ConnectionClosedError when a PC has failed (nothing to resume),
        JoinRefusedError when the server refuses (it wants a full rejoin), or what
        opening the link raises. The caller bounds it.
        """
        states: tuple[str, str] = await self.bridge.run(
            _pc_states, self._publisher, self._subscriber
        )
        if any(state in ("failed", "closed") for state in states):
            raise ConnectionClosedError("a peer connection failed: a resume cannot help")
        link = await self.open_link(url, token, options, resume=True)
        await link.send(link.core.send_sync_state(self._sync_state()))
        await self.negotiate_publisher(ice_restart=True)
        self.resumes += 1

    def _sync_state(self) -> rtc.SyncState:
        """What livekit clients report after a resume (mirrors the Rust SDK)."""
        state = rtc.SyncState(
            answer=rtc.SessionDescription(type="answer", sdp=self._last_answer),
            offer=rtc.SessionDescription(type="offer", sdp=self._last_offer),
            subscription=rtc.UpdateSubscription(subscribe=False),
        )
        for cid, info in self._published.items():
            state.publish_tracks.append(rtc.TrackPublishedResponse(cid=cid, track=info))
        for target, channels in (
            (rtc.SignalTarget.PUBLISHER, list(self._channels.values())),
            (rtc.SignalTarget.SUBSCRIBER, self._remote_channels),
        ):
            for channel in channels:
                info = rtc.DataChannelInfo(label=channel.label, id=channel.id or 0, target=target)
                state.data_channels.append(info)
        return state

    async def _dispatch(self, link: SignalLink, event: SignalEvent) -> None:
        if isinstance(event, SubscriberOfferReceived):
            if self._must_wait_for_subscriber():
                self._queue_late_offer(link, event)
            else:
                await self._answer_subscriber(link, event)
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
        else:
            await self._handler.on_event(event)

    async def _answer_subscriber(self, link: SignalLink, event: SubscriberOfferReceived) -> None:
        sdp = await self._apply_remote(_answer_offer, self._subscriber, event.sdp)
        self._last_answer = sdp
        await link.send(link.core.send_answer(sdp, event.offer_id))

    def _must_wait_for_subscriber(self) -> bool:
        """A renegotiation before the subscriber PC first connected waits for it.

        aiortc starts the receiver of a new m-line only from the connect step that
        runs after a description is applied, and only if DTLS is connected then: an
        offer answered during the first handshake leaves that track silent for the
        whole call. livekit-server sends such an offer when a track is published
        while we join. The first offer, and every later one once connected, is
        answered at once; while offers wait, later ones queue behind them (order).
        """
        first = not self._last_answer
        return self._late_offers_pending > 0 or (not first and not self._subscriber_up.is_set())

    def _queue_late_offer(self, link: SignalLink, event: SubscriberOfferReceived) -> None:
        try:
            self._late_send.send_nowait((link, event))
        except trio.WouldBlock:
            raise RemoteProtocolError(
                "the server sent more subscriber offers than it waited answers for"
            ) from None
        self._late_offers_pending += 1

    async def answer_late_offers(self) -> None:
        """Run until cancelled: answer queued offers once the subscriber PC is up.

        Waits at most ``SUBSCRIBER_CONNECT_WAIT`` (then answers anyway: a PC that
        never connects is the resume/rejoin logic's to handle). An offer whose link
        has ended is dropped (the next link resynchronises); one that cannot be
        applied ends its link as a protocol error, as it would have in the reader.
        """
        async for link, event in self._late_receive:
            with trio.move_on_after(SUBSCRIBER_CONNECT_WAIT):
                await self._subscriber_up.wait()
            try:
                if not link.closed.is_set():
                    await self._answer_subscriber(link, event)
            except RemoteProtocolError as exc:
                await link.fail(exc)
            except ConnectionClosedError:
                pass  # the link ended while we waited: nobody to answer
            finally:
                self._late_offers_pending -= 1

    def _link_ended(self) -> None:
        """The current link is over: whatever waits for an answer on it gives up."""
        if self._answer is not None:
            self._answer.close()
        for pending in (self._pending_requests, self._pending_tracks):
            for channel in pending.values():
                channel.close()
            pending.clear()

    async def wait_closed(self) -> ConnectionOutcome:
        """Wait until the current link ends; its outcome."""
        link = self._live_link() if self.link is None else self.link
        await link.closed.wait()
        assert link.outcome is not None
        return link.outcome

    async def leave(self, *, close_socket: bool = True) -> None:
        """Send our leave (client initiated) and close the socket; bound it by the caller."""
        if self.link is not None:
            await self.link.leave(close_socket=close_socket)

    # -- peer connections -----------------------------------------------------------------

    async def negotiate_publisher(self, *, ice_restart: bool = False) -> None:
        """Offer the publisher PC's current state and apply the server's answer.

        ``ice_restart``: with new ICE credentials (after a resume). Raises
        ConnectionClosedError when the link ends before the answer (the offer may or
        may not have been sent; a resume or the next join renegotiates).
        """
        async with self._negotiation_lock:
            send, receive = trio.open_memory_channel[str](1)
            self._answer = send
            try:
                link = self._live_link()
                sdp = await self.bridge.run(_create_offer, self._publisher, ice_restart)
                if link.closed.is_set():  # the core would refuse the offer
                    raise ConnectionClosedError("the signal connection ended during an offer")
                self._last_offer = sdp
                await link.send(link.core.send_offer(sdp))
                answer = await receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
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
        link = self._live_link()
        self._pending_tracks[track.id] = send
        await link.send(link.core.send_add_track(track.id, name))
        info = await _answer_of(receive)
        self._published[track.id] = info
        await self.bridge.run(_add_audio_sender, self._publisher, track)
        await self.negotiate_publisher()
        return info

    async def unpublish_track(self, track: Any) -> None:
        """Stop sending ``track`` and renegotiate; the server then unpublishes it.

        Its transceiver goes ``inactive`` (aiortc cannot remove an m-line), which
        is what the server reads as the track being unpublished.
        """
        self._published.pop(track.id, None)
        await self.bridge.run(_remove_audio_sender, self._publisher, track)
        await self.negotiate_publisher()

    async def update_subscription(self, track_sids: list[str], subscribe: bool) -> None:
        link = self._live_link()
        await link.send(link.core.send_subscription(track_sids, subscribe))

    async def update_attributes(self, attributes: dict[str, str]) -> RequestAnswered:
        """Raises ConnectionClosedError when the link ends before the answer."""
        link = self._live_link()
        request_id, data = link.core.send_update_attributes(attributes)
        send, receive = trio.open_memory_channel[RequestAnswered](1)
        self._pending_requests[request_id] = send
        await link.send(data)
        answered: RequestAnswered = await _answer_of(receive)
        return answered

    async def send_data(self, data: bytes, reliable: bool) -> None:
        """Send one packet on the publisher's data channel (waits for it to open)."""
        await self._channels_open.wait()
        self.bridge.call_soon(self._channels[reliable].send, data)

    async def setup_peers(self) -> None:
        publisher, subscriber, handler = self._publisher, self._subscriber, self._handler
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

            @subscriber.on("connectionstatechange")  # type: ignore[untyped-decorator]
            def on_state() -> None:
                if subscriber.connectionState == "connected":
                    post(self._subscriber_up.set)

            @subscriber.on("datachannel")  # type: ignore[untyped-decorator]
            def on_channel(channel: Any) -> None:
                self._remote_channels.append(channel)
                is_reliable = channel.label == "_reliable"
                channel.on("message", lambda m: post(_deliver, handler.on_data, m, is_reliable))

        await self.bridge.run(wire)


def _deliver(on_data: Callable[[bytes, bool], None], message: object, reliable: bool) -> None:
    if isinstance(message, bytes):
        on_data(message, reliable)


def _resolve(channel: trio.MemorySendChannel[Any] | None, value: Any) -> None:
    if channel is not None:
        with suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            channel.send_nowait(value)


async def _answer_of(receive: trio.MemoryReceiveChannel[T]) -> T:
    """The server's answer to a request, or ConnectionClosedError if the link ended."""
    try:
        return await receive.receive()
    except trio.EndOfChannel:
        raise ConnectionClosedError("the signal connection ended before the answer") from None


async def _pc_states(publisher: Any, subscriber: Any) -> tuple[str, str]:
    return str(publisher.connectionState), str(subscriber.connectionState)


async def _answer_offer(pc: Any, sdp: str) -> str:
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    if adopt_remote_ice(pc, sdp):  # the server restarted ICE (a resume): so do we
        restart_local_ice(pc)
    await pc.setLocalDescription(await pc.createAnswer())
    return str(pc.localDescription.sdp)


async def _create_offer(pc: Any, ice_restart: bool = False) -> str:
    if ice_restart:
        restart_local_ice(pc)
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def _apply_answer(pc: Any, sdp: str) -> None:
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    adopt_remote_ice(pc, sdp)


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
    with collapse_single_error():  # a refused join is raised as itself
        async with (
            open_peer_connection(bridge) as publisher,
            open_peer_connection(bridge) as subscriber,
            trio.open_nursery() as nursery,
        ):
            connection = RoomConnection(bridge, publisher, subscriber, handler, nursery)
            await connection.setup_peers()
            nursery.start_soon(connection.answer_late_offers)
            await connection.open_link(url, token, options)
            try:
                yield connection
            finally:
                nursery.cancel_scope.cancel()
