from __future__ import annotations

import pytest
import trio

from trioagents.core import collapse_single_error, exception_leaves, is_cancellation


async def _fail(exc: BaseException) -> None:
    raise exc


async def _nursery_failing_with(*errors: BaseException) -> None:
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            for exc in errors:
                nursery.start_soon(_fail, exc)
            await trio.sleep_forever()


async def test_a_lone_error_comes_out_as_itself() -> None:
    with pytest.raises(KeyError):
        await _nursery_failing_with(KeyError("x"))


async def test_several_errors_stay_a_group() -> None:
    with pytest.raises(ExceptionGroup) as info:
        await _nursery_failing_with(KeyError("x"), ValueError("y"))
    assert sorted(type(e).__name__ for e in exception_leaves(info.value)) == [
        "KeyError",
        "ValueError",
    ]


async def test_cancellation_is_not_swallowed() -> None:
    with trio.CancelScope() as scope, collapse_single_error():
        async with trio.open_nursery():
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught


def test_leaves_flatten_nested_groups() -> None:
    inner = ExceptionGroup("inner", [KeyError(1), ValueError(2)])
    outer = BaseExceptionGroup("outer", [inner, TypeError(3)])
    assert [type(e) for e in exception_leaves(outer)] == [KeyError, ValueError, TypeError]


def test_cancellation_is_recognised_inside_groups() -> None:
    cancelled = trio.Cancelled._create()
    assert is_cancellation(cancelled)
    assert is_cancellation(BaseExceptionGroup("g", [cancelled]))
    assert not is_cancellation(BaseExceptionGroup("g", [cancelled, KeyError()]))
    assert not is_cancellation(KeyError())
