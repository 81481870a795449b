"""The table of the Qovery actions, and the validation of their inputs.

Every per-action fact lives in a row of `ACTIONS`, and every face is generated from it: the dashboard's
keys, buttons, palette entries, help lines and confirmation dialog, the REST routes and their OpenAPI
operations (with Qovery's answer schemas, read from the reference document by the row's upstream path),
the MCP tools with their annotations and the server's instructions, the audit log's action name and
`ui.confirm`'s default. A sixth action is one more row here.

An action targets a job today; `Target` says what else it could act on (Qovery's environment actions, such
as `POST /environment/{environmentId}/cancelDeployment`), and how each face names that id.
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
class Target:
    """What an action acts on, and how each face names the id of it."""

    kind: str  # "job": the REST collection (/v1/<kind>/{id}/...) and the OpenAPI tag ("Job actions")
    upstream_param: str  # the placeholder of Qovery's path: /job/{jobId}/deploy
    rest_param: str  # the REST path parameter, as the capability spells it: /v1/job/{jobid}/deploy
    tool_input: str  # the MCP tools' argument that carries the id
    id_help: str  # where a caller finds the id: the schemas' description of it
    scope_note: str  # which ones may be acted on: the end of every such MCP tool's description


JOB = Target(
    kind="job",
    upstream_param="jobId",
    rest_param="jobid",
    tool_input="jobId",
    id_help="The Qovery job's id (a UUID, as in the Qovery console or GET /v1/jobs).",
    scope_note="Only the jobs that list-jobs shows can be acted on.",
)

# Not used by any row yet: the shape an environment action (Qovery's cancelDeployment) takes in the table.
# Exposing one needs, beyond its row, what is new for environments: the pipeline's allowlist and audit field
# for an environment id, the board's record of it, and which environment the dashboard's selection means.
ENVIRONMENT = Target(
    kind="environment",
    upstream_param="environmentId",
    rest_param="environmentid",
    tool_input="environmentId",
    id_help="The Qovery environment's id (a UUID, as in the Qovery console or the environment of a job in GET /v1/jobs).",
    scope_note="Only the environments of the jobs that list-jobs shows can be acted on.",
)


@dataclass(frozen=True, kw_only=True)
class JobAction:
    """One Qovery action, with every fact a face shows or sends for it."""

    name: str  # the id everywhere: config (ui.confirm, ui.keys), audit log, the dashboard's binding id
    title: str  # human label: "Clean failed" (buttons, palette, dialogs)
    summary: str  # one line: button tooltips, palette help, OpenAPI summary, MCP tool title
    verb: str  # how a sentence lists it: "clean a failed job" (the MCP server's instructions)
    description: str  # what it does and when to use it, for agents and the OpenAPI document
    upstream_path: str  # Qovery's path template, with the target's placeholder ("{jobId}")
    rest_segment: str  # the capability's REST path segment: /v1/job/{jobid}/<rest_segment>
    operation: str  # the capability's operation name (consumes.operations[].name): the OpenAPI operationId
    tool: str  # the capability's MCP tool name
    key: str  # default dashboard key
    success_status: tuple[int, ...]  # what Qovery answers on success; the schemas are Qovery's for each
    target: Target = JOB
    force_event: bool = False  # accepts the forceEvent query parameter
    body: BodyKind = BodyKind.NONE
    no_content: str | None = None  # what Qovery's 204 (no body) means, when it answers one
    destructive: bool = False  # deletes something: MCP destructiveHint, a red button
    confirm: bool = False  # in `ui.confirm` by default: the dashboard asks before it runs
    warning: str | None = None  # the confirmation dialog's warning, under the question
    key_help: str | None = None  # the help screen's line, when it must say more than the summary
    agent_note: str | None = None  # its sentence in the MCP server's instructions, after its tool name

    @property
    def help_line(self) -> str:
        """The help screen's line for its key."""
        return self.key_help or self.summary

    def upstream_url(self, target_id: str) -> str:
        """The upstream path for a target id that has already been validated."""
        return self.upstream_path.replace(f"{{{self.target.upstream_param}}}", target_id)


ACTIONS: tuple[JobAction, ...] = (
    JobAction(
        name="deploy",
        title="Deploy",
        summary="Deploy job",
        verb="deploy",
        description=(
            "Deploy a Qovery job. Optionally force one of its events with forceEvent (CRON runs a cron job now; "
            "START, STOP or DELETE run a lifecycle job's hook; a job without that event is not run), and pick "
            "the version with body.image_tag (image-based jobs) or body.git_commit_id (git-based jobs), not both. "
            "Answers Qovery's Status object (state, deployment_request_id). 409 means an operation is already "
            "in progress: wait for the job's state to settle, then try again."
        ),
        upstream_path="/job/{jobId}/deploy",
        rest_segment="deploy",
        operation="deployjob",
        tool="deploy-job",
        key="d",
        success_status=(202,),
        force_event=True,
        body=BodyKind.DEPLOY,
    ),
    JobAction(
        name="redeploy",
        title="Redeploy",
        summary="Redeploy job",
        verb="redeploy",
        description=(
            "Redeploy a Qovery job with its current version. Optionally force one of its events with forceEvent "
            "(CRON for a cron job; START, STOP or DELETE for a lifecycle job). Answers Qovery's Status object. "
            "409 means an operation is already in progress."
        ),
        upstream_path="/job/{jobId}/redeploy",
        rest_segment="redeploy",
        operation="redeployjob",
        tool="redeploy-job",
        key="r",
        success_status=(202,),
        force_event=True,
    ),
    JobAction(
        name="stop",
        title="Stop",
        summary="Stop job",
        verb="stop",
        description=(
            "Stop a running Qovery job. Answers Qovery's Status object. 409 means the job is already stopped "
            "or an operation is in progress."
        ),
        upstream_path="/job/{jobId}/stop",
        rest_segment="stop",
        operation="stopjob",
        tool="stop-job",
        key="s",
        success_status=(202,),
        confirm=True,
    ),
    JobAction(
        name="uninstall",
        title="Uninstall",
        summary="Uninstall job",
        verb="uninstall",
        description=(
            "Uninstall a Qovery job: DELETES the job's compute and data resources, keeping only its Qovery "
            "configuration. Ask a human before you run it. Answers Qovery's Status object, or nothing (204) "
            "when there was nothing deployed. 409 means an operation is already in progress."
        ),
        upstream_path="/job/{jobId}/uninstall",
        rest_segment="uninstall",
        operation="uninstalljob",
        tool="uninstall-job",
        key="u",
        success_status=(202, 204),
        body=BodyKind.OBJECT,
        no_content="no deployment was triggered (nothing was deployed)",
        # The capability says destructive: false; it deletes the job's resources (qjob_tui/reference/README.md).
        destructive=True,
        confirm=True,
        warning="This deletes the job's compute and data resources; only its Qovery configuration stays.",
        key_help="Uninstall job (deletes its resources)",
        agent_note="deletes the job's resources: ask a human first.",
    ),
    JobAction(
        name="clean-failed",
        title="Clean failed",
        summary="Clean a failed job",
        verb="clean a failed job",
        description=(
            "Clean up a failed Qovery job: removes the Kubernetes jobs a failed run left behind, so the job "
            'can be deployed again. Answers {"clean_kubernetes_jobs": [names]}.'
        ),
        upstream_path="/job/{jobId}/cleanFailedJob",
        rest_segment="cleanfailedjob",
        operation="cleanfailedjob",
        tool="clean-failed-job",
        key="c",
        success_status=(200,),
    ),
)

ACTIONS_BY_NAME: dict[str, JobAction] = {a.name: a for a in ACTIONS}

# The dashboard's confirmation list and keys name actions by `name`; these are the valid names.
ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS_BY_NAME)

# `ui.confirm` when the config file does not say: the actions whose row asks first.
CONFIRM_BY_DEFAULT: tuple[str, ...] = tuple(a.name for a in ACTIONS if a.confirm)

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
            if name in value:
                _check_version(f"body.{name}", value[name])
        if "image_tag" in value and "git_commit_id" in value:
            raise InvalidInput("body", "give image_tag or git_commit_id, not both")
    return value


# An image tag (a registry's: at most 128 characters) or a commit id (40 or 64 hex digits), with room to spare.
VERSION_MAX = 256


def _check_version(field: str, value: str) -> None:
    """An image tag or commit id Qovery could deploy: not empty, not huge, and no space or control character
    (none is valid in either, and a newline or an escape would reach Qovery, its logs and ours)."""
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > VERSION_MAX:
        raise InvalidInput(
            field, f"is {len(value):,} characters; an image tag or a commit id has at most {VERSION_MAX}"
        )
    if any(char.isspace() or not char.isprintable() for char in value):
        raise InvalidInput(
            field, f"{quoted_excerpt(value)} has a space or a control character; neither is valid here"
        )


def options_text(force_event: ForceEvent | None, body: dict[str, Any] | None) -> str:
    """What an action was asked with, in a few words for a table cell and a log line: `CRON`,
    `image_tag 2.5.0`, `git_commit_id 3f9c2a17e5b0` (a commit id cut to twelve); empty for none."""
    parts = [force_event.value] if force_event is not None else []
    for key, value in (body or {}).items():
        shown = str(value)[:12] if key == "git_commit_id" else str(value)
        parts.append(f"{key} {shown}")
    return " ".join(parts)


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
