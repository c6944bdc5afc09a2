"""Reliable data for a participant whose data channel is still opening is held and
sent in order once it opens (bounded); lossy data is not held."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from trioagents.devserver._media import MAX_UNSENT_RELIABLE_BYTES, ParticipantMedia


class Bridge:
    def call_soon(self, fn: Callable[[], None]) -> None:
        fn()  # the loop thread, inline


class Channel:
    def __init__(self) -> None:
        self.readyState = "connecting"
        self.sent: list[bytes] = []
        self._on_open: list[Callable[[], None]] = []

    def once(self, event: str, callback: Callable[[], None]) -> None:
        assert event == "open"
        self._on_open.append(callback)

    def send(self, data: bytes) -> None:
        assert self.readyState == "open"
        self.sent.append(data)

    def open(self) -> None:
        self.readyState = "open"
        callbacks, self._on_open = self._on_open, []
        for callback in callbacks:
            callback()


def media_with_channels() -> tuple[ParticipantMedia, Channel, Channel]:
    send, _ = trio.open_memory_channel[Any](1)
    bridge: Any = Bridge()
    media = ParticipantMedia(bridge, None, None, None, send)
    reliable, lossy = Channel(), Channel()
    media._channels.update({True: reliable, False: lossy})  # what setup() creates
    return media, reliable, lossy


def test_reliable_packets_wait_for_the_channel_and_keep_their_order() -> None:
    media, reliable, lossy = media_with_channels()
    media.send_data(b"rpc request", reliable=True)
    media.send_data(b"chat line", reliable=True)
    media.send_data(b"lossy", reliable=False)
    assert reliable.sent == []
    reliable.open()
    lossy.open()
    media.send_data(b"after", reliable=True)
    assert reliable.sent == [b"rpc request", b"chat line", b"after"]
    assert lossy.sent == []
    assert media.data_dropped == 1  # the lossy one


def test_what_is_held_is_bounded() -> None:
    media, reliable, _ = media_with_channels()
    big = b"x" * (MAX_UNSENT_RELIABLE_BYTES // 2)
    for _ in range(3):
        media.send_data(big, reliable=True)
    reliable.open()
    assert reliable.sent == [big, big]
    assert media.data_dropped == 1
