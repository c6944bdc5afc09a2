"""RPC always ends with a response or an RpcError (LiveKit's ack and response
timeouts, recipient disconnected, payload limits), on Trio's clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from livekit.protocol import models

from trioagents.rtc import RpcError, RpcInvocation
from trioagents.rtc._rpc import ACK_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT_MS, RpcEndpoint


class Peer:
    """The far side: ``mode`` "lost" drops requests, "ack" acks and never answers,
    "serve" runs the callee endpoint."""

    def __init__(self, caller: RpcEndpoint, mode: str) -> None:
        self.caller = caller
        self.mode = mode
        self.callee = RpcEndpoint(self.reply)
        self.requests: list[models.RpcRequest] = []
        self.nursery: trio.Nursery | None = None

    async def reply(self, packet: models.DataPacket) -> None:
        kind = packet.WhichOneof("value")
        if kind == "rpc_ack":
            self.caller.on_ack(packet.rpc_ack)
        elif kind == "rpc_response":
            self.caller.on_response(packet.rpc_response)

    async def receive(self, packet: models.DataPacket) -> None:
        request = packet.rpc_request
        self.requests.append(request)
        if self.mode == "ack":
            self.caller.on_ack(models.RpcAck(request_id=request.id))
        elif self.mode == "serve":
            assert self.nursery is not None
            self.nursery.start_soon(self.callee.serve_request, request, "alice")


async def call_through(mode: str, payload: str = "x", method: str = "m") -> float:
    """Perform one call against a peer in ``mode``; returns how long it took."""
    forward: list[Peer] = []

    async def send(packet: models.DataPacket) -> None:
        await forward[0].receive(packet)

    caller = RpcEndpoint(send)
    peer = Peer(caller, mode)
    forward.append(peer)
    peer.callee.register("big", big_answer)
    failure: list[RpcError] = []
    async with trio.open_nursery() as nursery:
        peer.nursery = nursery
        start = trio.current_time()
        try:
            await caller.perform("bob", method, payload)
        except RpcError as exc:
            failure.append(exc)  # raised below, not as a group of this nursery
        nursery.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return trio.current_time() - start


async def big_answer(invocation: RpcInvocation) -> str:
    return "y" * 20_000


async def test_a_lost_request_is_a_connection_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    with pytest.raises(RpcError) as info:
        await call_through("lost")
    assert info.value.code == 1501
    assert trio.current_time() - start == pytest.approx(ACK_TIMEOUT)


async def test_an_acked_call_without_answer_is_a_response_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    with pytest.raises(RpcError) as info:
        await call_through("ack")
    assert info.value.code == 1502
    assert trio.current_time() - start == pytest.approx(DEFAULT_RESPONSE_TIMEOUT_MS / 1000)


async def test_the_callers_deadline_stays_the_callers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(trio.TooSlowError), trio.fail_after(3):
        await call_through("ack")


async def test_a_recipient_that_leaves_fails_the_call_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sent = trio.Event()

    async def send(packet: models.DataPacket) -> None:
        sent.set()

    caller = RpcEndpoint(send)

    async def leave_soon() -> None:
        await sent.wait()
        await trio.sleep(1)
        caller.participant_left("carol")  # someone else: no effect
        caller.participant_left("bob")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(leave_soon)
        start = trio.current_time()
        with pytest.raises(RpcError) as info:
            await caller.perform("bob", "m", "")
    assert info.value.code == 1503  # at once, not after the 7 s ack timeout
    assert trio.current_time() - start == pytest.approx(1.0)


async def test_payload_limits(autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(RpcError) as info:
        await call_through("serve", payload="é" * 7_681)  # 15 362 bytes
    assert info.value.code == 1402
    with pytest.raises(RpcError) as info:
        await call_through("serve", method="big")
    assert info.value.code == 1504
