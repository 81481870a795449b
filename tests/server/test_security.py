"""Security defaults: loopback unless a token is set, ports in use named, Host/Origin allowlist, no token leaks."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from qjob_tui.cli import with_server_overrides
from qjob_tui.config import ConfigError, check_server_exposure
from qjob_tui.server import RelayServers
from qjob_tui.server.guard import GuardRefusal
from qjob_tui.server.security import BearerCheck, OriginCheck
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILED_JOB,
    SERVER_TOKEN,
    UNLISTED_JOB,
    Relay,
    quiet_simulator,
    running_relay,
)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "relay.internal"])
def test_listening_beyond_loopback_without_token_is_refused(host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_server_exposure(host, None)
    assert "QJOB_TUI_SERVER_TOKEN" in str(refused.value)
    assert host in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    check_server_exposure(host, None)


def test_beyond_loopback_with_a_token_is_allowed() -> None:
    check_server_exposure("0.0.0.0", SecretStr("a-long-random-secret"))


def test_the_bearer_check_wants_the_exact_header() -> None:
    check = BearerCheck(SecretStr("s3cret"))
    assert check.allows(b"Bearer s3cret")
    assert not check.allows(None)
    assert check.allows(b"bearer s3cret")  # the scheme is case-insensitive (RFC 9110 11.1), the token is not
    assert check.allows(b"BEARER s3cret")
    assert not check.allows(b"Bearer S3CRET")
    assert not check.allows(b"Bearers3cret")
    assert not check.allows(b"Bearer  s3cret")
    assert not check.allows(b"Bearer s3cret ")
    assert not check.allows(b"Token s3cret")
    assert BearerCheck(None).allows(None)


async def test_a_port_in_use_is_a_config_error_naming_port_and_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with running_relay(tmp_path) as relay:
            for ports, flag, key in (
                ((port, 0), "--rest-port", "server.rest_port"),
                ((0, port), "--mcp-port", "server.mcp_port"),
            ):
                settings = with_server_overrides(relay.runtime.settings, None, *ports)
                with pytest.raises(ConfigError) as refused:
                    async with RelayServers(replace(relay.runtime, settings=settings)):
                        pass
                message = str(refused.value)
                assert f"port {port}" in message and flag in message and key in message
                assert "\n" not in message


async def test_a_second_relay_on_the_same_port_is_refused_and_the_first_keeps_serving(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        settings = with_server_overrides(relay.runtime.settings, None, relay.servers.rest_port, 0)
        with pytest.raises(ConfigError):
            async with RelayServers(replace(relay.runtime, settings=settings)):
                pass
        async with relay.rest() as client:
            assert (await client.get("/v1/health")).status_code == 200


async def test_the_qovery_token_is_in_no_answer_and_no_audit_line(tmp_path: Path) -> None:
    seen: list[bytes] = []
    sim = quiet_simulator()
    async with running_relay(tmp_path, sim=sim, timeout_s=0.5) as relay:
        sim.inject(method="POST", path="/redeploy$", status=200, raw=b"not json")
        sim.inject(method="POST", path="/uninstall$", delay_s=30)
        sim.inject(method="POST", path="/cleanFailedJob$", status=401, json={"message": "bad token"})
        async with relay.rest() as client:
            for path in (
                f"/v1/job/{CRON_JOB}/deploy",
                f"/v1/job/{CRON_JOB}/stop",  # 409: in progress
                f"/v1/job/{CRON_JOB}/redeploy",  # 502
                f"/v1/job/{CRON_JOB}/uninstall",  # 504
                f"/v1/job/{FAILED_JOB}/cleanfailedjob",  # Qovery's 401
                f"/v1/job/{UNLISTED_JOB}/deploy",  # 403
                "/v1/job/not-a-uuid/deploy",  # 400
            ):
                response = await client.post(path)
                seen.append(response.content + str(response.headers).encode())
            for path in ("/v1/jobs", "/v1/health", "/v1/openapi.json"):
                seen.append((await client.get(path)).content)
        async with relay.mcp() as mcp:
            for name, arguments in (
                ("deploy-job", {"jobId": FAILED_JOB}),
                ("redeploy-job", {"jobId": CRON_JOB}),
                ("get-job-status", {"jobId": CRON_JOB}),
                ("list-jobs", {}),
                ("stop-job", {"jobId": "../x"}),
            ):
                result = await mcp.call_tool(name, arguments)
                seen.append(result.model_dump_json().encode())
            seen.append(b"".join(tool.model_dump_json().encode() for tool in (await mcp.list_tools()).tools))
    assert len(relay.audit_outcomes()) == 7  # five through REST, two through MCP
    seen.append(relay.audit_path.read_bytes())
    for blob in seen:
        assert API_TOKEN.encode() not in blob
        assert API_TOKEN[4:20].encode() not in blob  # not even a part of it


# -- one Host/Origin rule, both surfaces --------------------------------------------------------------------

ALLOWED = "allowed"
# (Host, Origin) as sent; None: the header is not sent; a tuple: the header sent once per value. `{port}` is the
# surface's port.
HOST_ORIGIN: dict[str, tuple[Any, Any, bool]] = {
    "loopback address": ("127.0.0.1:{port}", None, True),
    "localhost": ("localhost:{port}", None, True),
    "LOCALHOST": ("LOCALHOST:{port}", None, True),
    "localhost without port": ("LocalHost", None, True),
    "IPv6 loopback": ("[::1]:{port}", None, True),
    "IPv6 loopback written long": ("[0:0:0:0:0:0:0:1]:{port}", None, True),
    "a forwarded port": ("localhost:1234", None, True),
    "a dev server's origin": ("127.0.0.1:{port}", "http://localhost:5173", True),
    "an https origin": ("127.0.0.1:{port}", "https://127.0.0.1", True),
    "an origin in capitals": ("127.0.0.1:{port}", "HTTP://LOCALHOST:{port}", True),
    "an IPv6 origin": ("127.0.0.1:{port}", "http://[::1]:{port}", True),
    "a foreign host": ("evil.example", None, False),
    "a look-alike host": ("localhost.evil.example:{port}", None, False),
    "a loopback prefix": ("127.0.0.1.nip.io:{port}", None, False),
    "a trailing dot": ("localhost.:{port}", None, False),
    "a short IPv4 form": ("127.1:{port}", None, False),
    "another loopback address": ("127.0.0.2:{port}", None, False),
    "an unbracketed IPv6": ("::1", None, False),
    "an unclosed bracket": ("[::1:{port}", None, False),
    "a port out of range": ("localhost:99999", None, False),
    "a port that is not a number": ("localhost:8o8o", None, False),
    "user info in the host": ("me@localhost:{port}", None, False),
    "an empty host": ("", None, False),
    "no host": (None, None, False),
    "two hosts": (("localhost:{port}", "evil.example"), None, False),
    "a foreign origin": ("127.0.0.1:{port}", "http://evil.example", False),
    "a foreign https origin": ("127.0.0.1:{port}", "https://evil.example:8443", False),
    "a look-alike origin": ("127.0.0.1:{port}", "http://localhost.evil.example", False),
    "a null origin": ("127.0.0.1:{port}", "null", False),
    "an empty origin": ("127.0.0.1:{port}", "", False),
    "a file origin": ("127.0.0.1:{port}", "file://localhost", False),
    "an origin with a path": ("127.0.0.1:{port}", "http://localhost:{port}/", False),
    "an origin with user info": ("127.0.0.1:{port}", "http://evil@localhost", False),
    "an origin without scheme": ("127.0.0.1:{port}", "localhost", False),
    "two origins": ("127.0.0.1:{port}", ("http://localhost", "http://evil.example"), False),
}

MCP_LIST = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'


async def raw_post(url: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    """A POST written byte for byte (no client adds or fixes a header); its status and body."""
    address = url.removeprefix("http://").split("/")[0]
    host, port = address.rsplit(":", 1)
    lines = [f"POST {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), content


def _values(value: Any, port: int) -> list[str]:
    values = [] if value is None else [value] if isinstance(value, str) else list(value)
    return [item.replace("{port}", str(port)) for item in values]


@pytest.mark.parametrize(("host", "origin", "allowed"), HOST_ORIGIN.values(), ids=HOST_ORIGIN.keys())
async def test_one_host_origin_rule_on_both_surfaces(
    relay: Relay, host: Any, origin: Any, allowed: bool
) -> None:
    answers = []
    for url, path, body, extra in (
        (relay.rest_url, f"/v1/job/{CRON_JOB}/stop", b"", []),
        (
            relay.mcp_url,
            "/mcp",
            MCP_LIST,
            [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
        ),
    ):
        port = int(url.removeprefix("http://").split("/")[0].rsplit(":", 1)[1])
        headers = [("Host", value) for value in _values(host, port)]
        headers += [("Origin", value) for value in _values(origin, port)] + extra
        answers.append(await raw_post(url, path, headers, body))
    (rest_status, rest_body), (mcp_status, mcp_body) = answers
    if allowed:
        assert rest_status != 403 and mcp_status == 200, answers
        assert json.loads(mcp_body)["result"]["tools"]
    else:
        assert rest_status == mcp_status == 403, answers
        assert rest_body == mcp_body  # the same problem, word for word
        assert json.loads(rest_body)["type"] == "urn:qjob-tui:problem:foreign-origin"
        assert relay.sim.requests == []


async def test_the_configured_host_is_always_allowed(tmp_path: Path) -> None:
    """`--host 127.0.0.2` is loopback, yet not a name the default list holds: its own clients use it."""
    async with running_relay(tmp_path, host="127.0.0.2") as relay:
        assert relay.rest_url.startswith("http://127.0.0.2:")
        async with relay.rest() as client:
            response = await client.post(f"/v1/job/{CRON_JOB}/stop")
        assert response.status_code == 202, response.text
        async with relay.mcp() as mcp:
            assert (await mcp.list_tools()).tools


def test_the_rule_for_a_named_host_an_ipv6_host_and_a_wildcard() -> None:
    named = OriginCheck("relay.internal")
    assert named.allows([b"relay.internal:8080"], [b"https://relay.internal"])
    assert named.allows([b"RELAY.internal"], [])
    assert named.allows([b"127.0.0.1:8080"], [])
    assert not named.allows([b"other.internal:8080"], [])
    assert not named.allows([b"relay.internal"], [b"http://other.internal"])
    assert not named.allows([b"relay.internal"], [b"ftp://relay.internal"])
    v6 = OriginCheck("fd00::7")
    assert v6.allows([b"[fd00::7]:8080"], [b"http://[fd00:0::7]:8080"])
    assert not v6.allows([b"[fd00::8]:8080"], [])
    wildcard = OriginCheck("0.0.0.0")
    assert wildcard.allows([socket.gethostname().encode()], [])
    assert not wildcard.allows([b"0.0.0.0"], [])


# -- one guard in front of both surfaces -------------------------------------------------------------------


async def test_both_surfaces_refuse_a_missing_token_in_the_same_words(guarded_relay: Relay) -> None:
    relay = guarded_relay
    async with httpx.AsyncClient() as client:
        rest = await client.post(f"{relay.rest_url}/v1/job/{CRON_JOB}/stop")
        mcp = await client.post(relay.mcp_url, json={}, headers={"Accept": "application/json"})
    for response in (rest, mcp):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    assert rest.json() == mcp.json()
    assert relay.sim.requests == []


async def test_both_surfaces_take_the_bearer_scheme_in_any_case(guarded_relay: Relay) -> None:
    """HTTP's auth schemes are case-insensitive: a client that sends `bearer <token>` has the right token."""
    relay = guarded_relay
    headers = {"Authorization": f"bearer {SERVER_TOKEN}"}
    async with httpx.AsyncClient(headers=headers) as client:
        rest = await client.post(f"{relay.rest_url}/v1/job/{CRON_JOB}/deploy")
        mcp = await client.post(
            relay.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"},
        )
    assert rest.status_code == 202
    assert mcp.status_code == 200 and "deploy-job" in mcp.text
    assert [request.path for request in relay.upstream_actions] == [f"/job/{CRON_JOB}/deploy"]


async def test_both_surfaces_refuse_a_body_over_64_kib_in_the_same_words(relay: Relay) -> None:
    oversized = b"{" + b" " * (65 * 1024) + b"}"
    async with httpx.AsyncClient() as client:
        rest = await client.post(f"{relay.rest_url}/v1/job/{CRON_JOB}/deploy", content=oversized)
        mcp = await client.post(
            relay.mcp_url, content=oversized, headers={"Content-Type": "application/json"}
        )
    for response in (rest, mcp):
        assert response.status_code == 413
        assert response.headers["connection"] == "close"  # the rest of the body is not read
    assert rest.json() == mcp.json()
    assert "64 KiB" in rest.json()["detail"]
    assert relay.sim.requests == []


async def test_whoever_shows_refusals_hears_of_each_one_the_guard_makes(relay: Relay) -> None:
    heard: list[GuardRefusal] = []
    async with RelayServers(relay.runtime, on_refusal=heard.append) as servers:
        await servers.wait_started()
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{servers.rest_url}/v1/job/{CRON_JOB}/deploy", headers={"Origin": "http://evil.example"}
            )
            await client.post(servers.mcp_url, content=b"{}", headers={"Content-Type": "text/plain"})
            await client.post(f"{servers.rest_url}/v1/job/{CRON_JOB}/stop")  # let in: not heard of
    assert [(r.surface, r.method, r.path, r.status, r.type.rsplit(":", 1)[1]) for r in heard] == [
        ("rest", "POST", f"/v1/job/{CRON_JOB}/deploy", 403, "foreign-origin"),
        ("mcp", "POST", "/mcp", 415, "unsupported-media-type"),
    ]
    assert all(r.detail for r in heard)
    assert relay.sim.requests[-1].path.endswith("/stop")
