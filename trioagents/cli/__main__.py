"""``python -m trioagents.cli ...``: the ``trioagents`` command."""

import sys

from ._main import main

sys.exit(main())
