"""The table of the five Qovery job actions, and the validation of their inputs.

Every face is generated from `ACTIONS`: the dashboard's keys and buttons, the REST routes, the MCP tools,
the OpenAPI document of the REST adapter. A sixth action is one more row here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any


class ForceEvent(enum.StrEnum):
    """Qovery's `JobForceEvent`: which event of a job a deploy or redeploy forces to run."""

    START = "START"
    STOP = "STOP"
    DELETE = "DELETE"
    CRON = "CRON"


FORCE_EVENTS: tuple[str, ...] = tuple(e.value for e in ForceEvent)


class BodyKind(enum.Enum):
    """The JSON body an action accepts."""

    NONE = "none"  # no body at all
    DEPLOY = "deploy"  # Qovery's JobDeployRequest: optional image_tag or git_commit_id, not both
    OBJECT = "object"  # any JSON object (uninstall: Qovery documents an empty object)


@dataclass(frozen=True)
class JobAction:
    """One Qovery job action, as every face sees it."""

    name: str  # the id used everywhere: config (ui.confirm, ui.keys), audit log, REST and MCP names derive from it
    title: str  # human label: "Clean failed"
    upstream_path: str  # Qovery's path template, "{jobId}" placeholder
    rest_segment: str  # the capability's REST path segment: /v1/job/{jobid}/<rest_segment>
    operation: str  # the capability's operation name (consumes.operations[].name)
    tool: str  # the capability's MCP tool name
    summary: str  # one line for buttons, the help screen and the OpenAPI summary
    description: str  # what it does and when to use it, for agents and the OpenAPI document
    force_event: bool  # accepts the forceEvent query parameter
    body: BodyKind
    destructive: bool  # deletes something: MCP destructiveHint, asks first by default
    confirm: bool  # asks before it runs in the dashboard by default
    key: str  # default dashboard key
    success_status: tuple[int, ...]  # what Qovery answers on success

    def upstream_url(self, job_id: str) -> str:
        """The upstream path for a job id that has already been validated."""
        return self.upstream_path.replace("{jobId}", job_id)


ACTIONS: tuple[JobAction, ...] = (
    JobAction(
        name="deploy",
        title="Deploy",
        upstream_path="/job/{jobId}/deploy",
        rest_segment="deploy",
        operation="deployjob",
        tool="deploy-job",
        summary="Deploy job",
        description=(
            "Deploy a Qovery job. Optionally force one of its events with forceEvent (CRON runs a cron job now; "
            "START, STOP or DELETE run a lifecycle job's hook; a job without that event is not run), and pick "
            "the version with body.image_tag (image-based jobs) or body.git_commit_id (git-based jobs), not both. "
            "Answers Qovery's Status object (state, deployment_request_id). 409 means an operation is already "
            "in progress: wait for the job's state to settle, then try again."
        ),
        force_event=True,
        body=BodyKind.DEPLOY,
        destructive=False,
        confirm=False,
        key="d",
        success_status=(202,),
    ),
    JobAction(
        name="redeploy",
        title="Redeploy",
        upstream_path="/job/{jobId}/redeploy",
        rest_segment="redeploy",
        operation="redeployjob",
        tool="redeploy-job",
        summary="Redeploy job",
        description=(
            "Redeploy a Qovery job with its current version. Optionally force one of its events with forceEvent "
            "(CRON for a cron job; START, STOP or DELETE for a lifecycle job). Answers Qovery's Status object. "
            "409 means an operation is already in progress."
        ),
        force_event=True,
        body=BodyKind.NONE,
        destructive=False,
        confirm=False,
        key="r",
        success_status=(202,),
    ),
    JobAction(
        name="stop",
        title="Stop",
        upstream_path="/job/{jobId}/stop",
        rest_segment="stop",
        operation="stopjob",
        tool="stop-job",
        summary="Stop job",
        description=(
            "Stop a running Qovery job. Answers Qovery's Status object. 409 means the job is already stopped "
            "or an operation is in progress."
        ),
        force_event=False,
        body=BodyKind.NONE,
        destructive=False,
        confirm=True,
        key="s",
        success_status=(202,),
    ),
    JobAction(
        name="uninstall",
        title="Uninstall",
        upstream_path="/job/{jobId}/uninstall",
        rest_segment="uninstall",
        operation="uninstalljob",
        tool="uninstall-job",
        summary="Uninstall job",
        description=(
            "Uninstall a Qovery job: DELETES the job's compute and data resources, keeping only its Qovery "
            "configuration. Ask a human before you run it. Answers Qovery's Status object, or nothing (204) "
            "when there was nothing deployed. 409 means an operation is already in progress."
        ),
        force_event=False,
        body=BodyKind.OBJECT,
        destructive=True,
        confirm=True,
        key="u",
        success_status=(202, 204),
    ),
    JobAction(
        name="clean-failed",
        title="Clean failed",
        upstream_path="/job/{jobId}/cleanFailedJob",
        rest_segment="cleanfailedjob",
        operation="cleanfailedjob",
        tool="clean-failed-job",
        summary="Clean a failed job",
        description=(
            "Clean up a failed Qovery job: removes the Kubernetes jobs a failed run left behind, so the job "
            'can be deployed again. Answers {"clean_kubernetes_jobs": [names]}.'
        ),
        force_event=False,
        body=BodyKind.NONE,
        destructive=False,
        confirm=False,
        key="c",
        success_status=(200,),
    ),
)

ACTIONS_BY_NAME: dict[str, JobAction] = {a.name: a for a in ACTIONS}
ACTIONS_BY_REST: dict[str, JobAction] = {a.rest_segment: a for a in ACTIONS}
ACTIONS_BY_TOOL: dict[str, JobAction] = {a.tool: a for a in ACTIONS}

# The dashboard's confirmation list and keys name actions by `name`; these are the valid names.
ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS_BY_NAME)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

BODY_LIMIT_BYTES = 64 * 1024


class InvalidInput(ValueError):
    """An input that is refused before anything reaches Qovery. `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_uuid(value: object) -> bool:
    """True for a canonical 8-4-4-4-12 hexadecimal UUID string."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def quoted_excerpt(value: str, limit: int = 60) -> str:
    """`value` quoted for a message, at most `limit` characters: whatever a user typed, one safe line."""
    shown = repr(value)  # escapes control characters; then cut, since escaping can multiply the length
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def validate_job_id(value: object, field: str = "jobId") -> str:
    """The job id, lower-cased, if it is a UUID; else InvalidInput. Runs before any URL is built from it."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string holding the job's UUID")
    if not is_uuid(value):
        raise InvalidInput(
            field, f"{quoted_excerpt(value)} is not a job UUID (like 0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11)"
        )
    return value.lower()


def validate_force_event(action: JobAction, value: object) -> ForceEvent | None:
    """The forceEvent of a request, checked against Qovery's JobForceEvent enum."""
    if value is None or value == "":
        return None
    if not action.force_event:
        raise InvalidInput("forceEvent", f"{action.name} takes no forceEvent")
    if not isinstance(value, str) or value not in FORCE_EVENTS:
        raise InvalidInput("forceEvent", f"{value!r} is not one of {', '.join(FORCE_EVENTS)}")
    return ForceEvent(value)


def validate_body(action: JobAction, value: Any) -> dict[str, Any] | None:
    """The JSON body of a request, checked against the shape Qovery expects for this action."""
    if value is None:
        return None
    if action.body is BodyKind.NONE:
        raise InvalidInput("body", f"{action.name} takes no body")
    if not isinstance(value, dict):
        raise InvalidInput("body", f"must be a JSON object, not {_json_type(value)}")
    if action.body is BodyKind.DEPLOY:
        unknown = sorted(set(value) - {"image_tag", "git_commit_id"})
        if unknown:
            raise InvalidInput(
                "body", f"unknown field(s) {', '.join(unknown)}: only image_tag or git_commit_id"
            )
        for name in ("image_tag", "git_commit_id"):
            if name in value and not isinstance(value[name], str):
                raise InvalidInput(f"body.{name}", f"must be a string, not {_json_type(value[name])}")
            if name in value and not value[name].strip():
                raise InvalidInput(f"body.{name}", "must not be empty")
        if "image_tag" in value and "git_commit_id" in value:
            raise InvalidInput("body", "give image_tag or git_commit_id, not both")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return "an object"
