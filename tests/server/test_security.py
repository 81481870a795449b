"""Security defaults: loopback unless a token is set, ports in use named, Host/Origin allowlist, no token leaks."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from qjob_tui.cli import with_server_overrides
from qjob_tui.config import ConfigError, check_server_exposure
from qjob_tui.server import RelayServers
from qjob_tui.server.security import BearerCheck, OriginCheck, host_allowlist

from .support import API_TOKEN, CRON_JOB, FAILED_JOB, UNLISTED_JOB, Relay, quiet_simulator, running_relay


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
    assert not check.allows(b"bearer s3cret")
    assert not check.allows(b"Bearer s3cret ")
    assert not check.allows(b"Token s3cret")
    assert BearerCheck(None).allows(None)


def test_mcp_allows_loopback_names_only_by_default() -> None:
    hosts, origins = host_allowlist("127.0.0.1")
    assert set(hosts) == {"127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"}
    assert "http://localhost:*" in origins
    assert not any("evil" in value for value in hosts + origins)


def test_mcp_adds_the_configured_host_when_it_is_not_loopback() -> None:
    hosts, origins = host_allowlist("relay.internal")
    assert {"relay.internal", "relay.internal:*", "127.0.0.1:*"} <= set(hosts)
    assert {"http://relay.internal:*", "https://relay.internal"} <= set(origins)
    v6_hosts, _ = host_allowlist("fd00::7")
    assert "[fd00::7]:*" in v6_hosts


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
    assert len(relay.audit_lines()) == 7  # five through REST, two through MCP
    seen.append(relay.audit_path.read_bytes())
    for blob in seen:
        assert API_TOKEN.encode() not in blob
        assert API_TOKEN[4:20].encode() not in blob  # not even a part of it


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "https://evil.example:8443"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "null"},
        {"Host": "evil.example"},
        {"Host": "evil.example:8080"},
    ],
    ids=[
        "foreign origin",
        "foreign https origin",
        "look-alike origin",
        "null origin",
        "foreign host",
        "host:port",
    ],
)
async def test_rest_refuses_web_pages_and_rebound_names_before_qovery(
    relay: Relay, headers: dict[str, str]
) -> None:
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("foreign-origin")
    assert relay.sim.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost:5173"},
        {"Origin": "http://127.0.0.1"},
        {"Host": "localhost"},
        {"Host": "[::1]:80"},
    ],
    ids=["localhost origin", "loopback origin", "localhost host", "ipv6 loopback host"],
)
async def test_rest_allows_loopback_names(relay: Relay, headers: dict[str, str]) -> None:
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/stop", headers=headers)
    assert response.status_code == 202


def test_the_origin_check_of_a_named_host() -> None:
    check = OriginCheck("relay.internal")
    assert check.allows(b"relay.internal:8080", b"https://relay.internal")
    assert check.allows(b"127.0.0.1:8080", None)
    assert not check.allows(b"other.internal:8080", None)
    assert not check.allows(b"relay.internal", b"http://other.internal")
    assert not check.allows(b"relay.internal", b"ftp://relay.internal")
    v6 = OriginCheck("fd00::7")
    assert v6.allows(b"[fd00::7]:8080", b"http://[fd00::7]:8080")
    assert not v6.allows(b"[fd00::8]:8080", None)


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
