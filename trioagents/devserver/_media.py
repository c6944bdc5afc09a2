"""Media for one participant: the two aiortc peer connections of LiveKit's v0 flow.

* The **publisher PC** is offered by the client; we answer. Tracks arriving on it are
  reported as :class:`MediaTrackArrived`; data-channel messages on the channels the
  client created as :class:`DataArrived`.
* The **subscriber PC** is offered by us, with the server-created ``_reliable`` and
  ``_lossy`` channels; relayed tracks are added as new ``sendonly`` transceivers and
  every change is a new offer.

Relay is aiortc's ``MediaRelay``: one decode per published track, one re-encode per
subscriber (see ``docs/devserver.md`` for what that costs). A stream id of
``PA_x|TR_y`` and track id ``TR_y`` are written into each sender before the offer is
created (aiortc 1.x keeps them in ``RTCRtpSender._stream_id`` / ``_track_id``; there is
no public setter, and the alternative, rewriting ``a=msid`` in SDP text, would have to
track aiortc's SDP layout instead).

Everything aiortc runs on the bridge's loop thread. asyncio-side callbacks only post
plain event objects into a Trio memory channel (``bridge.post``), never touch Trio
state otherwise, and never raise. The connections are closed on exit of
:func:`open_participant_media`, shielded and bounded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import trio

from ..core import RemoteProtocolError
from ..transport import (
    AsyncioBridge,
    adopt_remote_ice,
    open_peer_connection,
    restart_local_ice,
    set_audio_prefetch,
)

__all__ = [
    "DataArrived",
    "MediaEvent",
    "MediaTrackArrived",
    "ParticipantMedia",
    "PeerStateChanged",
    "RelayedTrack",
    "open_participant_media",
    "parse_candidate_init",
    "stopped_mids",
]

CLOSE_GRACE = 5.0
SDP_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class MediaTrackArrived:
    """A remote track appeared on the publisher PC (``cid``: its msid track id)."""

    track: Any
    cid: str
    mid: str
    kind: str


@dataclass(frozen=True, slots=True)
class DataArrived:
    data: bytes
    reliable: bool


@dataclass(frozen=True, slots=True)
class PeerStateChanged:
    subscriber: bool
    state: str


MediaEvent = MediaTrackArrived | DataArrived | PeerStateChanged


@dataclass(frozen=True, slots=True)
class RelayedTrack:
    """A published track to add to a subscriber PC."""

    source: Any  # the publisher's aiortc RemoteStreamTrack
    publisher_sid: str
    track_sid: str


def stopped_mids(sdp: str) -> set[str]:
    """Mids of an offer's media sections that no longer send (an unpublished track).

    A section stops sending when it is ``a=inactive`` or ``a=recvonly`` (the
    client removed its track; aiortc and browsers keep the m-line) or rejected
    with port 0. Sections without a mid are ignored.
    """
    stopped: set[str] = set()
    for section in sdp.replace("\r\n", "\n").split("\nm=")[1:]:
        lines = [line.strip() for line in section.split("\n")]
        fields = lines[0].split()
        mid = next((line[6:] for line in lines if line.startswith("a=mid:")), None)
        rejected = len(fields) > 1 and fields[1] == "0"
        idle = "a=inactive" in lines or "a=recvonly" in lines
        if mid and (rejected or idle):
            stopped.add(mid)
    return stopped


def parse_candidate_init(text: str) -> tuple[str, str | None, int | None] | None:
    """Parse a trickled RTCIceCandidateInit JSON string.

    Returns ``(candidate without the "candidate:" prefix, sdpMid, sdpMLineIndex)``, or
    None for an end-of-candidates marker. Raises :class:`RemoteProtocolError`.
    """
    try:
        init = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RemoteProtocolError("trickle candidate is not JSON") from exc
    if not isinstance(init, dict) or not isinstance(init.get("candidate", ""), str):
        raise RemoteProtocolError("trickle candidate is not an RTCIceCandidateInit object")
    candidate = str(init.get("candidate", ""))
    if not candidate:
        return None
    if candidate.startswith("candidate:"):
        candidate = candidate[len("candidate:") :]
    mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    return (
        candidate,
        mid if isinstance(mid, str) else None,
        index if isinstance(index, int) and not isinstance(index, bool) else None,
    )


MAX_UNSENT_RELIABLE_BYTES = 1 << 20
"""Reliable data held for a participant whose data channel is still opening."""


class ParticipantMedia:
    """Handle to one participant's PCs; obtain it from :func:`open_participant_media`."""

    def __init__(
        self,
        bridge: AsyncioBridge,
        relay: Any,
        publisher: Any,
        subscriber: Any,
        events: trio.MemorySendChannel[MediaEvent],
    ) -> None:
        self._bridge = bridge
        self._relay = relay
        self._publisher = publisher
        self._subscriber = subscriber
        self._events = events
        self._channels: dict[bool, Any] = {}
        self._pending_candidates: dict[bool, list[Any]] = {True: [], False: []}
        self._proxies: dict[str, Any] = {}
        self._unsent: list[bytes] = []  # reliable packets waiting for the channel to open
        self._unsent_bytes = 0
        self.offers_sent = 0
        self.data_dropped = 0  # lossy packets before the channel opened, or over the cap

    def _post(self, event: MediaEvent) -> None:
        """asyncio side: hand ``event`` to Trio. Never raises; drops when full/closed."""

        def deliver() -> None:
            with suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                self._events.send_nowait(event)

        self._bridge.post(deliver)

    async def setup(self) -> None:
        """Create the server data channels and hook aiortc events (on the loop)."""

        async def install() -> None:
            pub, sub = self._publisher, self._subscriber
            self._channels[True] = sub.createDataChannel("_reliable", ordered=True)
            self._channels[False] = sub.createDataChannel("_lossy", ordered=False, maxRetransmits=0)

            @pub.on("track")  # type: ignore[untyped-decorator]
            def on_track(track: Any) -> None:
                transceiver = next(
                    (t for t in pub.getTransceivers() if t.receiver.track is track), None
                )
                mid = transceiver.mid if transceiver is not None and transceiver.mid else ""
                if transceiver is not None and track.kind == "audio":
                    set_audio_prefetch(transceiver.receiver, 1)  # forward as an SFU would
                self._post(MediaTrackArrived(track, track.id, mid, track.kind))

            @pub.on("datachannel")  # type: ignore[untyped-decorator]
            def on_datachannel(channel: Any) -> None:
                reliable = channel.label != "_lossy"

                @channel.on("message")  # type: ignore[untyped-decorator]
                def on_message(message: Any) -> None:
                    if isinstance(message, bytes):
                        self._post(DataArrived(message, reliable))

            for pc, is_sub in ((pub, False), (sub, True)):
                self._hook_state(pc, is_sub)

        await self._bridge.run(install)

    def _hook_state(self, pc: Any, is_subscriber: bool) -> None:
        @pc.on("connectionstatechange")  # type: ignore[untyped-decorator]
        def on_state() -> None:
            self._post(PeerStateChanged(is_subscriber, pc.connectionState))

    async def answer_publisher(self, offer_sdp: str) -> str:
        """Apply the client's publisher offer and return our answer SDP."""

        async def answer() -> str:
            from aiortc import RTCSessionDescription

            await self._publisher.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            if adopt_remote_ice(self._publisher, offer_sdp):  # the client restarted ICE
                restart_local_ice(self._publisher)
            await self._flush_candidates(False)
            await self._publisher.setLocalDescription(await self._publisher.createAnswer())
            return str(self._publisher.localDescription.sdp)

        return str(await self._run_sdp(answer))

    async def offer_subscriber(
        self, additions: Sequence[RelayedTrack], *, ice_restart: bool = False
    ) -> str:
        """Add ``additions`` as sendonly transceivers and return a fresh offer SDP
        (with new ICE credentials when ``ice_restart``: a resume)."""

        async def offer() -> str:
            for added in additions:
                proxy = self._relay.subscribe(added.source, buffered=False)
                transceiver = self._subscriber.addTransceiver(proxy, direction="sendonly")
                transceiver.sender._stream_id = f"{added.publisher_sid}|{added.track_sid}"
                transceiver.sender._track_id = added.track_sid
                self._proxies[added.track_sid] = (transceiver, proxy)
            if ice_restart:
                restart_local_ice(self._subscriber)
            await self._subscriber.setLocalDescription(await self._subscriber.createOffer())
            return str(self._subscriber.localDescription.sdp)

        self.offers_sent += 1
        return str(await self._run_sdp(offer))

    async def apply_subscriber_answer(self, answer_sdp: str) -> None:
        async def apply() -> None:
            from aiortc import RTCSessionDescription

            await self._subscriber.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
            adopt_remote_ice(self._subscriber, answer_sdp)
            await self._flush_candidates(True)

        await self._run_sdp(apply)

    async def _run_sdp(self, fn: Any) -> Any:
        """Run one SDP/ICE step to completion, even if the caller is cancelled meanwhile.

        A step cancelled half-way can leave aioice sockets that ``close()`` does not
        know about yet (an unclosed transport). Shielded, bounded by ``SDP_GRACE``;
        a pending cancellation is delivered right after.
        """
        with trio.CancelScope(shield=True), trio.move_on_after(SDP_GRACE) as bounded:
            result = await self._run_sdp_unshielded(fn)
        if bounded.cancelled_caught:
            raise RemoteProtocolError("session description step did not finish in time")
        await trio.lowlevel.checkpoint_if_cancelled()
        return result

    async def _run_sdp_unshielded(self, fn: Any) -> Any:
        try:
            return await self._bridge.run(fn)
        except (ValueError, TypeError, AttributeError, LookupError) as exc:
            # aiortc reports malformed or incompatible SDP with these built-in types.
            raise RemoteProtocolError("session description rejected by the media stack") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("aiortc"):
                raise RemoteProtocolError("session description rejected by aiortc") from exc
            raise

    async def add_candidate(self, subscriber: bool, candidate_init: str) -> None:
        """Add a trickled remote candidate (buffered until a remote description exists)."""
        parsed = parse_candidate_init(candidate_init)
        if parsed is None:
            return
        text, mid, index = parsed

        async def add() -> None:
            from aiortc.sdp import candidate_from_sdp

            candidate = candidate_from_sdp(text)
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = index if index is not None else 0
            pc = self._subscriber if subscriber else self._publisher
            if pc.remoteDescription is None:
                self._pending_candidates[subscriber].append(candidate)
            else:
                await pc.addIceCandidate(candidate)

        await self._run_sdp(add)

    async def _flush_candidates(self, subscriber: bool) -> None:  # on the loop
        pc = self._subscriber if subscriber else self._publisher
        pending, self._pending_candidates[subscriber] = self._pending_candidates[subscriber], []
        for candidate in pending:
            await pc.addIceCandidate(candidate)

    def send_data(self, data: bytes, *, reliable: bool) -> None:
        """Queue ``data`` on our ``_reliable``/``_lossy`` channel. Never blocks or raises.

        Reliable packets sent before the channel opened (a participant that just
        joined: an RPC to it, a chat line) wait for it, in order, up to
        ``MAX_UNSENT_RELIABLE_BYTES``; lossy ones are dropped, as on the wire.
        """

        def send() -> None:
            channel = self._channels.get(reliable)
            if channel is not None and channel.readyState == "open":
                self._flush_unsent(channel)
                channel.send(data)
            elif reliable and channel is not None and channel.readyState == "connecting":
                self._hold(channel, data)
            else:
                self.data_dropped += 1

        self._bridge.call_soon(send)

    def _hold(self, channel: Any, data: bytes) -> None:  # on the loop
        if self._unsent_bytes + len(data) > MAX_UNSENT_RELIABLE_BYTES:
            self.data_dropped += 1
            return
        if not self._unsent:
            channel.once("open", lambda: self._flush_unsent(channel))
        self._unsent.append(data)
        self._unsent_bytes += len(data)

    def _flush_unsent(self, channel: Any) -> None:  # on the loop
        unsent, self._unsent, self._unsent_bytes = self._unsent, [], 0
        for data in unsent:
            channel.send(data)

    def stop_relay(self, track_sid: str) -> None:
        """Stop sending a track that was unpublished (its m-line stays, idle)."""
        entry = self._proxies.pop(track_sid, None)
        if entry is None:
            return
        transceiver, proxy = entry

        def stop() -> None:
            transceiver.sender.replaceTrack(None)
            proxy.stop()

        self._bridge.call_soon(stop)


@asynccontextmanager
async def open_participant_media(
    bridge: AsyncioBridge, relay: Any, events: trio.MemorySendChannel[MediaEvent]
) -> AsyncIterator[ParticipantMedia]:
    """Both PCs for one participant; closed (shielded, bounded) on exit."""
    async with (
        open_peer_connection(bridge, close_grace=CLOSE_GRACE) as publisher,
        open_peer_connection(bridge, close_grace=CLOSE_GRACE) as subscriber,
    ):
        media = ParticipantMedia(bridge, relay, publisher, subscriber, events)
        await media.setup()
        yield media
