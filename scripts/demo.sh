#!/usr/bin/env bash
# The README's demo: the embedded dev server, a worker running the restaurant-booking
# agent, and a simulated caller that speaks into the room (offline speech extras:
# silero VAD, pocketsphinx, espeak-ng). Creates/refreshes .venv first. Finishes by
# itself in about 25 s; see docs/demo.md (pass --text to inject text instead of speech).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev,vad,stt,tts
exec .venv/bin/trioagents demo "$@"
