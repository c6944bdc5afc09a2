"""Worker options: one frozen record, validated at construction.

Defaults follow LiveKit Agents where they are sensible (status every 2.5 s,
assignment timeout 7.5 s, reconnect back-off ``min(2 s × attempt, 10 s)`` with 16
attempts, drain timeout one hour, entrypoint grace 15 s) and expose as options the
values LiveKit hard-codes. ``max_concurrent_jobs`` is a hard limit (a slot is
reserved before the availability answer goes out); it defaults to
``JOBS_PER_CPU`` (8) per available CPU, derived from the measured cost of a voice
job with room media (``docs/worker.md``, *Capacity*).

The load reported to the server defaults, as LiveKit's, to CPU utilisation over a
2.5 s window (``_load.py``), sampled on Trio's clock by a task of ``open_worker``
(``cpu_load`` says how); a worker at or above ``load_threshold`` is full. Pass
``load_fnc`` to report something else (a GPU queue length; ``lambda: 0.0`` to be
gated by the slot limit alone).
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from livekit.protocol import agent, models

from ..core import ConfigurationError
from ._load import CPULoadOptions, default_max_jobs

__all__ = ["WorkerOptions", "WorkerPermissions"]

JobKind = Literal["room", "publisher", "participant"]
_JOB_TYPES = {"room": agent.JT_ROOM, "publisher": agent.JT_PUBLISHER,
              "participant": agent.JT_PARTICIPANT}  # fmt: skip


def _package_version() -> str:
    try:
        return importlib.metadata.version("trioagents")
    except importlib.metadata.PackageNotFoundError:
        return ""


@dataclass(frozen=True, slots=True)
class WorkerPermissions:
    """Permissions the agent's room token will carry (``allowed_permissions``)."""

    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_metadata: bool = True
    hidden: bool = False

    def to_proto(self) -> models.ParticipantPermission:
        return models.ParticipantPermission(
            can_publish=self.can_publish,
            can_subscribe=self.can_subscribe,
            can_publish_data=self.can_publish_data,
            can_update_metadata=self.can_update_metadata,
            hidden=self.hidden,
            agent=True,
        )


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Everything a :func:`~trioagents.worker.open_worker` needs besides user code.

    Times are seconds. ``None`` for ``job_timeout`` means jobs may run forever.
    ``health_port`` ``None`` disables the HTTP health/metrics server; ``0`` picks a
    free port (see ``Worker.health_address``). ``extra_metrics`` returns more
    Prometheus text appended to ``/metrics`` (e.g. a
    ``trioagents.observability.MetricsRecorder``'s ``render_prometheus``); it is
    called on every scrape, synchronously, and must not block.
    """

    url: str = "ws://127.0.0.1:7880"
    api_key: str = "devkey"
    api_secret: str = field(default="secret", repr=False)
    agent_name: str = ""
    namespace: str = ""
    job_type: JobKind = "room"
    version: str = field(default_factory=_package_version)
    permissions: WorkerPermissions = field(default_factory=WorkerPermissions)
    max_concurrent_jobs: int = field(default_factory=default_max_jobs)
    load_threshold: float = 0.7
    load_fnc: Callable[[], float] | None = None
    cpu_load: CPULoadOptions = field(default_factory=CPULoadOptions)
    job_timeout: float | None = None
    shutdown_grace: float = 15.0
    assignment_timeout: float = 7.5
    availability_timeout: float = 10.0
    status_interval: float = 2.5
    health_check_interval: float = 30.0
    register_timeout: float = 10.0
    drain_timeout: float = 3600.0
    reconnect_max_delay: float = 10.0
    max_reconnect_attempts: int = 16
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    extra_metrics: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("ws://", "wss://", "http://", "https://")):
            raise ConfigurationError("url must start with ws://, wss://, http:// or https://")
        if self.job_type not in _JOB_TYPES:
            raise ConfigurationError("job_type must be 'room', 'publisher' or 'participant'")
        if self.max_concurrent_jobs < 1:
            raise ConfigurationError("max_concurrent_jobs must be at least 1")
        if not (self.load_threshold > 0 or math.isinf(self.load_threshold)):
            raise ConfigurationError("load_threshold must be positive (math.inf disables it)")
        if self.max_reconnect_attempts < 1:
            raise ConfigurationError("max_reconnect_attempts must be at least 1")
        positive = {
            "shutdown_grace": self.shutdown_grace,
            "assignment_timeout": self.assignment_timeout,
            "availability_timeout": self.availability_timeout,
            "status_interval": self.status_interval,
            "health_check_interval": self.health_check_interval,
            "register_timeout": self.register_timeout,
            "drain_timeout": self.drain_timeout,
            "reconnect_max_delay": self.reconnect_max_delay,
        }
        if self.job_timeout is not None:
            positive["job_timeout"] = self.job_timeout
        for name, value in positive.items():
            if not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")

    @property
    def job_type_proto(self) -> int:
        return _JOB_TYPES[self.job_type]

    @property
    def agent_url(self) -> str:
        """The ``/agent`` websocket URL (http→ws scheme rewrite, ``/agent`` path)."""
        base = self.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return base.rstrip("/") + "/agent"

    def reconnect_delay(self, attempt: int) -> float:
        """Back-off before reconnect ``attempt`` (1-based): 0 s, 2 s, 4 s … capped."""
        return min(2.0 * max(attempt - 1, 0), self.reconnect_max_delay)
