"""AlignedFramer: PCM chunks of any length into frames, each with an exact text_end."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from trioagents.protocol import AlignedFramer, TextAligner

RATE = 1000  # 1 sample per ms keeps the arithmetic readable


def pcm(values: range | list[int]) -> bytes:
    return np.asarray(list(values), dtype="<i2").tobytes()


def framer(text: str, **kwargs: object) -> tuple[AlignedFramer, TextAligner]:
    aligner = TextAligner()
    aligner.extend(text)
    return AlignedFramer(RATE, aligner, frame_samples=20, **kwargs), aligner  # type: ignore[arg-type]


@given(st.lists(st.integers(0, 41), min_size=1, max_size=12))
def test_odd_chunks_lose_and_shift_no_sample(cuts: list[int]) -> None:
    data = pcm(range(-300, 300))
    frames_out = []
    sink, _ = framer("x")
    sink.known_until(10.0)
    position = 0
    for cut in cuts:
        sink.audio(data[position : position + cut], now=0.0)
        position += cut
        frames_out += sink.release(0.0)
    sink.audio(data[position:], now=0.0)
    sink.finish()
    frames_out += sink.release(0.0)
    samples = np.concatenate([f.data[:, 0] for f in frames_out])
    assert samples.tolist() == list(range(-300, 300))
    assert all(f.samples_per_channel <= 20 for f in frames_out)
    assert frames_out[-1].text_end == 1


def test_text_end_follows_the_marks_and_covers_following_spaces() -> None:
    sink, aligner = framer("ab cd")
    start = sink.audio(pcm([0] * 50), now=0.0)
    assert start == 0.0
    for index, char in enumerate("ab cd"):
        sink.mark(start + (index + 1) * 0.010, aligner.char(char))
    sink.known_until(sink.audio_seconds)
    ends = [f.text_end for f in sink.release(0.0)]
    assert ends == [3, 4, 5]  # by 20 ms "ab" (and its space), by 40 ms "ab c", all by 50 ms


def test_frames_wait_for_lagging_alignment_but_not_forever() -> None:
    sink, aligner = framer("hello world", wait=0.3)
    sink.audio(pcm([0] * 40), now=0.0)
    assert sink.release(0.1) == []  # no timestamps yet
    assert sink.deadline() == 0.3
    sink.mark(0.012, aligner.word("hello"))
    sink.mark(0.030, aligner.word("world"))
    sink.known_until(0.030)
    first = sink.release(0.1)
    assert [f.text_end for f in first] == [6]  # the 0-20 ms frame: "hello " by 20 ms
    assert sink.release(0.29) == []  # 20-40 ms: a word could still end before 40 ms
    late = sink.release(0.3)  # the wait ran out: released with what is known
    assert [f.text_end for f in late] == [11]


def test_after_the_input_ended_the_last_frame_says_everything() -> None:
    sink, aligner = framer("hi.")
    sink.end_of_input()
    sink.audio(pcm([0] * 30), now=0.0)
    sink.mark(0.010, aligner.char("h"))
    sink.mark(0.020, aligner.char("i"))
    sink.known_until(sink.audio_seconds)
    assert [f.text_end for f in sink.release(0.0)] == [2]  # the tail waits for the final
    sink.finish()
    assert [f.text_end for f in sink.release(0.0)] == [3]
    assert sink.finished
