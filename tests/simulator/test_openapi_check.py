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
