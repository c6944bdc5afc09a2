"""Layer 7: the embedded LiveKit-compatible development server.

``async with open_devserver() as server`` for tests, ``serve_devserver`` for
``nursery.start``, ``main(argv)`` for the ``trioagents devserver`` command.
"""

from ._agents import FinishedJob as FinishedJob
from ._cli import main as main
from ._options import DevServerOptions as DevServerOptions
from ._server import DevServer as DevServer
from ._server import DevServerStatistics as DevServerStatistics
from ._server import open_devserver as open_devserver
from ._server import serve_devserver as serve_devserver

__all__ = [
    "DevServer",
    "DevServerOptions",
    "DevServerStatistics",
    "FinishedJob",
    "main",
    "open_devserver",
    "serve_devserver",
]
