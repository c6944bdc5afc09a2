"""RPC between participants (LiveKit RPC v1 over data packets).

Caller: ``rpc_request`` to one identity → callee answers ``rpc_ack`` at once, then
``rpc_response`` with a payload or an error. :meth:`RpcEndpoint.perform` always ends
with the response or an :class:`RpcError`, as in the LiveKit SDKs:

* no ack within ``ACK_TIMEOUT`` (7 s, the SDKs' max round trip): 1501 connection
  timeout -- the request was lost or nobody by that identity is there;
* no response within the response timeout: 1502. The response timeout is the time
  left before the caller's own deadline (``fail_after``), else
  ``DEFAULT_RESPONSE_TIMEOUT_MS``; it is sent as ``response_timeout_ms`` so the
  callee knows it too (the caller's deadline, if any, still fires as itself);
* the callee leaves the room while we wait: 1503 recipient disconnected;
* a payload over ``MAX_PAYLOAD_BYTES``: 1402 before sending (1504 for a response).

Handlers run in the room's nursery; an exception other than :class:`RpcError`
becomes error 1500 (application error) without its message, so no internals leak to
peers. We advertise client protocol 0, so peers use v1.
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
CONNECTION_TIMEOUT = 1501
RESPONSE_TIMEOUT = 1502
RECIPIENT_DISCONNECTED = 1503
RESPONSE_PAYLOAD_TOO_LARGE = 1504
UNSUPPORTED_METHOD = 1400
REQUEST_PAYLOAD_TOO_LARGE = 1402
DEFAULT_RESPONSE_TIMEOUT_MS = 10_000
ACK_TIMEOUT = 7.0
MAX_PAYLOAD_BYTES = 15_360


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


@dataclass(slots=True)
class _Call:
    destination: str
    acked: trio.Event
    send: trio.MemorySendChannel[models.RpcResponse]


RpcHandler = Callable[[RpcInvocation], Awaitable[str]]
SendPacket = Callable[[models.DataPacket], Awaitable[None]]


class RpcEndpoint:
    """Registered methods and pending calls of one room."""

    def __init__(self, send: SendPacket) -> None:
        self._send = send
        self._handlers: dict[str, RpcHandler] = {}
        self._pending: dict[str, _Call] = {}

    def register(self, method: str, handler: RpcHandler) -> None:
        self._handlers[method] = handler

    def unregister(self, method: str) -> None:
        self._handlers.pop(method, None)

    async def perform(self, destination: str, method: str, payload: str) -> str:
        """Call ``method`` on ``destination``; returns its payload or raises RpcError."""
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise RpcError(REQUEST_PAYLOAD_TOO_LARGE, "request payload too large")
        request_id = str(uuid.uuid4())
        started = trio.current_time()
        remaining = trio.current_effective_deadline() - started
        timeout_ms = DEFAULT_RESPONSE_TIMEOUT_MS if math.isinf(remaining) else int(remaining * 1000)
        request = models.RpcRequest(
            id=request_id, method=method, payload=payload, response_timeout_ms=timeout_ms, version=1
        )
        send, receive = trio.open_memory_channel[models.RpcResponse](1)
        call = _Call(destination, trio.Event(), send)
        self._pending[request_id] = call
        try:
            await self._send(
                models.DataPacket(rpc_request=request, destination_identities=[destination])
            )
            with trio.move_on_after(ACK_TIMEOUT):
                await call.acked.wait()
            if not call.acked.is_set():
                raise RpcError(CONNECTION_TIMEOUT, "connection timeout")
            with trio.move_on_at(started + timeout_ms / 1000):
                response = await receive.receive()
                return _result(response)
            raise RpcError(RESPONSE_TIMEOUT, "response timeout")
        except trio.EndOfChannel:
            raise RpcError(RECIPIENT_DISCONNECTED, "recipient disconnected") from None
        finally:
            self._pending.pop(request_id, None)

    def on_ack(self, ack: models.RpcAck) -> None:
        call = self._pending.get(ack.request_id)
        if call is not None:
            call.acked.set()

    def on_response(self, response: models.RpcResponse) -> None:
        call = self._pending.get(response.request_id)
        if call is not None:
            call.acked.set()  # a response implies the ack (which may come later or never)
            with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
                call.send.send_nowait(response)  # a duplicate: the first one wins

    def participant_left(self, identity: str) -> None:
        """Calls waiting on ``identity`` fail with 1503 (recipient disconnected)."""
        for call in self._pending.values():
            if call.destination == identity:
                call.acked.set()
                call.send.close()

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
        if len(response.payload.encode()) > MAX_PAYLOAD_BYTES:
            response.error.CopyFrom(
                models.RpcError(
                    code=RESPONSE_PAYLOAD_TOO_LARGE, message="response payload too large"
                )
            )
        await self._send(models.DataPacket(rpc_response=response, destination_identities=[caller]))


def _result(response: models.RpcResponse) -> str:
    if response.WhichOneof("value") == "error":
        raise RpcError(response.error.code, response.error.message, response.error.data)
    return response.payload
