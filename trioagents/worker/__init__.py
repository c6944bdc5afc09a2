"""Layer 4: worker registration, availability, job dispatch and isolation, drain."""

from ._gc import GCPacing as GCPacing
from ._gc import PacedGC as PacedGC
from ._gc import paced_gc as paced_gc
from ._job import DEFAULT_PARTICIPANT_KINDS as DEFAULT_PARTICIPANT_KINDS
from ._job import ConnectOptions as ConnectOptions
from ._job import JobContext as JobContext
from ._job import JobControl as JobControl
from ._job import JobExecutor as JobExecutor
from ._job import JobInfo as JobInfo
from ._job import JobOutcome as JobOutcome
from ._job import JobProcess as JobProcess
from ._job import JobRequest as JobRequest
from ._job import RoomFactory as RoomFactory
from ._job import default_room_factory as default_room_factory
from ._job import run_job as run_job
from ._load import JOBS_PER_CPU as JOBS_PER_CPU
from ._load import CPULoadOptions as CPULoadOptions
from ._load import available_cpus as available_cpus
from ._load import process_cpu_seconds as process_cpu_seconds
from ._options import WorkerOptions as WorkerOptions
from ._options import WorkerPermissions as WorkerPermissions
from ._pool import ProcessPool as ProcessPool
from ._pool import ProcessPoolOptions as ProcessPoolOptions
from ._pool import ProcessPoolStatistics as ProcessPoolStatistics
from ._pool import open_process_pool as open_process_pool
from ._references import load_reference as load_reference
from ._serve import open_worker as open_worker
from ._serve import serve_worker as serve_worker
from ._worker import Worker as Worker
from ._worker import WorkerStatistics as WorkerStatistics

__all__ = [
    "DEFAULT_PARTICIPANT_KINDS",
    "JOBS_PER_CPU",
    "CPULoadOptions",
    "ConnectOptions",
    "GCPacing",
    "JobContext",
    "JobControl",
    "JobExecutor",
    "JobInfo",
    "JobOutcome",
    "JobProcess",
    "JobRequest",
    "PacedGC",
    "ProcessPool",
    "ProcessPoolOptions",
    "ProcessPoolStatistics",
    "RoomFactory",
    "Worker",
    "WorkerOptions",
    "WorkerPermissions",
    "WorkerStatistics",
    "available_cpus",
    "default_room_factory",
    "load_reference",
    "open_process_pool",
    "open_worker",
    "paced_gc",
    "process_cpu_seconds",
    "run_job",
    "serve_worker",
]
