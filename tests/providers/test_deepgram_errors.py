"""DeepgramSTT failures: each fault of the fake server, as the right ProviderError.

The policy is the HTTP family's (tests/providers/test_openai_providers.py): auth and
bad requests are final, rate limits, server errors, dropped and stalled streams are
retryable, a malformed message is final. Virtual time, real loopback sockets. What
every websocket STT shares (connect timeout, no hidden retries, conformance) is in
test_streaming_stt_contract.py.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import (
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from trioagents.testing import (
    CloseAfter,
    DeepgramFault,
    MalformedAfter,
    RefuseUpgrade,
    ReportErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    deepgram_rate_limited,
    deepgram_unauthorized,
    deepgram_unavailable,
    open_fake_deepgram,
)

from ._deepgram_support import deepgram, two_utterances
from ._stt_kits import DEEPGRAM, assert_error, check_key_never_leaks, run_with_fault

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
    run, elapsed, _ = await run_with_fault(DEEPGRAM, fault)
    error = assert_error(DEEPGRAM, run, error_class, retryable, status)
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


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_key_never_leaks(
    case: str, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await check_key_never_leaks(DEEPGRAM, CASES[case][0], caplog)
