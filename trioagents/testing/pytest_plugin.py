"""An opt-in pytest plugin: a failing Trio test is reported as its own exception.

pytest-trio runs each test inside a nursery, so with Trio's strict exception groups
a test failing with ``assert reply == "hi"`` is reported as ``ExceptionGroup:
Exceptions from Trio nursery (1 sub-exception)`` around the ``AssertionError``
(``session.start`` itself raises the body's error as itself; the group is
pytest-trio's). With this plugin a failure that is a group holding exactly one
exception other than ``trio.Cancelled`` is reported as that exception, with its
own traceback and pytest's assertion details; several exceptions stay a group.
Only the report changes: ``pytest.raises`` inside a test sees what it always saw.

Enable it with ``-p trioagents.testing.pytest_plugin`` (e.g. in ``addopts``) or
``pytest_plugins = ["trioagents.testing.pytest_plugin"]`` in the root conftest.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from ..core import collapse_single_error

__all__ = ["pytest_runtest_call"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    with collapse_single_error():
        return (yield)
