"""`qjob-tui mcp`: the MCP tools over stdio, launched as a command by the official client's stdio transport
(`mcp.Client` with `StdioServerParameters`), in both protocol eras; stdout carries nothing but JSON-RPC."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from qjob_tui.server.mcp_stdio import Unanswered
from qjob_tui.simulator import ManualClock, Simulator, demo_dataset
from tests.common import CRON_JOB, FAILED_JOB, LIFECYCLE_JOB, read_outcomes, user_env

MODES = {"2026-07-28": "auto", "2025-11-25": "legacy"}
TOOLS = {
    "deploy-job",
    "redeploy-job",
    "stop-job",
    "uninstall-job",
    "clean-failed-job",
    "list-jobs",
    "get-job-status",
    "get-job-runs",
    "get-job-logs",
}
BOUND_S = 60  # a generous bound on anything a test waits for (a shared, loaded machine)


def command(tmp_path: Path, *args: str) -> StdioServerParameters:
    """`python -m qjob_tui mcp ...` as a client launches it, in an empty working directory."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "qjob_tui", "mcp", *args],
        env=user_env(tmp_path),
        cwd=str(tmp_path),
    )


def demo_audit(tmp_path: Path) -> list[dict[str, Any]]:
    """The demo's audit log of the user of `user_env(tmp_path)`."""
    return read_outcomes(tmp_path / "state" / "qjob-tui" / "audit-demo.jsonl")


def demo_messages(job_id: str, nth_run: int) -> list[str]:
    """What the demo simulator writes for a job in one of its past runs (the same in any process)."""
    sim = Simulator(dataset=demo_dataset(), clock=ManualClock())
    job = sim.job(job_id)
    run = job.runs[nth_run]
    lines = sim.environment_log(job.environment_id, run.execution_id)
    return [line.message or line.error["user_log_message"] for line in lines if line.transmitter.id == job_id]  # type: ignore[index]


@asynccontextmanager
async def launched(tmp_path: Path, mode: str = "auto", *args: str) -> AsyncIterator[Client]:
    async with asyncio.timeout(BOUND_S), Client(command(tmp_path, "--demo", *args), mode=mode) as client:  # type: ignore[arg-type]
        yield client


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_the_tools_over_stdio_in_both_eras(tmp_path: Path, mode: str) -> None:
    async with launched(tmp_path, mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        runs = await client.call_tool("get-job-runs", {"jobId": CRON_JOB})
        release = runs.structured_content["runs"][1]["execution_id"]  # type: ignore[index]
        log = await client.call_tool("get-job-logs", {"jobId": CRON_JOB, "run": release})
        failed = await client.call_tool("get-job-logs", {"jobId": FAILED_JOB})
        status = await client.call_tool("get-job-status", {"jobId": LIFECYCLE_JOB})
        listed = await client.call_tool("list-jobs", {})
    assert set(tools) == TOOLS
    for name, result in (
        ("get-job-runs", runs),
        ("get-job-logs", log),
        ("get-job-logs", failed),
        ("get-job-status", status),
        ("list-jobs", listed),
    ):
        assert not result.is_error, result.content
        Draft202012Validator(tools[name].output_schema).validate(result.structured_content)
    assert [run["triggered_by"] for run in runs.structured_content["runs"]] == [  # type: ignore[index]
        "Alice Martin",
        "Bob Chen",
        "Demo User",
    ]
    # The deployment both jobs of the environment ran in: only nightly-backup's lines.
    lines = log.structured_content["lines"]  # type: ignore[index]
    assert [line["message"] for line in lines] == demo_messages(CRON_JOB, 1)
    assert not any("db-migrate" in line["message"] for line in lines)
    last = failed.structured_content["lines"][-1]  # type: ignore[index]
    assert (last["kind"], last["message"]) == (
        "error",
        "Job cache-warmup failed: its container exited with code 1",
    )
    assert last["hint"].startswith("Read the output of job cache-warmup")
    assert status.structured_content["id"] == LIFECYCLE_JOB  # type: ignore[index]
    assert len(listed.structured_content["jobs"]) == len(demo_dataset().jobs)  # type: ignore[index]


async def test_an_action_over_stdio_goes_through_the_pipeline_and_is_audited(tmp_path: Path) -> None:
    async with launched(tmp_path) as client:
        deployed = await client.call_tool("deploy-job", {"jobId": CRON_JOB, "forceEvent": "CRON"})
        refused = await client.call_tool("deploy-job", {"jobId": "../organization"})
        unknown_run = await client.call_tool("get-job-logs", {"jobId": CRON_JOB, "run": "nope-1"})
    assert not deployed.is_error and deployed.structured_content["state"] == "DEPLOYMENT_QUEUED"  # type: ignore[index]
    assert refused.is_error and "Refused before Qovery (400" in refused.content[0].text  # type: ignore[union-attr]
    assert unknown_run.is_error and unknown_run.content[0].text.startswith("Run not found (404)")  # type: ignore[union-attr]
    [record] = demo_audit(tmp_path)
    assert (record["source"], record["action"], record["job_id"], record["forceEvent"], record["status"]) == (
        "mcp",
        "deploy",
        CRON_JOB,
        "CRON",
        202,
    )


async def test_an_action_the_operator_must_approve_is_refused_without_a_dashboard(tmp_path: Path) -> None:
    config = tmp_path / "qjob-tui.yaml"
    config.write_text("server:\n  approve: [stop]\n", encoding="utf-8")
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as errlog:
        params = command(tmp_path, "--demo", "--config", str(config))
        async with asyncio.timeout(BOUND_S), Client(stdio_client(params, errlog=errlog)) as client:
            result = await client.call_tool("stop-job", {"jobId": CRON_JOB})
            instructions = client.instructions or ""
    assert result.is_error
    assert result.structured_content["type"] == "urn:qjob-tui:problem:approval-unavailable"  # type: ignore[index]
    assert (
        "stop-job needs the operator's approval, and this qjob-tui runs without its dashboard" in instructions
    )
    start = errors.read_text().splitlines()[0]
    assert "stop needs the operator's approval and is refused here (run qjob-tui --server)" in start


# -- the process, byte for byte ------------------------------------------------------------------------------


def frame(message_id: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if message_id is not None:
        message["id"] = message_id
    if params is not None:
        message["params"] = params
    return (json.dumps(message) + "\n").encode()


async def start_process(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "qjob_tui",
        "mcp",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=user_env(tmp_path),
        cwd=str(tmp_path),
    )


INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "test", "version": "1"},
}


async def test_stdout_carries_nothing_but_json_rpc_and_stderr_the_log(tmp_path: Path) -> None:
    process = await start_process(tmp_path, "--demo")
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(frame(1, "initialize", INITIALIZE))
    process.stdin.write(frame(None, "notifications/initialized"))
    process.stdin.write(b"this is not json\n")
    process.stdin.write(frame(2, "tools/list"))
    process.stdin.write(frame(3, "tools/call", {"name": "deploy-job", "arguments": {"jobId": CRON_JOB}}))
    process.stdin.write(frame(4, "tools/call", {"name": "get-job-logs", "arguments": {"jobId": FAILED_JOB}}))
    await process.stdin.drain()
    answers: dict[int, Any] = {}
    async with asyncio.timeout(BOUND_S):
        while len(answers) < 5:  # the answers, before stdin closes (its end would stop the server)
            line = await process.stdout.readline()
            assert line, "stdout ended early"
            message = json.loads(line)
            if "id" in message:  # the line that is not JSON is answered too, with a null id
                answers[message["id"]] = message
        process.stdin.close()
        out, err = await process.communicate()
    assert process.returncode == 0
    for line in out.splitlines():  # whatever else came: JSON-RPC too
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert answers[1]["result"]["serverInfo"]["name"] == "qjob-tui"
    assert answers[None]["error"]["code"] == -32700  # JSON-RPC's parse error
    assert len(answers[2]["result"]["tools"]) == len(TOOLS)
    assert answers[3]["result"]["structuredContent"]["state"] == "DEPLOYMENT_QUEUED"
    assert answers[4]["result"]["structuredContent"]["lines"][-1]["kind"] == "error"
    log = err.decode().splitlines()
    assert log[0].startswith(
        "qjob-tui 0.1.0 serving MCP over stdio against DEMO (embedded Qovery simulator); "
    )
    assert any(" mcp deploy nightly-backup " in line and "202" in line for line in log), log
    assert log[-1] == "qjob-tui: stopped"
    assert not any("Traceback" in line for line in log)


async def test_a_message_that_is_not_strict_json_is_refused_and_nothing_is_done(tmp_path: Path) -> None:
    process = await start_process(tmp_path, "--demo")
    assert process.stdin is not None and process.stdout is not None
    call = frame(
        3, "tools/call", {"name": "deploy-job", "arguments": {"jobId": CRON_JOB, "body": {"image_tag": "v"}}}
    )
    process.stdin.write(frame(1, "initialize", INITIALIZE) + frame(None, "notifications/initialized"))
    process.stdin.write(call.replace(b'"v"', b"NaN"))
    process.stdin.write(call.replace(b'"v"}', b'"v", "image_tag": "w"}'))
    process.stdin.write(frame(2, "tools/list"))
    await process.stdin.drain()
    process.stdin.write(b"this is not json\n")
    process.stdin.write(frame(4, "tools/list"))
    await process.stdin.drain()
    answers: list[dict[str, Any]] = []
    async with asyncio.timeout(BOUND_S):
        while True:  # the line after them is answered: the refused ones were skipped, not fatal
            answers.append(json.loads(await process.stdout.readline()))
            if answers[-1].get("id") == 4:
                break
        process.stdin.close()
        _, err = await process.communicate()
    # Each refused line has its answer, a parse error (with the id its client waits on, when it had one),
    # and none is a result: nothing was run.
    refused = [(a["id"], a["error"]["code"]) for a in answers if "error" in a]
    assert refused == [(3, -32700), (3, -32700), (None, -32700)]
    assert not [a for a in answers if a.get("id") == 3 and "result" in a]
    log = err.decode()
    assert "not strict JSON was refused (NaN is not JSON" in log
    assert "not strict JSON was refused (duplicate key 'image_tag')" in log
    assert not [line for line in demo_audit(tmp_path) if line["action"] == "deploy"]


async def test_a_stop_signal_ends_it_at_once_even_while_the_client_keeps_stdin_open(tmp_path: Path) -> None:
    process = await start_process(tmp_path, "--demo")
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(frame(1, "initialize", INITIALIZE))
    await process.stdin.drain()
    async with asyncio.timeout(BOUND_S):
        assert json.loads(await process.stdout.readline())["id"] == 1
        process.send_signal(signal.SIGTERM)
        await process.wait()  # stdin still open: a read blocked in a thread would hold the process here
    assert process.returncode == 0
    assert process.stderr is not None
    assert (await process.stderr.read()).decode().splitlines()[-2:] == [
        "qjob-tui: stopping",
        "qjob-tui: stopped",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no config file found"),
        (("--nope",), "qjob-tui mcp: unrecognized arguments: --nope (see qjob-tui mcp --help)"),
    ],
)
async def test_a_usage_or_config_error_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    process = await start_process(tmp_path, *args)
    async with asyncio.timeout(BOUND_S):
        out, err = await process.communicate(b"")
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


async def test_requests_from_a_file_on_stdin_are_answered_and_its_end_ends_the_server(tmp_path: Path) -> None:
    """A regular file cannot be read on the event loop: the SDK's own reader serves it (it never blocks)."""
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(
        frame(1, "initialize", INITIALIZE)
        + frame(None, "notifications/initialized")
        + frame(2, "tools/call", {"name": "get-job-runs", "arguments": {"jobId": CRON_JOB}})
    )
    with requests.open("rb") as stdin:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qjob_tui", "mcp", "--demo", stdin=stdin,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=user_env(tmp_path), cwd=tmp_path,
        )  # fmt: skip
        async with asyncio.timeout(BOUND_S):
            out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    answers = {message["id"]: message for message in map(json.loads, out.splitlines()) if "id" in message}
    assert answers[2].get("result", {}).get("structuredContent", {}).get("job_id") == CRON_JOB, answers[2]


async def test_an_action_in_flight_when_stdin_ends_is_answered_and_audited(tmp_path: Path) -> None:
    """The client writes its calls and closes stdin at once: the SDK would cancel what is in flight (an action
    Qovery may have taken, then without its answer or its audit line); it is answered first."""
    process = await start_process(tmp_path, "--demo")
    assert process.stdin is not None
    calls = (
        frame(1, "initialize", INITIALIZE)
        + frame(None, "notifications/initialized")
        + frame(2, "tools/call", {"name": "deploy-job", "arguments": {"jobId": CRON_JOB}})
        + frame(3, "tools/call", {"name": "get-job-logs", "arguments": {"jobId": FAILED_JOB}})
    )
    async with asyncio.timeout(BOUND_S):
        out, err = await process.communicate(calls)  # writes, then closes stdin
    assert process.returncode == 0, err.decode()
    answers = {message["id"]: message for message in map(json.loads, out.splitlines()) if "id" in message}
    assert answers[2].get("result", {}).get("structuredContent", {}).get("state") == "DEPLOYMENT_QUEUED", (
        answers[2]
    )
    assert answers[3].get("result", {}).get("structuredContent", {}).get("job_id") == FAILED_JOB, answers[3]
    [record] = demo_audit(tmp_path)
    assert (record["action"], record["status"]) == ("deploy", 202)


def test_the_end_of_stdin_waits_for_the_requests_not_answered_nor_cancelled() -> None:
    unanswered = Unanswered()
    unanswered.read({"jsonrpc": "2.0", "id": 7, "method": "tools/call"})
    unanswered.read({"jsonrpc": "2.0", "id": "7", "method": "tools/call"})  # another id: a string
    unanswered.read({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert len(unanswered) == 2
    unanswered.read({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
    assert len(unanswered) == 1  # the SDK never answers a request its client cancelled
    unanswered.answered(SimpleNamespace(jsonrpc="2.0", id="7", result={}))
    assert len(unanswered) == 0


async def test_read_only_says_so_in_the_start_line(tmp_path: Path) -> None:
    process = await start_process(tmp_path, "--demo", "--read-only")
    async with asyncio.timeout(BOUND_S):
        _, err = await process.communicate(b"")
    assert process.returncode == 0
    start = err.decode().splitlines()[0]
    assert (
        "serving MCP over stdio against DEMO (embedded Qovery simulator); READ-ONLY (acts on nothing); "
        in start
    )
