"""The schema checker itself: it must reject what Qovery's description rejects, or the other tests prove nothing."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import jsonschema
import pytest

from .openapi_check import OpenAPI

GOOD_STATUS: dict[str, Any] = {
    "id": "cbc600f8-fdbd-4cda-a6e0-9f5ef9412584",
    "state": "DEPLOYED",
    "service_deployment_status": "UP_TO_DATE",
    "is_part_last_deployment": True,
    "status_details": {"action": "DEPLOY", "status": "SUCCESS", "sub_action": "NONE"},
    "deployment_request_id": None,
    "deployment_requests_count": 0,
    "last_deployment_date": "2025-03-14T16:20:00.000000Z",
}


def test_a_good_status_passes(spec: OpenAPI) -> None:
    spec.validator(spec.schema("Status")).validate(GOOD_STATUS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", "NOT_A_STATE"),
        ("id", "not-a-uuid"),
        ("last_deployment_date", "yesterday"),
        ("deployment_requests_count", "1"),
        ("status_details", {"action": "DEPLOY", "status": "SUCCESS"}),
        ("service_deployment_status", None),
    ],
)
def test_a_wrong_status_field_is_rejected(spec: OpenAPI, field: str, value: Any) -> None:
    status = dict(GOOD_STATUS, **{field: value})
    with pytest.raises(jsonschema.ValidationError):
        spec.validator(spec.schema("Status")).validate(status)


def test_a_missing_required_status_field_is_rejected(spec: OpenAPI) -> None:
    status = {key: value for key, value in GOOD_STATUS.items() if key != "deployment_request_id"}
    with pytest.raises(jsonschema.ValidationError):
        spec.validator(spec.schema("Status")).validate(status)


def _cron_job() -> dict[str, Any]:
    return {
        "id": "cbc600f8-fdbd-4cda-a6e0-9f5ef9412584",
        "created_at": "2025-01-06T09:00:00Z",
        "environment": {"id": "d1fc7f1e-0f90-43a9-91db-4f6ef8006f41"},
        "maximum_cpu": 1,
        "maximum_memory": 1,
        "maximum_gpu": 0,
        "name": "n",
        "cpu": 1,
        "memory": 1,
        "gpu": 0,
        "auto_preview": False,
        "source": {
            "image": {
                "image_name": "i",
                "tag": "t",
                "registry": {
                    "id": "3280c755-25d7-4eef-865f-36f62abac2e2",
                    "name": "r",
                    "url": "u",
                    "kind": "DOCKER_HUB",
                },
            }
        },
        "healthchecks": {},
        "icon_uri": "app://x",
        "service_type": "JOB",
        "job_type": "CRON",
        "schedule": {"cronjob": {"timezone": "Etc/UTC", "scheduled_at": "* * * * *"}},
    }


def test_the_job_discriminator_picks_the_branch_of_job_type(spec: OpenAPI) -> None:
    validator = spec.validator(spec.schema("JobResponse"))
    validator.validate(_cron_job())
    # A cron job without its cronjob schedule would pass the lifecycle branch: the discriminator must stop it.
    no_cronjob = _cron_job()
    no_cronjob["schedule"] = {}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(no_cronjob)
    unknown_type = _cron_job()
    unknown_type["job_type"] = "BATCH"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(unknown_type)


def test_nullable_fields_accept_null_and_others_do_not(spec: OpenAPI) -> None:
    validator = spec.validator(spec.schema("JobResponse"))
    job = _cron_job()
    job["port"] = None
    job["cpu_architecture"] = None
    validator.validate(job)
    broken = copy.deepcopy(job)
    broken["name"] = None
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def _response(method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request(method, "http://sim" + path), **kwargs)


def test_undocumented_statuses_and_paths_are_rejected(spec: OpenAPI) -> None:
    with pytest.raises(AssertionError):
        spec.check(_response("POST", "/job/x/deploy", 500, json={"status": 500, "message": "m"}))
    with pytest.raises(AssertionError):
        spec.check(_response("GET", "/no/such/path", 200, json={}))
    with pytest.raises(AssertionError):
        spec.check(_response("POST", "/job/x/uninstall", 204, content=b"{}"))
    with pytest.raises(AssertionError):
        spec.check(_response("POST", "/job/x/deploy", 409, text="busy"))
    spec.check(_response("POST", "/job/x/deploy", 409, json={"status": 409, "message": "busy"}))


JOB_RUN_DETAILS: dict[str, Any] = {
    "job_type": "CRON",
    "image_name": "acme/pg-backup",
    "tag": "2.4.1",
    "schedule": {"cron_job": {"arguments": [], "scheduled_at": "0 3 * * *", "timezone": "Etc/UTC"}},
    "build_pod_name": None,
}


def test_a_one_of_without_discriminator_takes_exactly_one_branch(spec: OpenAPI) -> None:
    # HelmDeploymentHistoryDetails requires nothing: were branches open, it would match every object too.
    validator = spec.validator(spec.schema("DeploymentHistoryServiceDetails"))
    validator.validate(JOB_RUN_DETAILS)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**JOB_RUN_DETAILS, "arguments": []})  # now also a container's: two branches
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**JOB_RUN_DETAILS, "job_type": "BATCH"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"unknown": 1})


@pytest.mark.parametrize("value", ["PT4S", "PT1M12.5S", "PT2H0M3S", "P1D", "P1DT2H"])
def test_an_iso_duration_passes(spec: OpenAPI, value: str) -> None:
    spec.validator({"type": "string", "format": "duration"}).validate(value)


@pytest.mark.parametrize("value", ["4s", "PT", "P", "PT4", "00:00:04", "P1DT", "PTS", "4"])
def test_a_duration_that_is_not_iso_is_rejected(spec: OpenAPI, value: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        spec.validator({"type": "string", "format": "duration"}).validate(value)


def test_an_answer_documented_without_content_has_no_body(spec: OpenAPI) -> None:
    path = "/deploymentQueue/cbc600f8-fdbd-4cda-a6e0-9f5ef9412584/cancelDeployment"
    spec.check(_response("POST", path, 202))
    with pytest.raises(AssertionError):
        spec.check(_response("POST", path, 202, json={"id": "x"}))


def test_log_lines_are_checked(spec: OpenAPI) -> None:
    validator = spec.validator(spec.schema("EnvironmentLogsResponseList"))
    line = {
        "type": "info",
        "timestamp": "2025-03-14T16:20:00.000000Z",
        "details": {"execution_id": "x", "transmitter": {"id": "cbc600f8-fdbd-4cda-a6e0-9f5ef9412584"}},
        "message": {"safe_message": "ok"},
    }
    validator.validate([line, {**line, "message": None, "error": {"hint_message": "h"}}])
    for broken in ({**line, "timestamp": "now"}, {k: v for k, v in line.items() if k != "details"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate([broken])
