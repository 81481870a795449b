"""JSON Schemas of the actions' inputs and answers, derived from the action table; shared by the OpenAPI document
and the MCP tools so that both surfaces describe the same inputs and answers the same way.

The inputs are ours (`qjob_tui.actions` validates them: one set of checks, one set of messages for every face).
The answers are Qovery's, relayed unchanged: their schemas are read from Qovery's OpenAPI document (the copy
in `qjob_tui/reference/`) by each action's upstream path and status, and turned from OpenAPI 3.0 into 3.1.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from qjob_tui.actions import FORCE_EVENTS, JOB, BodyKind, JobAction, Target

MCP_PATH = "/mcp"  # the Streamable HTTP endpoint on the MCP port
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EXAMPLE_JOB_ID = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
QOVERY_REFERENCE = "reference/qovery-openapi-jobs.yaml"
_SCHEMA_REF = "#/components/schemas/"


def target_id_schema(target: Target) -> dict[str, Any]:
    """The id an action's target is named by (a job's, an environment's)."""
    return {
        "type": "string",
        "format": "uuid",
        "pattern": UUID_PATTERN,
        "description": target.id_help,
        "examples": [EXAMPLE_JOB_ID],
    }


def job_id_schema() -> dict[str, Any]:
    return target_id_schema(JOB)


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


# -- Qovery's answers --------------------------------------------------------------------------------------


@cache
def qovery_document() -> dict[str, Any]:
    """Qovery's OpenAPI document (the subset this project touches), parsed once."""
    text = resources.files("qjob_tui").joinpath(QOVERY_REFERENCE).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    return document


def qovery_answer(action: JobAction, status: int) -> tuple[str | None, dict[str, Any] | None]:
    """What Qovery's document says of this answer to the action: its description and its JSON body's schema
    (OpenAPI 3.1; references point into `#/components/schemas`, see `qovery_components`). (None, None) when
    the document does not list the status, or the action (a new row whose operation is not in the copy yet)."""
    operation = qovery_document()["paths"].get(action.upstream_path, {}).get("post", {})
    answer = operation.get("responses", {}).get(str(status))
    if answer is None:
        return None, None
    if "$ref" in answer:
        answer = qovery_document()["components"]["responses"][
            answer["$ref"].removeprefix("#/components/responses/")
        ]
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return answer.get("description"), (None if schema is None else openapi_31(schema))


def qovery_components(schemas: Iterable[Any]) -> dict[str, Any]:
    """Qovery's named schemas that `schemas` refer to, and those they refer to in turn, in OpenAPI 3.1."""
    named = qovery_document()["components"]["schemas"]
    found: dict[str, Any] = {}
    pending = [name for schema in schemas for name in _refs(schema)]
    while pending:
        name = pending.pop()
        if name not in found:
            found[name] = openapi_31(named[name])
            pending.extend(_refs(found[name]))
    return dict(sorted(found.items()))


def openapi_31(node: Any) -> Any:
    """An OpenAPI 3.0 schema as OpenAPI 3.1 (JSON Schema 2020-12): `nullable` becomes a null type, `example`
    becomes `examples`; the editor's `x-` annotations are left out."""
    if isinstance(node, list):
        return [openapi_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key == "nullable":
            continue
        if key == "example":
            out["examples"] = [value]
        elif key == "properties":
            out[key] = {name: openapi_31(schema) for name, schema in value.items()}
        else:
            out[key] = openapi_31(value)
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, list):
        for item in node:
            yield from _refs(item)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            yield ref.removeprefix(_SCHEMA_REF)
        for key, value in node.items():
            if key != "$ref":
                yield from _refs(value)
