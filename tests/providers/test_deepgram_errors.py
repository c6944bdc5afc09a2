"""DeepgramSTT failures: each fault of the fake server, as the right ProviderError.

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
from trioagents.providers import RetryPolicy, with_retry
from trioagents.testing import (
    CloseAfter,
    DeepgramFault,
    DeepgramFaultInjector,
    MalformedAfter,
    RefuseUpgrade,
    ReportErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    check_stt_conformance,
    deepgram_rate_limited,
    deepgram_unauthorized,
    deepgram_unavailable,
    open_fake_deepgram,
    refused_deepgram_url,
)

from ._deepgram_support import deepgram, transcribe, two_utterances

# fault -> (error class, retryable, status)
CASES: dict[str, tuple[DeepgramFault | None, type[ProviderError], bool, int | None]] = {
    "unauthorized": (deepgram_unauthorized(), ProviderStatusError, False, 401),
    "forbidden": (RefuseUpgrade(403), ProviderStatusError, False, 403),
    "bad_request": (RefuseUpgrade(400), ProviderStatusError, False, 400),
    "rate_limited": (deepgram_rate_limited(3), ProviderStatusError, True, 429),
    "unavailable": (deepgram_unavailable(503), ProviderStatusError, True, 503),
    "server_error": (RefuseUpgrade(500), ProviderStatusError, True, 500),
    "refused": (None, ProviderConnectionError, True, None),
    "closed_mid_stream": (CloseAfter(0.8), ProviderConnectionError, True, None),
    "closed_normally_early": (CloseAfter(0.8, 1000, ""), ProviderConnectionError, True, None),
    "reset_mid_stream": (ResetStreamAfter(0.8), ProviderConnectionError, True, None),
    "bad_audio_close": (CloseAfter(0.8, 1008, "DATA-0000"), ProviderError, False, None),
    "error_message": (ReportErrorAfter(0.8), ProviderStatusError, True, 500),
    "bad_audio_error": (ReportErrorAfter(0.8, "DATA-0000"), ProviderError, False, None),
    "stall": (StallStreamAfter(0.8), ProviderTimeoutError, True, None),
    "malformed": (MalformedAfter(0.8), ProviderError, False, None),
    "not_an_object": (MalformedAfter(0.8, "[1, 2, 3]"), ProviderError, False, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_fault_maps_to_provider_error(case: str, autojump_clock: trio.abc.Clock) -> None:
    fault, error_class, retryable, status = CASES[case]
    timeline = two_utterances()
    with trio.fail_after(120):
        async with open_fake_deepgram(timeline) as server:
            url = refused_deepgram_url() if case == "refused" else server.url
            if fault is not None:
                server.script(fault)
            start = trio.current_time()
            run = await transcribe(deepgram(url, idle_timeout=2.0), timeline)
            elapsed = trio.current_time() - start
    error = run.error
    assert type(error) is error_class
    assert error.retryable is retryable
    assert error.status == status
    assert error.provider == "deepgram/nova-3"
    if case == "rate_limited":
        assert isinstance(error, ProviderStatusError)
        assert error.retry_after == 3
    if case == "unauthorized":
        assert error.body["err_code"] == "INVALID_AUTH"
    if case == "stall":
        # idle_timeout after the last message the server sent (just before it went silent)
        assert 0.8 + 2.0 - 0.15 <= elapsed <= 0.8 + 2.0
    if case == "bad_audio_close":
        assert error.body == {"code": 1008, "reason": "DATA-0000"}
    if case.endswith("mid_stream") or case in ("malformed", "stall"):
        assert "turn on the lights" not in run.finals  # it failed within the first utterance


async def test_no_stall_timeout_while_only_keepalives_go_out(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The idle timeout counts only after audio was sent: a quiet stream is not stalled."""
    timeline = two_utterances()
    with trio.fail_after(120):
        async with (
            open_fake_deepgram(timeline) as server,
            deepgram(server.url, idle_timeout=2.0).stream() as stream,
        ):
            with trio.move_on_after(30):
                await stream.__anext__()
            assert server.sessions[0].controls.count("KeepAlive") == 5
            await stream.end_input()
            assert [e async for e in stream] == []


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
            url = f"ws://127.0.0.1:{port}/v1/listen"
            start = trio.current_time()
            run = await transcribe(deepgram(url, connect_timeout=3.0), two_utterances())
            assert trio.current_time() - start == pytest.approx(3.0)
            nursery.cancel_scope.cancel()
    assert isinstance(run.error, ProviderTimeoutError)
    assert accepted


CANARY = "dg-CANARY-7f3a9c"


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
        async with open_fake_deepgram(timeline) as server:
            url = refused_deepgram_url() if case == "refused" else server.url
            if fault is not None:
                server.script(fault)
            stt = deepgram(url, idle_timeout=2.0)
            stt = type(stt)(
                stt.options, connection=type(stt.connection)(base_url=url, api_key=CANARY)
            )
            run = await transcribe(stt, timeline)
    assert run.error is not None
    assert CANARY not in _texts(run.error)
    assert CANARY not in caplog.text
    assert CANARY not in repr(stt.connection)
    if case != "refused":
        assert server.sessions[0].headers["authorization"] == f"Token {CANARY}"
        assert CANARY not in server.sessions[0].path


async def test_no_hidden_retries_and_policy_retries(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(120):
        async with open_fake_deepgram(timeline) as server:
            server.script(RefuseUpgrade(503))
            run = await transcribe(deepgram(server.url), timeline)
            assert len(server.sessions) == 1  # the provider itself never retries
            assert run.error is not None
            server.script(RefuseUpgrade(503), CloseAfter(0.8))
            retrying = with_retry(deepgram(server.url), RetryPolicy(base_delay=0.1))
            healed = await transcribe(retrying, timeline)
    assert healed.error is None
    assert healed.finals == ["turn on the lights", "thank you"]
    assert len(server.sessions) == 4


async def test_conformance_with_faults(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    frames = [timeline.frame(i) for i in range(round(timeline.duration / 0.01))]
    with trio.fail_after(600):
        async with open_fake_deepgram(timeline) as server:
            stt = deepgram(server.url, idle_timeout=2.0)
            report = await check_stt_conformance(stt, frames, DeepgramFaultInjector(server))
    report.raise_if_failed()
    names = {result.name for result in report.results}
    assert {"error:stall", "error:rate_limited", "no_hidden_retries"} <= names
    assert "retries_obey_policy" in names
