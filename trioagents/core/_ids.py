"""Short random identifiers (``speech_3f9a...``); no state, no import-time work."""

from __future__ import annotations

import secrets

__all__ = ["short_id"]


def short_id(prefix: str, nbytes: int = 6) -> str:
    """Return ``prefix`` + ``_`` + ``2*nbytes`` hex digits, e.g. ``short_id("speech")``."""
    return f"{prefix}_{secrets.token_hex(nbytes)}"
