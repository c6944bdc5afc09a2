"""Suite-wide test settings.

Hypothesis runs without its per-example deadline: a deadline is a wall-clock timing
assertion, and timing is measured in ``bench/``, not asserted in tests (on a loaded
2-core machine an example took 336 ms against the 200 ms default once, then 16 ms).
Properties that concern time run on Trio's clock instead.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("trioagents", deadline=None)
settings.load_profile("trioagents")
