#!/usr/bin/env bash
# Create .venv (if missing) and install trioagents with the given extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
fi
stamp=".venv/.installed-${extras//,/-}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[${extras}]"
    touch "$stamp"
fi
if [[ ",$extras," == *",turn,"* ]]; then
    # the Smart Turn model is not a package of its own: take it out of the pipecat-ai
    # wheel (pip, no dependencies; SHA-256 checked). Offline: its tests skip.
    .venv/bin/trioagents fetch-turn-model >/dev/null || echo "bootstrap: Smart Turn model not fetched"
fi
