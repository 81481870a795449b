"""The JSON bodies the simulator answers with, shaped like the schemas of Qovery's OpenAPI description.

Each function builds one schema's object (`Status`, `CronJobResponse`/`LifecycleJobResponse`,
`DeploymentHistoryService`, `EnvironmentLogs`, `Organization`, `Project`, `Environment`, `AccountInfo`)
with every required field, so that the answers validate against `reference/qovery-openapi-jobs.yaml`.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from qjob_tui.simulator.dataset import EnvironmentSpec, JobSpec, OrganizationSpec, ProjectSpec
from qjob_tui.simulator.jobs import Run, SimJob, Timing
from qjob_tui.simulator.logs import JOB_STAGE, LogLine, stage_id

JSON = dict[str, Any]

_JOB_ICON = "app://qovery-console/job"
# How long before a run of a git-built job its commit was made (the simulator has no git history).
_COMMIT_BEFORE_RUN_S = 15 * 60

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
    if job.execution_id is not None:
        # The run this status describes; absent (the field is not nullable) for a job that never ran.
        body["execution_id"] = job.execution_id
    last_deployment_date = job.last_deployment_date()
    if last_deployment_date is not None:
        # The field is not nullable: absent until the job has been deployed once.
        body["last_deployment_date"] = last_deployment_date
    return body


def accepted_status_json(job: SimJob, run: Run) -> JSON:
    """The `Status` of a 202 answer: the action just queued, whatever the clock says a moment later."""
    body = status_json(job)
    body["state"] = run.kind.queued
    body["status_details"] = {"action": run.kind.action, "status": "QUEUED", "sub_action": "NONE"}
    body["deployment_request_id"] = run.request_id
    body["execution_id"] = run.execution_id
    body["deployment_requests_count"] = 1
    return body


def environment_status_json(environment: EnvironmentSpec, jobs: Sequence[SimJob], timing: Timing) -> JSON:
    """The environment's `EnvironmentStatus`, made of its jobs' states and its newest run.

    `state`: the state of the newest run in progress; settled, DEPLOYMENT_ERROR while a job is in it,
    else the newest run's outcome (READY if none ever ran). The `last_deployment_*` fields describe the
    newest run (its execution id is `last_deployment_id`).
    """
    now = timing.clock()
    runs = [run for job in jobs for run in job.runs]
    newest = max(runs, key=lambda run: run.queued_at, default=None)
    active = [run for job in jobs if (run := job.active_run) is not None]
    if active:
        state = max(active, key=lambda run: run.queued_at).state_at(now)
    elif any(job.state == "DEPLOYMENT_ERROR" for job in jobs):
        state = "DEPLOYMENT_ERROR"
    else:
        state = newest.outcome if newest is not None else "READY"
    deployment = {job.service_deployment_status for job in jobs}
    body: JSON = {
        "id": environment.id,
        "state": state,
        "last_deployment_state": newest.state_at(now) if newest is not None else "READY",
        "last_deployment_date": None,
        "last_deployment_id": None,
        "total_deployment_duration_in_seconds": None,
        "origin": None,
        "triggered_by": None,
        "deployment_status": (
            "OUT_OF_DATE"
            if "OUT_OF_DATE" in deployment
            else "UP_TO_DATE"
            if "UP_TO_DATE" in deployment
            else "NEVER_DEPLOYED"
        ),
        "deployment_request_id": None,
    }
    if newest is not None:
        body.update(
            last_deployment_date=timing.isoformat(newest.queued_at),
            last_deployment_id=newest.execution_id,
            origin=newest.origin,
            triggered_by=newest.triggered_by,
            deployment_request_id=newest.request_id,
        )
        if newest.phase(now) == "settled":
            body["total_deployment_duration_in_seconds"] = round(newest.ends_at - newest.queued_at)
    return body


def environment_statuses_json(environment: EnvironmentSpec, jobs: Sequence[SimJob], timing: Timing) -> JSON:
    """`EnvironmentStatuses`: the environment's status and its jobs' (the simulator has no other services)."""
    return {
        "environment": environment_status_json(environment, jobs, timing),
        "applications": [],
        "containers": [],
        "jobs": [status_json(job) for job in jobs],
        "databases": [],
        "helms": [],
        "terraforms": [],
    }


def history_json(job: SimJob, page_size: int, timing: Timing) -> JSON:
    """`DeploymentHistoryServicePaginatedResponseListV2`: the job's newest `page_size` runs, newest first."""
    now = timing.clock()
    results = [run_json(job, run, timing, now) for run in job.runs[:page_size]]
    return {"page": 1, "page_size": page_size, "results": results}


def run_json(job: SimJob, run: Run, timing: Timing, now: float) -> JSON:
    """One run as a `DeploymentHistoryService`, as it stands at `now`."""
    action, action_status = run.status_details_at(now)
    body: JSON = {
        "identifier": {
            "name": job.name,
            "service_id": job.id,
            "service_type": "JOB",
            "execution_id": run.execution_id,
        },
        "status": run.state_at(now),
        "status_details": {"action": action, "status": action_status, "sub_action": "NONE"},
        "auditing_data": {
            "created_at": timing.isoformat(run.queued_at),
            "updated_at": timing.isoformat(run.updated_at(now)),
            "triggered_by": run.triggered_by,
            "origin": run.origin,
        },
        "details": _run_details_json(job.spec, run, timing),
        "icon_uri": _JOB_ICON,
    }
    if run.phase(now) == "settled":
        # Only a finished run has a total: Qovery's field is optional, and a running total would keep changing.
        body["total_duration"] = iso_duration(run.ends_at - run.queued_at)
    return body


def _run_details_json(spec: JobSpec, run: Run, timing: Timing) -> JSON:
    """`JobDeploymentHistoryDetails`: what the run deployed (the version of its time) and the schedule."""
    # The history names the cron schedule `cron_job` where the job itself names it `cronjob`.
    details: JSON = {"job_type": spec.job_type, "schedule": _schedule_json(spec, cron_key="cron_job")}
    if spec.git_url is None:
        details.update(image_name=spec.image_name, tag=run.image_tag, build_pod_name=None)
        return details
    owner, name = _git_owner_and_name(spec)
    details.update(
        image_name=f"{owner}/{name}",
        tag=run.git_commit_id,
        build_pod_name=f"build-{run.execution_id}-0",
        commit={
            "created_at": timing.isoformat(run.queued_at - _COMMIT_BEFORE_RUN_S),
            "git_commit_id": run.git_commit_id,
            "tag": "",
            "message": f"Release {run.git_commit_id[:7]}",
            "author_name": run.triggered_by,
        },
    )
    return details


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration (`format: duration`): PT4S, PT1M12.5S, PT2H0M3S."""
    hours, rest = divmod(round(max(seconds, 0.0), 3), 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if hours or minutes:
        text += f"{int(minutes)}M"
    return text + f"{round(secs, 3):g}S"


def log_json(line: LogLine, environment: EnvironmentSpec, organization_id: str, timing: Timing) -> JSON:
    """One `EnvironmentLogs` line of `environment`: a message, or (a failure) an `error` with its hint and link."""
    transmitter = line.transmitter
    stage: JSON
    if isinstance(transmitter, SimJob):
        who = {"type": "Job", "id": transmitter.id, "name": transmitter.name}
        stage = {"step": line.step, "id": stage_id(environment.id), "name": JOB_STAGE}
    else:
        who = {"type": "Environment", "id": transmitter.id, "name": transmitter.name}
        # The environment's own lines belong to no deployment stage.
        stage = {"step": line.step, "id": None, "name": None}
    body: JSON = {
        "type": line.type,
        "timestamp": timing.isoformat(line.at),
        "details": {
            "organization_id": organization_id,
            "cluster_id": environment.cluster_id,
            "execution_id": line.execution_id,
            "transmitter": who,
            "stage": stage,
        },
    }
    if line.error is not None:
        body["error"] = line.error
        body["message"] = None
        return body
    message: JSON = {"safe_message": line.message or ""}
    if line.full_details is not None:
        message["full_details"] = line.full_details
    body["message"] = message
    return body


def job_json(job: SimJob) -> JSON:
    """The job's `JobResponse`: a `CronJobResponse` or a `LifecycleJobResponse` per its `job_type`."""
    spec = job.spec
    schedule = _schedule_json(spec, cron_key="cronjob")
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
        "icon_uri": _JOB_ICON,
        "service_type": "JOB",
        "job_type": spec.job_type,
        "schedule": schedule,
        "annotations_groups": [],
        "labels_groups": [],
    }


def _schedule_json(spec: JobSpec, *, cron_key: str) -> JSON:
    """A job's schedule: its cron schedule (under `cron_key`), or its lifecycle hooks."""
    if spec.job_type == "CRON":
        cron: JSON = {
            "arguments": list(spec.arguments),
            "timezone": spec.timezone,
            "scheduled_at": spec.scheduled_at,
        }
        if spec.entrypoint is not None:
            cron["entrypoint"] = spec.entrypoint
        return {cron_key: cron}
    schedule: JSON = {"lifecycle_type": "GENERIC"}
    for event in spec.lifecycle_events:
        schedule[f"on_{event.lower()}"] = _hook_json(spec)
    return schedule


def _hook_json(spec: JobSpec) -> JSON:
    """A lifecycle hook's command (`JobLifecyleSchedule`, also the hooks of a `LifecycleJobResponse`)."""
    hook: JSON = {"arguments": list(spec.arguments)}
    if spec.entrypoint is not None:
        hook["entrypoint"] = spec.entrypoint
    return hook


def _git_owner_and_name(spec: JobSpec) -> tuple[str, str]:
    owner, _, name = (spec.git_url or "").removeprefix("https://github.com/").partition("/")
    return owner, name


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
    owner, name = _git_owner_and_name(spec)
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
