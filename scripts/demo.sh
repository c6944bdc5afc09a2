#!/usr/bin/env bash
# The README's demo: the embedded dev server, a worker running the restaurant-booking
# agent, and a simulated caller that speaks into the room (offline speech extras:
# silero VAD, pocketsphinx, espeak-ng, the piper caller voice, and Smart Turn for
# the agent's end of turn). Creates/refreshes .venv first (bootstrap also fetches
# the Smart Turn model). Finishes by itself in about 35 s; see docs/demo.md (pass --text to inject text instead of speech).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev,vad,stt,tts,piper,turn
exec .venv/bin/trioagents demo "$@"
