"""An entrypoint module whose import blocks: Ctrl-C arrives while it is imported."""

import sys
import time

print("importing slow entry", file=sys.stderr, flush=True)
time.sleep(60)


async def entrypoint(ctx: object) -> None:
    raise AssertionError("never reached")
