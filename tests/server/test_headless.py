"""`qjob-tui --serve`: the start line, one line per action, a clean stop on SIGINT/SIGTERM, exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp import Client

from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import serve_headless
from qjob_tui.simulator import serve_simulator
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    LIFECYCLE_JOB,
    LISTED_JOBS,
    free_port,
    qjob_tui_command,
    quiet_simulator,
    read_outcomes,
    relay_settings,
    run_qjob_tui,
    user_env,
    write_config,
)

START = re.compile(r"serving REST (?P<rest>http://\S+)/v1 and MCP (?P<mcp>http://\S+/mcp) ")
ACTION_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\S+Z (?P<source>rest|mcp|tui) (?P<action>\S+) .* (?P<status>\S+) \d+ms$"
)


async def wait_for(condition: object, what: str, timeout_s: float = 20.0) -> None:
    """Poll `condition()` until it is true; fail naming `what` if it never is."""
    assert callable(condition)
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110 (the conditions are other processes' doings)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@dataclass
class InProcess:
    """`serve_headless` running in this test's loop, its start line seen."""

    runtime: Runtime
    sim_url: str
    rest_url: str
    mcp_url: str
    stderr: io.StringIO


@asynccontextmanager
async def in_process(tmp_path: Path, **settings: Any) -> AsyncIterator[InProcess]:
    """The headless relay on a quiet simulator; on the way out it is stopped, and must exit 0."""
    stderr = io.StringIO()
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        sim_url = await stack.enter_async_context(serve_simulator(quiet_simulator()))
        runtime = await stack.enter_async_context(open_runtime(relay_settings(tmp_path, sim_url, **settings)))
        serving = asyncio.create_task(serve_headless(runtime, stop=stop, stderr=stderr))
        try:
            await wait_for(lambda: START.search(stderr.getvalue()), "the start line")
            match = START.search(stderr.getvalue())
            assert match is not None
            yield InProcess(runtime, sim_url, match["rest"], match["mcp"], stderr)
        finally:
            stop.set()
            code = await serving
        assert code == 0


async def test_serve_prints_a_start_line_then_one_line_per_action(tmp_path: Path) -> None:
    async with in_process(tmp_path) as relay:
        async with httpx.AsyncClient(base_url=relay.rest_url) as client:
            assert (await client.post(f"/v1/job/{CRON_JOB}/deploy?forceEvent=CRON")).status_code == 202
            await wait_for(lambda: relay.runtime.board.refreshed_at is not None, "a first refresh")
            jobs = {job["id"]: job for job in (await client.get("/v1/jobs")).json()["jobs"]}
        async with Client(relay.mcp_url) as mcp:
            assert not (await mcp.call_tool("stop-job", {"jobId": LIFECYCLE_JOB})).is_error
    stderr, sim_url = relay.stderr, relay.sim_url
    lines = stderr.getvalue().splitlines()
    [start] = [line for line in lines if START.search(line)]
    assert sim_url in start  # the API it talks to
    assert API_TOKEN not in stderr.getvalue()
    actions = [m.groupdict() for m in map(ACTION_LINE.match, lines) if m]
    assert actions == [
        {"source": "rest", "action": "deploy", "status": "202"},
        {"source": "mcp", "action": "stop", "status": "202"},
    ]
    assert any("nightly-backup" in line for line in lines if "rest deploy CRON" in line)
    # the poller gave the job list names and states
    assert jobs[CRON_JOB]["name"] == "nightly-backup"
    assert jobs[LIFECYCLE_JOB]["state"] == "DEPLOYED"
    assert len(read_outcomes(tmp_path)) == 2


async def test_the_start_line_says_which_actions_wait_for_an_operator_it_does_not_have(
    tmp_path: Path,
) -> None:
    async with in_process(tmp_path, approve=["uninstall", "stop"]) as relay:
        async with httpx.AsyncClient(base_url=relay.rest_url) as client:
            refused = await client.post(f"/v1/job/{CRON_JOB}/stop")
        async with Client(relay.mcp_url) as mcp:
            instructions = mcp.instructions or ""
    stderr = relay.stderr
    [start] = [line for line in stderr.getvalue().splitlines() if START.search(line)]
    assert (
        "; stop, uninstall need the operator's approval and are refused here (run qjob-tui --server); audit "
        in start
    )
    # Agents are told so too, rather than to wait for a dashboard that is not there.
    assert "stop-job, uninstall-job need the operator's approval, and this qjob-tui runs without its" in (
        instructions
    )
    assert "they are refused (approval-unavailable)" in instructions and "progressToken" not in instructions
    assert refused.status_code == 403
    assert any(
        " rest stop nightly-backup refused: stop needs the operator: run qjob-tui --server" in line
        for line in stderr.getvalue().splitlines()
    )


# -- the real command ----------------------------------------------------------------------------------


@dataclass
class Served:
    process: asyncio.subprocess.Process
    rest_url: str
    mcp_url: str
    stderr_lines: list[str]

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        rest = await asyncio.wait_for(self.process.stderr.read(), 30)  # type: ignore[union-attr]
        code = await asyncio.wait_for(self.process.wait(), 30)
        return code, "\n".join(self.stderr_lines) + "\n" + rest.decode()


@asynccontextmanager
async def serving(tmp_path: Path, *args: str, env: dict[str, str]) -> AsyncIterator[Served]:
    process = await asyncio.create_subprocess_exec(
        *qjob_tui_command(), "--serve", "--rest-port", "0", "--mcp-port", "0", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(process.stderr.readline(), 30)
            assert raw, f"qjob-tui --serve exited before serving: {lines}"
            lines.append(raw.decode().rstrip("\n"))
            if match := START.search(lines[-1]):
                break
        yield Served(process, match["rest"], match["mcp"], lines)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_answers_every_request_in_flight_then_exits_0(tmp_path: Path) -> None:
    # Qovery holds every answer a moment: the requests are in flight at SIGTERM, and answered within the
    # second a stop gives them (ServerLimits.shutdown_grace_s).
    sim = quiet_simulator(latency_s=0.3)
    async with serve_simulator(sim) as sim_url:
        config = write_config(tmp_path, sim_url)
        env = user_env(tmp_path, QOVERY_API_KEY=API_TOKEN)
        async with (
            serving(tmp_path, "--config", str(config), env=env) as served,
            httpx.AsyncClient(base_url=served.rest_url, timeout=60) as rest,
        ):

            async def tool_call(job: str) -> bool:
                result = None
                # The client's goodbye may find the server gone: only the answer counts here.
                with contextlib.suppress(BaseExceptionGroup):
                    async with Client(served.mcp_url) as mcp:
                        await mcp.list_tools()  # as an agent does; the client checks results against it
                        result = await mcp.call_tool("clean-failed-job", {"jobId": job})
                return result is not None and not result.is_error

            rest_calls = [
                asyncio.create_task(rest.post(f"/v1/job/{job}/cleanfailedjob")) for job in LISTED_JOBS * 2
            ]
            mcp_calls = [asyncio.create_task(tool_call(job)) for job in LISTED_JOBS[:3]]
            expected = len(rest_calls) + len(mcp_calls)
            await wait_for(
                lambda: len([r for r in sim.requests if r.method == "POST"]) == expected, "all sent"
            )
            code, stderr = await served.stop(signal.SIGTERM)
            answers = [(await call).status_code for call in rest_calls]
            tools_ok = [await call for call in mcp_calls]
    assert code == 0
    assert answers == [200] * len(rest_calls)
    assert tools_ok == [True] * len(mcp_calls)
    audit = read_outcomes(tmp_path)
    assert len(audit) == expected
    assert sorted(line["source"] for line in audit) == ["mcp"] * 3 + ["rest"] * len(rest_calls)
    assert len([line for line in stderr.splitlines() if ACTION_LINE.match(line)]) == expected
    assert API_TOKEN not in stderr
    assert API_TOKEN not in (tmp_path / "audit.jsonl").read_text()
    assert "Traceback" not in stderr


async def test_demo_serve_stops_on_sigint_with_its_audit_in_the_state_dir(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    async with serving(tmp_path, "--demo", env=env) as served:
        assert "DEMO" in served.stderr_lines[-1]
        async with httpx.AsyncClient(base_url=served.rest_url) as rest:

            async def listed() -> bool:
                return any(job["id"] == CRON_JOB for job in (await rest.get("/v1/jobs")).json()["jobs"])

            for _ in range(500):  # the demo's jobs are discovered in the background
                if await listed():
                    break
                await asyncio.sleep(0.02)
            response = await rest.post(f"/v1/job/{CRON_JOB}/deploy")
        code, stderr = await served.stop(signal.SIGINT)
    assert response.status_code == 202
    assert code == 0
    audit = tmp_path / "state" / "qjob-tui" / "audit-demo.jsonl"
    [line] = read_outcomes(audit)
    assert (line["source"], line["action"], line["job_id"], line["status"]) == (
        "rest",
        "deploy",
        CRON_JOB,
        202,
    )
    assert "Traceback" not in stderr


async def test_serve_beyond_loopback_without_token_exits_2_naming_the_variable(tmp_path: Path) -> None:
    ran = await run_qjob_tui(tmp_path, "--serve", "--demo", "--host", "0.0.0.0", env=user_env(tmp_path))
    assert ran.code == 2
    assert "QJOB_TUI_SERVER_TOKEN" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "Traceback" not in ran.stderr


async def test_serve_with_a_config_beyond_loopback_without_token_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = user_env(tmp_path, QOVERY_API_KEY=API_TOKEN)
    ran = await run_qjob_tui(tmp_path, "--serve", "--config", str(config), "--host", "0.0.0.0", env=env)
    assert ran.code == 2
    assert "QJOB_TUI_SERVER_TOKEN" in ran.stderr
    assert API_TOKEN not in ran.stderr


async def test_serve_on_a_port_in_use_exits_2_naming_port_and_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        ran = await run_qjob_tui(
            tmp_path, "--serve", "--demo", "--rest-port", "0", "--mcp-port", port, env=user_env(tmp_path)
        )
    assert ran.code == 2
    assert f"port {port}" in ran.stderr and "--mcp-port" in ran.stderr
    assert "Traceback" not in ran.stderr


async def test_serve_with_one_port_for_both_servers_exits_2_saying_so(tmp_path: Path) -> None:
    """Not "port N is already in use" (by our own REST server): the two servers need a port each."""
    port = str(free_port())
    ran = await run_qjob_tui(
        tmp_path, "--serve", "--demo", "--rest-port", port, "--mcp-port", port, env=user_env(tmp_path)
    )
    assert ran.code == 2
    [line] = ran.stderr.splitlines()
    assert f"--rest-port and --mcp-port are both {port}" in line and "a port each" in line
    assert "already in use" not in line


async def test_serve_prints_every_refused_request_with_why_and_counts_a_flood(tmp_path: Path) -> None:
    async with in_process(tmp_path) as relay:
        deploy = f"/v1/job/{CRON_JOB}/deploy"
        async with httpx.AsyncClient(base_url=relay.rest_url) as client:
            await client.post(deploy, headers={"Origin": "https://evil.example"})
            await client.post(deploy + "?forceevent=CRON")
            await client.post(deploy, json={"image_tag": 1})
            await client.get("/v1/nothing")
            await client.get(deploy)
            for _ in range(12):
                await client.post("/v1/job/not-a-uuid/stop")
        async with Client(relay.mcp_url) as mcp:
            assert (await mcp.call_tool("stop-job", {"jobId": "not-a-uuid"})).is_error
            assert (await mcp.call_tool("deploy-job", {"jobId": CRON_JOB, "forceEvent": "cron"})).is_error
            assert (await mcp.call_tool("get-job-logs", {"jobId": "not-a-uuid"})).is_error
    stderr = relay.stderr
    lines = stderr.getvalue().splitlines()
    refused = [line for line in lines if " refused " in line]
    for source, what in (
        ("rest", "POST /v1/job/"),  # the foreign Origin
        ("rest", "403 foreign-origin: requests from web pages"),
        ("rest", "400 invalid-input: forceevent: unknown query parameter(s) forceevent"),
        ("rest", "GET /v1/nothing 404 not-found"),
        ("rest", "405 method-not-allowed"),
        ("mcp", "stop not-a-uuid 400"),
        # the input at fault, as the caller was answered
        ("rest", " 400: body.image_tag: must be a string, not a number"),
        ("mcp", " 400: forceEvent: 'cron' is not one of START, STOP, DELETE, CRON"),
        # a refused read, as REST's refused reads
        ("mcp", "refused get-job-logs not-a-uuid 400: jobId: 'not-a-uuid' is not a job UUID"),
    ):
        assert any(line.split(" ", 2)[1] == source and what in line for line in refused), (what, refused)
    flood = [line for line in refused if "rest refused stop not-a-uuid 400" in line]
    assert len(flood) == 2  # the first, then once its count
    assert flood[1].endswith(" s") and "\N{MULTIPLICATION SIGN}12 in " in flood[1]
