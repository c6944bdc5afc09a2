"""Unpublishing: which offer sections stopped sending, and the hub/registry bookkeeping.

The end-to-end path (our client leaves ``publish_audio``, the other room sees
``RemoteTrackUnpublished``) is ``tests/rtc/test_devserver_unpublish.py``.
"""

from __future__ import annotations

from livekit.protocol import models, rtc

from trioagents.devserver._media import RelayedTrack, stopped_mids

from .test_hub import make_hub

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:0",
        "a=sendonly",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:1",
        "a=inactive",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:2",
        "a=recvonly",
        "m=audio 0 UDP/TLS/RTP/SAVPF 96",
        "a=mid:3",
        "a=sendonly",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=mid:4",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=inactive",
        "",
    ]
)


def test_stopped_mids_are_inactive_recvonly_or_rejected_sections() -> None:
    assert stopped_mids(OFFER) == {"1", "2", "3"}
    assert stopped_mids(OFFER.replace("\r\n", "\n")) == {"1", "2", "3"}
    assert stopped_mids("") == set()
    assert stopped_mids("m=audio") == set()


def test_unpublish_removes_the_track_broadcasts_and_stops_relaying() -> None:
    hub, s, sent = make_hub()
    alice = s["alice"].participant
    request = rtc.AddTrackRequest(cid="c1", name="mic", type=models.AUDIO)
    info = hub.registry.add_track(alice, request)
    assert hub.registry.publish_track(alice, "c1", models.AUDIO, "0") is not None
    hub.track_published(alice, RelayedTrack(object(), alice.sid, info.sid))
    version = alice.info.version
    sent.clear()

    removed = hub.registry.unpublish_track(alice, info.sid)
    hub.track_unpublished(alice, info.sid)

    assert removed is not None
    assert removed.sid == info.sid
    assert list(alice.info.tracks) == []
    assert alice.info.version == version + 1
    updates = [m.update for m in sent if m.HasField("update")]
    assert updates
    assert all(info.sid not in {t.sid for p in u.participants for t in p.tracks} for u in updates)
    assert info.sid not in hub.published
    assert s["bob"].unsubscribed == [info.sid]
    assert s["carol"].unsubscribed == [info.sid]
    assert s["alice"].unsubscribed == []
    assert hub.registry.unpublish_track(alice, info.sid) is None  # already gone
