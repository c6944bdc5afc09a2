"""Twirp ``RoomService`` and ``AgentDispatchService`` on top of the registry.

Synchronous and sans-I/O apart from the participants' ``send``/``close`` callbacks:
a decoded :class:`TwirpRequest` plus verified token claims in, a response message out,
or a :class:`TwirpError` whose code says what was wrong. Grants follow livekit-server:
``roomCreate`` for create/delete room, ``roomList`` for listing, ``roomAdmin`` with the
token's room equal to the request's room for participants and dispatches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from google.protobuf.message import Message
from livekit.protocol import agent, agent_dispatch, models, room, rtc

from ..protocol import AuthError, TokenClaims, TwirpError, TwirpRequest, authorize_grant
from ._limits import room_name_error
from ._registry import Registry, RoomRecord

__all__ = ["TwirpServices"]

log = logging.getLogger("trioagents.devserver")

Handler = Callable[[Message, TokenClaims], Message]
JobsOf = Callable[[str], list[agent.Job]]
"""The jobs currently running for a dispatch id (the agent service knows them)."""


def _require(claims: TokenClaims, grant: str, room_name: str | None = None) -> None:
    try:
        authorize_grant(claims, grant, room_name)
    except AuthError as exc:
        raise TwirpError("permission_denied", str(exc)) from exc


class TwirpServices:
    def __init__(
        self,
        registry: Registry,
        jobs_of: JobsOf = lambda dispatch_id: [],
        *,
        max_room_name_length: int = 256,
    ) -> None:
        self._registry = registry
        self._jobs_of = jobs_of
        self._max_room_name_length = max_room_name_length
        self._handlers: dict[str, Handler] = {
            "CreateRoom": self._create_room,
            "ListRooms": self._list_rooms,
            "DeleteRoom": self._delete_room,
            "ListParticipants": self._list_participants,
            "GetParticipant": self._get_participant,
            "RemoveParticipant": self._remove_participant,
            "CreateDispatch": self._create_dispatch,
            "ListDispatch": self._list_dispatch,
            "DeleteDispatch": self._delete_dispatch,
        }

    def call(self, request: TwirpRequest, claims: TokenClaims) -> Message:
        """Run one call; raises :class:`TwirpError`."""
        return self._handlers[request.method.method](request.message, claims)

    def _room(self, name: str) -> RoomRecord:
        if not name:
            raise TwirpError("invalid_argument", "room name is required")
        found = self._registry.rooms.get(name)
        if found is None:
            raise TwirpError("not_found", "room not found")
        return found

    def _check_new_room_name(self, name: str) -> None:
        if not name:
            raise TwirpError("invalid_argument", "room name is required")
        over = room_name_error(name, self._max_room_name_length)
        if over is not None:
            log.warning("refusing Twirp call: %s", over)
            raise TwirpError("invalid_argument", over)

    def _create_room(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.CreateRoomRequest)
        _require(claims, "room_create")
        self._check_new_room_name(message.name)
        record, _ = self._registry.create_room(
            message.name,
            metadata=message.metadata,
            empty_timeout=message.empty_timeout,
            max_participants=message.max_participants,
            agents=list(message.agents) or None,
        )
        return record.snapshot()

    def _list_rooms(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.ListRoomsRequest)
        _require(claims, "room_list")
        names = set(message.names)
        rooms = [
            r.snapshot() for r in self._registry.rooms.values() if not names or r.name in names
        ]
        return room.ListRoomsResponse(rooms=rooms)

    def _delete_room(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.DeleteRoomRequest)
        _require(claims, "room_create")
        if self._registry.delete_room(message.room) is None:
            raise TwirpError("not_found", "room not found")
        return room.DeleteRoomResponse()

    def _list_participants(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.ListParticipantsRequest)
        _require(claims, "room_admin", message.room)
        record = self._room(message.room)
        return room.ListParticipantsResponse(
            participants=[p.info for p in record.participants.values()]
        )

    def _get_participant(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.RoomParticipantIdentity)
        _require(claims, "room_admin", message.room)
        participant = self._room(message.room).participants.get(message.identity)
        if participant is None:
            raise TwirpError("not_found", "participant not found")
        return participant.info

    def _remove_participant(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, room.RoomParticipantIdentity)
        _require(claims, "room_admin", message.room)
        participant = self._room(message.room).participants.get(message.identity)
        if participant is None:
            raise TwirpError("not_found", "participant not found")
        reason = models.DisconnectReason.PARTICIPANT_REMOVED
        participant.send(
            rtc.SignalResponse(
                leave=rtc.LeaveRequest(reason=reason, action=rtc.LeaveRequest.DISCONNECT)
            )
        )
        self._registry.leave(participant, reason)
        participant.close(reason)
        return room.RemoveParticipantResponse()

    def _create_dispatch(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, agent_dispatch.CreateAgentDispatchRequest)
        _require(claims, "room_admin", message.room)
        self._check_new_room_name(message.room)
        existing = self._registry.rooms.get(message.room)
        if existing is not None:
            return self._registry.add_dispatch(existing, message.agent_name, message.metadata)
        wanted = agent_dispatch.RoomAgentDispatch(
            agent_name=message.agent_name, metadata=message.metadata
        )
        record, _ = self._registry.create_room(message.room, agents=[wanted])
        return next(iter(record.dispatches.values()))

    def _list_dispatch(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, agent_dispatch.ListAgentDispatchRequest)
        _require(claims, "room_admin", message.room)
        record = self._room(message.room)
        found = [
            self._with_jobs(d)
            for d in record.dispatches.values()
            if not message.dispatch_id or d.id == message.dispatch_id
        ]
        return agent_dispatch.ListAgentDispatchResponse(agent_dispatches=found)

    def _with_jobs(self, dispatch: agent_dispatch.AgentDispatch) -> agent_dispatch.AgentDispatch:
        """A copy of ``dispatch`` whose ``state.jobs`` lists its running jobs, as
        livekit-server's ListDispatch does (the stored dispatch keeps none)."""
        listed = agent_dispatch.AgentDispatch()
        listed.CopyFrom(dispatch)
        listed.state.jobs.extend(self._jobs_of(dispatch.id))
        return listed

    def _delete_dispatch(self, message: Message, claims: TokenClaims) -> Message:
        assert isinstance(message, agent_dispatch.DeleteAgentDispatchRequest)
        _require(claims, "room_admin", message.room)
        dispatch = self._registry.delete_dispatch(self._room(message.room), message.dispatch_id)
        if dispatch is None:
            raise TwirpError("not_found", "dispatch not found")
        return dispatch
