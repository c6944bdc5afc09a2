"""The room: participants, audio in and out, data, RPC, text streams, reconnect.

``async with open_room(url, token) as room:`` joins and returns once the first
join succeeded (JoinResponse received, publisher negotiated). Inside, one
supervisor task (:meth:`Room._serve`) owns the current
:class:`~._connection.RoomConnection`. When only its signal socket is lost (socket
dropped, server silent, leave with a resume action) it first *resumes* on a new
socket (``reconnect=1``: same participant, same PCs and tracks, ICE restarted;
media and data keep flowing meanwhile). When the resume is refused or fails, or
the server asks for a full reconnect, the supervisor waits the
:class:`ReconnectPolicy` delay and joins again with a fresh connection, then
re-publishes every open :class:`AudioSource` and lets every open
:class:`AudioStream` pick its track up again. Conversation state above (the voice
session) is untouched: it only sees ``ConnectionLost`` / ``ConnectionResumed``.

Ending: leaving the ``async with`` sends a leave (shielded, bounded) and closes
everything; a server leave with "disconnect", or exhausted reconnect attempts,
emit ``RoomDisconnected`` and make sends raise :class:`RoomClosedError`. A
protocol error from the server is answered with a leave and raised out of
``open_room`` as :class:`~trioagents.core.RemoteProtocolError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import trio

from ..core import (
    ConnectError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    TransportError,
    TrioAgentsError,
)
from ..protocol import (
    LocalTrackSubscribed,
    ParticipantsUpdated,
    RoomUpdated,
    SignalConnectOptions,
    SignalEvent,
    TokenRefreshed,
)
from ..transport import AsyncioBridge
from ._audio_in import AudioStream, RemoteAudio
from ._audio_out import AudioSource
from ._connection import ConnectionOutcome, RoomConnection, open_room_connection
from ._data import MAX_DATA_PAYLOAD, user_packet
from ._data_plane import DataPlane
from ._errors import JoinRefusedError, RequestRefusedError, RoomClosedError
from ._events import (
    ConnectionLost,
    ConnectionResumed,
    ParticipantDisconnected,
    RemoteTrackSubscribed,
    RoomDisconnected,
    RoomEvent,
)
from ._participants import ParticipantRegistry, RemoteParticipant
from ._reconnect import ReconnectPolicy
from ._room_streams import RoomStreams
from ._rpc import RpcHandler

__all__ = ["LocalParticipant", "Room", "RoomOptions", "RoomStatistics"]

_UNPUBLISH_GRACE = 2.0  # seconds for the unpublish renegotiation when a publication ends


@dataclass(frozen=True, slots=True)
class RoomOptions:
    """``join_timeout`` bounds each join (socket, JoinResponse, publisher negotiation)."""

    auto_subscribe: bool = True
    token_in_query: bool = False
    ice_host_addresses: tuple[str, ...] = ("127.0.0.1",)
    join_timeout: float = 10.0
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    event_buffer: int = 256
    seed: int | None = None  # reconnect jitter; fixed in tests


@dataclass(frozen=True, slots=True)
class RoomStatistics:
    joins: int
    events_dropped: int
    malformed_packets: int
    audio_frames_discarded: int  # received on tracks nobody subscribed to
    rtt_ms: int | None
    dropped_streams: int = 0  # data streams nobody handled, or a full ``text_streams`` queue
    resumes: int = 0  # signal links resumed in place (not counted in ``joins``)


@dataclass(slots=True)
class LocalParticipant:
    sid: str = ""
    identity: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


class Room(RoomStreams):
    """Obtain from :func:`open_room`; all methods are for the Trio thread."""

    def __init__(
        self,
        bridge: AsyncioBridge,
        url: str,
        token: str,
        options: RoomOptions,
        nursery: trio.Nursery,
    ) -> None:
        self.name = ""
        self.sid = ""
        self.local_participant = LocalParticipant()
        self._bridge, self._url, self._token, self._options = bridge, url, token, options
        self._nursery = nursery
        self._registry = ParticipantRegistry()
        self._events_send, self._events_receive = trio.open_memory_channel[RoomEvent](
            options.event_buffer
        )
        self._connection: RoomConnection | None = None
        self._closed = trio.Event()
        self._changed = trio.Event()
        self._remote_audio = RemoteAudio(bridge, nursery, self._track_gone, self.wait_state_changed)
        self._sources: dict[AudioSource, str] = {}
        self._subscribed_sids: set[str] = set()
        self._data = DataPlane(self._send_raw, self._emit, nursery)
        self._joins = 0
        self._resumes = 0
        self._events_dropped = 0

    # -- public state ---------------------------------------------------------------

    @property
    def remote_participants(self) -> dict[str, RemoteParticipant]:
        """Remote participants by identity (a fresh dict; the records update in place)."""
        return {p.identity: p for p in self._registry.participants.values()}

    @property
    def token(self) -> str:
        """The latest access token (refreshed by the server); used on rejoin."""
        return self._token

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def departure_reason(self, identity: str) -> int | None:
        """Why ``identity`` last left (``models.DisconnectReason``); None if present
        or never seen leaving."""
        return self._registry.departed.get(identity)

    @property
    def closed(self) -> bool:
        """The room is over (left, or reconnecting gave up); nothing will change again."""
        return self._closed.is_set()

    def events(self) -> trio.MemoryReceiveChannel[RoomEvent]:
        """The room's event channel (one consumer; oldest events dropped when full).

        It ends (``EndOfChannel``) after ``RoomDisconnected``, when the room is over.
        """
        return self._events_receive

    def statistics(self) -> RoomStatistics:
        rtt = self._connection.rtt_ms if self._connection is not None else None
        return RoomStatistics(
            self._joins,
            self._events_dropped,
            self._data.malformed,
            self._remote_audio.frames_discarded,
            rtt,
            self._data.streams.dropped_streams,
            self._resumes,
        )

    def _emit(self, event: RoomEvent) -> None:
        """Never raises: runs inside callbacks posted from the loop thread."""
        if isinstance(event, ParticipantDisconnected):
            self._data.rpc.participant_left(event.identity)
        try:
            self._events_send.send_nowait(event)
        except trio.WouldBlock:
            self._events_receive.receive_nowait()  # drop the oldest
            self._events_dropped += 1
            self._events_send.send_nowait(event)
        except trio.ClosedResourceError:
            pass  # the room has ended; late callbacks from the loop are dropped

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_state_changed(self) -> None:
        """Wait for the next change of participants, tracks or connection state.

        For code that watches room state without consuming ``events()``.
        """
        await self._changed.wait()

    # -- supervisor -----------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Join, then keep the room joined until it ends (see the module docstring)."""
        rng = random.Random(self._options.seed)
        failures = 0
        try:
            while True:
                try:
                    outcome = await self._join_once(task_status, failures)
                    failures = 0
                except (TransportError, JoinRefusedError, RemoteProtocolError) as exc:
                    if self._joins == 0:
                        raise  # the first join failed: open_room raises it
                    outcome = ConnectionOutcome("reconnect", type(exc).__name__)
                if outcome.kind == "error":
                    assert outcome.error is not None
                    raise outcome.error
                if outcome.kind == "left":
                    self._emit(RoomDisconnected(outcome.reason))
                    return
                failures += 1
                delay = self._options.reconnect.delay(failures, rng)
                if delay is None:
                    self._emit(RoomDisconnected("reconnect attempts exhausted"))
                    return
                self._emit(ConnectionLost(outcome.reason, failures))
                await trio.sleep(delay)
        finally:
            self._closed.set()
            self._data.streams.close_all()
            self._events_send.close()  # ``async for event in room.events()`` ends
            self._wake()

    def _signal_options(self) -> SignalConnectOptions:
        return SignalConnectOptions(
            auto_subscribe=self._options.auto_subscribe, token_in_query=self._options.token_in_query
        )

    async def _join_once(
        self, task_status: trio.TaskStatus[None], failures: int
    ) -> ConnectionOutcome:
        options = self._signal_options()
        with trio.CancelScope(deadline=trio.current_time() + self._options.join_timeout) as scope:
            async with open_room_connection(
                self._bridge, self._url, self._token, options, self
            ) as connection:
                self._on_joined(connection.join)
                await connection.negotiate_publisher()
                await connection.wait_data_channels_open()
                for source, name in list(self._sources.items()):
                    await self._publish_source(connection, source, name)
                scope.deadline = math.inf
                self._connection = connection
                self._joins += 1
                self._wake()
                if self._joins == 1:
                    task_status.started()
                else:
                    self._emit(ConnectionResumed(failures))
                try:
                    return await self._hold(connection)
                finally:
                    self._connection = None
                    for source in self._sources:
                        source.attach(None)
                    self._remote_audio.clear()
                    self._wake()
        raise ConnectError("joining the room timed out")

    async def _hold(self, connection: RoomConnection) -> ConnectionOutcome:
        """Keep ``connection`` until it ends, resuming its signal link when only that
        was lost; a refused or failed resume asks the supervisor for a full rejoin."""
        while True:
            outcome = await connection.wait_closed()
            if outcome.kind != "resume":
                return outcome
            if self._options.reconnect.max_attempts == 0:
                return ConnectionOutcome("reconnect", outcome.reason)
            self._emit(ConnectionLost(outcome.reason, 1))
            try:
                with trio.fail_after(self._options.join_timeout):
                    await connection.resume(self._url, self._token, self._signal_options())
            except (TrioAgentsError, trio.TooSlowError) as exc:
                return ConnectionOutcome("reconnect", f"resume failed ({type(exc).__name__})")
            self._resumes += 1
            self._wake()
            self._emit(ConnectionResumed(0))

    def _on_joined(self, join: Any) -> None:
        self.name, self.sid = join.room.name, join.room.sid
        me = join.participant
        self.local_participant.sid, self.local_participant.identity = me.sid, me.identity
        self.local_participant.attributes = dict(me.attributes)
        for event in self._registry.reset(me.sid, join.other_participants):
            self._emit(event)

    # -- SignalHandler (called by the connection, in Trio) ------------------------------------

    async def on_event(self, event: SignalEvent) -> None:
        if isinstance(event, ParticipantsUpdated):
            for info in event.participants:
                if info.sid == self.local_participant.sid:
                    self.local_participant.attributes = dict(info.attributes)
            for room_event in self._registry.apply(event.participants):
                self._emit(room_event)
            self._wake()
        elif isinstance(event, TokenRefreshed):
            self._token = event.token
        elif isinstance(event, RoomUpdated):
            self.sid = event.room.sid or self.sid
        elif isinstance(event, LocalTrackSubscribed):
            self._subscribed_sids.add(event.track_sid)  # may precede the publish's return
            for source in self._sources:
                if source.track_sid == event.track_sid:
                    source.mark_subscribed()

    def on_remote_track(self, track_sid: str, track: Any) -> None:
        if self._closed.is_set():
            return  # posted from the loop after the room ended
        self._remote_audio.add(track_sid, track)
        owner = next(
            (p for p in self._registry.participants.values() if track_sid in p.tracks), None
        )
        self._emit(RemoteTrackSubscribed(owner.identity if owner else "", track_sid))
        self._wake()

    def on_data(self, data: bytes, reliable: bool) -> None:
        if not self._closed.is_set():  # else posted from the loop after the room ended
            self._data.on_data(data, reliable)

    # -- sending ---------------------------------------------------------------------------------

    async def _current_connection(self) -> RoomConnection:
        while self._connection is None:
            if self._closed.is_set():
                raise RoomClosedError("the room is disconnected")
            await self._changed.wait()
        return self._connection

    async def _send_raw(self, data: bytes, reliable: bool) -> None:
        connection = await self._current_connection()
        await connection.send_data(data, reliable)

    async def send_data(
        self,
        payload: bytes,
        *,
        reliable: bool = True,
        topic: str = "",
        destination_identities: Sequence[str] = (),
    ) -> None:
        """Publish a user packet (waits while rejoining; RoomClosedError once closed).

        Payloads above ``MAX_DATA_PAYLOAD`` (15 000 bytes) raise LocalProtocolError:
        send large content as a text stream instead.
        """
        if len(payload) > MAX_DATA_PAYLOAD:
            raise LocalProtocolError(
                f"data payload of {len(payload)} bytes exceeds {MAX_DATA_PAYLOAD}; use a stream"
            )
        await self._data.send_packet(user_packet(payload, topic, destination_identities), reliable)

    async def set_attributes(self, attributes: Mapping[str, str]) -> None:
        """Set own attributes ("" deletes a key); raises RequestRefusedError if refused."""
        connection = await self._current_connection()
        answer = await connection.update_attributes(dict(attributes))
        if answer.reason != "OK":
            raise RequestRefusedError("attribute update", answer.reason)
        for key, value in attributes.items():
            if value:
                self.local_participant.attributes[key] = value
            else:
                self.local_participant.attributes.pop(key, None)

    async def set_subscribed(self, track_sid: str, subscribed: bool = True) -> None:
        """Subscribe to (or drop) a remote track; for rooms joined with ``auto_subscribe=False``.

        Not remembered across a rejoin: call it again after ``ConnectionResumed``.
        """
        connection = await self._current_connection()
        await connection.update_subscription([track_sid], subscribed)

    def register_rpc_method(self, method: str, handler: RpcHandler) -> None:
        self._data.rpc.register(method, handler)

    def unregister_rpc_method(self, method: str) -> None:
        self._data.rpc.unregister(method)

    async def perform_rpc(self, destination_identity: str, method: str, payload: str) -> str:
        """Call a peer's method; bound it with your own deadline (sent to the callee)."""
        return await self._data.rpc.perform(destination_identity, method, payload)

    # -- audio -------------------------------------------------------------------------------------

    async def _publish_source(
        self, connection: RoomConnection, source: AudioSource, name: str
    ) -> None:
        track = source.new_track(self._bridge)
        info = await connection.publish_track(track, name)
        source.attach(track, info.sid)
        if info.sid in self._subscribed_sids:
            source.mark_subscribed()

    @asynccontextmanager
    async def publish_audio(
        self,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        name: str = "agent_audio",
        queue_capacity: float = 0.2,
    ) -> AsyncIterator[AudioSource]:
        """Publish a microphone track fed from the yielded :class:`AudioSource`.

        Returns once the server allocated the track. On exit the source is
        detached and the track unpublished (shielded, bounded by 2 s): its
        transceiver goes inactive, the publisher PC is renegotiated and the other
        participants see ``RemoteTrackUnpublished``. A connection that fails
        during that renegotiation is left to the supervisor (it rejoins without
        the source).
        """
        source = AudioSource(sample_rate, num_channels, queue_capacity=queue_capacity)
        connection = await self._current_connection()
        self._sources[source] = name
        try:
            try:
                await self._publish_source(connection, source, name)
            except ConnectionClosedError:  # dropped mid-publish: the next join publishes it
                await self._wait_published(source)
            yield source
        finally:
            self._sources.pop(source, None)
            track = source.track
            source.attach(None)
            await self._unpublish(track)

    async def _wait_published(self, source: AudioSource) -> None:
        """Wait until a join published ``source``; RoomClosedError if the room ends."""
        while source.track is None:
            if self._closed.is_set():
                raise RoomClosedError("the room is disconnected")
            await self._changed.wait()

    async def _unpublish(self, track: Any) -> None:
        connection = self._connection
        if track is None or connection is None:
            return  # between joins: the next join does not re-publish the source
        # a TrioAgentsError means the connection is going away: the supervisor's job
        shield = trio.CancelScope(shield=True)
        with shield, trio.move_on_after(_UNPUBLISH_GRACE), suppress(TrioAgentsError):
            await connection.unpublish_track(track)

    @asynccontextmanager
    async def subscribe_audio(
        self, track_sid: str, *, sample_rate: int = 16000, num_channels: int = 1, buffer: int = 100
    ) -> AsyncIterator[AudioStream]:
        """Frames of a remote audio track at ``sample_rate``/``num_channels``.

        The stream ends when the track is unpublished or the room closes; it
        survives reconnects. ``buffer`` frames are kept for a slow consumer, then
        new frames are dropped (``stream.dropped``).
        """
        stream = AudioStream(track_sid, sample_rate, num_channels, buffer)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._remote_audio.feed, stream)
            try:
                yield stream
            finally:
                nursery.cancel_scope.cancel()

    def _track_gone(self, track_sid: str) -> bool:
        if self._closed.is_set():
            return True
        published = any(track_sid in p.tracks for p in self._registry.participants.values())
        return self._connection is not None and not published

    async def disconnect(self, *, close_socket: bool = True) -> None:
        """Send our leave on the current connection (bounded by the caller).

        ``close_socket`` also runs the websocket close handshake (skip it when the
        caller is being cancelled: the socket's reader cannot answer it then).
        """
        if self._connection is not None:
            await self._connection.leave(close_socket=close_socket)
