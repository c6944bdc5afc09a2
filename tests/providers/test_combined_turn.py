"""AnyIncompleteDetector (most cautious verdict) and the dangling-word rule."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from trioagents.core import AudioFrame, ChatContext, ConfigurationError, ProviderError
from trioagents.providers import AnyIncompleteDetector, DanglingWordDetector


class Fixed:
    def __init__(self, p: float, threshold: float = 0.5, *, fail: bool = False, delay: float = 0):
        self.p, self.unlikely_threshold, self.fail, self.delay = p, threshold, fail, delay

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        await trio.sleep(self.delay)
        if self.fail:
            raise ProviderError("down", provider="t", retryable=True)
        return self.p


@pytest.mark.parametrize(
    ("text", "p"),
    [("I'd like a table for", 0.05), ("um", 0.05), ("yes", 0.95), ("four people.", 0.95),
     ("", 0.95), ("send it to my", 0.05),
     # a copula after a noun hangs; after a pronoun it ends the sentence
     ("my number is", 0.05), ("The order number is", 0.05), ("is", 0.05),
     ("yes it is", 0.95), ("here they are", 0.95), ("I am", 0.95), ("that's what it is", 0.95)],
)  # fmt: skip
async def test_dangling_words(text: str, p: float) -> None:
    assert await DanglingWordDetector().predict_end_of_turn(ChatContext(), text, ()) == p


async def test_any_incomplete_takes_the_lowest_rescaled_verdict(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # 0.6 against a 0.2 threshold is "likely": 0.75 on a 0.5 scale
    both = AnyIncompleteDetector([Fixed(0.9, delay=1.0), Fixed(0.6, 0.2, delay=1.0)])
    start = trio.current_time()
    assert await both.predict_end_of_turn(ChatContext(), "x", ()) == pytest.approx(0.75)
    assert trio.current_time() - start == pytest.approx(1.0)  # asked concurrently


async def test_an_unlikely_verdict_settles_it_without_waiting_for_the_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A slow model must not hold back (or, past the session's detector timeout,
    throw away) what the dangling-word rule already knows."""
    slow = Fixed(0.9, delay=30.0)
    # 0.15 against a 0.2 threshold is "unlikely": 0.375 on a 0.5 scale
    either = AnyIncompleteDetector([slow, Fixed(0.15, 0.2, delay=0.1)])
    start = trio.current_time()
    assert await either.predict_end_of_turn(ChatContext(), "x", ()) == pytest.approx(0.375)
    assert trio.current_time() - start == pytest.approx(0.1)  # the slow one was cancelled
    rule = AnyIncompleteDetector([slow, DanglingWordDetector()])
    assert await rule.predict_end_of_turn(ChatContext(), "a table for", ()) < 0.5
    assert trio.current_time() - start == pytest.approx(0.1)


async def test_a_failing_member_is_left_out_unless_all_fail() -> None:
    some = AnyIncompleteDetector([Fixed(0.0, fail=True), Fixed(0.8)])
    assert await some.predict_end_of_turn(ChatContext(), "x", ()) == pytest.approx(0.8)
    none = AnyIncompleteDetector([Fixed(0.0, fail=True)])
    with pytest.raises(ProviderError):
        await none.predict_end_of_turn(ChatContext(), "x", ())


def test_it_needs_a_detector() -> None:
    with pytest.raises(ConfigurationError):
        AnyIncompleteDetector([])
