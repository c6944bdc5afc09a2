"""Imports point downward only (house style, section 1).

Every module of the package is parsed (not imported) and each import of another
trioagents subpackage is checked against the layer table below. Imports under
``TYPE_CHECKING`` count too: an upward type dependency is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "trioagents"

LAYERS = {
    "core": 0,
    "protocol": 1,
    "transport": 2,
    "rtc": 3,
    "worker": 4,
    "voice": 5,
    "providers": 6,
    "observability": 6,
    "persistence": 6,
    "roomio": 6,
    "devserver": 7,
    "testing": 8,
    "cli": 9,
}
# The dev server reuses the protocol cores and transports only (never rtc or voice).
RESTRICTED = {"devserver": {"core", "protocol", "transport", "devserver"}}


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "trioagents" or len(parts) < 2:
        return None
    return parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path)
    is_pkg = path.name == "__init__.py"
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                drop = node.level - (1 if is_pkg else 0)
                base = base[: len(base) - drop] if drop else base
                target = ".".join(base + ([node.module] if node.module else []))
                found.append(target)
                if not node.module:
                    found.extend(f"{target}.{a.name}" for a in node.names)
            elif node.module:
                found.append(node.module)
    return found


def _violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source_pkg = _subpackage(_module_name(path))
        if source_pkg is None:
            continue  # the top-level __init__ re-exports the public surface
        assert source_pkg in LAYERS, f"{path}: subpackage {source_pkg!r} has no layer"
        for target in _imports(path):
            target_pkg = _subpackage(target)
            if target_pkg is None or target_pkg == source_pkg:
                continue
            allowed = RESTRICTED.get(source_pkg)
            if allowed is not None and target_pkg not in allowed:
                bad.append(
                    f"{_module_name(path)} -> {target} ({source_pkg} may not import {target_pkg})"
                )
            elif LAYERS.get(target_pkg, 99) > LAYERS[source_pkg]:
                bad.append(
                    f"{_module_name(path)} -> {target} (upward: {source_pkg} -> {target_pkg})"
                )
    return bad


def test_no_upward_imports() -> None:
    assert _violations() == []


def test_checker_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    # The checker itself must be able to fail: a synthetic upward import is reported.
    pkg = PACKAGE / "core"
    probe = pkg / "_layering_probe.py"
    probe.write_text("from ..voice import x\nimport trioagents.rtc\n")
    try:
        found = [v for v in _violations() if "_layering_probe" in v]
    finally:
        probe.unlink()
    assert len(found) == 2


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_table_matches_tree(name: str) -> None:
    if not (PACKAGE / name).is_dir():
        pytest.skip(f"{name} not built yet")
    assert (PACKAGE / name / "__init__.py").exists()
