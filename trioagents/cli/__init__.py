"""Layer 9: the ``trioagents`` command (``dev``, ``start``, ``console``, ``devserver``, ``demo``).

Importing this package imports nothing heavy: each subcommand imports what it
needs when it runs.
"""

from ._main import main as main

__all__ = ["main"]
