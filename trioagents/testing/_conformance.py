"""A conformance kit for provider implementations (ours and third parties').

``report = await check_llm_conformance(llm, faults)`` (likewise
:func:`check_tts_conformance`, :func:`check_stt_conformance`) runs the contract
every provider must keep and returns a :class:`ConformanceReport`;
``report.raise_if_failed()`` turns it into one assertion listing every failure.

The contract:

* ``cancel_closes_stream`` -- cancelling the scope around an open stream (after
  its first item) leaves the ``async with`` within ``cancel_bound`` seconds;
* ``nothing_after_cancel`` -- once that block is left, the iterator yields
  nothing more (no audio, no tokens);
* ``error:<fault>`` -- each injected fault surfaces as the right
  :class:`~trioagents.core.ProviderError` subclass with the right ``retryable``
  bit, and nothing else escapes (no raw ``httpx``/socket errors);
* ``no_hidden_retries`` -- a failing call is attempted once: retrying is the
  wrapper's job, and a provider that retries inside multiplies the policy;
* ``retries_obey_policy`` -- under :func:`~trioagents.providers.with_retry`, two
  transient failures cost exactly three attempts, and a non-retryable one costs one.

Faults are injected through a :class:`FaultInjector`: the provider's test double
arranges for its next requests to fail. :class:`OpenAIFaultInjector` does this
for anything that talks to :class:`~trioagents.testing.OpenAIServer`,
:class:`DeepgramFaultInjector` for :class:`~trioagents.testing.FakeDeepgramServer`,
:class:`RealtimeTranscriptionFaultInjector` for
:class:`~trioagents.testing.FakeRealtimeTranscriptionServer`, :class:`TTSFaultInjector`
for the fake ElevenLabs and Cartesia servers.
An injector with a ``kinds`` attribute is only asked for those kinds (Deepgram
has no content filter). Without an injector only the cancellation checks run.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    AudioFrame,
    ChatContext,
    ChatMessage,
    ContentFilterError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from ..providers import RetryPolicy, with_retry
from ._cartesia_server import FakeCartesiaServer
from ._deepgram_faults import DeepgramFault, deepgram_rate_limited
from ._deepgram_server import FakeDeepgramServer
from ._elevenlabs_server import FakeElevenLabsServer
from ._openai_server import Endpoint, OpenAIServer
from ._openai_server_faults import (
    Fault,
    RespondWithStatus,
    StallAfter,
    content_filtered,
    rate_limited,
    server_error,
)
from ._realtime_transcription_faults import (
    RealtimeTranscriptionFault,
    realtime_rate_limited,
    realtime_unavailable,
)
from ._realtime_transcription_server import FakeRealtimeTranscriptionServer
from ._tts_faults import TTSFault
from ._websocket_fake import FakeWebSocketServer
from ._websocket_faults import RefuseUpgrade, StallStreamAfter

__all__ = [
    "CheckResult",
    "ConformanceReport",
    "DeepgramFaultInjector",
    "FaultInjector",
    "FaultKind",
    "OpenAIFaultInjector",
    "RealtimeTranscriptionFaultInjector",
    "TTSFaultInjector",
    "check_llm_conformance",
    "check_stt_conformance",
    "check_tts_conformance",
]

FaultKind: TypeAlias = Literal[
    "server_error", "rate_limited", "bad_request", "content_filter", "stall"
]

# fault -> (error class expected, retryable bit expected)
_EXPECTED: dict[FaultKind, tuple[type[ProviderError], bool]] = {
    "server_error": (ProviderStatusError, True),
    "rate_limited": (ProviderStatusError, True),
    "bad_request": (ProviderStatusError, False),
    "content_filter": (ContentFilterError, False),
    "stall": (ProviderTimeoutError, True),
}


class FaultInjector(Protocol):
    """Makes the provider's next ``times`` requests fail with ``kind``."""

    def inject(self, kind: FaultKind, *, times: int = 1) -> None: ...

    def request_count(self) -> int:
        """Requests (attempts) the provider made so far."""
        ...


class OpenAIFaultInjector:
    """A :class:`FaultInjector` over :class:`OpenAIServer` for one endpoint.

    ``stall`` needs the provider's idle timeout to be shorter than the test's patience.
    """

    def __init__(self, server: OpenAIServer, endpoint: Endpoint) -> None:
        self._server = server
        self._endpoint = endpoint

    def inject(self, kind: FaultKind, *, times: int = 1) -> None:
        bad_request = RespondWithStatus(400, b'{"error": {"code": "invalid_request_error"}}')
        faults: dict[FaultKind, Fault] = {
            "server_error": server_error(),
            "rate_limited": rate_limited(retry_after=0),
            "bad_request": bad_request,
            "content_filter": content_filtered(),
            "stall": StallAfter(20),
        }
        self._server.script(*[faults[kind]] * times, endpoint=self._endpoint)

    def request_count(self) -> int:
        return len(self._server.requests_to(self._endpoint))


class _WebSocketFaultInjector:
    """A :class:`FaultInjector` over one of the kit's fake websocket servers: every
    kind but ``content_filter``; statuses refuse the upgrade, ``stall`` goes silent
    from the start. ``stall`` needs the client's idle timeout below the patience."""

    kinds: frozenset[FaultKind] = frozenset(
        {"server_error", "rate_limited", "bad_request", "stall"}
    )

    def __init__(self, server: FakeWebSocketServer[Any, Any]) -> None:
        self._server = server

    def _faults(self) -> Mapping[FaultKind, object]:
        raise NotImplementedError

    def inject(self, kind: FaultKind, *, times: int = 1) -> None:
        self._server.script(*[self._faults()[kind]] * times)

    def request_count(self) -> int:
        return len(self._server.sessions)


class DeepgramFaultInjector(_WebSocketFaultInjector):
    """A :class:`FaultInjector` over :class:`FakeDeepgramServer`."""

    def __init__(self, server: FakeDeepgramServer) -> None:
        super().__init__(server)

    def _faults(self) -> Mapping[FaultKind, DeepgramFault]:
        return {
            "server_error": RefuseUpgrade(500, b'{"err_code": "INTERNAL"}'),
            "rate_limited": deepgram_rate_limited(retry_after=0),
            "bad_request": RefuseUpgrade(400, b'{"err_code": "Bad Request"}'),
            "stall": StallStreamAfter(0.0),
        }


class RealtimeTranscriptionFaultInjector(_WebSocketFaultInjector):
    """A :class:`FaultInjector` over :class:`FakeRealtimeTranscriptionServer`."""

    def __init__(self, server: FakeRealtimeTranscriptionServer) -> None:
        super().__init__(server)

    def _faults(self) -> Mapping[FaultKind, RealtimeTranscriptionFault]:
        return {
            "server_error": realtime_unavailable(500),
            "rate_limited": realtime_rate_limited(retry_after=0),
            "bad_request": RefuseUpgrade(400, b'{"error": {"type": "invalid_request_error"}}'),
            "stall": StallStreamAfter(0.0),
        }


class TTSFaultInjector(_WebSocketFaultInjector):
    """A :class:`FaultInjector` over :class:`~trioagents.testing.FakeElevenLabsServer`
    or :class:`~trioagents.testing.FakeCartesiaServer`."""

    def __init__(self, server: FakeElevenLabsServer | FakeCartesiaServer) -> None:
        super().__init__(server)

    def _faults(self) -> Mapping[FaultKind, TTSFault]:
        return {
            "server_error": RefuseUpgrade(500, b'{"detail": "internal"}'),
            "rate_limited": RefuseUpgrade(429, b'{"detail": "busy"}', (("retry-after", "0"),)),
            "bad_request": RefuseUpgrade(400, b'{"detail": "invalid"}'),
            "stall": StallStreamAfter(0.0),
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    provider: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def raise_if_failed(self) -> None:
        """Raise AssertionError naming every failed check."""
        if not self.passed:
            lines = [f"{r.name}: {r.detail}" for r in self.failures()]
            raise AssertionError(f"{self.provider} is not conformant:\n  " + "\n  ".join(lines))


Opener: TypeAlias = Callable[[Any], AbstractAsyncContextManager[AsyncIterator[Any]]]


@dataclass(frozen=True, slots=True)
class _Kind:
    """How to run one call of a provider kind: open it, feed it, read it."""

    open: Opener
    feed: Callable[[Any], Awaitable[None]]


async def _consume(kind: _Kind, provider: Any) -> None:
    async with kind.open(provider) as stream:
        await kind.feed(stream)
        async for _ in stream:
            pass


async def _check_cancel(kind: _Kind, provider: Any, bound: float) -> list[CheckResult]:
    got_first = False
    cancelled_at = 0.0
    late: list[object] = []
    with trio.move_on_after(bound * 20 + 10) as guard:
        with trio.CancelScope() as turn:
            async with kind.open(provider) as stream:
                await kind.feed(stream)
                async for _ in stream:
                    got_first = True
                    cancelled_at = trio.current_time()
                    turn.cancel()
                    await trio.lowlevel.checkpoint()
        exit_delay = trio.current_time() - cancelled_at
        if got_first:
            with trio.move_on_after(bound), contextlib.suppress(Exception):
                late.append(await stream.__anext__())
    if guard.cancelled_caught or not got_first:
        failed = "the stream hung" if guard.cancelled_caught else "the stream produced no item"
        return [CheckResult("cancel_closes_stream", False, failed)]
    return [
        CheckResult(
            "cancel_closes_stream",
            exit_delay <= bound,
            f"left the block {exit_delay:.3f}s after the cancel (bound {bound}s)",
        ),
        CheckResult("nothing_after_cancel", not late, f"{len(late)} item(s) after cancel"),
    ]


async def _expect_error(kind: _Kind, provider: Any) -> BaseException | None:
    try:
        await _consume(kind, provider)
    except Exception as exc:
        return exc
    return None


async def _check_errors(
    kind: _Kind, provider: Any, faults: FaultInjector, stall_patience: float
) -> list[CheckResult]:
    results = []
    kinds = getattr(faults, "kinds", _EXPECTED.keys())
    for fault, (expected, retryable) in _EXPECTED.items():
        if fault not in kinds:
            continue
        faults.inject(fault)
        before = faults.request_count()
        with trio.move_on_after(stall_patience) as patience:
            error = await _expect_error(kind, provider)
        if patience.cancelled_caught:
            results.append(
                CheckResult(f"error:{fault}", False, "no error before the patience ran out")
            )
            continue
        ok = isinstance(error, expected) and getattr(error, "retryable", None) is retryable
        detail = f"got {type(error).__name__} (retryable={getattr(error, 'retryable', None)}), "
        results.append(CheckResult(f"error:{fault}", ok, detail + f"want {expected.__name__}"))
        if fault == "server_error":
            attempts = faults.request_count() - before
            results.append(CheckResult("no_hidden_retries", attempts == 1, f"{attempts} attempts"))
    return results


async def _check_retry_policy(kind: _Kind, provider: Any, faults: FaultInjector) -> CheckResult:
    policy = RetryPolicy(max_retries=3, base_delay=0.01, rng=random.Random(0))
    wrapped = with_retry(provider, policy)
    faults.inject("server_error", times=2)
    before = faults.request_count()
    error = await _expect_error(kind, wrapped)
    transient = faults.request_count() - before
    faults.inject("bad_request")
    before = faults.request_count()
    final = await _expect_error(kind, wrapped)
    permanent = faults.request_count() - before
    ok = error is None and transient == 3 and isinstance(final, ProviderError) and permanent == 1
    detail = f"transient: {transient} attempts ({error!r}); permanent: {permanent} attempt(s)"
    return CheckResult("retries_obey_policy", ok, detail)


async def _run(
    label: str,
    kind: _Kind,
    provider: Any,
    faults: FaultInjector | None,
    cancel_bound: float,
    stall_patience: float,
) -> ConformanceReport:
    results = await _check_cancel(kind, provider, cancel_bound)
    if faults is not None:
        results += await _check_errors(kind, provider, faults, stall_patience)
        results.append(await _check_retry_policy(kind, provider, faults))
    return ConformanceReport(label, tuple(results))


async def _no_input(_: object) -> None:
    await trio.lowlevel.checkpoint()


async def check_llm_conformance(
    llm: LLM,
    faults: FaultInjector | None = None,
    *,
    cancel_bound: float = 0.5,
    stall_patience: float = 60.0,
) -> ConformanceReport:
    """Run the contract against ``llm`` (one short chat per check)."""
    chat_ctx = ChatContext([ChatMessage("user", "Say hello.")])
    kind = _Kind(lambda p: p.chat(chat_ctx), _no_input)
    return await _run(llm.label, kind, llm, faults, cancel_bound, stall_patience)


async def check_tts_conformance(
    tts: TTS,
    faults: FaultInjector | None = None,
    *,
    text: str = "Hello there, this is a conformance check.",
    cancel_bound: float = 0.5,
    stall_patience: float = 60.0,
) -> ConformanceReport:
    """Run the contract against a chunked ``tts``."""
    kind = _Kind(lambda p: p.synthesize(text), _no_input)
    return await _run(tts.label, kind, tts, faults, cancel_bound, stall_patience)


async def check_stt_conformance(
    stt: STT,
    audio: Sequence[AudioFrame],
    faults: FaultInjector | None = None,
    *,
    cancel_bound: float = 0.5,
    stall_patience: float = 60.0,
) -> ConformanceReport:
    """Run the contract against a streaming ``stt``; ``audio`` must produce events."""

    async def feed(stream: Any) -> None:
        for frame in audio:
            await stream.push_frame(frame)
        await stream.end_input()

    kind = _Kind(lambda p: p.stream(), feed)
    return await _run(stt.label, kind, stt, faults, cancel_bound, stall_patience)
