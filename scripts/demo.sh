#!/usr/bin/env bash
# The README's demo: a scripted spoken call with a barge-in, on the trioagents.testing fakes.
# Creates/refreshes .venv, then runs examples/scripted_call (virtual time; pass --real-time
# to hear the same call at real speed, about 16 s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
exec .venv/bin/python -m examples.scripted_call "$@"
