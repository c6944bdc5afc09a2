"""Logging for the CLI: readable lines for ``dev``, JSON lines for ``start``.

Structured fields passed with ``extra=`` (``job_id``, ``worker_id``, ``reason`` …)
are kept; any field whose name suggests a secret (token, secret, key, password,
authorization) is replaced by ``"[redacted]"`` before it is written, so a careless
``extra={"token": ...}`` in user code does not leak a credential into log files.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

__all__ = ["JsonFormatter", "ReadableFormatter", "configure_logging"]

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


def configure_logging(level: str, *, json_lines: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
