"""RPC between participants (LiveKit RPC v1 over data packets).

Caller: ``rpc_request`` to one identity → callee answers ``rpc_ack`` at once, then
``rpc_response`` with a payload or an error. :meth:`RpcEndpoint.perform` waits for
the response with no timeout of its own: the caller's deadline (``fail_after``)
bounds it, and the remaining time is sent as ``response_timeout_ms`` so the callee
knows it too. Handlers run in the room's nursery; an exception other than
:class:`RpcError` becomes error 1500 (application error) without its message, so
no internals leak to peers. We advertise client protocol 0, so peers use v1.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio
from livekit.protocol import models

from ..core import TrioAgentsError

__all__ = ["RpcEndpoint", "RpcError", "RpcInvocation"]

APPLICATION_ERROR = 1500
UNSUPPORTED_METHOD = 1400
DEFAULT_RESPONSE_TIMEOUT_MS = 10_000


class RpcError(TrioAgentsError):
    """An RPC failed; ``code`` as in the LiveKit RPC protocol, ``data`` a payload string."""

    def __init__(self, code: int, message: str, data: str = "") -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.rpc_message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class RpcInvocation:
    request_id: str
    caller_identity: str
    method: str
    payload: str
    response_timeout: float


RpcHandler = Callable[[RpcInvocation], Awaitable[str]]
SendPacket = Callable[[models.DataPacket], Awaitable[None]]


class RpcEndpoint:
    """Registered methods and pending calls of one room."""

    def __init__(self, send: SendPacket) -> None:
        self._send = send
        self._handlers: dict[str, RpcHandler] = {}
        self._pending: dict[str, trio.MemorySendChannel[models.RpcResponse]] = {}

    def register(self, method: str, handler: RpcHandler) -> None:
        self._handlers[method] = handler

    def unregister(self, method: str) -> None:
        self._handlers.pop(method, None)

    async def perform(self, destination: str, method: str, payload: str) -> str:
        """Call ``method`` on ``destination``; returns its payload or raises RpcError."""
        request_id = str(uuid.uuid4())
        remaining = trio.current_effective_deadline() - trio.current_time()
        timeout_ms = DEFAULT_RESPONSE_TIMEOUT_MS if math.isinf(remaining) else int(remaining * 1000)
        request = models.RpcRequest(
            id=request_id, method=method, payload=payload, response_timeout_ms=timeout_ms, version=1
        )
        send, receive = trio.open_memory_channel[models.RpcResponse](1)
        self._pending[request_id] = send
        try:
            await self._send(
                models.DataPacket(rpc_request=request, destination_identities=[destination])
            )
            response = await receive.receive()
        finally:
            self._pending.pop(request_id, None)
        if response.WhichOneof("value") == "error":
            raise RpcError(response.error.code, response.error.message, response.error.data)
        return response.payload

    def on_response(self, response: models.RpcResponse) -> None:
        waiter = self._pending.get(response.request_id)
        if waiter is not None:
            with contextlib.suppress(trio.WouldBlock):  # a duplicate: the first one wins
                waiter.send_nowait(response)

    async def serve_request(self, request: models.RpcRequest, caller: str) -> None:
        """Ack, run the handler, answer. Runs as a task in the room's nursery."""
        await self._send(
            models.DataPacket(
                rpc_ack=models.RpcAck(request_id=request.id), destination_identities=[caller]
            )
        )
        response = models.RpcResponse(request_id=request.id)
        handler = self._handlers.get(request.method)
        if handler is None:
            response.error.CopyFrom(
                models.RpcError(code=UNSUPPORTED_METHOD, message="unsupported method")
            )
        else:
            invocation = RpcInvocation(
                request.id,
                caller,
                request.method,
                request.payload,
                request.response_timeout_ms / 1000,
            )
            try:
                response.payload = await handler(invocation)
            except RpcError as exc:
                response.error.CopyFrom(
                    models.RpcError(code=exc.code, message=exc.rpc_message, data=exc.data)
                )
            except Exception:
                response.error.CopyFrom(
                    models.RpcError(code=APPLICATION_ERROR, message="application error")
                )
        await self._send(models.DataPacket(rpc_response=response, destination_identities=[caller]))
