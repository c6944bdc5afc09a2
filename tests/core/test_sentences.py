from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import SentenceSplitter, split_sentences


def test_splits_on_terminators_followed_by_space() -> None:
    text = "Hello there, how are you today? I am fine, thank you very much. Bye now"
    assert split_sentences(text) == [
        "Hello there, how are you today?",
        "I am fine, thank you very much.",
        "Bye now",
    ]


def test_decimals_and_abbreviations_do_not_split() -> None:
    text = "The price is 3.5 dollars for Dr. Smith today. Then we are done here."
    assert split_sentences(text) == [
        "The price is 3.5 dollars for Dr. Smith today.",
        "Then we are done here.",
    ]


def test_short_sentences_are_joined() -> None:
    assert split_sentences("Ok. Sure. That is absolutely fine with me.") == [
        "Ok. Sure. That is absolutely fine with me."
    ]


def test_incremental_emits_as_soon_as_a_sentence_is_certain() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Welcome to the restaurant") == []
    assert splitter.push(".") == []  # no whitespace after the dot yet
    assert splitter.push(" How many guests?") == ["Welcome to the restaurant."]
    assert splitter.flush() == "How many guests?"
    assert splitter.flush() is None


@given(st.text(alphabet="ab .!?\n,'", max_size=200), st.lists(st.integers(0, 200), max_size=8))
def test_chunking_does_not_change_the_result(text: str, cuts: list[int]) -> None:
    whole = split_sentences(text)
    splitter = SentenceSplitter()
    out: list[str] = []
    points = sorted({min(c, len(text)) for c in cuts})
    prev = 0
    for point in [*points, len(text)]:
        out.extend(splitter.push(text[prev:point]))
        prev = point
    rest = splitter.flush()
    if rest:
        out.append(rest)
    assert out == whole
    assert " ".join(whole).split() == text.split()
