"""Normal answers of the test server: SSE chat chunks and synthetic speech PCM.

Kept apart from the server so the byte formats can be read (and reused by other
fakes) without the socket code around them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import LLMToolCall

__all__ = ["chat_events", "speech_pcm"]


def chat_events(text: str, tool_calls: Sequence[LLMToolCall] = ()) -> list[bytes]:
    """The SSE events of one streamed completion: one per word, tool calls split in two
    argument fragments, the finish reason, a usage chunk and ``[DONE]``. Empty text
    with tool calls streams no content (``content: null``), as OpenAI does."""
    silent = not text and bool(tool_calls)
    events: list[dict[str, Any]] = [
        {"delta": {"role": "assistant", "content": None if silent else ""}}
    ]
    words = [] if silent else text.split(" ")
    events.extend(
        {"delta": {"content": word if i == 0 else " " + word}} for i, word in enumerate(words)
    )
    for index, call in enumerate(tool_calls):
        half = len(call.arguments) // 2
        first = {"index": index, "id": call.call_id, "type": "function"}
        first["function"] = {"name": call.name, "arguments": call.arguments[:half]}
        events.append({"delta": {"tool_calls": [first]}})
        rest = {"index": index, "function": {"arguments": call.arguments[half:]}}
        events.append({"delta": {"tool_calls": [rest]}})
    reason = "tool_calls" if tool_calls else "stop"
    events.append({"delta": {}, "finish_reason": reason})
    out = [_chunk({"choices": [{"index": 0, **event}]}) for event in events]
    usage = {"prompt_tokens": 10, "completion_tokens": len(words)}
    out.append(_chunk({"choices": [], "usage": usage}))
    out.append(b"data: [DONE]\n\n")
    return out


def _chunk(payload: dict[str, Any]) -> bytes:
    body = {"id": "chatcmpl-test", "object": "chat.completion.chunk", **payload}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def speech_pcm(text: str, sample_rate: int, seconds_per_char: float) -> bytes:
    """A 220 Hz tone as long as the text warrants (s16le mono); empty text gives no audio."""
    samples = round(len(text) * seconds_per_char * sample_rate)
    t = np.arange(samples, dtype=np.float64) / sample_rate
    tone = 0.3 * np.sin(2 * math.pi * 220.0 * t)
    return (tone * 32767).astype("<i2").tobytes()
