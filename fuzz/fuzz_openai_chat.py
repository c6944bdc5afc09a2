"""Fuzz the chat chunk decoder and tool-call argument assembly.

Invariant: :class:`ChatStreamDecoder` parses, or raises RemoteProtocolError; never
anything else, whatever the bytes and however they are split. Inputs are random
JSON-ish chunks (valid shapes with wrong types, missing fields, odd indices) in
SSE framing, plus raw bytes. ``tests/protocol/test_openai_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_openai_chat.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import itertools
import json
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import RemoteProtocolError
from trioagents.protocol import ChatStreamDecoder, ToolCallAssembler

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3000), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
tool_deltas = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "index": st.one_of(st.integers(-2, 5), values),
            "id": st.one_of(st.text(max_size=4), values),
            "function": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "name": st.one_of(st.text(max_size=4), values),
                        "arguments": st.one_of(st.text(max_size=8), values),
                    },
                ),
                values,
            ),
        },
    ),
    max_size=3,
)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": st.one_of(st.text(max_size=8), values),
        "tool_calls": st.one_of(tool_deltas, values),
    },
)
choices = st.fixed_dictionaries(
    {},
    optional={
        "delta": st.one_of(deltas, values),
        "finish_reason": st.one_of(st.none(), st.text(max_size=6), values),
    },
)
chunks = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "choices": st.one_of(st.lists(st.one_of(choices, values), max_size=2), values),
            "usage": values,
            "error": values,
        },
    ),
    values,
)
events = st.one_of(chunks.map(json.dumps), st.just("[DONE]"), st.text(max_size=10))
bodies = st.one_of(
    st.lists(events, max_size=8).map(lambda es: "".join(f"data: {e}\n\n" for e in es).encode()),
    st.binary(max_size=200),
)


def outcome(parts: list[bytes]) -> object:
    decoder = ChatStreamDecoder()
    try:
        items = [i for part in parts for i in decoder.feed(part)]
        items.extend(decoder.end_of_stream())
    except RemoteProtocolError:
        return "protocol-error"
    return items, decoder.complete


def check(body: bytes, cuts: list[int]) -> None:
    points = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    assert outcome([body[a:b] for a, b in itertools.pairwise(points)]) == outcome([body])


def check_assembler(batches: list[object]) -> None:
    assembler = ToolCallAssembler()
    try:
        for batch in batches:
            assembler.feed(batch)
        for call in assembler.finish():
            assert call.name
            assert call.call_id
            assert isinstance(call.arguments, str)
    except RemoteProtocolError:
        pass


def run(examples: int) -> None:
    common = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )

    @common
    @given(bodies, st.lists(st.integers(0, 1 << 12), max_size=8))
    def fuzz_decoder(body: bytes, cuts: list[int]) -> None:
        check(body, cuts)

    @common
    @given(st.lists(st.one_of(tool_deltas, values), max_size=5))
    def fuzz_assembler(batches: list[object]) -> None:
        check_assembler(batches)

    fuzz_decoder()
    fuzz_assembler()


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
