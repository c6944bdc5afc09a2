"""Sans-I/O client side of LiveKit's ``/rtc`` signalling protocol (dual PC, protocol 17).

:class:`SignalClient` takes the bytes of each server websocket message in
(:meth:`~SignalClient.receive_message`) and gives :mod:`events <._signal_events>`
out; every ``send_*`` method returns the bytes of one client message. No I/O, no
clock: times are passed in by the caller, so the transport owns pacing.

States and transitions (the table ``_ACCEPTED`` below is the source of truth)::

    AWAITING_JOIN --join--> JOINED --leave (either side)--> CLOSED
    AWAITING_JOIN --leave--> CLOSED            (join refused)
    AWAITING_RECONNECT --reconnect--> JOINED   (a resume: :meth:`SignalClient.resumed`)
    AWAITING_RECONNECT --leave--> CLOSED       (resume refused: rejoin in full)

* In ``AWAITING_JOIN`` the first message must be ``join`` (or ``leave``); anything
  else is a :class:`RemoteProtocolError` (the JS SDK's rule; it keeps a broken
  server from half-joining us). A resumed connection's first message must be the
  ``reconnect`` response (or ``leave``), likewise.
* In ``JOINED`` each handled message kind maps to one event; kinds we do not use
  (speaker levels, quality, data tracks…) are counted and dropped, as forward
  compatibility demands.
* In ``CLOSED`` incoming messages are dropped; sending anything but a second
  ``leave`` is a :class:`LocalProtocolError`.
* Malformed bytes raise :class:`RemoteProtocolError` and move to ``CLOSED``: the
  caller then sends the ``leave`` from :meth:`send_leave` (allowed once after a
  protocol error) and closes the socket.

Rejected alternative: deriving events from ``WhichOneof`` generically. An explicit
table keeps the set of kinds we honour per state reviewable and fuzzable.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from livekit.protocol import models, rtc

from ..core import ConfigurationError, LocalProtocolError, RemoteProtocolError
from ._codec import decode_signal_response
from ._signal_events import (
    IceCandidateReceived,
    JoinAccepted,
    LeaveRequested,
    LocalTrackPublished,
    LocalTrackSubscribed,
    LocalTrackUnpublished,
    ParticipantsUpdated,
    PongReceived,
    PublisherAnswerReceived,
    Reconnected,
    RequestAnswered,
    RoomUpdated,
    SignalEvent,
    SubscriberOfferReceived,
    TokenRefreshed,
    TrackMuteRequested,
)

__all__ = [
    "SIGNAL_PROTOCOL_VERSION",
    "SignalClient",
    "SignalConnectOptions",
    "SignalState",
    "signal_url",
]

SIGNAL_PROTOCOL_VERSION = 17
SDK_VERSION = "0.1.0"
_TARGETS = {rtc.SignalTarget.PUBLISHER: "publisher", rtc.SignalTarget.SUBSCRIBER: "subscriber"}
_ACTIONS = {0: "disconnect", 1: "resume", 2: "reconnect"}


class SignalState(enum.Enum):
    AWAITING_JOIN = "awaiting_join"
    AWAITING_RECONNECT = "awaiting_reconnect"
    JOINED = "joined"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SignalConnectOptions:
    """How to open the ``/rtc`` socket.

    ``token_in_query`` puts the token in ``access_token=`` (the JS SDK way) instead
    of an ``Authorization: Bearer`` header (the Rust SDK way); servers accept both.
    """

    auto_subscribe: bool = True
    token_in_query: bool = False
    sdk_version: str = SDK_VERSION


def signal_url(
    base_url: str,
    token: str,
    options: SignalConnectOptions = SignalConnectOptions(),
    *,
    resume_sid: str = "",
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Return ``(url, extra_headers)`` for joining through ``base_url``.

    ``http(s)://`` becomes ``ws(s)://``; ``/rtc`` is appended to the URL's path.
    ``resume_sid`` asks to resume that participant (``reconnect=1&sid=...`` with
    ``reconnect_reason`` RR_SIGNAL_DISCONNECTED, as the SDKs send it).
    Raises :class:`ConfigurationError` for another scheme or an empty token.
    """
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigurationError(
            "LiveKit URL must be ws://, wss://, http:// or https:// with a host, "
            f"got {parts.scheme!r}"
        )
    if not token:
        raise ConfigurationError("an access token is required to join a room (see mint_token)")
    query = {
        "protocol": str(SIGNAL_PROTOCOL_VERSION),
        "client_protocol": "0",
        "sdk": "python",
        "version": options.sdk_version,
        "auto_subscribe": "1" if options.auto_subscribe else "0",
    }
    if resume_sid:
        reason = str(models.ReconnectReason.RR_SIGNAL_DISCONNECTED)
        query.update(reconnect="1", sid=resume_sid, reconnect_reason=reason)
    headers: list[tuple[bytes, bytes]] = []
    if options.token_in_query:
        query["access_token"] = token
    else:
        headers.append((b"Authorization", b"Bearer " + token.encode()))
    path = parts.path.rstrip("/") + "/rtc"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), "")), headers


class SignalClient:
    """Client-side signalling state machine; one instance per websocket connection."""

    def __init__(self) -> None:
        self.state = SignalState.AWAITING_JOIN
        self.join: rtc.JoinResponse | None = None
        self.ignored_messages = 0
        self._offer_id = 0
        self._request_id = 0
        self._leave_sent = False
        self._now_ms = 0

    @classmethod
    def resumed(cls, previous: SignalClient) -> SignalClient:
        """The core of a resumed connection: awaits the ``reconnect`` response.

        Offer and request ids go on from ``previous`` (answers are matched by id).
        """
        client = cls()
        client.state = SignalState.AWAITING_RECONNECT
        client.join = previous.join
        client._offer_id, client._request_id = previous._offer_id, previous._request_id
        return client

    # -- receiving ---------------------------------------------------------------

    def receive_message(self, data: bytes) -> SignalEvent | None:
        """Decode one server message and return its event (or None if dropped).

        Raises :class:`RemoteProtocolError` on malformed or out-of-order input; the
        client is then CLOSED and only :meth:`send_leave` remains allowed.
        """
        if self.state is SignalState.CLOSED:
            return None
        try:
            message = decode_signal_response(data)
            kind = message.WhichOneof("message")
            handler = _ACCEPTED[self.state].get(kind or "")
            if handler is None:
                if self.state is SignalState.AWAITING_JOIN:
                    raise RemoteProtocolError(
                        f"expected a join response first, got {kind!r}", payload=bytes(data[:256])
                    )
                if self.state is SignalState.AWAITING_RECONNECT:
                    raise RemoteProtocolError(
                        f"expected a reconnect response first, got {kind!r}",
                        payload=bytes(data[:256]),
                    )
                self.ignored_messages += 1
                return None
            return handler(self, message)
        except RemoteProtocolError:
            self.state = SignalState.CLOSED
            raise

    def _on_join(self, message: rtc.SignalResponse) -> SignalEvent:
        join = message.join
        if not join.HasField("participant") or not join.participant.sid.startswith("PA_"):
            raise RemoteProtocolError("join response without a valid participant")
        if not join.HasField("room"):
            raise RemoteProtocolError("join response without a room")
        self.join = join
        self.state = SignalState.JOINED
        return JoinAccepted(join)

    def _on_reconnect(self, message: rtc.SignalResponse) -> SignalEvent:
        self.state = SignalState.JOINED
        return Reconnected(message.reconnect)

    def _on_leave(self, message: rtc.SignalResponse) -> SignalEvent:
        leave = message.leave
        self.state = SignalState.CLOSED
        action = _ACTIONS.get(leave.action, "disconnect")
        if leave.action == 0 and leave.can_reconnect:
            action = "reconnect"
        known = leave.reason in models.DisconnectReason.values()
        reason = models.DisconnectReason.Name(leave.reason) if known else "UNKNOWN_REASON"
        return LeaveRequested(reason, action)

    def _on_offer(self, message: rtc.SignalResponse) -> SignalEvent:
        return SubscriberOfferReceived(message.offer.sdp, message.offer.id)

    def _on_answer(self, message: rtc.SignalResponse) -> SignalEvent | None:
        answer = message.answer
        if answer.id and answer.id != self._offer_id:
            self.ignored_messages += 1  # answer to a superseded offer
            return None
        return PublisherAnswerReceived(answer.sdp, answer.id)

    def _on_trickle(self, message: rtc.SignalResponse) -> SignalEvent:
        trickle = message.trickle
        target = _TARGETS.get(trickle.target)
        if target is None:
            raise RemoteProtocolError(f"trickle for unknown target {trickle.target}")
        try:
            init = json.loads(trickle.candidateInit) if trickle.candidateInit else {}
        except ValueError as exc:
            raise RemoteProtocolError("trickle candidate is not JSON") from exc
        if not isinstance(init, dict) or not isinstance(init.get("candidate", ""), str):
            raise RemoteProtocolError("trickle candidate is not an RTCIceCandidateInit object")
        return IceCandidateReceived(trickle.candidateInit, target, trickle.final)

    def _on_update(self, message: rtc.SignalResponse) -> SignalEvent:
        return ParticipantsUpdated(tuple(message.update.participants))

    def _on_track_published(self, message: rtc.SignalResponse) -> SignalEvent:
        published = message.track_published
        return LocalTrackPublished(published.cid, published.track)

    def _on_track_unpublished(self, message: rtc.SignalResponse) -> SignalEvent:
        return LocalTrackUnpublished(message.track_unpublished.track_sid)

    def _on_track_subscribed(self, message: rtc.SignalResponse) -> SignalEvent:
        return LocalTrackSubscribed(message.track_subscribed.track_sid)

    def _on_mute(self, message: rtc.SignalResponse) -> SignalEvent:
        return TrackMuteRequested(message.mute.sid, message.mute.muted)

    def _on_request_response(self, message: rtc.SignalResponse) -> SignalEvent:
        response = message.request_response
        known = response.reason in rtc.RequestResponse.Reason.values()
        reason = rtc.RequestResponse.Reason.Name(response.reason) if known else "UNKNOWN"
        return RequestAnswered(response.request_id, reason, response.message)

    def _on_refresh_token(self, message: rtc.SignalResponse) -> SignalEvent:
        return TokenRefreshed(message.refresh_token)

    def _on_pong_resp(self, message: rtc.SignalResponse) -> SignalEvent:
        return PongReceived(max(0, self._now_ms - message.pong_resp.last_ping_timestamp))

    def _on_room_update(self, message: rtc.SignalResponse) -> SignalEvent:
        return RoomUpdated(message.room_update.room)

    def set_time(self, now_ms: int) -> None:
        """Tell the core the caller's clock (ms); used for pong round trips."""
        self._now_ms = now_ms

    # -- sending ------------------------------------------------------------------

    def _send(self, request: rtc.SignalRequest) -> bytes:
        if self.state is not SignalState.JOINED:
            kind = request.WhichOneof("message")
            raise LocalProtocolError(f"cannot send {kind!r} in state {self.state.value}")
        return request.SerializeToString()

    def send_offer(self, sdp: str) -> bytes:
        """Our publisher offer; answers to earlier offers are ignored from now on."""
        self._offer_id += 1
        return self._send(rtc.SignalRequest(offer=_sdp("offer", sdp, self._offer_id)))

    def send_answer(self, sdp: str, offer_id: int) -> bytes:
        """Our answer to the subscriber offer ``offer_id`` (echoed back)."""
        return self._send(rtc.SignalRequest(answer=_sdp("answer", sdp, offer_id)))

    def send_trickle(self, candidate_init: Mapping[str, object], target: str) -> bytes:
        code = {name: code for code, name in _TARGETS.items()}.get(target)
        if code is None:
            raise LocalProtocolError(f"unknown trickle target {target!r}")
        trickle = rtc.TrickleRequest(candidateInit=json.dumps(dict(candidate_init)), target=code)
        return self._send(rtc.SignalRequest(trickle=trickle))

    def send_add_track(self, cid: str, name: str, *, stereo: bool = False) -> bytes:
        """Ask to publish a microphone audio track; answered by LocalTrackPublished."""
        request = rtc.AddTrackRequest(
            cid=cid,
            name=name,
            type=models.TrackType.AUDIO,
            source=models.TrackSource.MICROPHONE,
            stereo=stereo,
        )
        return self._send(rtc.SignalRequest(add_track=request))

    def send_subscription(self, track_sids: list[str], subscribe: bool) -> bytes:
        update = rtc.UpdateSubscription(track_sids=track_sids, subscribe=subscribe)
        return self._send(rtc.SignalRequest(subscription=update))

    def send_update_attributes(self, attributes: Mapping[str, str]) -> tuple[int, bytes]:
        """Set own attributes (empty value deletes); returns ``(request_id, bytes)``."""
        self._request_id += 1
        update = rtc.UpdateParticipantMetadata(
            attributes=dict(attributes), request_id=self._request_id
        )
        return self._request_id, self._send(rtc.SignalRequest(update_metadata=update))

    def send_sync_state(self, state: rtc.SyncState) -> bytes:
        """After a resume: what we last answered/offered, subscribe to and publish."""
        return self._send(rtc.SignalRequest(sync_state=state))

    def send_ping(self, now_ms: int) -> bytes:
        self._now_ms = now_ms
        return self._send(rtc.SignalRequest(ping_req=rtc.Ping(timestamp=now_ms)))

    def send_leave(self, reason: str = "CLIENT_INITIATED") -> bytes:
        """Our leave; allowed once in any state (also after a protocol error). Closes."""
        if self._leave_sent:
            raise LocalProtocolError("leave was already sent")
        if reason not in models.DisconnectReason.keys():  # noqa: SIM118 (enum wrapper, not a dict)
            raise LocalProtocolError(f"unknown disconnect reason {reason!r}")
        self._leave_sent = True
        self.state = SignalState.CLOSED
        leave = rtc.LeaveRequest(
            reason=reason,
            action=rtc.LeaveRequest.DISCONNECT,
        )
        return rtc.SignalRequest(leave=leave).SerializeToString()


def _sdp(kind: str, sdp: str, offer_id: int) -> rtc.SessionDescription:
    return rtc.SessionDescription(type=kind, sdp=sdp, id=offer_id)


_Handler = Callable[[SignalClient, rtc.SignalResponse], SignalEvent | None]

_ACCEPTED: dict[SignalState, dict[str, _Handler]] = {
    SignalState.AWAITING_JOIN: {
        "join": SignalClient._on_join,
        "leave": SignalClient._on_leave,
    },
    SignalState.AWAITING_RECONNECT: {
        "reconnect": SignalClient._on_reconnect,
        "leave": SignalClient._on_leave,
    },
    SignalState.JOINED: {
        "leave": SignalClient._on_leave,
        "offer": SignalClient._on_offer,
        "answer": SignalClient._on_answer,
        "trickle": SignalClient._on_trickle,
        "update": SignalClient._on_update,
        "track_published": SignalClient._on_track_published,
        "track_unpublished": SignalClient._on_track_unpublished,
        "track_subscribed": SignalClient._on_track_subscribed,
        "mute": SignalClient._on_mute,
        "request_response": SignalClient._on_request_response,
        "refresh_token": SignalClient._on_refresh_token,
        "pong_resp": SignalClient._on_pong_resp,
        "room_update": SignalClient._on_room_update,
    },
    SignalState.CLOSED: {},
}
