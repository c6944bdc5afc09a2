"""One ``/rtc`` participant: LiveKit's dual-PC ("v0") signalling flow.

Lifetime: :func:`serve_rtc_session` runs inside the connection's task. It opens the
participant's two peer connections, joins the registry, sends the JoinResponse first
(nothing else can be queued before it: join and enqueue happen without a checkpoint),
then runs three tasks under one nursery until the socket closes or the participant is
evicted:

* the reader (this task) handles SignalRequests in order;
* the outbox writer;
* the subscriber negotiator: one server offer at a time; each offer waits for the
  client's answer (bounded by ``ANSWER_TIMEOUT``) before the next, and subscriptions
  queued meanwhile ride on the next offer. A renegotiation also waits (same bound)
  until the subscriber PC first connected: aiortc starts a new m-line's sender and
  receiver only from a connect step that finds DTLS up, so an m-line added while
  the first DTLS handshake runs would never carry media on either side (a track
  published while an agent joins was never heard);
* the media-event pump (tracks and data from aiortc, peer-connection states).

A socket that drops without a leave does not end the participant while its
subscriber PC is connected: the session detaches and waits for a resume on a new
socket (see ``_resume.py``), then restarts ICE on the subscriber PC (and answers the
client's ICE-restart offer for the publisher PC; ``transport/_ice_restart.py``).

On exit, however it happens, the participant leaves the registry (others get a
DISCONNECTED update) and its tracks stop being relayed; the PCs are closed by
:func:`open_participant_media`, shielded and bounded.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import trio
from livekit.protocol import models, rtc

from ..core import ConnectionClosedError, RemoteProtocolError, collapse_single_error
from ..protocol import TokenClaims, decode_signal_request
from ._hub import SignalHub
from ._media import (
    DataArrived,
    MediaEvent,
    MediaTrackArrived,
    ParticipantMedia,
    PeerStateChanged,
    RelayedTrack,
    open_participant_media,
    stopped_mids,
)
from ._outbox import Outbox
from ._registry import ParticipantRecord
from ._resume import (
    RESUME_WINDOW,
    ResumeSlot,
    full_reconnect_leave,
    reconnect_messages,
    sync_state_mismatch,
)

__all__ = ["SignalSession", "client_info_from_query", "serve_rtc_session"]

log = logging.getLogger("trioagents.devserver.signal")

PING_INTERVAL = 5
PING_TIMEOUT = 15
ANSWER_TIMEOUT = 15.0
_TRUE = ("1", "true", "yes", "on")


def client_info_from_query(params: dict[str, list[str]]) -> tuple[models.ClientInfo, bool]:
    """ClientInfo and the auto-subscribe flag from ``/rtc`` query parameters."""

    def get(name: str) -> str:
        values = params.get(name)
        return values[0] if values else ""

    def number(name: str) -> int:
        text = get(name)
        return int(text) if text.isdigit() and len(text) < 10 else 0

    sdk_name = get("sdk").upper()
    known = sdk_name in set(models.ClientInfo.SDK.keys())
    info = models.ClientInfo(
        sdk=sdk_name if known else "UNKNOWN",
        version=get("version")[:64],
        protocol=number("protocol"),
        client_protocol=number("client_protocol"),
        os=get("os")[:64],
        browser=get("browser")[:64],
    )
    auto = get("auto_subscribe")
    return info, (auto == "" or auto.lower() in _TRUE)


class SignalSession:
    """The live state of one participant's signalling connection."""

    def __init__(
        self,
        hub: SignalHub,
        participant: ParticipantRecord,
        media: ParticipantMedia,
        outbox: Outbox,
        auto_subscribe: bool,
    ) -> None:
        self.hub = hub
        self.participant = participant
        self.media = media
        self.outbox = outbox
        self.auto_subscribe = auto_subscribe
        self._queued: list[RelayedTrack] = []
        self._offer_wanted = trio.Event()
        self._answered = trio.Event()
        self._subscriber_up = trio.Event()  # the subscriber PC connected once
        self._offer_id = 0
        self._subscribed: set[str] = set()
        self._ice_restart = False
        self.resume_slot = ResumeSlot()
        self.resumes = 0
        self.leave_reason: models.DisconnectReason = models.DisconnectReason.UNKNOWN_REASON

    # -- SessionPort ---------------------------------------------------------------

    def subscribe(self, track: RelayedTrack) -> None:
        if track.track_sid in self._subscribed:
            return
        self._subscribed.add(track.track_sid)
        self._queued.append(track)
        self._offer_wanted.set()

    def request_offer(self) -> None:
        """Ask the negotiator for a new subscriber offer (even without additions)."""
        self._offer_wanted.set()

    def unsubscribe(self, track_sid: str) -> None:
        self._subscribed.discard(track_sid)
        self._queued = [t for t in self._queued if t.track_sid != track_sid]
        self.media.stop_relay(track_sid)

    def deliver_data(self, data: bytes, *, reliable: bool) -> None:
        self.media.send_data(data, reliable=reliable)

    async def hand_over(self, websocket: Any) -> bool:
        """Resume on ``websocket`` if this session waits for one; returns when done with it."""
        return await self.resume_slot.hand_over(websocket)

    # -- tasks ---------------------------------------------------------------------

    async def negotiate_subscriber(self) -> None:
        """Send one subscriber offer at a time; runs until cancelled."""
        while True:
            await self._offer_wanted.wait()
            if self._offer_id and not self._subscriber_up.is_set():
                with trio.move_on_after(ANSWER_TIMEOUT):
                    await self._subscriber_up.wait()
            self._offer_wanted = trio.Event()
            additions, self._queued = self._queued, []
            restart, self._ice_restart = self._ice_restart, False
            sdp = await self.media.offer_subscriber(additions, ice_restart=restart)
            self._offer_id += 1
            self._answered = trio.Event()
            offer = rtc.SessionDescription(type="offer", sdp=sdp, id=self._offer_id)
            self.outbox.put(rtc.SignalResponse(offer=offer))
            with trio.move_on_after(ANSWER_TIMEOUT):
                await self._answered.wait()
            if not self._answered.is_set():
                log.warning("subscriber answer timed out", extra={"sid": self.participant.sid})
            for track in additions:
                if track.track_sid in self._subscribed:
                    self.hub.subscribed(self.participant, track.track_sid)

    async def serve_socket(self, websocket: Any) -> bool:
        """Read requests and write the outbox on ``websocket`` until either ends.

        True when the socket was simply lost (no leave, no eviction, no overflow):
        the participant may then resume on another one.
        """
        with collapse_single_error():  # a RemoteProtocolError from the reader, as itself
            await self._serve_socket(websocket)
        return not (self.outbox.close_requested or self.outbox.overflowed)

    async def _serve_socket(self, websocket: Any) -> None:
        async with trio.open_nursery() as nursery:
            self.outbox.rebind(nursery.cancel_scope)
            nursery.start_soon(self.outbox.serve, websocket)
            with suppress(ConnectionClosedError):
                await _read_requests(self, websocket)
            nursery.cancel_scope.cancel()

    def may_resume(self) -> bool:
        """livekit-server keeps a participant whose PCs are up (``HasICEConnected``)."""
        return self.participant.info.state == models.ParticipantInfo.ACTIVE

    def resumed(self) -> None:
        """A new socket took over: drop what the old one missed, send the full state,
        restart ICE on the subscriber PC (any offer left unanswered is superseded)."""
        self.resumes += 1
        self.outbox.discard_pending()
        for message in reconnect_messages(self.participant, self.hub.server_info()):
            self.outbox.put(message)
        self._ice_restart = True
        self._answered.set()
        self.request_offer()

    def _sync_state(self, state: rtc.SyncState) -> None:
        if sync_state_mismatch(self.participant, state):
            log.info("resume state mismatch: full reconnect", extra={"sid": self.participant.sid})
            self.leave_reason = models.DisconnectReason.STATE_MISMATCH
            self.outbox.put(full_reconnect_leave())
            self.outbox.close_after_flush()
        elif state.HasField("subscription"):
            self._update_subscription(state.subscription)

    async def pump_media(self, events: trio.MemoryReceiveChannel[MediaEvent]) -> None:
        async for event in events:
            if isinstance(event, MediaTrackArrived):
                self._track_arrived(event)
            elif isinstance(event, DataArrived):
                self.hub.route_data(self.participant, event.data, reliable=event.reliable)
            elif isinstance(event, PeerStateChanged):
                self._peer_state(event)

    def _track_arrived(self, event: MediaTrackArrived) -> None:
        kind = models.AUDIO if event.kind == "audio" else models.VIDEO
        info = self.hub.registry.publish_track(self.participant, event.cid, kind, event.mid)
        if info is None:
            log.info(
                "media on m-line %s without a pending AddTrack ignored",
                event.mid,
                extra={"cid": event.cid},
            )
            return
        log.info("track %s published on m-line %s", info.sid, event.mid)
        relayed = RelayedTrack(event.track, self.participant.sid, info.sid)
        self.hub.track_published(self.participant, relayed)

    def _peer_state(self, event: PeerStateChanged) -> None:
        if event.subscriber and event.state == "connected":
            self._subscriber_up.set()
            self.hub.registry.set_state(self.participant, models.ParticipantInfo.ACTIVE)
        elif event.state == "failed":
            self.leave_reason = models.DisconnectReason.MEDIA_FAILURE
            self.outbox.close_after_flush()

    # -- requests --------------------------------------------------------------------

    async def handle(self, request: rtc.SignalRequest) -> None:
        """Handle one request. Raises RemoteProtocolError on unusable content."""
        which = request.WhichOneof("message")
        me = self.participant
        if which == "offer":
            sdp = await self.media.answer_publisher(request.offer.sdp)
            answer = rtc.SessionDescription(type="answer", sdp=sdp, id=request.offer.id)
            self.outbox.put(rtc.SignalResponse(answer=answer))
            self._unpublish_stopped(request.offer.sdp)
        elif which == "answer":
            await self.media.apply_subscriber_answer(request.answer.sdp)
            if request.answer.id in (0, self._offer_id):
                self._answered.set()
        elif which == "trickle":
            subscriber = request.trickle.target == rtc.SUBSCRIBER
            await self.media.add_candidate(subscriber, request.trickle.candidateInit)
        elif which == "add_track":
            self._add_track(request.add_track)
        elif which == "mute":
            self.hub.registry.set_muted(me, request.mute.sid, request.mute.muted)
        elif which == "subscription":
            self._update_subscription(request.subscription)
        elif which == "update_metadata":
            self._update_metadata(request.update_metadata)
        elif which == "leave":
            self.leave_reason = models.DisconnectReason.CLIENT_INITIATED
            self.outbox.close_after_flush()
        elif which == "sync_state":
            self._sync_state(request.sync_state)
        elif which == "ping":
            self.outbox.put(rtc.SignalResponse(pong=int(self.hub.wall_clock() * 1000)))
        elif which == "ping_req":
            pong = rtc.Pong(
                last_ping_timestamp=request.ping_req.timestamp,
                timestamp=int(self.hub.wall_clock() * 1000),
            )
            self.outbox.put(rtc.SignalResponse(pong_resp=pong))
        # track_setting, update_layers, simulate, ...: accepted and ignored

    def _add_track(self, request: rtc.AddTrackRequest) -> None:
        perm = self.participant.info.permission
        allowed = perm.can_publish and (
            not perm.can_publish_sources or request.source in perm.can_publish_sources
        )
        if not allowed:
            refusal = rtc.RequestResponse(
                reason=rtc.RequestResponse.NOT_ALLOWED,
                message="publishing is not allowed by the token",
                add_track=request,
            )
            self.outbox.put(rtc.SignalResponse(request_response=refusal))
            return
        info = self.hub.registry.add_track(self.participant, request)
        published = rtc.TrackPublishedResponse(cid=request.cid, track=info)
        self.outbox.put(rtc.SignalResponse(track_published=published))

    def _unpublish_stopped(self, offer_sdp: str) -> None:
        """Unpublish the tracks whose m-line the client's offer stopped sending."""
        stopped = stopped_mids(offer_sdp)
        for info in list(self.participant.info.tracks):
            if info.mid and info.mid in stopped:
                log.info(
                    "track %s unpublished: the publisher's offer stopped m-line %s",
                    info.sid,
                    info.mid,
                    extra={"sid": self.participant.sid},
                )
                self.hub.registry.unpublish_track(self.participant, info.sid)
                self.hub.track_unpublished(self.participant, info.sid)
                gone = rtc.TrackUnpublishedResponse(track_sid=info.sid)
                self.outbox.put(rtc.SignalResponse(track_unpublished=gone))

    def _update_subscription(self, request: rtc.UpdateSubscription) -> None:
        sids = list(request.track_sids)
        for tracks in request.participant_tracks:
            sids.extend(tracks.track_sids)
        for sid in sids:
            track = self.hub.published.get(sid)
            if track is None:
                error = rtc.SubscriptionResponse(
                    track_sid=sid, err=models.SubscriptionError.SE_TRACK_NOTFOUND
                )
                self.outbox.put(rtc.SignalResponse(subscription_response=error))
            elif request.subscribe and self.participant.info.permission.can_subscribe:
                self.subscribe(track)
            elif not request.subscribe:
                self.unsubscribe(sid)

    def _update_metadata(self, request: rtc.UpdateParticipantMetadata) -> None:
        allowed = self.participant.info.permission.can_update_metadata
        response = rtc.RequestResponse(
            request_id=request.request_id,
            reason=rtc.RequestResponse.OK if allowed else rtc.RequestResponse.NOT_ALLOWED,
            update_metadata=request,
        )
        if not allowed:
            response.message = "token lacks canUpdateOwnMetadata"
        self.outbox.put(rtc.SignalResponse(request_response=response))
        if allowed:
            self.hub.registry.update_metadata(self.participant, request)


def _join_response(hub: SignalHub, me: ParticipantRecord) -> rtc.SignalResponse:
    info = hub.server_info()
    join = rtc.JoinResponse(
        room=me.room.snapshot(),
        participant=me.info,
        other_participants=me.room.visible_infos(exclude=me),
        server_version=info.version,
        server_info=info,
        subscriber_primary=True,
        fast_publish=False,
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        client_configuration=models.ClientConfiguration(
            resume_connection=models.ClientConfigSetting.ENABLED
        ),
    )
    return rtc.SignalResponse(join=join)


async def serve_rtc_session(
    hub: SignalHub, websocket: Any, claims: TokenClaims, client: models.ClientInfo, auto: bool
) -> None:
    """Run one participant until its socket closes or it is evicted.

    Raises :class:`RemoteProtocolError` for an undecodable request (the caller closes
    the socket with a protocol-error code). Cancellation ends the session; the leave is
    still recorded.
    """
    events_send, events_receive = trio.open_memory_channel[MediaEvent](256)
    # Media outside the nursery: the PCs close only after every task using them ended.
    async with (
        open_participant_media(hub.bridge, hub.relay, events_send) as media,
        trio.open_nursery() as nursery,
    ):
        outbox = Outbox(nursery.cancel_scope)
        participant = hub.registry.join(
            claims, client, outbox.put, lambda _reason: outbox.close_after_flush()
        )
        session = SignalSession(hub, participant, media, outbox, auto)
        outbox.put(_join_response(hub, participant))
        hub.registry.set_state(participant, models.ParticipantInfo.JOINED)
        hub.sessions[participant.sid] = session
        protocol_error: RemoteProtocolError | None = None
        try:
            nursery.start_soon(session.pump_media, events_receive)
            nursery.start_soon(session.negotiate_subscriber)
            for track in hub.tracks_for(session):
                session.subscribe(track)
            session.request_offer()  # the first offer exists even in an empty room
            await _serve_sockets(session, websocket)
        except RemoteProtocolError as exc:
            protocol_error = exc
        finally:
            reason = session.leave_reason
            if reason == models.DisconnectReason.UNKNOWN_REASON:
                reason = models.DisconnectReason.SIGNAL_CLOSE
            session.resume_slot.close()
            hub.registry.leave(participant, reason)
            hub.participant_gone(participant)
        nursery.cancel_scope.cancel()
    if protocol_error is not None:
        raise protocol_error


async def _serve_sockets(session: SignalSession, websocket: Any) -> None:
    """The first socket, then each resumed one, until the participant is gone.

    A resumed socket is lent by the connection that accepted it; ``done`` gives it
    back (the lender closes it) whatever happens here.
    """
    done: trio.Event | None = None
    while True:
        try:
            lost = await session.serve_socket(websocket)
        finally:
            if done is not None:
                done.set()
        if not lost or not session.may_resume():
            return
        log.info(
            "signal connection lost; waiting for a resume", extra={"sid": session.participant.sid}
        )
        handed = await session.resume_slot.wait(RESUME_WINDOW, session.outbox.closing)
        if handed is None:
            return
        websocket, done = handed
        session.resumed()


async def _read_requests(session: SignalSession, websocket: Any) -> None:
    while True:
        data = await websocket.receive()
        if isinstance(data, str):
            raise RemoteProtocolError("text frames are not supported; send binary protobuf")
        await session.handle(decode_signal_request(data))
