"""``python -m trioagents.devserver [--port N] [--ice-address A] ...``"""

import sys

from ._cli import main

sys.exit(main(sys.argv[1:]))
