"""`python -m qjob_tui.simulator`: starts, answers, stops cleanly on a signal; refuses bad arguments."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys

import httpx
import pytest

from qjob_tui.simulator.__main__ import main

from .conftest import AUTH

URL = re.compile(rb"http://127\.0\.0\.1:\d+")


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "qjob_tui.simulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_it_serves_the_demo_until_a_signal_then_exits_0(signum: int) -> None:
    process = await _start("--port", "0", "--phase-s", "0")
    assert process.stderr is not None
    try:
        first_line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
        match = URL.search(first_line)
        assert match, first_line
        async with httpx.AsyncClient(base_url=match.group().decode(), headers=AUTH) as client:
            assert (await client.get("/organization")).status_code == 200
            assert (await client.post("/job/cbc600f8-fdbd-4cda-a6e0-9f5ef9412584/deploy")).status_code == 202
        process.send_signal(signum)
        rest = await asyncio.wait_for(process.stderr.read(), timeout=30)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert b"Traceback" not in rest
    assert b"qov-demo-token" in rest


async def test_a_bad_argument_exits_2() -> None:
    process = await _start("--port", "abc")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"usage:" in stderr
    assert b"Traceback" not in stderr


@pytest.mark.parametrize(
    "args",
    [["--port", "70000"], ["--port", "-1"], ["--phase-s", "-1"], ["--latency-s", "nan"], ["--bogus"]],
)
def test_every_bad_argument_is_a_usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


async def test_a_port_in_use_exits_2_with_a_reason() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await _start("--port", str(port))
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert f"127.0.0.1:{port}".encode() in stderr
    assert b"Traceback" not in stderr
