"""HTTP routes and auth rejections of a running dev server (real sockets)."""

from __future__ import annotations

import logging

import pytest
import trio

from trioagents.core import ConfigurationError
from trioagents.devserver import DevServer, DevServerOptions, open_devserver
from trioagents.protocol import VideoGrants, mint_token

from ._client import (
    expired_token,
    http_get,
    join_token,
    open_agent,
    open_rtc,
    raw_upgrade,
    raw_upgrade_response,
    recv_signal,
)

pytestmark = pytest.mark.slow


async def reject_status(server: DevServer, token: str, *, header: bool = True) -> tuple[int, str]:
    if header:
        return await raw_upgrade(server, "/rtc?protocol=17", {"authorization": f"Bearer {token}"})
    return await raw_upgrade(server, f"/rtc?protocol=17&access_token={token}")


async def test_health_cors_and_v1_paths_answer_404_with_cors() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            health = await http_get(server, "/")
            assert health.status_code == 200
            for path in ("/rtc/v1/validate?access_token=x", "/rtc/v1"):
                response = await http_get(server, path)
                assert response.status_code == 404
                assert response.headers["access-control-allow-origin"] == "*"
                assert b"does not exist" not in response.content  # JS falls back only then
            assert (await http_get(server, "/nope")).status_code == 404
            assert (await http_get(server, "/rtc")).status_code == 404  # not an upgrade


async def test_v1_websocket_upgrade_is_refused_with_404() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            headers = {"authorization": f"Bearer {join_token(server, 'a')}"}
            status, _ = await raw_upgrade(server, "/rtc/v1?join_request=AA==", headers)
            assert status == 404
            assert (await raw_upgrade(server, "/rtc", headers))[0] == 101


@pytest.mark.parametrize("path", ["/rtc?protocol=17", "/agent"])
async def test_a_broken_handshake_with_a_valid_token_gets_400_or_426_and_one_log_line(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trioagents")
    with trio.fail_after(10):
        async with open_devserver() as server:
            if path == "/agent":
                token = mint_token(
                    server.api_key, server.api_secret, identity="", video=VideoGrants(agent=True)
                )
            else:
                token = join_token(server, "a")
            auth = {"authorization": f"Bearer {token}"}
            no_key = await raw_upgrade_response(server, path, auth, omit=("sec-websocket-key",))
            assert no_key.status == 400
            assert "Sec-WebSocket-Key" in no_key.body
            old = await raw_upgrade_response(server, path, {**auth, "sec-websocket-version": "8"})
            assert old.status == 426
            assert old.headers["sec-websocket-version"] == "13"
            if path == "/agent":  # the server still serves a proper handshake
                async with open_agent(server, token):
                    pass
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = [r for r in caplog.records if "handshake" in r.getMessage()]
    assert len(refused) == 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in refused)


async def test_validate_says_success_or_why_not() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            good = await http_get(server, f"/rtc/validate?access_token={join_token(server, 'a')}")
            assert (good.status_code, good.text) == (200, "success")
            assert good.headers["access-control-allow-origin"] == "*"
            bad = await http_get(server, "/rtc/validate?access_token=garbage")
            assert bad.status_code == 401
            assert bad.text.startswith("malformed:")


async def test_auth_rejections_each_have_a_clear_reason() -> None:
    with trio.fail_after(15):
        async with open_devserver() as server:
            wrong_key = mint_token(
                "otherkey", "secret", identity="a", video=VideoGrants(room_join=True, room="r")
            )
            wrong_secret = mint_token(
                server.api_key, "nope", identity="a", video=VideoGrants(room_join=True, room="r")
            )
            no_grant = mint_token(
                server.api_key, server.api_secret, identity="a", video=VideoGrants(room="r")
            )
            no_room = mint_token(
                server.api_key, server.api_secret, identity="a", video=VideoGrants(room_join=True)
            )
            cases = [
                (expired_token(server), 401, "expired"),
                (wrong_key, 401, "unknown_key"),
                (wrong_secret, 401, "bad_signature"),
                (no_grant, 403, "missing_grant"),
                (no_room, 401, "missing_claim"),
                ("garbage", 401, "malformed"),
                ("", 401, "missing_token"),
            ]
            for token, status, reason in cases:
                got_status, text = await reject_status(server, token, header=bool(token))
                assert got_status == status, (reason, text)
                assert text.startswith(f"{reason}:"), text
                assert token == "" or token not in text  # never echo the token


async def test_query_token_works_like_the_header() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_rtc(server, join_token(server, "alice"), header=False) as ws:
                assert (await recv_signal(ws)).join.participant.identity == "alice"
            status, text = await reject_status(server, expired_token(server), header=False)
            assert status == 401
            assert text.startswith("expired:")


async def test_custom_credentials_replace_the_dev_defaults() -> None:
    options = DevServerOptions(api_keys={"mykey": "a-much-longer-secret-for-tests"})
    with trio.fail_after(10):
        async with open_devserver(options) as server:
            assert (server.api_key, server.api_secret) == (
                "mykey",
                "a-much-longer-secret-for-tests",
            )
            dev = mint_token(
                "devkey", "secret", identity="a", video=VideoGrants(room_join=True, room="r")
            )
            status, text = await reject_status(server, dev)
            assert status == 401
            assert text.startswith("unknown_key:")


def test_options_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="semver"):
        DevServerOptions(server_version="1.7.9")
    with pytest.raises(ConfigurationError, match="semver"):
        DevServerOptions(server_version="v1")
    with pytest.raises(ConfigurationError, match="IP addresses"):
        DevServerOptions(ice_host_addresses=("localhost",))
    with pytest.raises(ConfigurationError, match="api_keys"):
        DevServerOptions(api_keys={})
    with pytest.raises(ConfigurationError, match="port"):
        DevServerOptions(port=70000)
