"""JSON Schemas of the action inputs, derived from the action table; shared by the OpenAPI document and the
MCP tools so that both surfaces describe the same inputs the same way.

The schemas describe; `qjob_tui.actions` validates (one set of checks, one set of messages for every face).
"""

from __future__ import annotations

from typing import Any

from qjob_tui.actions import FORCE_EVENTS, BodyKind, JobAction

MCP_PATH = "/mcp"  # the Streamable HTTP endpoint on the MCP port
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EXAMPLE_JOB_ID = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"


def job_id_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "format": "uuid",
        "pattern": UUID_PATTERN,
        "description": "The Qovery job's id (a UUID, as in the Qovery console or GET /v1/jobs).",
        "examples": [EXAMPLE_JOB_ID],
    }


def force_event_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": list(FORCE_EVENTS),
        "description": (
            "Run one event of the job now (Qovery's JobForceEvent): CRON for a cron job; START, STOP or "
            "DELETE for a lifecycle job's hook. A job without that event is not run. Omit it for a plain deploy."
        ),
    }


def body_schema(action: JobAction) -> dict[str, Any] | None:
    """The JSON body an action accepts, or None when it takes none."""
    if action.body is BodyKind.DEPLOY:
        return {
            "type": "object",
            "description": (
                "Which version to deploy (Qovery's JobDeployRequest): image_tag for an image-based job, "
                "git_commit_id for a git-based job, not both. Omit it to deploy the current version."
            ),
            "properties": {
                "image_tag": {"type": "string", "minLength": 1, "description": "Image tag to deploy."},
                "git_commit_id": {"type": "string", "minLength": 1, "description": "Git commit to deploy."},
            },
            "additionalProperties": False,
            "maxProperties": 1,
        }
    if action.body is BodyKind.OBJECT:
        return {
            "type": "object",
            "description": "Request body passed to Qovery; Qovery documents an empty object. Usually omitted.",
            "additionalProperties": True,
        }
    return None
