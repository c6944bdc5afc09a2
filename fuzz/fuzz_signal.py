"""Fuzz the sans-I/O signal client (and the data-packet decoder).

Invariant: every server message parses into an event (or is dropped), or raises
RemoteProtocolError; nothing else escapes, and a leave can always be sent after.
Data-channel messages decode to a DataPacket or raise RemoteProtocolError.

Run: ``python fuzz/fuzz_signal.py [examples]`` (default 2000).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.protocol.signal_messages import join_response, server_message
from trioagents.core import RemoteProtocolError
from trioagents.protocol import SignalClient, decode_signal_request
from trioagents.rtc._data import decode_data_packet


def check(messages: list[bytes], join_first: bool, resumed: bool = False) -> None:
    client = SignalClient()
    if join_first:
        client.receive_message(join_response())
    if resumed:  # a resumed link: the reconnect response must come first
        client = SignalClient.resumed(client)
    for data in messages:
        with contextlib.suppress(RemoteProtocolError):
            client.receive_message(data)
    assert decode_signal_request(client.send_leave()).WhichOneof("message") == "leave"
    for data in messages:
        with contextlib.suppress(RemoteProtocolError):
            assert decode_data_packet(data).WhichOneof("value") is not None


def run(examples: int) -> None:
    fuzz_input = st.lists(st.one_of(server_message, st.binary(max_size=512)), max_size=20)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(fuzz_input, st.booleans(), st.booleans())
    def fuzz(messages: list[bytes], join_first: bool, resumed: bool) -> None:
        check(messages, join_first, resumed)

    fuzz()


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print("fuzz_signal: ok")
