"""``trioagents fetch-turn-model``: put the Smart Turn v3.2 model in the cache.

pip downloads the ``pipecat-ai`` wheel (no dependencies) from the package index,
the model file is checked against its SHA-256 and copied, with its BSD-2-Clause
licence, into ``$TRIOAGENTS_CACHE`` (default ``~/.cache/trioagents``). A no-op when
the file is already there. Exit status 0, or 1 with the reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..core import ConfigurationError
from ..providers import fetch_smart_turn_model

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trioagents fetch-turn-model", description=__doc__)
    parser.add_argument("--dest", type=Path, default=None, help="directory (default: the cache)")
    options = parser.parse_args(argv)
    try:
        path = fetch_smart_turn_model(options.dest)
    except ConfigurationError as exc:
        print(f"fetch-turn-model: {exc}")
        return 1
    print(f"Smart Turn model: {path}")
    return 0
