"""The subscriber negotiator's pacing: one offer at a time, no renegotiation before
the subscriber PC first connected (aiortc would never start the new m-line's media).

No media: a fake ParticipantMedia records the offers; virtual time.
"""

from __future__ import annotations

from typing import Any

import trio
from livekit.protocol import models, rtc

from trioagents.devserver._hub import SignalHub
from trioagents.devserver._media import PeerStateChanged, RelayedTrack
from trioagents.devserver._registry import Registry
from trioagents.devserver._signal import ANSWER_TIMEOUT, SignalSession
from trioagents.protocol import TokenClaims, VideoGrants


class FakeMedia:
    def __init__(self) -> None:
        self.offers: list[list[str]] = []  # track sids added per offer
        self._offered = trio.Event()

    async def offer_subscriber(self, additions: Any, *, ice_restart: bool = False) -> str:
        await trio.lowlevel.checkpoint()
        self.offers.append([t.track_sid for t in additions])
        self._offered.set()
        self._offered = trio.Event()
        return f"sdp{len(self.offers)}"

    async def wait_offers(self, count: int) -> None:
        while len(self.offers) < count:
            await self._offered.wait()

    async def apply_subscriber_answer(self, answer_sdp: str) -> None:
        await trio.lowlevel.checkpoint()


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[rtc.SignalResponse] = []

    def put(self, message: rtc.SignalResponse) -> None:
        self.sent.append(message)


def make_session() -> tuple[SignalSession, FakeMedia, FakeOutbox]:
    registry = Registry(on_event=lambda e: None, wall_clock=lambda: 0.0)
    hub = SignalHub(registry, None, None, models.ServerInfo, lambda: 0.0)
    claims = TokenClaims(api_key="k", identity="agent", video=VideoGrants(room_join=True, room="r"))
    record = registry.join(claims, models.ClientInfo(), lambda m: None, lambda r: None)
    media, outbox = FakeMedia(), FakeOutbox()
    session = SignalSession(hub, record, media, outbox, True)  # type: ignore[arg-type]
    return session, media, outbox


async def answer(session: SignalSession, offer_id: int) -> None:
    request = rtc.SignalRequest(answer=rtc.SessionDescription(type="answer", sdp="a", id=offer_id))
    await session.handle(request)


async def test_a_track_published_while_the_subscriber_connects_waits_for_the_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    session, media, _ = make_session()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.negotiate_subscriber)
        session.request_offer()  # the join's first offer
        await trio.sleep(0.1)
        assert media.offers == [[]]
        await answer(session, 1)
        session.subscribe(RelayedTrack(object(), "PA_caller", "TR_mic"))
        await trio.sleep(ANSWER_TIMEOUT / 2)
        assert media.offers == [[]]  # not while DTLS may still be handshaking
        session._peer_state(PeerStateChanged(subscriber=True, state="connected"))
        await trio.sleep(0.1)
        assert media.offers == [[], ["TR_mic"]]
        nursery.cancel_scope.cancel()


async def test_once_connected_renegotiations_are_not_delayed(
    autojump_clock: trio.abc.Clock,
) -> None:
    session, media, _ = make_session()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.negotiate_subscriber)
        session.request_offer()
        await trio.sleep(0.1)
        await answer(session, 1)
        session._peer_state(PeerStateChanged(subscriber=True, state="connected"))
        start = trio.current_time()
        session.subscribe(RelayedTrack(object(), "PA_caller", "TR_mic"))
        await media.wait_offers(2)
        assert trio.current_time() - start < 0.1
        nursery.cancel_scope.cancel()


async def test_a_subscriber_that_never_connects_still_gets_the_offer_after_the_bound(
    autojump_clock: trio.abc.Clock,
) -> None:
    session, media, _ = make_session()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.negotiate_subscriber)
        session.request_offer()
        await trio.sleep(0.1)
        await answer(session, 1)
        start = trio.current_time()
        session.subscribe(RelayedTrack(object(), "PA_caller", "TR_mic"))
        await media.wait_offers(2)
        assert ANSWER_TIMEOUT <= trio.current_time() - start <= ANSWER_TIMEOUT + 1
        nursery.cancel_scope.cancel()
