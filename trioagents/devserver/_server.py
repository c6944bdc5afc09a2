"""The dev server: listener, routing and the ``async with`` that owns everything.

``serve_devserver`` runs until cancelled and reports a :class:`DevServer` through
``task_status``; ``open_devserver`` wraps it for tests. Everything the server starts
(the asyncio bridge thread, every connection, every job launch) lives in the one
nursery of ``serve_devserver``; leaving the block closes all peer connections
(shielded, bounded) and joins the bridge thread.

Each TCP connection is one request (see ``_http``). A connection's failure is
contained: protocol errors close that connection with a clear status or close code,
unexpected errors are logged with the traceback; neither reaches the listener.

Routes: ``GET /`` health; ``/rtc`` (websocket, token in ``Authorization: Bearer`` or
``access_token``); ``/rtc/validate``; ``/rtc/v1`` and ``/rtc/v1/validate`` answer 404 so
that current SDKs fall back to ``/rtc``; ``/agent`` (websocket, agent grant);
``POST /twirp/livekit.<Service>/<Method>``; ``OPTIONS`` anything (CORS preflight).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio
from livekit.protocol import models, rtc

from ..core import ConnectionClosedError, RemoteProtocolError
from ..protocol import (
    AuthError,
    TokenClaims,
    TwirpError,
    authorize_grant,
    authorize_join,
    decode_twirp_request,
    encode_twirp_error,
    encode_twirp_response,
    verify_token,
)
from ..transport import AsyncioBridge, open_asyncio_bridge
from ._agents import AgentService, FinishedJob
from ._http import HandshakeRefused, HttpRequest, ServerWebSocket, read_request, send_response
from ._hub import SignalHub
from ._limits import ConnectionGate, identity_error, room_name_error
from ._options import DevServerOptions
from ._reaper import serve_room_reaper
from ._registry import Registry
from ._services import TwirpServices
from ._signal import client_info_from_query, serve_rtc_session

__all__ = ["DevServer", "DevServerStatistics", "open_devserver", "serve_devserver"]

log = logging.getLogger("trioagents.devserver")

REQUEST_HEAD_TIMEOUT = 10.0
REFUSAL_READ_TIMEOUT = 1.0
_V1_GONE = b"v1 signalling is not available on this server; use /rtc"


@dataclass(frozen=True, slots=True)
class DevServerStatistics:
    rooms: int
    participants: int
    workers: int
    jobs: int
    tracks_published: int
    subscriptions: int
    data_forwarded: int
    data_dropped: int
    jobs_finished: int = 0  # ended jobs remembered (see ``DevServer.finished_jobs``)
    connections: int = 0  # open TCP connections (HTTP and websocket)
    connections_refused: int = 0  # answered 503: over ``max_connections``


class DevServer:
    """A running dev server; obtain it from :func:`open_devserver` / ``serve_devserver``."""

    def __init__(
        self,
        options: DevServerOptions,
        port: int,
        nursery: trio.Nursery,
        bridge: AsyncioBridge,
        relay: Any,
    ) -> None:
        self.options = options
        self.port = port
        self.agents = AgentService(
            nursery,
            api_key=options.api_key,
            api_secret=options.api_secret,
            server_info=self.server_info,
            rng=random.Random(options.seed),
            register_timeout=options.register_timeout,
        )
        self.registry = Registry(
            on_event=self.agents.on_registry_event, wall_clock=options.wall_clock
        )
        self.agents.attach_rooms(self.registry.rooms)
        self.hub = SignalHub(self.registry, bridge, relay, self.server_info, options.wall_clock)
        self.twirp = TwirpServices(
            self.registry, self.agents.jobs_of, max_room_name_length=options.max_room_name_length
        )
        self.connections = ConnectionGate(options.max_connections)

    @property
    def url(self) -> str:
        host = self.options.host
        return f"ws://[{host}]:{self.port}" if ":" in host else f"ws://{host}:{self.port}"

    @property
    def http_url(self) -> str:
        return "http" + self.url[2:]

    @property
    def api_key(self) -> str:
        return self.options.api_key

    @property
    def api_secret(self) -> str:
        return self.options.api_secret

    def server_info(self) -> models.ServerInfo:
        return models.ServerInfo(
            edition=models.ServerInfo.Standard,
            version=self.options.server_version,
            protocol=17,
            agent_protocol=1,
            node_id="trioagents-devserver",
            region="local",
        )

    def statistics(self) -> DevServerStatistics:
        stats = self.hub.stats
        return DevServerStatistics(
            rooms=len(self.registry.rooms),
            participants=sum(len(r.participants) for r in self.registry.rooms.values()),
            workers=len(self.agents.workers),
            jobs=len(self.agents.jobs),
            tracks_published=stats.tracks_published,
            subscriptions=stats.subscriptions,
            data_forwarded=stats.data_forwarded,
            data_dropped=stats.data_dropped,
            jobs_finished=len(self.agents.finished),
            connections=self.connections.open,
            connections_refused=self.connections.refused,
        )

    def finished_jobs(self) -> list[FinishedJob]:
        """How the most recent jobs ended (oldest first, up to 1000)."""
        return list(self.agents.finished)

    def _verify(self, token: str | None) -> TokenClaims:
        if not token:
            raise AuthError(
                "no access token (Authorization: Bearer or access_token)", reason="missing_token"
            )
        return verify_token(token, self.options.api_keys, now=self.options.wall_clock)

    # -- connections -----------------------------------------------------------------

    async def handle_connection(self, stream: trio.abc.Stream) -> None:
        """Serve one TCP connection; never raises (except cancellation).

        Over ``max_connections`` the connection is answered 503 (after its request
        head, read for at most ``REFUSAL_READ_TIMEOUT``, so that closing does not
        reset the connection before the client reads the answer) and closed.
        """
        if not self.connections.try_enter():
            await self._refuse_connection(stream)
            return
        try:
            await self._serve_connection(stream)
        finally:
            self.connections.leave()

    async def _refuse_connection(self, stream: trio.abc.Stream) -> None:
        try:
            with trio.move_on_after(REFUSAL_READ_TIMEOUT), suppress(RemoteProtocolError):
                await read_request(stream)
            await send_response(stream, 503, self.connections.refusal)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()

    async def _serve_connection(self, stream: trio.abc.Stream) -> None:
        try:
            with trio.fail_after(REQUEST_HEAD_TIMEOUT):
                request = await read_request(stream)
            await self._route(stream, request)
        except HandshakeRefused as exc:  # answered already; worth one line, not a traceback
            log.warning("%s (HTTP %d)", exc, exc.status)
        except (RemoteProtocolError, trio.TooSlowError):
            await _best_effort(send_response(stream, 400, b"bad request"))
        except (ConnectionClosedError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:
            log.exception("dev server connection failed")
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()

    async def _route(self, stream: trio.abc.Stream, request: HttpRequest) -> None:
        path = request.path.rstrip("/") or "/"
        if request.method == "OPTIONS":
            await send_response(stream, 204)
        elif path in ("/rtc/v1", "/rtc/v1/validate"):
            await send_response(stream, 404, _V1_GONE)
        elif path == "/rtc" and request.is_websocket:
            await self._serve_rtc(stream, request)
        elif path == "/rtc/validate":
            await self._validate(stream, request)
        elif path == "/agent" and request.is_websocket:
            await self._serve_agent(stream, request)
        elif path.startswith("/twirp/") and request.method == "POST":
            await self._serve_twirp(stream, request)
        elif path == "/" and request.method in ("GET", "HEAD"):
            await send_response(stream, 200, b"OK")
        else:
            await send_response(stream, 404, b"not found")

    async def _validate(self, stream: trio.abc.Stream, request: HttpRequest) -> None:
        try:
            claims = self._verify(request.bearer_token())
            authorize_join(claims)
        except AuthError as exc:
            await send_response(stream, _auth_status(exc), _auth_text(exc))
            return
        over = self._name_limit_error(claims)
        if over is not None:
            await send_response(stream, 400, over.encode())
            return
        await send_response(stream, 200, b"success")

    def _name_limit_error(self, claims: TokenClaims) -> str | None:
        """Why ``claims`` may not join (a name over its limit), logged; else ``None``."""
        over = room_name_error(claims.video.room or "", self.options.max_room_name_length)
        over = over or identity_error(claims.identity, self.options.max_identity_length)
        if over is not None:
            log.warning("refusing /rtc connection: %s", over)
        return over

    async def _serve_rtc(self, stream: trio.abc.Stream, request: HttpRequest) -> None:
        try:
            claims = self._verify(request.bearer_token())
            authorize_join(claims)
        except AuthError as exc:
            await ServerWebSocket.reject(
                stream, request, _auth_status(exc), _auth_text(exc).decode()
            )
            return
        over = self._name_limit_error(claims)
        if over is not None:
            await ServerWebSocket.reject(stream, request, 400, over)
            return
        client, auto_subscribe = client_info_from_query(request.query)
        websocket = await ServerWebSocket.accept(stream, request)
        try:
            if request.param("reconnect") in ("1", "true"):
                session = self.hub.session_to_resume(
                    claims.video.room or "", claims.identity, request.param("sid") or ""
                )
                if session is None or not await session.hand_over(websocket):
                    await websocket.send(_refuse_resume().SerializeToString())
                return
            await serve_rtc_session(self.hub, websocket, claims, client, auto_subscribe)
        except RemoteProtocolError as exc:
            log.warning("closing /rtc connection: %s", exc)
            await websocket.aclose(1002, "protocol error")
        finally:
            await websocket.aclose()

    async def _serve_agent(self, stream: trio.abc.Stream, request: HttpRequest) -> None:
        try:
            authorize_grant(self._verify(request.bearer_token()), "agent")
        except AuthError as exc:
            await ServerWebSocket.reject(
                stream, request, _auth_status(exc), _auth_text(exc).decode()
            )
            return
        websocket = await ServerWebSocket.accept(stream, request)
        try:
            await self.agents.serve_worker(websocket)
        except* RemoteProtocolError as group:
            log.warning("closing /agent connection: %s", group.exceptions[0])
            await websocket.aclose(1002, "protocol error")
        except* ConnectionClosedError:
            pass
        finally:
            await websocket.aclose()

    async def _serve_twirp(self, stream: trio.abc.Stream, request: HttpRequest) -> None:
        try:
            call = decode_twirp_request(
                request.path, request.headers.get("content-type", ""), request.body
            )
            try:
                claims = self._verify(request.bearer_token())
            except AuthError as exc:
                raise TwirpError("unauthenticated", str(exc)) from exc
            reply = self.twirp.call(call, claims)
        except TwirpError as exc:
            await send_response(
                stream, exc.status, encode_twirp_error(exc), content_type="application/json"
            )
            return
        body, content_type = encode_twirp_response(reply, as_json=call.json)
        await send_response(stream, 200, body, content_type=content_type)


def _auth_status(exc: AuthError) -> int:
    return 403 if exc.reason in ("missing_grant", "wrong_room") else 401


def _auth_text(exc: AuthError) -> bytes:
    return f"{exc.reason}: {exc}".encode()


def _refuse_resume() -> rtc.SignalResponse:
    leave = rtc.LeaveRequest(
        reason=models.DisconnectReason.STATE_MISMATCH, action=rtc.LeaveRequest.RECONNECT
    )
    return rtc.SignalResponse(leave=leave)


async def _best_effort(coro: Any) -> None:
    with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await coro


async def serve_devserver(
    options: DevServerOptions | None = None,
    *,
    task_status: trio.TaskStatus[DevServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the dev server until cancelled; ``task_status.started(server)`` once listening.

    Raises ``OSError`` if the port cannot be bound. Cancellation closes every
    connection and peer connection (shielded, bounded) and joins the media thread.
    """
    options = options or DevServerOptions()
    async with open_asyncio_bridge(ice_host_addresses=options.ice_host_addresses) as bridge:
        relay = await bridge.run(_make_relay)
        listeners = await trio.open_tcp_listeners(options.port, host=options.host)
        async with trio.open_nursery() as nursery:
            port = listeners[0].socket.getsockname()[1]
            server = DevServer(options, port, nursery, bridge, relay)
            log.info("dev server listening", extra={"url": server.url})
            nursery.start_soon(
                partial(
                    serve_room_reaper,
                    server.registry,
                    departure_timeout=options.departure_timeout,
                    default_empty_timeout=options.empty_timeout,
                )
            )
            task_status.started(server)
            await trio.serve_listeners(server.handle_connection, listeners, handler_nursery=nursery)


async def _make_relay() -> Any:
    from aiortc.contrib.media import MediaRelay

    return MediaRelay()


@asynccontextmanager
async def open_devserver(options: DevServerOptions | None = None) -> AsyncIterator[DevServer]:
    """``async with open_devserver() as server``: a running server for the block."""
    async with trio.open_nursery() as nursery:
        server: DevServer = await nursery.start(serve_devserver, options)
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
