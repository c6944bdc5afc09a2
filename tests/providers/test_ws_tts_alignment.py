"""The text_end contract of the websocket TTS providers, as a property.

For random texts pushed in random pieces (LLM tokens cut anywhere), over both
providers, odd-length audio messages or not, Cartesia's timestamps before or after
their audio, a connection per stream or a shared one: every frame's ``text_end``

* only grows, never passes the characters pushed, and is all of them at the end;
* is what the fake server's own alignment says for the frame's end (the
  characters it had spoken by then, in our text's offsets, with the spaces that
  follow) -- exactly, or within the servers' 1 ms resolution when a message
  boundary splits a sample.

The voice pipeline cuts the heard text on barge-in by this number.
"""

from __future__ import annotations

import itertools

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.testing import FakeTTSOptions

from ._tts_support import KEY, PROVIDERS, expected_text_end, frame_ends, provider_and_fake, speak

alphabet = st.sampled_from(list("abcdefghij  ,.!?'\"-\né5"))
texts = st.text(alphabet, max_size=70)


@st.composite
def pushes(draw: st.DrawFn) -> list[str]:
    text = draw(texts)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    provider=st.sampled_from(PROVIDERS),
    pieces=pushes(),
    odd=st.booleans(),
    timestamps_first=st.booleans(),
    shared=st.booleans(),
    message_ms=st.sampled_from([20, 60, 200]),
)
async def test_text_end_is_the_servers_alignment(
    provider: str,
    pieces: list[str],
    odd: bool,
    timestamps_first: bool,
    shared: bool,
    message_ms: int,
    autojump_clock: trio.abc.Clock,
) -> None:
    options = FakeTTSOptions(
        api_key=KEY, odd_bytes=odd, timestamps_first=timestamps_first, message_ms=message_ms
    )
    with trio.fail_after(60):
        async with provider_and_fake(provider, options) as (tts, server):
            if shared:
                async with tts.connected() as connected:
                    spoken = await speak(connected, pieces)
            else:
                spoken = await speak(tts, pieces)
    assert spoken.error is None
    text = "".join(pieces)
    ends = spoken.text_ends
    assert all(isinstance(end, int) for end in ends)
    assert ends == sorted(ends)  # type: ignore[type-var]
    assert all(0 <= end <= len(text) for end in ends)  # type: ignore[operator]
    utterance = server.utterances[0]
    assert utterance.text == text
    if not spoken.frames:
        assert not text.strip() or provider == "cartesia"
        return
    assert ends[-1] == len(text)
    slack = 0.0011 if odd else 0.0
    for end, at in zip(ends[:-1], frame_ends(spoken.frames), strict=False):
        low, high = expected_text_end(utterance, at, slack=slack)
        assert low <= end <= high, (end, at, low, high)  # type: ignore[operator]
