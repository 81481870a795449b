"""The JSON bodies the simulator answers with, shaped like the schemas of Qovery's OpenAPI description.

Each function builds one schema's object (`Status`, `CronJobResponse`/`LifecycleJobResponse`,
`Organization`, `Project`, `Environment`, `AccountInfo`) with every required field, so that the answers
validate against `reference/qovery-openapi-jobs.yaml`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from qjob_tui.simulator.dataset import EnvironmentSpec, OrganizationSpec, ProjectSpec
from qjob_tui.simulator.jobs import Operation, SimJob

JSON = dict[str, Any]

# The container registry every image-based demo job pulls from.
_REGISTRY = {
    "id": "3280c755-25d7-4eef-865f-36f62abac2e2",
    "name": "Docker Hub",
    "url": "https://docker.io",
    "kind": "DOCKER_HUB",
}


def error_json(status: int, message: str) -> JSON:
    """An error body. Qovery publishes no schema for them; clients look for `message`."""
    return {"status": status, "error": HTTPStatus(status).phrase, "message": message}


def status_json(job: SimJob) -> JSON:
    """The job's `Status` now (also the items of `ReferenceObjectStatusResponseList`)."""
    action, action_status = job.status_details
    body: JSON = {
        "id": job.id,
        "state": job.state,
        "service_deployment_status": job.service_deployment_status,
        "is_part_last_deployment": job.deployment_request_id is not None,
        "status_details": {"action": action, "status": action_status, "sub_action": "NONE"},
        "deployment_request_id": job.deployment_request_id,
        "deployment_requests_count": job.deployment_requests_count,
    }
    last_deployment_date = job.last_deployment_date()
    if last_deployment_date is not None:
        # The field is not nullable: absent until the job has been deployed once.
        body["last_deployment_date"] = last_deployment_date
    return body


def accepted_status_json(job: SimJob, operation: Operation) -> JSON:
    """The `Status` of a 202 answer: the action just queued, whatever the clock says a moment later."""
    body = status_json(job)
    body["state"] = operation.kind.queued
    body["status_details"] = {"action": operation.kind.action, "status": "QUEUED", "sub_action": "NONE"}
    body["deployment_request_id"] = operation.request_id
    body["deployment_requests_count"] = 1
    return body


def job_json(job: SimJob) -> JSON:
    """The job's `JobResponse`: a `CronJobResponse` or a `LifecycleJobResponse` per its `job_type`."""
    spec = job.spec
    schedule: JSON
    if spec.job_type == "CRON":
        cronjob: JSON = {
            "arguments": list(spec.arguments),
            "timezone": spec.timezone,
            "scheduled_at": spec.scheduled_at,
        }
        if spec.entrypoint is not None:
            cronjob["entrypoint"] = spec.entrypoint
        schedule = {"cronjob": cronjob}
    else:
        schedule = {"lifecycle_type": "GENERIC"}
        for event in spec.lifecycle_events:
            hook: JSON = {"arguments": list(spec.arguments)}
            if spec.entrypoint is not None:
                hook["entrypoint"] = spec.entrypoint
            schedule[f"on_{event.lower()}"] = hook
    return {
        "id": spec.id,
        "created_at": spec.created_at,
        "updated_at": spec.updated_at,
        "environment": {"id": spec.environment_id},
        "maximum_cpu": 16000,
        "maximum_memory": 16384,
        "maximum_gpu": 0,
        "name": spec.name,
        "description": spec.description,
        "cpu": 500,
        "memory": 512,
        "gpu": 0,
        "cpu_architecture": "AMD64",
        "max_nb_restart": 0,
        "max_duration_seconds": 300,
        "auto_preview": False,
        "port": None,
        "source": _source_json(job),
        "healthchecks": {},
        "auto_deploy": False,
        "icon_uri": "app://qovery-console/job",
        "service_type": "JOB",
        "job_type": spec.job_type,
        "schedule": schedule,
        "annotations_groups": [],
        "labels_groups": [],
    }


def _source_json(job: SimJob) -> JSON:
    spec = job.spec
    if spec.git_url is None:
        return {
            "image": {
                "image_name": spec.image_name,
                "tag": job.image_tag,
                "registry_id": _REGISTRY["id"],
                "registry": dict(_REGISTRY),
            }
        }
    owner, _, name = spec.git_url.removeprefix("https://github.com/").partition("/")
    return {
        "docker": {
            "git_repository": {
                "has_access": True,
                "provider": "GITHUB",
                "owner": owner,
                "name": name,
                "url": spec.git_url,
                "branch": spec.git_branch,
                "root_path": "/",
                "deployed_commit_id": job.git_commit_id,
            },
            "dockerfile_path": "Dockerfile",
            "dockerfile_raw": None,
            "docker_target_build_stage": None,
        }
    }


def organization_json(org: OrganizationSpec) -> JSON:
    """An `Organization`."""
    return {
        "id": org.id,
        "created_at": org.created_at,
        "name": org.name,
        "description": org.description or None,
        "plan": org.plan,
        "website_url": None,
        "repository": None,
        "logo_url": None,
        "icon_url": None,
        "admin_emails": None,
        "owner": org.owner_id,
        "billing_deployment_restriction": None,
        "organization_plan": {"plan": org.plan, "audit_logs_retention_in_days": 30},
    }


def project_json(project: ProjectSpec, environment_count: int) -> JSON:
    """A `Project`."""
    return {
        "id": project.id,
        "created_at": project.created_at,
        "name": project.name,
        "description": project.description,
        "associated_environments_count": environment_count,
        "organization": {"id": project.organization_id},
    }


def environment_json(env: EnvironmentSpec, organization_id: str) -> JSON:
    """An `Environment`."""
    return {
        "id": env.id,
        "created_at": env.created_at,
        "name": env.name,
        "organization": {"id": organization_id},
        "project": {"id": env.project_id},
        "cloud_provider": {"provider": env.cloud_provider, "cluster": env.region},
        "mode": env.mode,
        "cluster_id": env.cluster_id,
        "cluster_name": env.cluster_name,
        "expires_at": None,
    }


def account_json(account_id: str) -> JSON:
    """The `AccountInfo` of the simulator's one user."""
    return {
        "id": account_id,
        "created_at": "2025-01-06T09:00:00Z",
        "nickname": "demo",
        "first_name": "Demo",
        "last_name": "User",
        "communication_email": "demo@example.com",
    }
