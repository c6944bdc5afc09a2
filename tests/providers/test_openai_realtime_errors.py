"""The realtime model's fault matrix: every fault of the fake server, mapped.

Connect-time faults raise from ``model.session()``; reply-time faults end the
reply with the mapped error, and either fail the connection (``session.failure``,
``input_events`` raise the same error) or leave it usable (the next reply plays).
The API key never appears in an error, its chain, or a log record (canary).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
import trio

from trioagents.core import (
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from trioagents.testing import (
    CloseDuringReply,
    ErrorForReply,
    FailReply,
    FakeRealtimeOptions,
    MalformedDuringReply,
    NoSessionCreated,
    RealtimeFault,
    RealtimeReply,
    RefuseUpgrade,
    ResetDuringReply,
    StallDuringReply,
    open_fake_realtime,
    realtime_rate_limited,
    realtime_unauthorized,
    realtime_unavailable,
    refused_realtime_base_url,
)

from ._realtime_support import realtime, reply
from ._stt_kits import error_texts

SCRIPT = [RealtimeReply("The first reply is long enough for a few chunks."), RealtimeReply("Ok.")]


@dataclass(frozen=True)
class ConnectCell:
    fault: RealtimeFault | None  # None: connection refused
    error: type[ProviderError]
    retryable: bool
    status: int | None = None


CONNECT: dict[str, ConnectCell] = {
    "refused": ConnectCell(None, ProviderConnectionError, True),
    "unauthorized": ConnectCell(realtime_unauthorized(), ProviderStatusError, False, 401),
    "forbidden": ConnectCell(RefuseUpgrade(403), ProviderStatusError, False, 403),
    "rate_limited": ConnectCell(realtime_rate_limited(3), ProviderStatusError, True, 429),
    "unavailable": ConnectCell(realtime_unavailable(), ProviderStatusError, True, 503),
    "no_session_created": ConnectCell(NoSessionCreated(), ProviderTimeoutError, True),
}


@pytest.mark.parametrize("name", sorted(CONNECT))
async def test_connect_faults(name: str, autojump_clock: trio.abc.Clock) -> None:
    cell = CONNECT[name]
    async with open_fake_realtime(SCRIPT) as server:
        url = refused_realtime_base_url() if cell.fault is None else server.base_url
        if cell.fault is not None:
            server.script(cell.fault)
        with trio.fail_after(30), pytest.raises(ProviderError) as caught:
            async with realtime(url).session(instructions=""):
                pytest.fail("the session opened")
    error = caught.value
    assert type(error) is cell.error
    assert error.retryable is cell.retryable
    assert error.status == cell.status
    if name == "rate_limited":
        assert isinstance(error, ProviderStatusError)
        assert error.retry_after == 3.0


@dataclass(frozen=True)
class ReplyCell:
    fault: RealtimeFault
    error: type[ProviderError]
    retryable: bool
    connection_lost: bool
    status: int | None = None


REPLY: dict[str, ReplyCell] = {
    "closed_before_created": ReplyCell(CloseDuringReply(), ProviderConnectionError, True, True),
    "closed_mid_reply": ReplyCell(
        CloseDuringReply(after_chunks=2), ProviderConnectionError, True, True
    ),
    "reset_mid_reply": ReplyCell(
        ResetDuringReply(after_chunks=2), ProviderConnectionError, True, True
    ),
    "stalled_mid_reply": ReplyCell(
        StallDuringReply(after_chunks=1), ProviderTimeoutError, True, True
    ),
    "server_error_event": ReplyCell(ErrorForReply(), ProviderStatusError, True, False, 500),
    "invalid_request_event": ReplyCell(
        ErrorForReply(error_type="invalid_request_error", code="bad"),
        ProviderStatusError,
        False,
        False,
        400,
    ),
    "reply_failed": ReplyCell(FailReply(), ProviderStatusError, True, False, 500),
    "malformed_mid_reply": ReplyCell(
        MalformedDuringReply(after_chunks=1), ProviderError, False, False
    ),
}


@pytest.mark.parametrize("name", sorted(REPLY))
async def test_reply_faults(name: str, autojump_clock: trio.abc.Clock) -> None:
    cell = REPLY[name]
    async with open_fake_realtime(SCRIPT) as server:
        server.script(cell.fault)
        with trio.fail_after(30):
            async with realtime(server, idle_timeout=2.0).session(instructions="") as session:
                start = trio.current_time()
                first = await reply(session)
                elapsed = trio.current_time() - start
                second = await reply(session)
                failure = session.failure
    error = first.error
    assert error is not None
    assert type(error) is cell.error
    assert error.retryable is cell.retryable
    assert error.status == cell.status
    if cell.connection_lost:
        assert failure is error
        assert second.error is error  # every later call raises what ended it
    else:
        assert failure is None
        assert second.error is None
        assert second.text == "Ok."
    if name == "stalled_mid_reply":
        assert elapsed == pytest.approx(2.0, abs=0.05)


async def test_input_events_end_with_the_connection_failure(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_fake_realtime(SCRIPT) as server:
        server.script(CloseDuringReply(after_chunks=1))
        with trio.fail_after(30):
            async with realtime(server).session(instructions="") as session:
                await reply(session)
                with pytest.raises(ProviderConnectionError):
                    async for _ in session.input_events():
                        pass
                assert await session.wait_failed() is session.failure


async def test_an_error_event_for_another_request_does_not_fail_the_reply(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_fake_realtime(SCRIPT, options=FakeRealtimeOptions(pace=1.0)) as server:
        with trio.fail_after(30):
            async with (
                realtime(server).session(instructions="") as session,
                trio.open_nursery() as n,
            ):
                result = []

                async def run() -> None:
                    result.append(await reply(session))

                n.start_soon(run)
                await server.wait_for(lambda s: bool(s.last.replies))
                await session.truncate("item_unknown", 1.0)  # the fake answers with an error
    assert result[0].error is None
    assert result[0].text == SCRIPT[0].text


CANARY = "sk-CANARY-realtime-4c1f"


@pytest.mark.parametrize("name", ["unauthorized", "closed_mid_reply", "server_error_event"])
async def test_the_key_never_leaks(
    name: str, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fault = CONNECT[name].fault if name in CONNECT else REPLY[name].fault
    async with open_fake_realtime(SCRIPT) as server:
        assert fault is not None
        server.script(fault)
        model = realtime(server, api_key=CANARY)
        error: ProviderError | None = None
        with trio.fail_after(30):
            try:
                async with model.session(instructions="") as session:
                    error = (await reply(session)).error
            except ProviderError as exc:
                error = exc
    assert error is not None
    assert CANARY not in error_texts(error)
    assert CANARY not in caplog.text
    assert CANARY not in repr(model.connection)
    assert server.last.headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in server.last.path + str(server.last.query)
