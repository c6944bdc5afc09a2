"""OpenAIRealtimeSTT failures: each fault of the fake server, as the right ProviderError.

The policy is the HTTP family's (tests/providers/test_openai_providers.py): auth and
bad requests are final, rate limits, server errors, dropped and stalled streams are
retryable, a malformed message is final. Virtual time, real loopback sockets.
"""

from __future__ import annotations

import functools
import logging

import pytest
import trio

from trioagents.core import (
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from trioagents.providers import OpenAIConnection, OpenAIRealtimeSTT, RetryPolicy, with_retry
from trioagents.testing import (
    CloseAfter,
    FailTranscriptionAfter,
    FakeRealtimeTranscriptionOptions,
    Healthy,
    MalformedAfter,
    RealtimeTranscriptionFault,
    RealtimeTranscriptionFaultInjector,
    RefuseUpgrade,
    ReportRealtimeErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    check_stt_conformance,
    open_fake_realtime_transcription,
    realtime_rate_limited,
    realtime_unauthorized,
    realtime_unavailable,
    refused_realtime_base_url,
)

from ._realtime_transcription_support import realtime
from ._streaming_stt_support import transcribe, two_utterances

INVALID = "invalid_request_error"
# fault -> (error class, retryable, status); None: connection refused
CASES: dict[
    str, tuple[RealtimeTranscriptionFault | None, type[ProviderError], bool, int | None]
] = {
    "unauthorized": (realtime_unauthorized(), ProviderStatusError, False, 401),
    "unauthorized_in_band": (Healthy(), ProviderStatusError, False, 401),
    "forbidden": (RefuseUpgrade(403), ProviderStatusError, False, 403),
    "bad_request": (RefuseUpgrade(400), ProviderStatusError, False, 400),
    "rate_limited": (realtime_rate_limited(3), ProviderStatusError, True, 429),
    "unavailable": (realtime_unavailable(503), ProviderStatusError, True, 503),
    "server_error": (RefuseUpgrade(500), ProviderStatusError, True, 500),
    "refused": (None, ProviderConnectionError, True, None),
    "closed_mid_stream": (CloseAfter(0.8), ProviderConnectionError, True, None),
    "closed_normally_early": (CloseAfter(0.8, 1000, ""), ProviderConnectionError, True, None),
    "closed_bad_request": (
        CloseAfter(0.8, 3000, f"{INVALID}.invalid_value"),
        ProviderStatusError,
        False,
        400,
    ),
    "reset_mid_stream": (ResetStreamAfter(0.8), ProviderConnectionError, True, None),
    "error_event": (ReportRealtimeErrorAfter(0.8), ProviderStatusError, True, 500),
    "invalid_request_event": (
        ReportRealtimeErrorAfter(0.8, INVALID, "invalid_value"),
        ProviderStatusError,
        False,
        400,
    ),
    "rate_limit_event": (
        ReportRealtimeErrorAfter(0.8, "requests", "rate_limit_exceeded"),
        ProviderStatusError,
        True,
        429,
    ),
    "transcription_failed": (FailTranscriptionAfter(0.8), ProviderStatusError, True, 500),
    "transcription_refused": (
        FailTranscriptionAfter(0.8, INVALID),
        ProviderStatusError,
        False,
        400,
    ),
    "stall": (StallStreamAfter(0.8), ProviderTimeoutError, True, None),
    "stall_from_the_start": (StallStreamAfter(0.0), ProviderTimeoutError, True, None),
    "malformed": (MalformedAfter(0.8), ProviderError, False, None),
    "not_an_object": (MalformedAfter(0.8, "[1, 2, 3]"), ProviderError, False, None),
}
IN_BAND_KEY = FakeRealtimeTranscriptionOptions(api_key="sk-the-right-key")


def server_options(case: str) -> FakeRealtimeTranscriptionOptions | None:
    return IN_BAND_KEY if case == "unauthorized_in_band" else None


@pytest.mark.parametrize("case", sorted(CASES))
async def test_fault_maps_to_provider_error(case: str, autojump_clock: trio.abc.Clock) -> None:
    fault, error_class, retryable, status = CASES[case]
    timeline = two_utterances()
    with trio.fail_after(120):
        async with open_fake_realtime_transcription(timeline, server_options(case)) as server:
            url = refused_realtime_base_url() if fault is None else server.base_url
            if fault is not None:
                server.script(fault)
            start = trio.current_time()
            run = await transcribe(realtime(url, idle_timeout=2.0), timeline)
            elapsed = trio.current_time() - start
    error = run.error
    assert type(error) is error_class
    assert error.retryable is retryable
    assert error.status == status
    assert error.provider == "openai-realtime/gpt-4o-mini-transcribe"
    if case == "rate_limited":
        assert isinstance(error, ProviderStatusError)
        assert error.retry_after == 3
    if case.startswith("unauthorized"):
        assert error.body["error"]["code"] == "invalid_api_key"
    if case == "stall":
        # silent mid-utterance: noticed when the closing commit goes unanswered
        assert timeline.duration + 2.0 - 0.05 <= elapsed <= timeline.duration + 2.0 + 0.05
    if case == "stall_from_the_start":
        assert elapsed == pytest.approx(2.0)  # the session.updated never came
    if case == "closed_bad_request":
        assert error.body == {"code": 3000, "reason": f"{INVALID}.invalid_value"}
    if case.endswith("mid_stream") or case in ("malformed", "stall", "transcription_failed"):
        assert "turn on the lights" not in run.finals  # it failed within the first utterance


async def test_no_stall_timeout_while_nothing_is_owed(autojump_clock: trio.abc.Clock) -> None:
    """The server says nothing while the user is silent: that is not a stall."""
    timeline = two_utterances()
    with trio.fail_after(120):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url, idle_timeout=2.0).stream() as stream,
        ):
            with trio.move_on_after(30) as quiet:
                await stream.__anext__()
            assert quiet.cancelled_caught
            await stream.end_input()
            assert [e async for e in stream] == []
    assert server.sessions[0].sent_of("session.updated")


async def test_connect_timeout(autojump_clock: trio.abc.Clock) -> None:
    """A server that accepts TCP but never answers the upgrade."""
    accepted: list[trio.SocketStream] = []

    async def silent(stream: trio.SocketStream) -> None:
        accepted.append(stream)
        await trio.sleep_forever()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            stt = realtime(f"http://127.0.0.1:{port}/v1", connect_timeout=3.0)
            start = trio.current_time()
            run = await transcribe(stt, two_utterances())
            assert trio.current_time() - start == pytest.approx(3.0)
            nursery.cancel_scope.cancel()
    assert isinstance(run.error, ProviderTimeoutError)
    assert accepted


CANARY = "sk-CANARY-5d1e0b"


def _texts(error: BaseException) -> str:
    """Every message, repr and attribute of an error and its whole chain."""
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None:
        seen += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(seen)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_key_never_leaks(
    case: str, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fault = CASES[case][0]
    timeline = two_utterances()
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(120):
        async with open_fake_realtime_transcription(timeline, server_options(case)) as server:
            url = refused_realtime_base_url() if fault is None else server.base_url
            if fault is not None:
                server.script(fault)
            stt = OpenAIRealtimeSTT(
                realtime(url).options,
                connection=OpenAIConnection(base_url=url, api_key=CANARY, idle_timeout=2.0),
            )
            run = await transcribe(stt, timeline)
    assert run.error is not None
    assert CANARY not in _texts(run.error)
    assert CANARY not in caplog.text
    assert CANARY not in repr(stt.connection)
    if fault is not None:
        session = server.sessions[0]
        assert session.headers["authorization"] == f"Bearer {CANARY}"
        assert CANARY not in session.path
        assert all(CANARY not in value for values in session.query.values() for value in values)


async def test_no_hidden_retries_and_policy_retries(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(120):
        async with open_fake_realtime_transcription(timeline) as server:
            server.script(RefuseUpgrade(503))
            run = await transcribe(realtime(server.base_url), timeline)
            assert len(server.sessions) == 1  # the provider itself never retries
            assert run.error is not None
            server.script(RefuseUpgrade(503), CloseAfter(0.8))
            retrying = with_retry(realtime(server.base_url), RetryPolicy(base_delay=0.1))
            healed = await transcribe(retrying, timeline)
    assert healed.error is None
    assert healed.finals == ["turn on the lights", "thank you"]
    assert len(server.sessions) == 4


async def test_conformance_with_faults(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    frames = [timeline.frame(i) for i in range(round(timeline.duration / 0.01))]
    with trio.fail_after(600):
        async with open_fake_realtime_transcription(timeline) as server:
            stt = realtime(server.base_url, idle_timeout=2.0)
            report = await check_stt_conformance(
                stt, frames, RealtimeTranscriptionFaultInjector(server)
            )
    report.raise_if_failed()
    names = {result.name for result in report.results}
    assert {"error:stall", "error:rate_limited", "no_hidden_retries"} <= names
    assert "retries_obey_policy" in names
