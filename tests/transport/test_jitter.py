"""The dev server's one-frame audio jitter buffer (``_jitter.py``)."""

from __future__ import annotations

import pytest
from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from trioagents.transport import set_audio_prefetch


class _Transport:
    """Just enough of an RTCDtlsTransport for a receiver that is never started."""

    state = "new"

    def _register_rtp_receiver(self, *args: object) -> None:
        del args


def _frames_released(buffer: JitterBuffer, packets: int) -> int:
    released = 0
    for seq in range(packets):
        packet = RtpPacket(sequence_number=seq, timestamp=seq * 960, payload=b"x")
        packet._data = b"x"  # what the receiver sets before buffering (the depayloaded frame)
        _, frame = buffer.add(packet)
        released += frame is not None
    return released


def test_an_audio_receiver_releases_each_frame_once_the_next_arrives() -> None:
    receiver = RTCRtpReceiver("audio", _Transport())
    buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert _frames_released(buffer, 5) == 1  # aiortc's default: 4 frames held back
    fresh = RTCRtpReceiver("audio", _Transport())
    assert set_audio_prefetch(fresh, 1)
    buffer = fresh._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert _frames_released(buffer, 5) == 4  # one held: the frame still being received


def test_video_and_foreign_receivers_are_left_alone() -> None:
    assert not set_audio_prefetch(RTCRtpReceiver("video", _Transport()), 1)
    assert not set_audio_prefetch(object(), 1)
    with pytest.raises(ValueError, match="frames"):
        set_audio_prefetch(object(), 0)
