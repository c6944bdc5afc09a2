"""What the websocket protocol harnesses share: JSON-ish values, raw messages, the
parse invariant, the state-table checks and the settings. Imported by
``fuzz_deepgram.py``, ``fuzz_realtime_transcription.py``, ``fuzz_elevenlabs.py`` and
``fuzz_cartesia.py`` (which put this folder on ``sys.path``).
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
from trioagents.protocol import TextPiece

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


def check_parse(parse: Callable[[Any], object], kinds: tuple[type, ...], message: object) -> None:
    """``parse(message)`` is one of ``kinds`` or raises RemoteProtocolError with a
    bounded payload; any other exception propagates and fails the run."""
    payload: bytes | None = None
    try:
        event = parse(message)
    except RemoteProtocolError as exc:
        event, payload = None, exc.payload
    if event is None:
        assert payload is None or len(payload) <= 4096, "payload kept unbounded"
    else:
        assert isinstance(event, kinds), f"not an event: {event!r}"


def check_context_steps(
    context: Any, table: Mapping[tuple[Enum, str], Enum], sequence: list[str]
) -> None:
    """A TTS utterance (``open``/``text``/``end``/``cancel`` sent, ``done`` received)
    moves as ``table`` says; a refused send leaves the state alone, a ``done`` the
    table lacks changes nothing, and every send is a list of text messages."""
    sends: dict[str, Callable[[], object]] = {
        "open": context.open,
        "text": lambda: context.text(TextPiece("a ")),
        "end": lambda: context.end("b"),
        "cancel": context.cancel,
    }
    for step in sequence:
        before = context.machine.state
        target = table.get((before, step))
        if step == "done":
            context.done()
            assert context.machine.state is (target or before), f"done in {before}"
            continue
        try:
            messages = sends[step]()
        except LocalProtocolError:
            assert target is None, f"{step} refused in {before}"
            assert context.machine.state is before, "a refused step changed the state"
        else:
            assert target is context.machine.state, f"{step} in {before}"
            assert isinstance(messages, list)
            assert all(isinstance(m, str) for m in messages)


Check = tuple[st.SearchStrategy[Any], Callable[[Any], None]]


def run_all(examples: int, checks: list[Check]) -> None:
    """Run each ``(strategy, check)`` for ``examples`` examples."""
    config = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    for strategy, check in checks:
        config(given(strategy)(check))()
