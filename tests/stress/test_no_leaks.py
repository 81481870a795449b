"""Nothing leaked: with an upstream that echoes the token it got and quotes it in any case and scheme, or with
credentials in QOVERY_API_URL, no secret reaches any output — REST answers (errors, 2xx, 502 details, health,
the job list), MCP results over the official client, the audit file, the stderr of a real `qjob-tui --serve`,
the dashboard's log pane and notifications (through Pilot) — and no terminal escape reaches a terminal."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from qjob_tui.runtime import open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.tui.app import QJobApp
from tests.common import (
    CRON_JOB,
    environment_of,
    free_port,
    read_outcomes,
    relay_settings,
    run_qjob_tui,
    screen_text,
    user_env,
    write_config,
)
from tests.support.hostile import HostileUpstream, Received, hostile_upstream, json_answer
from tests.support.served import BOUND_S, serving

TOKEN = "qov_leakTEST_7f3e9a1c5b2d4e6f8a0bSECRET"
USER, PASSWORD = "relay-user", "p4ss-W0rd-leak"
JOB = CRON_JOB
# The job's environment is configured, so that the poller asks for its states from the start.
SETTINGS: dict[str, Any] = {
    "jobs": [JOB],
    "named": True,
    "environments": [environment_of(JOB)],
    "timeout_s": 5,
}
FORGED = "\n2026-05-19T10:00:00.000Z rest deploy nightly-backup 202 1ms\x1b[31m\x1b]0;owned\x07"
SECRETS = (TOKEN, PASSWORD, f"{USER}:", base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


def leaky(status: int) -> Any:
    """Every way an upstream can hand a secret back: the header it got, the token in other cases and schemes,
    a URL with credentials; and a line break and escapes that would forge a log line on a terminal."""

    def answer(received: Received) -> Any:
        got = received.headers.get("authorization", "")
        message = (
            f"bad token {got}; Token {TOKEN}; BEARER {TOKEN.upper()}; bearer {TOKEN.lower()}; "
            f"retry at http://{USER}:{PASSWORD}@qovery.example/api{FORGED}"
        )
        return json_answer(status, {"message": message, "echo": {"authorization": got, TOKEN: [TOKEN]}})

    return answer


def secrets_in(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def credentialed(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@")


def loaded(tmp_path: Path, api_url: str) -> Any:
    return relay_settings(tmp_path, api_url, token=TOKEN, **SETTINGS)


def texts_of(result: Any) -> Iterator[str]:
    yield from (item.text for item in result.content)
    yield json.dumps(result.structured_content)


async def test_no_secret_in_rest_answers_mcp_results_or_the_audit_file(tmp_path: Path) -> None:
    async with (
        hostile_upstream(leaky(400)) as upstream,
        open_runtime(loaded(tmp_path, upstream.url)) as runtime,
        RelayServers(runtime) as servers,
        asyncio.timeout(BOUND_S),
    ):
        await servers.wait_started()
        async with runtime.lifecycle:  # the poller's read fails: its error is in GET /v1/jobs
            while runtime.board.last_error is None:  # noqa: ASYNC110 - the board has no event for it
                await asyncio.sleep(0.01)
        shown: list[str] = []
        async with httpx.AsyncClient(base_url=servers.rest_url, timeout=BOUND_S) as http:
            error = await http.post(f"/v1/job/{JOB}/stop")
            upstream.then(leaky(202))
            accepted = await http.post(f"/v1/job/{JOB}/deploy")
            health = await http.get("/v1/health")
            jobs = await http.get("/v1/jobs")
        assert (error.status_code, accepted.status_code) == (400, 202)
        assert error.json()["message"].startswith("bad token Token [redacted]; Token [redacted]; ")
        assert health.json()["api"] == upstream.url  # without the credentials
        shown += [error.text, accepted.text, health.text, jobs.text]
        assert "[redacted]" in jobs.json()["error"]

        async with Client(servers.mcp_url) as mcp:
            results = [
                await mcp.call_tool("stop-job", {"jobId": JOB}),
                await mcp.call_tool("get-job-status", {"jobId": JOB}),
                await mcp.call_tool("list-jobs", {}),
            ]
        assert results[0].is_error and results[1].is_error
        assert "Qovery answered 400" in results[0].content[0].text
        shown += [text for result in results for text in texts_of(result)]

    # Upstream got the token (and echoed it); none of it came back.
    assert all(request.headers["authorization"] == f"Token {TOKEN}" for request in upstream.received)
    audit = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert [line["action"] for line in read_outcomes(tmp_path)] == ["stop", "deploy", "stop"]
    shown.append(audit)
    leaks = {text[:200]: secrets_in(text) for text in shown if secrets_in(text)}
    assert not leaks


@pytest.mark.parametrize("where", ["config", "environment"])
async def test_credentials_in_the_api_url_are_refused_at_start_without_showing_them(
    tmp_path: Path, where: str
) -> None:
    """Qovery takes no user:password: a URL that carries one is a mistake, refused in one line that names the
    variable or key and never shows what it carried; nothing is served."""
    url = credentialed(f"http://127.0.0.1:{free_port()}")
    config = write_config(tmp_path, url if where == "config" else None, **SETTINGS)
    env = user_env(
        tmp_path, QOVERY_API_KEY=TOKEN, **({"QOVERY_API_URL": url} if where == "environment" else {})
    )
    ran = await run_qjob_tui(tmp_path, "--serve", "--config", str(config), env=env)
    assert ran.code == 2
    [line] = ran.stderr.splitlines()
    assert "must not carry a user name or password" in line
    assert ("$QOVERY_API_URL" if where == "environment" else "qovery.api_url") in line
    assert not secrets_in(ran.stderr + ran.stdout), ran.stderr
    assert not (tmp_path / "audit.jsonl").exists()


async def test_no_secret_and_no_escape_on_the_stderr_of_a_real_serve(tmp_path: Path) -> None:
    async with hostile_upstream(leaky(400)) as upstream:
        rest_port, mcp_port = free_port(), free_port()
        config = write_config(tmp_path, upstream.url, rest_port=rest_port, mcp_port=mcp_port, **SETTINGS)
        env = user_env(tmp_path, QOVERY_API_KEY=TOKEN)
        async with serving(config, env, rest_port, mcp_port) as served, asyncio.timeout(BOUND_S):
            async with httpx.AsyncClient(base_url=served.rest_url, timeout=BOUND_S) as http:
                assert (await http.post(f"/v1/job/{JOB}/stop")).status_code == 400
            async with Client(served.mcp_url) as mcp:
                assert (await mcp.call_tool("stop-job", {"jobId": JOB})).is_error
            await served.until_line(lambda line: " mcp stop " in line)
            code, stderr = await served.terminate()
    assert code == 0, stderr
    assert not secrets_in(stderr), stderr
    assert "\x1b" not in stderr and "\x07" not in stderr
    action_lines = [line for line in stderr.splitlines() if " stop " in line]
    assert [line.split()[1] for line in action_lines] == ["rest", "mcp"]  # one line each, none forged
    assert all("\\n2026-05-19T10:00:00.000Z rest deploy" in line for line in action_lines)
    assert not any(line.startswith("2026-05-19T10:00:00.000Z") for line in stderr.splitlines())
    assert f"against {upstream.url};" in stderr  # the start line names the API without its credentials


async def test_no_secret_and_no_escape_in_the_dashboards_log_pane_and_notifications(tmp_path: Path) -> None:
    upstream: HostileUpstream
    async with (
        hostile_upstream(leaky(400)) as upstream,
        open_runtime(loaded(tmp_path, upstream.url)) as runtime,
    ):
        app = QJobApp(runtime)
        async with app.run_test(size=(160, 50)) as pilot, asyncio.timeout(BOUND_S):
            # The discovery of the job has failed (a note in the log pane); now an action on it.
            while not app.log_pane.entries or app.table.row_count == 0:
                await pilot.pause(0.02)
            await pilot.press("d")
            while not upstream.requests("POST") or "deploy" not in app.log_pane.plain_text():
                await pilot.pause(0.02)
            await pilot.pause()
            pane = app.log_pane.plain_text()
            notes = [str(n.message) + str(n.title) for n in app._notifications]
            screen = screen_text(app)
    assert "Token [redacted]" in pane and "\\n2026-05-19T10:00:00.000Z rest deploy" in pane
    assert any("400" in note for note in notes)
    for text in (pane, *notes, screen):
        assert not secrets_in(text), text
        assert "\x1b" not in text and "\x07" not in text and "\n2026-05-19" not in text
