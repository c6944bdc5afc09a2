from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from livekit.protocol import models, rtc

from trioagents.core import ConfigurationError, LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    IceCandidateReceived,
    JoinAccepted,
    LeaveRequested,
    LocalTrackPublished,
    ParticipantsUpdated,
    PongReceived,
    PublisherAnswerReceived,
    Reconnected,
    RequestAnswered,
    SignalClient,
    SignalConnectOptions,
    SignalState,
    SubscriberOfferReceived,
    TokenRefreshed,
    decode_signal_request,
    signal_url,
)

from .signal_messages import join_response, response, server_message


def joined() -> SignalClient:
    client = SignalClient()
    event = client.receive_message(join_response())
    assert isinstance(event, JoinAccepted)
    assert client.state is SignalState.JOINED
    return client


def test_url_header_token() -> None:
    url, headers = signal_url("https://lk.example:7880/base/", "tok")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "lk.example:7880", "/base/rtc")
    query = parse_qs(parts.query)
    assert query["protocol"] == ["17"]
    assert query["auto_subscribe"] == ["1"]
    assert "access_token" not in query
    assert headers == [(b"Authorization", b"Bearer tok")]


def test_url_query_token() -> None:
    url, headers = signal_url(
        "ws://h:1", "tok", SignalConnectOptions(token_in_query=True, auto_subscribe=False)
    )
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["tok"]
    assert query["auto_subscribe"] == ["0"]
    assert headers == []


@pytest.mark.parametrize(("url", "token"), [("ftp://h", "t"), ("ws://", "t"), ("ws://h", "")])
def test_url_rejects_bad_configuration(url: str, token: str) -> None:
    with pytest.raises(ConfigurationError):
        signal_url(url, token)


def test_first_message_must_be_join() -> None:
    client = SignalClient()
    with pytest.raises(RemoteProtocolError, match="join response first"):
        client.receive_message(response(refresh_token="x"))
    assert client.state is SignalState.CLOSED
    # a clean leave is still possible after the protocol error, exactly once
    leave = decode_signal_request(client.send_leave("STATE_MISMATCH"))
    assert leave.leave.reason == models.DisconnectReason.STATE_MISMATCH
    with pytest.raises(LocalProtocolError):
        client.send_leave()


def test_join_refused_with_leave() -> None:
    client = SignalClient()
    event = client.receive_message(response(leave=rtc.LeaveRequest(reason=models.JOIN_FAILURE)))
    assert event == LeaveRequested("JOIN_FAILURE", "disconnect")
    assert client.state is SignalState.CLOSED


def test_join_without_valid_participant_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="participant"):
        SignalClient().receive_message(join_response(sid="XX_1"))


def test_cannot_send_before_join() -> None:
    with pytest.raises(LocalProtocolError):
        SignalClient().send_offer("v=0")


def test_offer_answer_ids() -> None:
    client = joined()
    assert decode_signal_request(client.send_offer("o1")).offer.id == 1
    assert decode_signal_request(client.send_offer("o2")).offer.id == 2
    stale = response(answer=rtc.SessionDescription(type="answer", sdp="a1", id=1))
    assert client.receive_message(stale) is None
    assert client.ignored_messages == 1
    fresh = response(answer=rtc.SessionDescription(type="answer", sdp="a2", id=2))
    assert client.receive_message(fresh) == PublisherAnswerReceived("a2", 2)
    offer = response(offer=rtc.SessionDescription(type="offer", sdp="s", id=7))
    assert client.receive_message(offer) == SubscriberOfferReceived("s", 7)
    answer = decode_signal_request(client.send_answer("sa", 7)).answer
    assert (answer.type, answer.sdp, answer.id) == ("answer", "sa", 7)


def test_trickle_both_ways() -> None:
    client = joined()
    init = {
        "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    sent = decode_signal_request(client.send_trickle(init, "publisher")).trickle
    assert json.loads(sent.candidateInit) == init
    assert sent.target == rtc.SignalTarget.PUBLISHER
    received = client.receive_message(
        response(trickle=rtc.TrickleRequest(candidateInit=json.dumps(init), target=1))
    )
    assert received == IceCandidateReceived(json.dumps(init), "subscriber", False)
    with pytest.raises(RemoteProtocolError, match="JSON"):
        client.receive_message(response(trickle=rtc.TrickleRequest(candidateInit="{")))


def test_track_publish_and_attributes() -> None:
    client = joined()
    add = decode_signal_request(client.send_add_track("cid1", "mic")).add_track
    assert (add.cid, add.type, add.source) == (
        "cid1",
        models.TrackType.AUDIO,
        models.TrackSource.MICROPHONE,
    )
    track = models.TrackInfo(sid="TR_1", name="mic")
    event = client.receive_message(
        response(track_published=rtc.TrackPublishedResponse(cid="cid1", track=track))
    )
    assert isinstance(event, LocalTrackPublished)
    assert (event.cid, event.track.sid) == ("cid1", "TR_1")
    request_id, data = client.send_update_attributes({"lk.agent.state": "listening"})
    assert decode_signal_request(data).update_metadata.attributes["lk.agent.state"] == "listening"
    reply = client.receive_message(
        response(
            request_response=rtc.RequestResponse(request_id=request_id, reason=2, message="no")
        )
    )
    assert reply == RequestAnswered(request_id, "NOT_ALLOWED", "no")


def test_participants_ping_token_leave() -> None:
    client = joined()
    info = models.ParticipantInfo(sid="PA_x", identity="user")
    event = client.receive_message(response(update=rtc.ParticipantUpdate(participants=[info])))
    assert isinstance(event, ParticipantsUpdated)
    assert event.participants[0].identity == "user"
    assert decode_signal_request(client.send_ping(1000)).ping_req.timestamp == 1000
    client.set_time(1040)
    assert client.receive_message(
        response(pong_resp=rtc.Pong(last_ping_timestamp=1000))
    ) == PongReceived(40)
    refreshed = client.receive_message(response(refresh_token="secret-jwt"))
    assert refreshed == TokenRefreshed("secret-jwt")
    assert "secret" not in repr(refreshed)
    assert client.receive_message(response(speakers_changed=rtc.SpeakersChanged())) is None
    leave = client.receive_message(
        response(
            leave=rtc.LeaveRequest(reason=models.SERVER_SHUTDOWN, action=rtc.LeaveRequest.RECONNECT)
        )
    )
    assert leave == LeaveRequested("SERVER_SHUTDOWN", "reconnect")
    assert client.receive_message(join_response()) is None  # closed: dropped
    with pytest.raises(LocalProtocolError):
        client.send_ping(1)


def test_unknown_leave_reason_rejected_locally() -> None:
    with pytest.raises(LocalProtocolError):
        joined().send_leave("NO_SUCH_REASON")


@given(st.lists(server_message, max_size=12), st.booleans())
def test_any_message_sequence_parses_or_raises_protocol_error(
    messages: list[bytes], join_first: bool
) -> None:
    client = SignalClient()
    if join_first:
        client.receive_message(join_response())
    for data in messages:
        try:
            client.receive_message(data)
        except RemoteProtocolError:
            assert client.state is SignalState.CLOSED
    # whatever happened, a leave can always be produced once
    assert decode_signal_request(client.send_leave()).WhichOneof("message") == "leave"


def test_message_fed_one_byte_short_is_an_error_or_ignored() -> None:
    data = join_response()
    for cut in range(len(data)):
        client = SignalClient()
        try:
            client.receive_message(data[:cut])
        except RemoteProtocolError:
            continue


def test_resume_url_names_the_participant_to_resume() -> None:
    url, _ = signal_url("ws://h:1", "tok", resume_sid="PA_self")
    query = parse_qs(urlsplit(url).query)
    assert query["reconnect"] == ["1"]
    assert query["sid"] == ["PA_self"]
    assert query["reconnect_reason"] == [str(models.ReconnectReason.RR_SIGNAL_DISCONNECTED)]
    plain, _ = signal_url("ws://h:1", "tok")
    assert "reconnect" not in parse_qs(urlsplit(plain).query)


def test_a_resumed_core_awaits_the_reconnect_response_and_keeps_ids() -> None:
    first = joined()
    first.send_offer("v=0 a")
    first.send_offer("v=0 b")
    resumed = SignalClient.resumed(first)
    assert resumed.state is SignalState.AWAITING_RECONNECT
    with pytest.raises(LocalProtocolError):
        resumed.send_ping(1)
    event = resumed.receive_message(response(reconnect=rtc.ReconnectResponse(last_message_seq=4)))
    assert isinstance(event, Reconnected)
    assert event.response.last_message_seq == 4
    assert resumed.state is SignalState.JOINED
    assert resumed.join is first.join
    offer = decode_signal_request(resumed.send_offer("v=0 c")).offer
    assert offer.id == 3  # ids go on: an answer to the old link's offer 2 is stale
    sync = rtc.SyncState(subscription=rtc.UpdateSubscription(subscribe=False))
    assert decode_signal_request(resumed.send_sync_state(sync)).WhichOneof("message") == (
        "sync_state"
    )


def test_a_resume_refused_with_leave_or_answered_otherwise() -> None:
    refused = SignalClient.resumed(joined())
    leave = rtc.LeaveRequest(
        reason=models.DisconnectReason.STATE_MISMATCH, action=rtc.LeaveRequest.RECONNECT
    )
    event = refused.receive_message(response(leave=leave))
    assert event == LeaveRequested("STATE_MISMATCH", "reconnect")
    assert refused.state is SignalState.CLOSED
    confused = SignalClient.resumed(joined())
    with pytest.raises(RemoteProtocolError, match="reconnect response first"):
        confused.receive_message(join_response())
    assert confused.state is SignalState.CLOSED
    decode_signal_request(confused.send_leave())  # still allowed after the error
