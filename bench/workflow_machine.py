"""WorkflowMachine throughput: examples per second, and how much conversation they hold.

Runs the restaurant and storyteller machines (``tests/examples``) through
Hypothesis for ``--examples`` examples at each step bound, with a fixed seed, and
prints one JSON line per (machine, step bound):

* ``examples_per_s``: what Hypothesis reports as examples (generation + replay);
* ``utterances_per_example``: user turns replayed per example (operations after
  the first disconnect are not replayed), the part that exercises the session;
* ``utterances_per_s``: the product, conversation explored per second;
* ``generation_only_per_s``: the same machine with the replay skipped, i.e. the
  ceiling Hypothesis itself sets on this machine.

    PYTHONHASHSEED=0 python bench/workflow_machine.py --examples 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from hypothesis import seed, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.examples.test_restaurant_booking import RestaurantMachine
from tests.examples.test_storyteller import StorytellerMachine
from trioagents.testing import WorkflowMachine
from trioagents.testing._workflow_replay import Disconnected, UserSaid


def counting(machine: type[WorkflowMachine], turns: list[int], *, replay: bool) -> type[Any]:
    class Counting(machine):  # type: ignore[valid-type, misc]
        def teardown(self) -> None:
            ops = self.operations
            end = next((i for i, op in enumerate(ops) if isinstance(op, Disconnected)), len(ops))
            turns.append(sum(isinstance(op, UserSaid) for op in ops[:end]))
            if replay:
                super().teardown()

    return Counting


def run(
    machine: type[WorkflowMachine], examples: int, steps: int, *, replay: bool
) -> tuple[float, float]:
    """(examples per second, mean user turns replayed per example)."""
    turns: list[int] = []
    options = settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None
    )
    started = time.perf_counter()
    run_state_machine_as_test(seed(1)(counting(machine, turns, replay=replay)), settings=options)
    elapsed = time.perf_counter() - started
    return examples / elapsed, statistics.mean(turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    args = parser.parse_args()
    machines = [("restaurant", RestaurantMachine), ("storyteller", StorytellerMachine)]
    for name, machine in machines:
        for steps in (8, 20):
            rate, turns = run(machine, args.examples, steps, replay=True)
            ceiling, _ = run(machine, args.examples, steps, replay=False)
            figures = {
                "machine": name,
                "max_steps": steps,
                "examples_per_s": round(rate),
                "utterances_per_example": round(turns, 2),
                "utterances_per_s": round(rate * turns),
                "generation_only_per_s": round(ceiling),
            }
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
