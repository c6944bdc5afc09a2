"""The text side of a streaming TTS: whole-word pieces, and offsets of what was spoken."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trioagents.protocol import TextAligner, TextPiece, WordChunker

texts = st.text(alphabet=st.sampled_from("ab .,!?\n'é"), max_size=60)


def test_pieces_end_at_word_boundaries_and_keep_the_text_verbatim() -> None:
    chunker = WordChunker()
    assert chunker.push("Hel") is None
    assert chunker.push("lo wor") == TextPiece("Hello ")
    assert chunker.push("ld") is None
    assert chunker.finish() == "world"
    assert chunker.finish() == ""


def test_sentence_ends_flush_once_enough_was_said() -> None:
    chunker = WordChunker(flush_sentences=True, min_flush_chars=10)
    assert chunker.push("Ok. ") == TextPiece("Ok. ")  # too short to flush on its own
    assert chunker.push("That is fine. ") == TextPiece("That is fine. ", flush=True)
    assert chunker.push("Ask Mr. ") == TextPiece("Ask Mr. ")
    assert chunker.push('Smith, he knows!" ') == TextPiece('Smith, he knows!" ', flush=True)


@given(st.lists(texts, max_size=8))
def test_the_pieces_are_the_pushed_text(pushes: list[str]) -> None:
    chunker = WordChunker(flush_sentences=True)
    sent = []
    for text in pushes:
        piece = chunker.push(text)
        if piece is not None:
            assert piece.text[-1].isspace()
            sent.append(piece.text)
    sent.append(chunker.finish())
    assert "".join(sent) == "".join(pushes)


def test_characters_map_onto_our_text_across_spaces_the_server_added_or_dropped() -> None:
    aligner = TextAligner()
    aligner.extend("Hi,  there")
    offsets = [aligner.char(c) for c in " Hi, there"]  # ElevenLabs' leading space
    assert offsets == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert aligner.covered(3) == 5


def test_a_dropped_character_is_skipped_and_an_inserted_one_moves_nothing() -> None:
    aligner = TextAligner()
    aligner.extend("Hello")
    assert [aligner.char(c) for c in "Helo"] == [1, 2, 3, 5]
    aligner = TextAligner()
    aligner.extend("ab")
    assert [aligner.char(c) for c in "aXb"] == [1, 1, 2]


def test_words_take_their_punctuation_and_survive_normalization() -> None:
    aligner = TextAligner()
    aligner.extend('"Hello, world!" It costs $5 - fine')
    ends = [aligner.word(w) for w in ["hello", "world", "It", "costs", "five", "fine"]]
    text = '"Hello, world!" It costs $5 - fine'
    assert [text[:end] for end in ends] == [
        '"Hello,',
        '"Hello, world!"',
        '"Hello, world!" It',
        '"Hello, world!" It costs',
        '"Hello, world!" It costs $5',
        text,
    ]


@given(
    texts,
    st.lists(st.one_of(st.text(max_size=3).map(lambda c: ("c", c)), texts.map(lambda w: ("w", w)))),
)
def test_offsets_only_grow_and_stay_within_the_text(
    text: str, steps: list[tuple[str, str]]
) -> None:
    aligner = TextAligner()
    aligner.extend(text)
    previous = 0
    for kind, value in steps:
        offset = aligner.char(value) if kind == "c" else aligner.word(value)
        assert previous <= offset <= len(text)
        assert previous <= aligner.covered(offset) <= len(text)
        previous = offset
