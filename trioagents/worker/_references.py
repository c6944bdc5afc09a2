"""``"module:function"`` references: how the CLI and pool children name user code."""

from __future__ import annotations

import importlib
from typing import Any

from ..core import ConfigurationError

__all__ = ["load_reference"]


def load_reference(reference: str) -> Any:
    """Import ``"package.module:attribute"``; raises :class:`ConfigurationError`."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError("expected 'module:function', e.g. 'myagent:entrypoint'")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load {reference!r}: {type(exc).__name__}") from exc
