"""What a verified token says about the participant it admits (sans-I/O)."""

from __future__ import annotations

from livekit.protocol import agent_dispatch, models

from ..protocol import TokenClaims

__all__ = ["participant_kind", "permission_from_claims", "token_agents"]

_KINDS = {
    "": models.ParticipantInfo.STANDARD,
    "standard": models.ParticipantInfo.STANDARD,
    "ingress": models.ParticipantInfo.INGRESS,
    "egress": models.ParticipantInfo.EGRESS,
    "sip": models.ParticipantInfo.SIP,
    "agent": models.ParticipantInfo.AGENT,
}


def participant_kind(claims: TokenClaims) -> models.ParticipantInfo.Kind:
    """The token's ``kind`` claim (lower-case name), STANDARD when absent or unknown."""
    return _KINDS.get(claims.kind.lower(), models.ParticipantInfo.STANDARD)


def permission_from_claims(claims: TokenClaims) -> models.ParticipantPermission:
    video = claims.video
    sources = [
        getattr(models.TrackSource, s.upper(), models.TrackSource.UNKNOWN)
        for s in video.can_publish_sources or ()
    ]
    return models.ParticipantPermission(
        can_subscribe=video.effective_can_subscribe,
        can_publish=video.effective_can_publish,
        can_publish_data=video.effective_can_publish_data,
        can_publish_sources=sources,
        can_update_metadata=bool(video.can_update_own_metadata),
        hidden=bool(video.hidden),
        recorder=bool(video.recorder),
        agent=bool(video.agent) or claims.kind.lower() == "agent",
    )


def token_agents(claims: TokenClaims) -> list[agent_dispatch.RoomAgentDispatch] | None:
    """Agent dispatches named in the token's ``roomConfig.agents`` (protobuf-JSON)."""
    config = claims.room_config or {}
    agents = config.get("agents")
    if not isinstance(agents, list):
        return None
    wanted = [
        agent_dispatch.RoomAgentDispatch(
            agent_name=str(a.get("agentName", a.get("agent_name", ""))),
            metadata=str(a.get("metadata", "")),
        )
        for a in agents
        if isinstance(a, dict)
    ]
    return wanted or None
