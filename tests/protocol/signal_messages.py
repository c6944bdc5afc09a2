"""Server messages for signal-core tests and the fuzz harness (shared builders)."""

from __future__ import annotations

from hypothesis import strategies as st
from livekit.protocol import models, rtc


def join_response(sid: str = "PA_self", identity: str = "agent") -> bytes:
    join = rtc.JoinResponse(
        room=models.Room(sid="RM_1", name="room"),
        participant=models.ParticipantInfo(sid=sid, identity=identity),
        ping_interval=5,
        ping_timeout=15,
    )
    return rtc.SignalResponse(join=join).SerializeToString()


def response(**fields: object) -> bytes:
    return rtc.SignalResponse(**fields).SerializeToString()  # type: ignore[arg-type]


candidate_json = st.sampled_from(
    [
        '{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", '
        '"sdpMLineIndex": 0}',
        "not json",
        "[1, 2]",
        '{"candidate": 5}',
        "",
    ]
)

server_message = st.one_of(
    st.builds(
        lambda n: response(reconnect=rtc.ReconnectResponse(last_message_seq=n)),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(
        lambda s: response(offer=rtc.SessionDescription(type="offer", sdp=s, id=1)), st.text()
    ),
    st.builds(
        lambda s, i: response(answer=rtc.SessionDescription(type="answer", sdp=s, id=i)),
        st.text(),
        st.integers(0, 3),
    ),
    st.builds(
        lambda c, t: response(trickle=rtc.TrickleRequest(candidateInit=c, target=t)),
        candidate_json,
        st.integers(0, 3),
    ),
    st.builds(
        lambda sid: response(
            update=rtc.ParticipantUpdate(participants=[models.ParticipantInfo(sid=sid)])
        ),
        st.text(max_size=8),
    ),
    st.builds(
        lambda r, a: response(leave=rtc.LeaveRequest(reason=r, action=a)),
        st.integers(0, 40),
        st.integers(0, 5),
    ),
    st.builds(
        lambda r: response(request_response=rtc.RequestResponse(request_id=1, reason=r)),
        st.integers(0, 40),
    ),
    st.builds(lambda t: response(refresh_token=t), st.text(max_size=20)),
    st.builds(
        lambda ts: response(pong_resp=rtc.Pong(last_ping_timestamp=ts)), st.integers(0, 2**40)
    ),
    st.just(response(speakers_changed=rtc.SpeakersChanged())),
    st.just(join_response()),
    st.just(join_response(sid="bad")),
    st.binary(max_size=64),
)
