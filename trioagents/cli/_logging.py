"""Logging for the CLI: readable lines for ``dev``, JSON lines for ``start``.

Structured fields passed with ``extra=`` (``job_id``, ``worker_id``, ``reason`` …)
are kept; any field whose name suggests a secret (token, secret, key, password,
authorization) is replaced by ``"[redacted]"`` before it is written, so a careless
``extra={"token": ...}`` in user code does not leak a credential into log files.

ICE credentials never reach a log: :class:`IceCredentialFilter`, on the handler,
rewrites every ``a=ice-pwd:`` / ``a=ice-ufrag:`` value in a message (aiortc logs
whole SDPs at DEBUG) to ``[redacted]``. The media libraries' loggers (aiortc,
aioice, trio-websocket: per-packet and per-frame chatter) are held at WARNING
unless ``--log-level debug`` was asked for explicitly (``dev``'s default DEBUG is
for trioagents' own loggers).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

__all__ = [
    "NOISY_LOGGERS",
    "IceCredentialFilter",
    "JsonFormatter",
    "ReadableFormatter",
    "configure_logging",
    "redact_ice_credentials",
]

NOISY_LOGGERS = ("aiortc", "aioice", "trio-websocket")
_ICE_CREDENTIAL = re.compile(r"(a=ice-(?:pwd|ufrag):)[^\s\\]+")


def redact_ice_credentials(text: str) -> str:
    """``a=ice-pwd:SECRET`` → ``a=ice-pwd:[redacted]`` (ufrag too), anywhere in ``text``."""
    return _ICE_CREDENTIAL.sub(r"\1[redacted]", text)


class IceCredentialFilter(logging.Filter):
    """Redacts ICE credentials in a record's message (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "a=ice-" in message:
            record.msg, record.args = redact_ice_credentials(message), None
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_HINTS = ("token", "secret", "key", "password", "authorization")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {}
    for name, value in vars(record).items():
        if name in _STANDARD or name.startswith("_"):
            continue
        secret = any(hint in name.lower() for hint in _SECRET_HINTS)
        fields[name] = "[redacted]" if secret else value
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ReadableFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value …`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return f"{line}  {extras}" if extras else line


def configure_logging(level: str, *, json_lines: bool, library_debug: bool = False) -> None:
    """One stderr handler on the root logger; ``library_debug`` lets the media
    libraries log below WARNING (see the module docstring)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    handler.addFilter(IceCredentialFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if library_debug else logging.WARNING)
