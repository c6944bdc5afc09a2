"""The faults the test server injects, and builders for the usual error answers.

Each :data:`Fault` describes what happens to *one* request (see
:mod:`trioagents.testing._openai_server` for how they are queued and applied).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "Fault",
    "Healthy",
    "ResetAfter",
    "RespondWithStatus",
    "SendGarbage",
    "ServeHTMLPage",
    "StallAfter",
    "TruncateBody",
    "content_filtered",
    "rate_limited",
    "refused_base_url",
    "server_error",
]


@dataclass(frozen=True, slots=True)
class ResetAfter:
    bytes_sent: int


@dataclass(frozen=True, slots=True)
class StallAfter:
    bytes_sent: int


@dataclass(frozen=True, slots=True)
class RespondWithStatus:
    """A response of ``status`` with ``body``; ``chunked`` sends it without a
    ``Content-Length`` (chunked transfer encoding), so only its end says its size."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False


@dataclass(frozen=True, slots=True)
class TruncateBody:
    units: int


@dataclass(frozen=True, slots=True)
class SendGarbage:
    body: bytes | None = None  # None: the endpoint's default garbage


@dataclass(frozen=True, slots=True)
class Healthy:
    """Answer normally: a request that passes in a scripted sequence of faults."""


@dataclass(frozen=True, slots=True)
class ServeHTMLPage:
    """A 200 ``text/html`` page on any endpoint: what a proxy, captive portal or
    misconfigured base URL answers in place of the API."""

    body: bytes = b"<!doctype html><html><body><h1>Sign in to continue</h1></body></html>"


Fault: TypeAlias = (
    ResetAfter
    | StallAfter
    | RespondWithStatus
    | TruncateBody
    | SendGarbage
    | Healthy
    | ServeHTMLPage
)


def rate_limited(retry_after: float = 1.0) -> RespondWithStatus:
    body = json.dumps({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}})
    return RespondWithStatus(
        429,
        body.encode(),
        (("retry-after", f"{retry_after:g}"), ("content-type", "application/json")),
    )


def server_error(status: int = 500) -> RespondWithStatus:
    body = json.dumps({"error": {"message": "The server had an error", "type": "server_error"}})
    return RespondWithStatus(status, body.encode(), (("content-type", "application/json"),))


def content_filtered() -> RespondWithStatus:
    """Azure OpenAI's moderation refusal, verbatim in shape."""
    body = {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
            "content management policy.",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"hate": {"filtered": True, "severity": "high"}},
            },
        }
    }
    return RespondWithStatus(
        400, json.dumps(body).encode(), (("content-type", "application/json"),)
    )


def refused_base_url() -> str:
    """A loopback base URL whose port has no listener (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
