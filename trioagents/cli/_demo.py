"""``trioagents demo``: dev server + worker + agent in a room + a simulated caller.

One Trio program, one nursery: the embedded dev server (port 0), a worker
registered with it whose entrypoint runs the agent session in the room, and the
simulated caller joining the same room as a second participant. Joining creates
the room, the dev server dispatches a job, the worker's agent joins and greets;
the caller speaks its script, listens to every reply (and transcribes it with
its own offline STT), then leaves, which ends the job; ``--save-wav`` records both
sides (``_demo_recording.py``). The demo waits for the job's success to reach the server, prints the
summary and exits 0 (1 if the call did not finish within ``--deadline``).

Cancellation: the whole run is one ``fail_after(deadline)``; leaving the nursery
closes the caller's room, the worker (jobs get their shutdown grace) and the
server, in that order.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import trio

from ..core import TrioAgentsError
from ..devserver import DevServer, DevServerOptions, serve_devserver
from ..protocol import VideoGrants, mint_token
from ..rtc import Room, open_room
from ..worker import Worker, WorkerOptions, open_worker
from ._demo_agent import DEFAULT_AGENT, AgentSpec, load_agent_spec, make_entrypoint
from ._demo_caller import CallerScript, SimulatedCaller
from ._demo_pipeline import (
    AgentPipeline,
    CallerVoice,
    choose_agent_pipeline,
    choose_caller_listener,
    choose_caller_voice,
)
from ._demo_recording import CallRecording
from ._demo_report import DemoReporter

__all__ = ["DemoOptions", "main", "run_demo", "wait_job_reported"]

ROOM = "demo-room"
CALLER = "caller"


class DemoOptions(argparse.Namespace):
    agent: str = DEFAULT_AGENT
    line: list[str] | None = None
    caller_voice: str = "auto"
    text: bool = False
    deadline: float = 50.0
    save_wav: str | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trioagents demo", description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default=DEFAULT_AGENT, help="agent factory, module:factory")
    parser.add_argument("--line", action="append", help="a caller line (repeatable)")
    parser.add_argument(
        "--caller-voice", choices=("auto", "piper", "espeak", "tones"), default="auto"
    )
    parser.add_argument("--text", action="store_true", help="inject the caller's lines as text")
    parser.add_argument("--deadline", type=float, default=50.0, help="seconds for the whole call")
    parser.add_argument(
        "--save-wav",
        metavar="PATH",
        help="record the call: stereo 16 kHz WAV, left the caller, right the agent",
    )
    return parser


async def wait_job_reported(server: DevServer, worker: Worker) -> str:
    """Wait until a job ended and its status reached the server: "success"/"failed".

    Polls every 20 ms: neither side publishes a job-ended event to wait on.
    """
    while True:
        stats = worker.statistics()
        ended = stats.jobs_succeeded + stats.jobs_failed
        if ended and stats.pending_reports == 0 and server.statistics().jobs == 0:
            return "success" if stats.jobs_failed == 0 else "failed"
        await trio.sleep(0.02)


async def _cancel_when(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def _hold_call(
    server: DevServer, job_failed: trio.Event, caller: Callable[[Room], SimulatedCaller]
) -> bool:
    """Join as the caller and run the call; False if the agent's job failed first
    (the caller would otherwise wait for ever for a reply)."""
    grants = VideoGrants(room_join=True, room=ROOM)
    token = mint_token(server.api_key, server.api_secret, identity=CALLER, video=grants)
    async with open_room(server.url, token) as room, trio.open_nursery() as nursery:
        nursery.start_soon(_cancel_when, job_failed, nursery.cancel_scope)
        await caller(room).run()
        nursery.cancel_scope.cancel()
        return True
    return False  # cancelled by _cancel_when


def _choose_parts(
    options: DemoOptions, reporter: DemoReporter
) -> tuple[AgentSpec, AgentPipeline, CallerVoice]:
    """The agent, its providers and the caller's voice; each choice is reported."""
    spec = load_agent_spec(options.agent, options.line)
    reporter.note(f"agent: {spec.reference}")
    pipeline = choose_agent_pipeline(spec.caller_lines, speech=not options.text)
    for note in pipeline.notes:
        reporter.note(note)
    voice = choose_caller_voice("tones" if options.text else options.caller_voice)
    reporter.note(voice.note)
    return spec, pipeline, voice


async def run_demo(options: DemoOptions, emit: Callable[[str], None] = print) -> DemoReporter:
    """The demo (see the module docstring); raises TooSlowError past the deadline.

    Provider, room and worker errors propagate; an agent job that fails ends the
    call early (``reporter.job_status`` "failed").
    """
    reporter = DemoReporter(emit)
    spec, pipeline, voice = _choose_parts(options, reporter)
    script = await CallerScript.synthesize(spec.caller_lines, voice)
    reporter.step(f"caller's lines synthesized ({script.duration:.1f} s of audio)")
    await pipeline.warm_up()
    listener, ears = choose_caller_listener()
    reporter.note(ears)
    recording = CallRecording(trio.current_time()) if options.save_wav else None
    callers: list[SimulatedCaller] = []

    def caller(room: Room) -> SimulatedCaller:
        callers.append(
            SimulatedCaller(
                room,
                script,
                reporter,
                inject_text=pipeline.stt is None,
                recording=recording,
            )
        )
        return callers[-1]

    with trio.fail_after(options.deadline):
        async with trio.open_nursery() as nursery:
            server: DevServer = await nursery.start(serve_devserver, DevServerOptions(port=0))
            reporter.step(f"dev server listening on {server.url}")
            worker_options = WorkerOptions(
                url=server.url,
                api_key=server.api_key,
                api_secret=server.api_secret,
                load_threshold=math.inf,
                shutdown_grace=3.0,
            )
            job_failed = trio.Event()
            entrypoint = make_entrypoint(spec, pipeline, reporter, job_failed)
            async with open_worker(worker_options, entrypoint) as worker:
                reporter.step(f"worker registered ({await worker.wait_registered()})")
                reporter.step(f"caller joins {ROOM!r}; the server dispatches the agent")
                finished = await _hold_call(server, job_failed, caller)
                reporter.step("caller left" if finished else "the agent's job failed")
                reporter.job_status = await wait_job_reported(server, worker)
            nursery.cancel_scope.cancel()
    if listener is not None and callers:
        reporter.step("the caller transcribes what it heard of each reply (its own STT):")
        with trio.move_on_after(options.deadline):
            await callers[-1].transcribe_replies(listener)
    if recording is not None and options.save_wav:
        path = Path(options.save_wav)
        seconds = await trio.to_thread.run_sync(recording.write, path)
        reporter.step(f"call saved to {path} ({seconds:.1f} s, stereo: left caller, right agent)")
    reporter.summary()
    return reporter


def main(argv: Sequence[str] | None = None) -> int:
    """``trioagents demo [--agent module:factory] [--text] ...``; returns the exit status."""
    options = build_parser().parse_args(argv, namespace=DemoOptions())
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        reporter = trio.run(run_demo, options)
    except trio.TooSlowError:
        print(f"demo: the call did not finish within {options.deadline:.0f} s")
        return 1
    except TrioAgentsError as exc:
        print(f"demo: {exc}")
        return 1
    expected = len(reporter.turns)
    answered = sum(1 for t in reporter.turns if t.reply is not None)
    return 0 if answered == expected and reporter.job_status == "success" else 1
