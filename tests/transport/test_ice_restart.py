"""ICE restarts between two aiortc peer connections (loopback, real clock).

Consent checks are made frequent (aioice's ``CONSENT_INTERVAL``) so a connection
whose peer moved to new credentials without it following dies within the test:
that is what happens without the restart helpers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
import trio

from trioagents.transport import (
    adopt_remote_ice,
    ice_credentials,
    open_asyncio_bridge,
    open_peer_connection,
    restart_local_ice,
)

pytestmark = pytest.mark.slow


async def _negotiate(offerer: Any, answerer: Any, *, restart: bool, follow: bool) -> None:
    from aiortc import RTCSessionDescription

    if restart:
        restart_local_ice(offerer)
    await offerer.setLocalDescription(await offerer.createOffer())
    offer = offerer.localDescription.sdp
    await answerer.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    if follow and adopt_remote_ice(answerer, offer):
        restart_local_ice(answerer)
    await answerer.setLocalDescription(await answerer.createAnswer())
    answer = answerer.localDescription.sdp
    await offerer.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    if follow:
        adopt_remote_ice(offerer, answer)


async def _restart_and_send(follow: bool) -> tuple[list[str], tuple[str, str]]:
    """Connect, send, ICE-restart, wait past six consent rounds, send again."""
    async with (
        open_asyncio_bridge() as bridge,
        open_peer_connection(bridge) as offerer,
        open_peer_connection(bridge) as answerer,
    ):

        async def scenario() -> tuple[list[str], tuple[str, str]]:
            received: list[str] = []
            channel = offerer.createDataChannel("data")
            opened = asyncio.Event()
            channel.on("open", opened.set)
            answerer.on("datachannel", lambda c: c.on("message", received.append))
            await _negotiate(offerer, answerer, restart=False, follow=True)
            await asyncio.wait_for(opened.wait(), 10)
            before = ice_credentials(offerer.localDescription.sdp)
            channel.send("before")
            await _negotiate(offerer, answerer, restart=True, follow=follow)
            await asyncio.sleep(4.0)  # six failed consent checks (~0.55 s each) close it
            if channel.readyState == "open":
                channel.send("after")
            await asyncio.sleep(0.3)
            after = ice_credentials(offerer.localDescription.sdp)
            assert before is not None
            assert after not in (None, before)
            return received, (offerer.connectionState, answerer.connectionState)

        result: tuple[list[str], tuple[str, str]] = await bridge.run(scenario)
        return result


async def test_both_sides_follow_a_restart_and_the_data_keeps_flowing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.05)
    with trio.fail_after(30):
        received, states = await _restart_and_send(follow=True)
    assert received == ["before", "after"]
    assert states == ("connected", "connected")


async def test_without_the_helpers_a_restart_loses_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.05)
    with trio.fail_after(30):
        received, _ = await _restart_and_send(follow=False)
    assert received == ["before"]


def test_ice_credentials_reads_the_first_pair() -> None:
    sdp = "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecret\r\na=ice-ufrag:zzzz\r\n"
    assert ice_credentials(sdp) == ("abcd", "secretsecret")
    assert ice_credentials("v=0\r\n") is None
