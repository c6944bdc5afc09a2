#!/usr/bin/env bash
# The whole suite: lint, strict typing, tests (incl. Hypothesis). Creates .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev,redis,otel,vad,stt,tts,piper,turn
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check trioagents tests fuzz examples bench; ruff format --check trioagents tests fuzz examples bench
echo "== mypy --strict"; mypy
echo "== pytest"; python -m pytest "$@"
