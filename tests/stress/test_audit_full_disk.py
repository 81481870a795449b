"""A full disk under the audit log: every action is refused before Qovery, and every face says so — REST 503
`audit-unavailable` problem JSON, an MCP isError result, the stderr line of a real `qjob-tui --serve`, the
dashboard's log pane and a notification. The disk is really full for `os.write`: the audit path is `/dev/full`
(ENOSPC on every write), or a file at the process's RLIMIT_FSIZE (EFBIG: the file may not grow)."""

from __future__ import annotations

import asyncio
import dataclasses
import resource
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import Client

from qjob_tui.config import AuditSettings
from qjob_tui.runtime import open_runtime
from qjob_tui.tui.app import QJobApp
from tests.common import CRON_JOB, free_port, relay_settings, user_env, write_config
from tests.support.hostile import accepted, actions_only, hostile_upstream
from tests.support.served import BOUND_S, serving

DEV_FULL = Path("/dev/full")
EARLIER = b'{"earlier":"lines, kept as they are"}\n' * 20


def audit_at(config: Path, audit: Path) -> None:
    """Point the config's audit.path at `audit`."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["audit"]["path"] = str(audit)
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")


def file_size_limit(size: int) -> Callable[[], None]:
    """In the child before it runs: no file may grow past `size` bytes (writes beyond fail with EFBIG)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("disk", ["dev-full", "file-size-limit"])
async def test_a_full_disk_refuses_every_action_before_qovery_and_every_face_says_so(
    tmp_path: Path, disk: str
) -> None:
    rest_port, mcp_port = free_port(), free_port()
    async with hostile_upstream(actions_only(accepted)) as upstream, asyncio.timeout(4 * BOUND_S):
        config = write_config(tmp_path, upstream.url, jobs=[CRON_JOB], rest_port=rest_port, mcp_port=mcp_port)
        options = {}
        if disk == "dev-full":
            audit_at(config, DEV_FULL)
            reason = "/dev/full could not be written (No space left on device)"
        else:
            (tmp_path / "audit.jsonl").write_bytes(EARLIER)
            options["preexec_fn"] = file_size_limit(len(EARLIER))
            reason = f"{tmp_path / 'audit.jsonl'} could not be written (File too large)"
        async with serving(config, user_env(tmp_path), rest_port, mcp_port, **options) as served:
            async with httpx.AsyncClient(base_url=served.rest_url, timeout=BOUND_S) as http:
                answer = await http.post(f"/v1/job/{CRON_JOB}/deploy")
            async with Client(served.mcp_url) as mcp:
                result = await mcp.call_tool("stop-job", {"jobId": CRON_JOB})
            await served.until_line(lambda line: " mcp stop " in line)
            code, stderr = await served.terminate()

    assert upstream.requests() == []  # nothing reached Qovery
    assert (answer.status_code, answer.headers["content-type"]) == (503, "application/problem+json")
    problem = answer.json()
    assert problem["type"] == "urn:qjob-tui:problem:audit-unavailable"
    assert problem["detail"] == f"audit log unavailable: {reason}; nothing was sent to Qovery"
    assert result.is_error and "audit log unavailable" in result.content[0].text
    refusals = [line for line in stderr.splitlines() if "refused: audit log unavailable" in line]
    assert [line.split()[1:3] for line in refusals] == [["rest", "deploy"], ["mcp", "stop"]]
    assert code == 0 and "Traceback" not in stderr
    if disk == "file-size-limit":
        assert (tmp_path / "audit.jsonl").read_bytes() == EARLIER  # not a byte more, not a byte less


async def test_the_dashboard_shows_an_action_refused_for_a_full_disk(tmp_path: Path) -> None:
    async with hostile_upstream(actions_only(accepted)) as upstream:
        settings = relay_settings(tmp_path, upstream.url, jobs=[CRON_JOB], named=True)
        full = settings.config.model_copy(update={"audit": AuditSettings(path=DEV_FULL)})
        async with open_runtime(dataclasses.replace(settings, config=full)) as runtime:
            app = QJobApp(runtime)
            async with app.run_test(size=(140, 40)) as pilot, asyncio.timeout(BOUND_S):
                while app.table.row_count == 0:
                    await pilot.pause(0.02)
                await pilot.press("d")
                while "deploy" not in app.log_pane.plain_text():
                    await pilot.pause(0.02)
                await pilot.pause()
                pane = app.log_pane.plain_text()
                notes = [str(n.message) for n in app._notifications]
    assert upstream.requests() == []
    assert "refused: audit log unavailable: /dev/full could not be written (No space left on device)" in pane
    assert any("audit log unavailable" in note for note in notes), notes
