"""The runtime every face shares: one client, board, audit log and pipeline; the simulator in --demo."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from qjob_tui.audit import AuditError
from qjob_tui.config import load_settings
from qjob_tui.discovery import discover
from qjob_tui.runtime import open_runtime
from qjob_tui.simulator import ManualClock, Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, DEMO, FAILED_JOB, read_outcomes

from .conftest import UserEnv


async def test_demo_runs_against_the_embedded_simulator(user_env: UserEnv) -> None:
    settings = load_settings(demo=True)
    async with open_runtime(settings) as runtime:
        assert runtime.demo and runtime.api_label == "DEMO"
        assert runtime.api_url.startswith("http://127.0.0.1:")
        assert set(runtime.board.environments) == {env.id for env in DEMO.environments}
        assert await discover(runtime.board, runtime.client) == []
        await runtime.board.refresh(runtime.client)
        outcome = await runtime.pipeline.perform("clean-failed", FAILED_JOB, source="tui")
        api_url = runtime.api_url

    assert set(runtime.board.jobs) == {job.id for job in DEMO.jobs}
    assert runtime.board.jobs[FAILED_JOB].state == "DEPLOYMENT_ERROR"
    assert outcome.status == 200
    # The demo keeps its own audit file beside the real one.
    demo_audit = user_env.state_home / "qjob-tui" / "audit-demo.jsonl"
    [record] = read_outcomes(demo_audit)
    assert (record["action"], record["job_id"], record["status"]) == ("clean-failed", FAILED_JOB, 200)
    assert not (user_env.state_home / "qjob-tui" / "audit.jsonl").exists()
    # Leaving the runtime stops the simulator and closes the audit log.
    async with httpx.AsyncClient() as probe:
        with pytest.raises(httpx.ConnectError):
            await probe.get(f"{api_url}/organization")
    with pytest.raises(AuditError):
        runtime.audit.append({"late": True})


async def test_real_runtime_talks_to_the_configured_api_with_the_token(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = Simulator(token=API_TOKEN, clock=ManualClock())
    audit_path = user_env.work / "logs" / "actions.jsonl"
    (user_env.work / "qjob-tui.yaml").write_text(
        f"qovery:\n  auth_scheme: bearer\njobs:\n  - id: {CRON_JOB}\n"
        f"server:\n  allow_unlisted_jobs: true\naudit:\n  path: {audit_path}\n"
    )
    monkeypatch.setenv("QOVERY_API_KEY", API_TOKEN)
    async with serve_simulator(sim) as url:
        monkeypatch.setenv("QOVERY_API_URL", url)
        settings = load_settings()
        async with open_runtime(settings) as runtime:
            assert (runtime.api_url, runtime.api_label) == (url, url)
            assert list(runtime.board.jobs) == [CRON_JOB]
            assert runtime.board.environments == []
            assert runtime.pipeline.allow_unlisted_jobs
            outcome = await runtime.pipeline.perform("redeploy", CRON_JOB, "CRON", source="rest")

    assert outcome.status == 202
    [seen] = sim.requests
    assert seen.headers["authorization"] == f"Bearer {API_TOKEN}"
    assert [record["source"] for record in read_outcomes(audit_path)] == ["rest"]
    assert API_TOKEN not in audit_path.read_text()


async def test_runtime_with_an_unopenable_audit_log_closes_what_it_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = tmp_path / "c.yaml"
    config.write_text(f"audit:\n  path: {blocker / 'audit.jsonl'}\n")
    settings = load_settings(str(config), demo=True)
    with pytest.raises(AuditError, match=r"audit\.path"):
        async with open_runtime(settings):
            pass
