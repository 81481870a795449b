"""The reads of one job on REST (`GET /v1/job/{jobid}`, `/runs`, `/logs`) and MCP (`get-job-runs`,
`get-job-logs`, in both protocol eras), over real sockets against the simulator: the same data on both, each
answer valid against what the surface publishes (the OpenAPI document, the tools' outputSchemas)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from qjob_tui.simulator import DEMO_ENV_STOREFRONT_PRODUCTION_ID
from tests.common import (
    CRON_JOB,
    FAILED_JOB,
    LIFECYCLE_JOB,
    NEVER_DEPLOYED_JOB,
    UNLISTED_JOB,
    Relay,
    job_id,
    running_relay,
)

MODES = {"2026-07-28": "auto", "2025-11-25": "legacy"}
PROBLEM = "application/problem+json"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"
NO_SUCH_RUN = "0b7e5b8e-1111-4d9b-9c7a-5a1f6a2e1b00-1700000000"


async def openapi_validator(relay: Relay, schema: str) -> Draft202012Validator:
    """A validator for one named schema of the REST adapter's own OpenAPI document, formats checked."""
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def own_messages(relay: Relay, job_id: str, execution_id: str) -> list[str]:
    """What the simulator wrote for this job in this run, in its environment's log."""
    lines = relay.sim.environment_log(relay.sim.job(job_id).environment_id, execution_id)
    return [line.message or line.error["user_log_message"] for line in lines if line.transmitter.id == job_id]  # type: ignore[index]


# -- REST ----------------------------------------------------------------------------------------------------


async def test_get_job_gives_its_facts_qoverys_status_and_our_last_action(relay: Relay) -> None:
    async with relay.rest() as client:
        before = await client.get(f"/v1/job/{CRON_JOB}")
        await client.post(f"/v1/job/{CRON_JOB}/deploy")
        after = await client.get(f"/v1/job/{CRON_JOB}")
    assert before.status_code == 200 and before.headers["content-type"] == "application/json"
    job = before.json()
    assert (job["id"], job["name"], job["type"]) == (CRON_JOB, "nightly-backup", "CRON")
    assert job["environment"] == {"id": DEMO_ENV_STOREFRONT_PRODUCTION_ID, "name": "production"}
    assert (job["project"]["name"], job["organization"]["name"]) == ("storefront", "Acme Robotics")
    assert job["schedule"] == {"cron": "0 3 * * *", "timezone": "Etc/UTC"} and job["hooks"] == []
    assert job["source"]["summary"] == "acme/pg-backup:2.4.1 (Docker Hub)"
    assert (job["status"]["id"], job["status"]["state"]) == (CRON_JOB, "DEPLOYED")
    assert job["last_action"] is None
    assert job["qovery"]["id"] == CRON_JOB  # Qovery's JobResponse, as it answered
    later = after.json()
    assert later["status"]["state"] == "DEPLOYMENT_QUEUED"  # read afresh after the action
    assert later["last_action"] == {"action": "deploy", "result": "202", "ok": True}
    validator = await openapi_validator(relay, "JobDetail")
    validator.validate(job)
    validator.validate(later)


async def test_get_job_of_a_lifecycle_job_names_its_hooks_and_git_source(relay: Relay) -> None:
    async with relay.rest() as client:
        job = (await client.get(f"/v1/job/{LIFECYCLE_JOB}")).json()
    assert (job["type"], job["schedule"], job["hooks"]) == ("LIFECYCLE", None, ["on_start"])
    assert (
        job["source"]["kind"] == "git" and job["source"]["repository"] == "https://github.com/acme/storefront"
    )
    (await openapi_validator(relay, "JobDetail")).validate(job)


async def test_get_runs_lists_the_runs_newest_first_as_qovery_gave_them(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.get(f"/v1/job/{CRON_JOB}/runs")
    assert response.status_code == 200
    body = response.json()
    assert body["job_id"] == CRON_JOB
    runs = body["runs"]
    assert [(run["state"], run["triggered_by"], run["duration_s"]) for run in runs] == [
        ("DEPLOYED", "Alice Martin", 50.0),
        ("DEPLOYED", "Bob Chen", 42.0),
        ("DEPLOYMENT_ERROR", "Demo User", 35.0),
    ]
    assert all(run["qovery"]["identifier"]["execution_id"] == run["execution_id"] for run in runs)
    (await openapi_validator(relay, "JobRuns")).validate(body)
    [asked] = [r for r in relay.sim.requests if r.path.endswith("/deploymentHistoryV2")]
    assert asked.query == {"pageSize": "20"}


async def test_get_logs_holds_the_jobs_own_lines_of_the_run_and_no_other_services(relay: Relay) -> None:
    async with relay.rest() as client:
        runs = (await client.get(f"/v1/job/{CRON_JOB}/runs")).json()["runs"]
        release = runs[1]["execution_id"]  # one deployment of nightly-backup, db-migrate and the environment
        response = await client.get(f"/v1/job/{CRON_JOB}/logs", params={"run": release})
        newest = (await client.get(f"/v1/job/{CRON_JOB}/logs")).json()
    assert response.status_code == 200
    log = response.json()
    assert (log["job_id"], log["execution_id"], log["settled"]) == (CRON_JOB, release, True)
    everything = relay.sim.environment_log(DEMO_ENV_STOREFRONT_PRODUCTION_ID, release)
    assert {line.transmitter.id for line in everything} == {
        CRON_JOB,
        LIFECYCLE_JOB,
        DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    }
    assert [line["message"] for line in log["lines"]] == own_messages(relay, CRON_JOB, release)
    assert not any("db-migrate" in line["message"] for line in log["lines"])
    assert newest["execution_id"] == runs[0]["execution_id"]
    assert [line["message"] for line in newest["lines"]] == own_messages(
        relay, CRON_JOB, runs[0]["execution_id"]
    )
    validator = await openapi_validator(relay, "JobLog")
    validator.validate(log)
    validator.validate(newest)


async def test_the_log_of_a_run_that_failed_shows_its_error_line_and_hint(relay: Relay) -> None:
    async with relay.rest() as client:
        log = (await client.get(f"/v1/job/{FAILED_JOB}/logs")).json()
    last = log["lines"][-1]
    assert (last["kind"], last["step"]) == ("error", "DeployedError")
    assert last["message"] == "Job cache-warmup failed: its container exited with code 1"
    assert last["hint"].startswith("Read the output of job cache-warmup")
    assert last["link"].startswith("https://hub.qovery.com/")


async def test_a_job_that_never_ran_has_an_empty_settled_log(relay: Relay) -> None:
    async with relay.rest() as client:
        log = (await client.get(f"/v1/job/{NEVER_DEPLOYED_JOB}/logs")).json()
        runs = (await client.get(f"/v1/job/{NEVER_DEPLOYED_JOB}/runs")).json()
    assert log == {"job_id": NEVER_DEPLOYED_JOB, "execution_id": None, "settled": True, "lines": []}
    assert runs == {"job_id": NEVER_DEPLOYED_JOB, "runs": []}


REFUSED = {
    "a job id that is not one": ("GET", "/v1/job/not-a-uuid", None, 400, "jobId"),
    "an unlisted job's facts": ("GET", f"/v1/job/{UNLISTED_JOB}", None, 403, "jobId"),
    "an unlisted job's runs": ("GET", f"/v1/job/{UNLISTED_JOB}/runs", None, 403, "jobId"),
    "an unlisted job's logs": ("GET", f"/v1/job/{UNLISTED_JOB}/logs", None, 403, "jobId"),
    "a run that is not an execution id": ("GET", f"/v1/job/{CRON_JOB}/logs", {"run": "../x"}, 400, "run"),
    "an empty run": ("GET", f"/v1/job/{CRON_JOB}/logs", {"run": ""}, 400, "run"),
    "a query the runs do not take": ("GET", f"/v1/job/{CRON_JOB}/runs", {"limit": "5"}, 400, "limit"),
    "a query the job does not take": (
        "GET",
        f"/v1/job/{CRON_JOB}",
        {"forceEvent": "CRON"},
        400,
        "forceEvent",
    ),
    "run given twice": ("GET", f"/v1/job/{CRON_JOB}/logs?run=a-1&run=b-2", None, 400, "run"),
}


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "field"), REFUSED.values(), ids=REFUSED.keys()
)
async def test_a_bad_read_is_refused_before_qovery(
    relay: Relay, method: str, path: str, params: dict[str, str] | None, status: int, field: str
) -> None:
    async with relay.rest() as client:
        response = await client.request(method, path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["status"], problem["field"]) == (status, field)
    assert relay.sim.requests == []


async def test_a_run_the_job_does_not_have_is_a_404_problem(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.get(f"/v1/job/{CRON_JOB}/logs", params={"run": NO_SUCH_RUN})
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM)
    problem = response.json()
    assert problem["type"] == "urn:qjob-tui:problem:run-not-found"
    assert (
        problem["detail"]
        == f"job {CRON_JOB} has no run {NO_SUCH_RUN} among its last 20 runs; its runs list them"
    )
    assert [r.path for r in relay.sim.requests] == [f"/job/{CRON_JOB}/deploymentHistoryV2"]


@pytest.mark.parametrize(
    "path", [f"/v1/job/{CRON_JOB}", f"/v1/job/{CRON_JOB}/runs", f"/v1/job/{CRON_JOB}/logs"]
)
async def test_the_reads_take_get_and_head_only(relay: Relay, path: str) -> None:
    async with relay.rest() as client:
        posted = await client.post(path)
        head = await client.head(path)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    assert (head.status_code, head.content) == (200, b"")
    assert all(r.method == "GET" for r in relay.sim.requests)


async def test_qoverys_own_refusal_of_a_read_is_relayed_unchanged(tmp_path: Any) -> None:
    async with running_relay(tmp_path, allow_unlisted_jobs=True) as relay, relay.rest() as client:
        response = await client.get(f"/v1/job/{UNKNOWN_JOB}/runs")
    assert (response.status_code, response.headers["content-type"]) == (404, "application/json")
    assert response.json()["message"] == f"job {UNKNOWN_JOB} not found"


async def test_an_answer_that_is_not_json_is_a_502(relay: Relay) -> None:
    relay.sim.inject(method="GET", path="/deploymentHistoryV2$", status=200, raw=b"<html>oops</html>")
    async with relay.rest() as client:
        response = await client.get(f"/v1/job/{CRON_JOB}/runs")
    assert (response.status_code, response.headers["content-type"]) == (502, PROBLEM)
    assert "not JSON" in response.json()["detail"]


# -- MCP -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_every_tool_declares_an_output_schema_and_the_reads_say_they_only_read(
    relay: Relay, mode: str
) -> None:
    async with relay.mcp(mode) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
        Draft202012Validator.check_schema(tool.output_schema)
    hints = {tool.name: tool.annotations for tool in tools}
    for name in ("get-job-runs", "get-job-logs"):
        annotations = hints[name]
        assert (
            annotations is not None
            and annotations.read_only_hint is True
            and annotations.destructive_hint is None
        )


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_get_job_runs_and_logs_give_what_rest_gives(relay: Relay, mode: str) -> None:
    async with relay.mcp(mode) as client, relay.rest() as http:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        runs = await client.call_tool("get-job-runs", {"jobId": CRON_JOB})
        execution_id = runs.structured_content["runs"][1]["execution_id"]  # type: ignore[index]
        log = await client.call_tool("get-job-logs", {"jobId": CRON_JOB, "run": execution_id})
        newest = await client.call_tool("get-job-logs", {"jobId": CRON_JOB})
        rest_runs = (await http.get(f"/v1/job/{CRON_JOB}/runs")).json()
        rest_log = (await http.get(f"/v1/job/{CRON_JOB}/logs", params={"run": execution_id})).json()
    for result, name in ((runs, "get-job-runs"), (log, "get-job-logs"), (newest, "get-job-logs")):
        assert not result.is_error, result.content
        # The client has checked it against the outputSchema (it raises otherwise); check it here too.
        Draft202012Validator(tools[name].output_schema).validate(result.structured_content)
    assert runs.structured_content == rest_runs
    assert log.structured_content == rest_log
    assert [line["message"] for line in rest_log["lines"]] == own_messages(relay, CRON_JOB, execution_id)
    assert newest.structured_content["execution_id"] == rest_runs["runs"][0]["execution_id"]  # type: ignore[index]


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_get_job_logs_of_a_failed_run_shows_its_error_and_hint(relay: Relay, mode: str) -> None:
    async with relay.mcp(mode) as client:
        result = await client.call_tool("get-job-logs", {"jobId": FAILED_JOB})
    assert not result.is_error
    last = result.structured_content["lines"][-1]  # type: ignore[index]
    assert (last["kind"], last["message"]) == (
        "error",
        "Job cache-warmup failed: its container exited with code 1",
    )
    assert last["hint"].startswith("Read the output of job cache-warmup")
    assert "Read the output of job cache-warmup" in result.content[0].text  # type: ignore[union-attr]


MCP_REFUSED = {
    "a run that is not an execution id": (
        {"jobId": CRON_JOB, "run": "../x"},
        "Refused before Qovery (400",
        False,
    ),
    "an unlisted job": ({"jobId": UNLISTED_JOB}, "Refused before Qovery (403", False),
    "a run the job does not have": ({"jobId": CRON_JOB, "run": NO_SUCH_RUN}, "Run not found (404)", True),
}


@pytest.mark.parametrize(("arguments", "text", "asked"), MCP_REFUSED.values(), ids=MCP_REFUSED.keys())
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_a_bad_log_read_is_an_error_result(
    relay: Relay, mode: str, arguments: dict[str, Any], text: str, asked: bool
) -> None:
    async with relay.mcp(mode) as client:
        result = await client.call_tool("get-job-logs", arguments)
    assert result.is_error
    assert result.content[0].text.startswith(text), result.content[0].text  # type: ignore[union-attr]
    assert bool(relay.sim.requests) is asked


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_a_state_qovery_adds_and_a_field_it_leaves_out_still_fit_the_output_schema(
    relay: Relay, mode: str
) -> None:
    """The client validates every result: an action that Qovery accepted must not become an error for the agent
    because Qovery's answer has grown (Qovery's schemas are published loosened: `schemas.tolerant`)."""
    grown = {"id": CRON_JOB, "state": "DEPLOYMENT_WAITING_FOR_A_NEW_THING", "deployment_request_id": None}
    relay.sim.inject(method="POST", path="/deploy$", status=202, json=grown)
    relay.sim.inject(method="GET", path="/status$", status=200, json=grown)
    async with relay.mcp(mode) as client:
        deployed = await client.call_tool("deploy-job", {"jobId": CRON_JOB})
        status = await client.call_tool("get-job-status", {"jobId": CRON_JOB})
    assert not deployed.is_error and deployed.structured_content == grown
    assert not status.is_error and status.structured_content == grown


ACTION_CALLS = {
    "deploy-job": {"jobId": CRON_JOB},
    "redeploy-job": {"jobId": LIFECYCLE_JOB, "forceEvent": "START"},
    "stop-job": {"jobId": job_id("warehouse-schema")},
    "uninstall-job": {"jobId": NEVER_DEPLOYED_JOB},  # 204: nothing deployed
    "clean-failed-job": {"jobId": FAILED_JOB},
    "list-jobs": {},
    "get-job-status": {"jobId": CRON_JOB},
}


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_every_tools_result_carries_structured_content_that_fits_its_schema(
    relay: Relay, mode: str
) -> None:
    async with relay.mcp(mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        results = {name: await client.call_tool(name, arguments) for name, arguments in ACTION_CALLS.items()}
    for name, result in results.items():
        assert not result.is_error, (name, result.content)
        assert result.structured_content is not None, name
        Draft202012Validator(tools[name].output_schema).validate(result.structured_content)


# -- shared --------------------------------------------------------------------------------------------------


async def test_three_faces_reading_at_once_cost_qovery_one_request(relay: Relay) -> None:
    """REST, MCP and the dashboard's core read the same log at once: Qovery is asked once for the runs and
    once for the log (counted at the simulator)."""
    relay.sim.inject(method="GET", delay_s=0.3, status=None, times=None)
    async with relay.mcp() as client, relay.rest() as http:
        await client.list_tools()
        first = asyncio.ensure_future(http.get(f"/v1/job/{CRON_JOB}/logs"))
        async with asyncio.timeout(20):
            while not relay.sim.requests:  # noqa: ASYNC110 - the condition is the relay's request upstream
                await asyncio.sleep(0.01)
        rest, mcp, core = await asyncio.gather(
            first,
            client.call_tool("get-job-logs", {"jobId": CRON_JOB}),
            relay.runtime.reads.logs(CRON_JOB),
        )
    assert rest.json() == mcp.structured_content
    assert rest.json()["lines"] == [line.as_dict() for line in core.lines]
    # Each once: the runs (which is the newest), the job (where it lives: the board has not learnt it yet), the log.
    assert sorted(r.path for r in relay.sim.requests) == [
        f"/environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/logs",
        f"/job/{CRON_JOB}",
        f"/job/{CRON_JOB}/deploymentHistoryV2",
    ]
