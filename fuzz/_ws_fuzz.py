"""What the websocket protocol harnesses share: JSON-ish values, raw messages, the
state-table check and the settings. Imported by ``fuzz_deepgram.py`` and
``fuzz_realtime_transcription.py`` (which put this folder on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import LocalProtocolError, RemoteProtocolError

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def messages(shaped: st.SearchStrategy[dict[str, Any]], *odd: str) -> st.SearchStrategy[Any]:
    """Documented shapes with wrong types, any JSON, raw text and bytes, deep
    nesting, and the ``odd`` literal messages (non-finite numbers)."""
    return st.one_of(
        shaped.map(json.dumps),
        values.map(json.dumps),
        st.text(max_size=60),
        st.binary(max_size=60),
        st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
        st.sampled_from(list(odd)),
    )


def check_table(
    protocol: Any,
    sends: Mapping[str, Callable[[], object]],
    table: Mapping[tuple[Enum, str], Enum],
    sequence: list[str | bytes],
) -> None:
    """Each step in ``sends`` moves the protocol as ``table`` says, or is refused
    (LocalProtocolError) exactly when the table lacks it, leaving the state alone;
    any other item is received and never changes the state."""
    for step in sequence:
        if isinstance(step, str) and step in sends:
            before = protocol.state
            target = table.get((before, step))
            try:
                sends[step]()
            except LocalProtocolError:
                assert target is None, f"{step} refused in {before}"
                assert protocol.state is before, "a refused step changed the state"
            else:
                assert target is protocol.state, f"{step} in {before} went to {protocol.state}"
        else:
            state = protocol.state
            with contextlib.suppress(RemoteProtocolError):
                protocol.receive(step)
            assert protocol.state is state, "receiving changed the state"


Check = tuple[st.SearchStrategy[Any], Callable[[Any], None]]


def run_all(examples: int, checks: list[Check]) -> None:
    """Run each ``(strategy, check)`` for ``examples`` examples."""
    config = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    for strategy, check in checks:
        config(given(strategy)(check))()
