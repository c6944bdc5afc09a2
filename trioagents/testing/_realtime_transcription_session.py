"""The fake realtime transcription's session configuration: defaults and updates.

A ``session.update`` is checked the way OpenAI checks it, strictly enough that a
client sending the wrong shape finds out in a test: the GA form must say
``type: "transcription"`` and put everything under ``audio.input``; the beta form
(``transcription_session.update``) uses the flat ``input_audio_*`` fields. Only
the fields present are changed (``null`` turns turn detection or noise reduction
off). The fake takes only 24 kHz PCM16. A refused update raises
:class:`SessionError` with OpenAI's error ``code``.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["SessionError", "default_session", "update_session"]

_VAD = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
}
_TRANSCRIPTION = {"model": "gpt-4o-mini-transcribe", "language": None, "prompt": ""}
_GA_INPUT = ("format", "transcription", "turn_detection", "noise_reduction")
_BETA = (
    "input_audio_format",
    "input_audio_transcription",
    "turn_detection",
    "input_audio_noise_reduction",
    "include",
)


class SessionError(Exception):
    """A refused ``session.update`` (``code`` as OpenAI's error event has it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def default_session(beta: bool, index: int) -> dict[str, Any]:
    """What ``session.created`` reports for a new connection."""
    if beta:
        return {
            "id": f"sess_fake_{index}",
            "object": "realtime.transcription_session",
            "input_audio_format": "pcm16",
            "input_audio_transcription": dict(_TRANSCRIPTION),
            "turn_detection": dict(_VAD),
            "input_audio_noise_reduction": None,
            "include": None,
        }
    audio_input = {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": dict(_TRANSCRIPTION),
        "noise_reduction": None,
        "turn_detection": dict(_VAD),
    }
    return {
        "id": f"sess_fake_{index}",
        "object": "realtime.transcription_session",
        "type": "transcription",
        "audio": {"input": audio_input},
        "include": None,
    }


def update_session(current: dict[str, Any], update: object, beta: bool) -> dict[str, Any]:
    """``current`` with ``update`` applied; SessionError if OpenAI would refuse it."""
    if not isinstance(update, dict):
        raise SessionError("invalid_type", "session must be an object")
    session = copy.deepcopy(current)
    if beta:
        _apply(session, update, _BETA)
        if session["input_audio_format"] != "pcm16":
            raise SessionError("invalid_value", "the fake takes input_audio_format pcm16 only")
        return session
    if update.get("type") != "transcription":
        raise SessionError("invalid_value", "session.type must be 'transcription' here")
    unknown = set(update) - {"type", "audio", "include"}
    if unknown:
        raise SessionError("unknown_parameter", f"unknown session fields {sorted(unknown)}")
    audio = update.get("audio", {})
    if not isinstance(audio, dict) or set(audio) - {"input"}:
        raise SessionError("unknown_parameter", "a transcription session takes audio.input only")
    audio_input = audio.get("input", {})
    if not isinstance(audio_input, dict):
        raise SessionError("invalid_type", "session.audio.input must be an object")
    _apply(session["audio"]["input"], audio_input, _GA_INPUT)
    if session["audio"]["input"]["format"] != {"type": "audio/pcm", "rate": 24000}:
        raise SessionError("invalid_value", "the fake takes audio/pcm at 24000 Hz only")
    if "include" in update:
        session["include"] = update["include"]
    return session


def _apply(target: dict[str, Any], update: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(update) - set(allowed)
    if unknown:
        raise SessionError("unknown_parameter", f"unknown fields {sorted(unknown)}")
    for name, value in update.items():
        if name.endswith("turn_detection") and value is not None:
            _check_turns(value)
        if name.endswith("transcription") and (
            not isinstance(value, dict) or not isinstance(value.get("model"), str)
        ):
            raise SessionError("invalid_value", "transcription needs a model")
        target[name] = copy.deepcopy(value)


def _check_turns(value: object) -> None:
    if not isinstance(value, dict) or value.get("type") not in ("server_vad", "semantic_vad"):
        raise SessionError("invalid_value", "turn_detection is server_vad, semantic_vad or null")
