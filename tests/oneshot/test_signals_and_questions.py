"""What the real command does with a person at it: a signal while it watches, and the question before an uninstall."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from qjob_tui.simulator import Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, environment_of, qjob_tui_command, read_outcomes, user_env
from tests.support.hostile import Answer, Received, hold, hostile_upstream, json_answer

from .support import write_config


@contextlib.asynccontextmanager
async def long_runs() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(token=API_TOKEN, phase_s=300)  # runs that outlast any test
    async with serve_simulator(sim) as url:
        yield sim, url


async def read_until(stream: asyncio.StreamReader, needle: str) -> str:
    seen = ""
    while needle not in seen:
        chunk = await asyncio.wait_for(stream.read(4096), 60)
        assert chunk, f"the output ended before {needle!r}: {seen!r}"
        seen += chunk.decode()
    return seen


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_signal_while_watching_stops_the_watch_and_says_the_action_was_sent(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    async with long_runs() as (sim, url):
        config = write_config(tmp_path, url)
        process = await asyncio.create_subprocess_exec(
            *qjob_tui_command(), "deploy", "nightly-backup", "--watch", "--json", "--config", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path, env=user_env(tmp_path),
        )  # fmt: skip
        assert process.stdout is not None
        first = await read_until(process.stdout, '"event": "state"')
        process.send_signal(sig)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        state = sim.state_of(CRON_JOB)
    records = [json.loads(line) for line in (first + stdout.decode()).splitlines()]
    assert process.returncode == code
    assert [r["event"] for r in records] == ["accepted", "state", "result"]
    result = records[-1]
    assert (result["result"], result["exit"], result["state"]) == ("interrupted", code, "DEPLOYMENT_QUEUED")
    assert "stopped watching; deploy was accepted by Qovery (deployment request " in result["message"]
    assert "its run goes on in Qovery" in stderr.decode() and "Traceback" not in stderr.decode()
    assert state == "DEPLOYMENT_QUEUED"  # left to run
    assert len(read_outcomes(tmp_path)) == 1


async def ask_on_a_terminal(tmp_path: Path, url: str, answer: bytes) -> tuple[int, str]:
    """`qjob-tui uninstall` with a terminal for stdin; `answer` typed once the question is asked."""
    config = write_config(tmp_path, url)
    controller, terminal = pty.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            *qjob_tui_command(), "uninstall", "nightly-backup", "--config", str(config),
            stdin=terminal, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path, env=user_env(tmp_path),
        )  # fmt: skip
        assert process.stderr is not None
        question = await read_until(process.stderr, "[y/N] ")
        os.write(controller, answer)
        stdout, rest = await asyncio.wait_for(process.communicate(), 60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode is not None
    return process.returncode, question + rest.decode() + stdout.decode()


async def test_uninstall_on_a_terminal_asks_and_sends_nothing_unless_told_yes(tmp_path: Path) -> None:
    async with long_runs() as (sim, url):
        code, said = await ask_on_a_terminal(tmp_path, url, b"n\n")
        assert sim.requests == []
        yes_code, yes_said = await ask_on_a_terminal(tmp_path, url, b"y\n")
        sent = [r.path for r in sim.requests if r.method == "POST"]
    assert code == 3
    assert f"Uninstall nightly-backup ({CRON_JOB})? This deletes the job's compute and data resources" in said
    assert "not confirmed; nothing was sent" in said
    assert yes_code == 0, yes_said
    assert " cli uninstall nightly-backup 202 " in yes_said
    assert sent == [f"/job/{CRON_JOB}/uninstall"]


async def test_a_signal_before_the_action_is_sent_sends_nothing(tmp_path: Path) -> None:
    async with long_runs() as (sim, url):
        sim.inject(method="GET", path="/job$", delay_s=60, times=None)  # finding the job by name hangs
        config = write_config(tmp_path, url, jobs=[], environments=[environment_of(CRON_JOB)])
        process = await asyncio.create_subprocess_exec(
            *qjob_tui_command(), "deploy", "nightly-backup", "--watch", "--json", "--config", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path, env=user_env(tmp_path),
        )  # fmt: skip
        for _ in range(3000):  # until the process is asking Qovery for the environment's jobs
            if sim.requests:
                break
            await asyncio.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), 60)
        sent = [r for r in sim.requests if r.method == "POST"]
    [result] = [json.loads(line) for line in stdout.decode().splitlines()]
    assert process.returncode == 143
    assert (result["result"], result["message"]) == ("interrupted", "interrupted; nothing was sent")
    assert sent == [] and read_outcomes(tmp_path) == []


@pytest.mark.parametrize(("follow", "says"), [([], "interrupted"), (["--follow"], "stopped following; ")])
async def test_a_signal_while_logs_waits_for_qovery_says_what_was_stopped(
    tmp_path: Path, follow: list[str], says: str
) -> None:
    # Without --follow nothing was being followed: "stopped following; the run goes on" misled.
    release, arrived = asyncio.Event(), asyncio.Event()
    runs = hold(json_answer(200, {"results": []}), release)

    def held(received: Received) -> Answer:
        arrived.set()  # the runs' read is in flight, held
        return runs(received)

    async with hostile_upstream(held) as upstream:
        config = write_config(tmp_path, upstream.url)
        process = await asyncio.create_subprocess_exec(
            *qjob_tui_command(), "logs", "nightly-backup", *follow, "--json", "--config", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path, env=user_env(tmp_path),
        )  # fmt: skip
        await asyncio.wait_for(arrived.wait(), 60)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        release.set()
    assert process.returncode == 143
    result = json.loads(stdout.decode().splitlines()[-1])
    assert (result["result"], result["exit"]) == ("interrupted", 143)
    assert result["message"].startswith(says)
    assert "Traceback" not in stderr.decode()
