"""A one-frame audio jitter buffer for aiortc receivers on a relay hop.

aiortc's ``RTCRtpReceiver`` queues audio in a ``JitterBuffer(capacity=16,
prefetch=4)``: a frame goes to the decoder only once four complete frames are
buffered, 80 ms of 20 ms Opus frames on every receiver, with no option to change
it. livekit-server is an SFU: it forwards RTP without a jitter buffer, and only
the final receiver (the browser's NetEq, adaptive) buffers. The dev server's relay
decodes each published track with aiortc, so every hop through it added aiortc's
80 ms on top of the receiver at the end: measured in the demo (issue 12), caller
end of speech -> first agent sample 643/679 ms medians with it, 466/486 ms with
no prefetch at any receiver.

:func:`set_audio_prefetch` lowers one receiver's prefetch. The dev server sets its
own receivers to one frame (the smallest: a frame is complete once the next one's
first packet arrives), which makes the relay behave like the SFU it stands in for.
Receivers of clients (agents, the demo's caller) keep aiortc's default: they face
real networks, where reordering and jitter need the buffer.

The private attributes touched are aiortc 1.16's ``RTCRtpReceiver.__jitter_buffer``
and ``JitterBuffer._prefetch``; if either is missing (another aiortc), nothing is
changed and False is returned, so a version bump costs latency, never correctness.
"""

from __future__ import annotations

from typing import Any

__all__ = ["set_audio_prefetch"]


def set_audio_prefetch(receiver: Any, frames: int) -> bool:
    """Make ``receiver`` (an audio ``RTCRtpReceiver``) release a frame once
    ``frames`` complete frames are buffered. True if it was changed."""
    if frames < 1:
        raise ValueError("frames must be >= 1")
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer", None)
    if buffer is None or getattr(buffer, "_is_video", True) or not hasattr(buffer, "_prefetch"):
        return False
    buffer._prefetch = frames
    return True
