"""A small loopback LiveKit peer for rtc tests (stands in until the dev server lands).

One room with one virtual remote participant, ``bot`` (``PA_bot``), that publishes
an audio track ``TR_bot`` playing a tone. It speaks the real ``/rtc`` protocol
(v0, dual PC) with real aiortc peer connections on its own asyncio bridge:

* join: validates the token (header or query), sends the JoinResponse with
  ``bot`` in ``other_participants``, then the subscriber offer (data channels
  ``_reliable``/``_lossy`` + the tone track, msid ``PA_bot|TR_bot``);
* answers publisher offers, answers ``add_track`` with ``TR_agent…``, records
  received audio in :attr:`FakeServer.received_audio` (48 kHz stereo int16);
* data from the client: user packets are echoed back from ``bot`` with the topic
  prefixed ``echo:``; RPC requests to ``bot`` are acked and answered with the
  payload upper-cased (method ``fail`` answers error 1500); text streams are
  echoed back as a new stream on ``echo:<topic>``; RPC requests from ``bot``
  can be sent with :meth:`call_client`;
* ``update_metadata`` → RequestResponse OK and a ParticipantUpdate;
* ``ping_req`` → ``pong_resp``; test hooks: :meth:`drop_signal`,
  :meth:`send_raw`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import trio
import trio_websocket
from livekit.protocol import models, rtc

from trioagents.protocol import VideoGrants, decode_signal_request, mint_token, verify_token
from trioagents.transport import AsyncioBridge, PacedAudioTrack, open_asyncio_bridge

API_KEY, API_SECRET = "devkey", "devsecret-devsecret-devsecret-0123"
BOT_TONE_HZ = 660.0


def make_token(identity: str = "agent", room: str = "room") -> str:
    grants = VideoGrants(room_join=True, room=room, can_update_own_metadata=True)
    return mint_token(API_KEY, API_SECRET, identity=identity, video=grants)


def tone(freq: float, seconds: float, rate: int = 48000, amplitude: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype(np.int16)


@dataclass
class Session:
    """One client connection."""

    ws: Any
    identity: str
    sid: str
    publisher: Any = None  # server side of the client's publisher PC
    subscriber: Any = None  # server side of the client's subscriber PC
    channels: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    attributes: dict[str, str] = field(default_factory=dict)
    tracks: list[Any] = field(default_factory=list)


class FakeServer:
    def __init__(self, bridge: AsyncioBridge, nursery: trio.Nursery) -> None:
        self.bridge = bridge
        self.nursery = nursery
        self.port = 0
        self.joins = 0
        self.resumes_refused = 0
        self.auth_headers: list[bool] = []
        self.session: Session | None = None
        self.received_audio: list[np.ndarray] = []
        self.received_packets: list[models.DataPacket] = []
        self.leaves: list[int] = []
        self.attribute_updates: list[dict[str, str]] = []
        self.drop_on_next_offer = False  # close the signal instead of answering, once
        # publish the bot's track in a second subscriber offer, sent the instant the
        # first answer arrives (as livekit-server does when a track appears mid-join),
        # with our DTLS side slow to start so the client's handshake is surely still
        # running when that offer arrives
        self.late_track = False
        self.subscriber_answers = 0
        self.joined = trio.Event()
        self.next_join = "normal"  # or "refuse", "garbage", "mute"
        self.ping = (1, 3)  # JoinResponse ping_interval, ping_timeout
        self.silent = False  # stop answering (pings included)
        self.changed = trio.Event()
        self._recorders: set[Any] = set()
        self._next_track = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- test hooks ---------------------------------------------------------------------

    async def drop_signal(self) -> None:
        assert self.session is not None
        await self.session.ws.aclose(code=1011, reason="dropped by test")

    async def send_leave(self, action: int, reason: int = models.SERVER_SHUTDOWN) -> None:
        await self.send_raw(
            rtc.SignalResponse(
                leave=rtc.LeaveRequest(reason=reason, action=action)
            ).SerializeToString()
        )

    async def send_raw(self, data: bytes) -> None:
        assert self.session is not None
        await self.session.ws.send_message(data)

    async def wait_joins(self, count: int) -> None:
        while self.joins < count:
            await self.changed.wait()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def send_packet_to_client(self, packet: models.DataPacket, reliable: bool = True) -> None:
        assert self.session is not None
        packet.participant_identity = "bot"
        packet.participant_sid = "PA_bot"
        channel = self.session.channels["_reliable" if reliable else "_lossy"]
        self.bridge.call_soon(_send_when_open, channel, packet.SerializeToString())

    # -- websocket ------------------------------------------------------------------------

    async def handle(self, request: trio_websocket.WebSocketRequest) -> None:
        header = dict(request.headers).get(b"authorization", b"").decode()
        query = parse_qs(urlsplit(request.path).query)
        token = header.removeprefix("Bearer ") or query.get("access_token", [""])[0]
        try:
            claims = verify_token(token, {API_KEY: API_SECRET})
        except Exception:
            await request.reject(401)
            return
        self.auth_headers.append(bool(header))
        ws = await request.accept()
        if query.get("reconnect") == ["1"]:  # no resumes here: ask for a full rejoin
            self.resumes_refused += 1
            leave = rtc.LeaveRequest(
                reason=models.STATE_MISMATCH, action=rtc.LeaveRequest.RECONNECT
            )
            await ws.send_message(rtc.SignalResponse(leave=leave).SerializeToString())
            return
        self.joins += 1
        self._wake()
        session = Session(ws, claims.identity, f"PA_client{self.joins}")
        self.session = session
        try:
            await self._serve_session(session)
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                for pc in (session.publisher, session.subscriber):
                    if pc is not None:
                        await self.bridge.run(pc.close)

    async def _serve_session(self, session: Session) -> None:
        if self.next_join == "refuse":
            leave = rtc.LeaveRequest(reason=models.JOIN_FAILURE)
            await session.ws.send_message(rtc.SignalResponse(leave=leave).SerializeToString())
            return
        if self.next_join == "mute":
            await trio.sleep_forever()
        if self.next_join == "garbage":
            await session.ws.send_message(b"\xff\xff\xff")
            self.leaves.append(decode_signal_request(await session.ws.get_message()).leave.reason)
            return
        await session.ws.send_message(self._join_response(session).SerializeToString())
        self.joined.set()
        await self._offer_subscriber(session)
        while True:
            request = decode_signal_request(await session.ws.get_message())
            if self.silent:
                continue
            reply = await self._on_request(session, request)
            for message in reply:
                await session.ws.send_message(message.SerializeToString())
            if request.WhichOneof("message") == "leave":
                self.leaves.append(request.leave.reason)
                await session.ws.aclose()
                return

    def _bot_info(self) -> models.ParticipantInfo:
        track = models.TrackInfo(sid="TR_bot", type=models.TrackType.AUDIO, name="bot-mic")
        return models.ParticipantInfo(
            sid="PA_bot",
            identity="bot",
            state=models.ParticipantInfo.ACTIVE,
            tracks=[track],
            version=1,
        )

    def _self_info(self, session: Session) -> models.ParticipantInfo:
        return models.ParticipantInfo(
            sid=session.sid,
            identity=session.identity,
            attributes=session.attributes,
            version=session.version,
            state=models.ParticipantInfo.ACTIVE,
        )

    def _join_response(self, session: Session) -> rtc.SignalResponse:
        join = rtc.JoinResponse(
            room=models.Room(sid="RM_fake", name="room"),
            participant=self._self_info(session),
            other_participants=[self._bot_info()],
            ping_interval=self.ping[0],
            ping_timeout=self.ping[1],
            server_version="1.9.0",
            subscriber_primary=True,
        )
        return rtc.SignalResponse(join=join)

    async def _on_request(
        self, session: Session, request: rtc.SignalRequest
    ) -> list[rtc.SignalResponse]:
        kind = request.WhichOneof("message")
        if kind == "offer" and self.drop_on_next_offer:
            self.drop_on_next_offer = False
            await session.ws.aclose(code=1011, reason="dropped by test before the answer")
            return []
        if kind == "offer":
            sdp = await self.bridge.run(self._answer_publisher, session, request.offer.sdp)
            answer = rtc.SessionDescription(type="answer", sdp=sdp, id=request.offer.id)
            return [rtc.SignalResponse(answer=answer)]
        if kind == "answer":
            self.subscriber_answers += 1
            if self.late_track and self.subscriber_answers == 2:
                # our own PC must be connected before it applies the answer, or
                # aiortc would not start our sender (the client's side is the test)
                await self.bridge.run(_wait_connected, session.subscriber)
            await self.bridge.run(_set_answer, session.subscriber, request.answer.sdp)
            if self.late_track and self.subscriber_answers == 1:
                sdp = await self.bridge.run(self._add_bot_track, session)
                offer = rtc.SessionDescription(type="offer", sdp=sdp, id=2)
                return [rtc.SignalResponse(offer=offer)]
        elif kind == "add_track":
            self._next_track += 1
            info = models.TrackInfo(
                sid=f"TR_agent{self._next_track}",
                type=models.TrackType.AUDIO,
                name=request.add_track.name,
            )
            published = rtc.TrackPublishedResponse(cid=request.add_track.cid, track=info)
            subscribed = rtc.TrackSubscribed(track_sid=info.sid)
            return [
                rtc.SignalResponse(track_published=published),
                rtc.SignalResponse(track_subscribed=subscribed),
            ]
        elif kind == "update_metadata":
            update = request.update_metadata
            self.attribute_updates.append(dict(update.attributes))
            for key, value in update.attributes.items():
                if value:
                    session.attributes[key] = value
                else:
                    session.attributes.pop(key, None)
            session.version += 1
            response = rtc.RequestResponse(
                request_id=update.request_id, reason=rtc.RequestResponse.OK
            )
            participants = rtc.ParticipantUpdate(participants=[self._self_info(session)])
            return [
                rtc.SignalResponse(request_response=response),
                rtc.SignalResponse(update=participants),
            ]
        elif kind == "ping_req":
            return [
                rtc.SignalResponse(
                    pong_resp=rtc.Pong(last_ping_timestamp=request.ping_req.timestamp)
                )
            ]
        return []

    # -- media (asyncio side) ----------------------------------------------------------------

    async def _offer_subscriber(self, session: Session) -> None:
        sdp = await self.bridge.run(self._create_subscriber, session)
        await session.ws.send_message(
            rtc.SignalResponse(
                offer=rtc.SessionDescription(type="offer", sdp=sdp, id=1)
            ).SerializeToString()
        )

    async def _create_subscriber(self, session: Session) -> str:
        from aiortc import RTCConfiguration, RTCPeerConnection

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session.subscriber = pc
        session.channels["_reliable"] = pc.createDataChannel("_reliable")
        session.channels["_lossy"] = pc.createDataChannel("_lossy", ordered=False, maxRetransmits=0)
        if not self.late_track:
            return await self._add_bot_track(session)
        _delay_dtls(pc.sctp.transport, LATE_TRACK_DTLS_DELAY)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def _add_bot_track(self, session: Session) -> str:
        pc = session.subscriber
        track = PacedAudioTrack()
        track.push(tone(BOT_TONE_HZ, 30.0))
        session.tracks.append(track)
        pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        return re.sub(r"a=msid:\S+ \S+", "a=msid:PA_bot|TR_bot TR_bot", sdp)

    async def _answer_publisher(self, session: Session, sdp: str) -> str:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        if session.publisher is None:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            session.publisher = pc
            post = self.bridge.post

            @pc.on("track")
            def on_track(track: Any) -> None:
                import asyncio

                task = asyncio.ensure_future(self._record(track))
                self._recorders.add(task)
                task.add_done_callback(self._recorders.discard)

            @pc.on("datachannel")
            def on_channel(channel: Any) -> None:
                channel.on("message", lambda m: post(self._on_client_data, m))

        pc = session.publisher
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def _record(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.bridge.post(
                self.received_audio.append, frame.to_ndarray().reshape(-1, 2)[:, 0].copy()
            )

    # -- data (trio side) ---------------------------------------------------------------------

    def _on_client_data(self, message: bytes) -> None:
        packet = models.DataPacket()
        packet.ParseFromString(message)
        self.received_packets.append(packet)
        self._wake()
        kind = packet.WhichOneof("value")
        if kind == "user":
            echo = models.UserPacket(payload=packet.user.payload, topic="echo:" + packet.user.topic)
            self.send_packet_to_client(
                models.DataPacket(user=echo, sequence=len(self.received_packets))
            )
        elif kind == "rpc_request":
            request = packet.rpc_request
            self.send_packet_to_client(
                models.DataPacket(rpc_ack=models.RpcAck(request_id=request.id))
            )
            response = models.RpcResponse(request_id=request.id)
            if request.method == "fail":
                response.error.CopyFrom(models.RpcError(code=1500, message="boom"))
            else:
                response.payload = request.payload.upper()
            self.send_packet_to_client(models.DataPacket(rpc_response=response))
        elif kind == "stream_header":
            header = models.DataStream.Header()
            header.CopyFrom(packet.stream_header)
            header.topic = "echo:" + header.topic
            self.send_packet_to_client(models.DataPacket(stream_header=header))
        elif kind in ("stream_chunk", "stream_trailer"):
            self.send_packet_to_client(models.DataPacket.FromString(message))  # keep the record

    def call_client(self, method: str, payload: str, request_id: str = "req-1") -> None:
        request = models.RpcRequest(
            id=request_id, method=method, payload=payload, response_timeout_ms=5000, version=1
        )
        self.send_packet_to_client(models.DataPacket(rpc_request=request))


def _send_when_open(channel: Any, data: bytes) -> None:
    """On the loop: a server-created channel may still be connecting; queue until open."""
    if channel.readyState == "open":
        channel.send(data)
    else:
        channel.once("open", lambda: channel.send(data))


LATE_TRACK_DTLS_DELAY = 0.5


def _delay_dtls(dtls: Any, seconds: float) -> None:
    """Make the fake's own DTLS transport start ``seconds`` late (a loaded server)."""
    start = dtls.start

    async def late_start(parameters: Any) -> None:
        await asyncio.sleep(seconds)
        await start(parameters)

    dtls.start = late_start


async def _wait_connected(pc: Any) -> None:
    """On the loop: until ``pc``'s (bundled) DTLS transport is connected.

    Not ``connectionState``: the new m-line of our pending offer has a transport of
    its own until the answer bundles it, so the PC reads "connecting" till then.
    """
    dtls = pc.sctp.transport
    if dtls.state == "connected":
        return
    connected = asyncio.get_running_loop().create_future()

    def on_state() -> None:
        if dtls.state == "connected" and not connected.done():
            connected.set_result(None)

    dtls.on("statechange", on_state)
    try:
        await connected
    finally:
        dtls.remove_listener("statechange", on_state)


async def _set_answer(pc: Any, sdp: str) -> None:
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


@asynccontextmanager
async def open_fake_server() -> AsyncIterator[FakeServer]:
    async with open_asyncio_bridge() as bridge, trio.open_nursery() as nursery:
        server = FakeServer(bridge, nursery)
        listener = await nursery.start(
            trio_websocket.serve_websocket, server.handle, "127.0.0.1", 0, None
        )
        server.port = listener.port
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    data = samples.astype(np.float64).reshape(-1)
    spectrum = np.abs(np.fft.rfft(data * np.hanning(len(data))))
    return float(np.fft.rfftfreq(len(data), 1 / rate)[int(np.argmax(spectrum))])
