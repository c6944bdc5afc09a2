"""Every public name is exported exactly once, from where the docs say.

* each public (sub)package defines ``__all__`` without duplicates, and every entry
  resolves;
* every public object is defined in a private module (``_x.py``) of the package
  that exports it, or re-exported from a lower layer by the top-level package;
* no public class or function is exported by two different subpackages.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import trioagents


def _public_packages() -> list[str]:
    names = ["trioagents"]
    names.extend(
        f"trioagents.{info.name}"
        for info in pkgutil.iter_modules(trioagents.__path__)
        if info.ispkg and not info.name.startswith("_")
    )
    return names


def _load(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", _public_packages())
def test_all_is_complete_and_unique(name: str) -> None:
    module = _load(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"duplicates in {name}.__all__"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ lists missing {attr}"


@pytest.mark.parametrize("name", [n for n in _public_packages() if n != "trioagents"])
def test_public_objects_come_from_private_modules(name: str) -> None:
    module = _load(name)
    for attr in module.__all__:
        obj = getattr(module, attr)
        origin = getattr(obj, "__module__", None)
        if origin is None or not (isinstance(obj, type) or callable(obj)):
            continue
        if not origin.startswith("trioagents."):
            continue  # typing aliases and re-exported third-party helpers
        assert origin.startswith(name + "."), f"{name}.{attr} is defined in {origin}"
        leaf = origin.rsplit(".", 1)[-1]
        assert leaf.startswith("_") or "._" in origin, f"{name}.{attr} lives in public {origin}"


def test_no_object_exported_by_two_subpackages() -> None:
    owners: dict[int, str] = {}
    for name in _public_packages():
        if name == "trioagents":
            continue
        module = _load(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if not (isinstance(obj, type) or callable(obj)):
                continue
            key = id(obj)
            assert key not in owners or owners[key] == name, (
                f"{attr} exported by both {owners[key]} and {name}"
            )
            owners[key] = name


def test_top_level_reexports_resolve_to_subpackage_exports() -> None:
    subpackage_objects = set()
    for name in _public_packages():
        if name != "trioagents":
            module = _load(name)
            subpackage_objects.update(id(getattr(module, a)) for a in module.__all__)
    for attr in trioagents.__all__:
        obj = getattr(trioagents, attr)
        if isinstance(obj, type) or callable(obj):
            assert id(obj) in subpackage_objects, f"trioagents.{attr} is not a subpackage export"
