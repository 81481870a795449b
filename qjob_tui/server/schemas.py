"""JSON Schemas of the actions' inputs and answers, derived from the action table; shared by the OpenAPI document
and the MCP tools so that both surfaces describe the same inputs and answers the same way.

The inputs are ours (`qjob_tui.actions` validates them: one set of checks, one set of messages for every face).
The answers are Qovery's, relayed unchanged: their schemas are read from Qovery's OpenAPI document (the copy
in `qjob_tui/reference/`) by each action's upstream path and status, and turned from OpenAPI 3.0 into 3.1.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from qjob_tui.actions import FORCE_EVENTS, JOB, BodyKind, JobAction, Target

MCP_PATH = "/mcp"  # the Streamable HTTP endpoint on the MCP port
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EXAMPLE_JOB_ID = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
QOVERY_REFERENCE = "reference/qovery-openapi-jobs.yaml"
ISO_DURATION_PATTERN = r"^P(?!$)(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
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


def run_schema() -> dict[str, Any]:
    """A run's execution id, as a job's runs give it (`reads.validate_execution_id` checks it)."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "description": "A run's execution_id, as the job's runs give it. Leave it out for the newest run.",
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


def qovery_components(schemas: Iterable[Any], ours: Collection[str] = ()) -> dict[str, Any]:
    """Qovery's named schemas that `schemas` refer to, and those they refer to in turn, in OpenAPI 3.1;
    references to `ours` (our own names, given with `schemas`) are not Qovery's."""
    named = qovery_document()["components"]["schemas"]
    found: dict[str, Any] = {}
    pending = [name for schema in schemas for name in _refs(schema)]
    while pending:
        name = pending.pop()
        if name not in found and name not in ours:
            found[name] = openapi_31(named[name])
            pending.extend(_refs(found[name]))
    return dict(sorted(found.items()))


def openapi_31(node: Any) -> Any:
    """An OpenAPI 3.0 schema as OpenAPI 3.1 (JSON Schema 2020-12): `nullable` becomes a null type, `example`
    becomes `examples`, `format: duration` (ISO 8601's, with fractions) a pattern; the editor's `x-`
    annotations are left out.

    Qovery's `oneOf`s overlap (a cron JobResponse fits its lifecycle branch too; the Helm branch of a run's
    details fits any object): a JSON Schema validator, which takes `oneOf` as "exactly one", would refuse
    every answer. They become `anyOf`; one with a discriminator also gets an `if`/`then` per mapped value, so
    that validators pick the branch the discriminator names, as OpenAPI tools do."""
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
        elif key == "oneOf":
            out["anyOf"] = openapi_31(value)
        elif key == "format" and value == "duration":
            # Qovery means ISO 8601 (PT1M12.5S); JSON Schema's `duration` is RFC 3339's, without fractions.
            out["pattern"] = ISO_DURATION_PATTERN
        else:
            out[key] = openapi_31(value)
    discriminator = node.get("discriminator")
    if isinstance(discriminator, dict) and isinstance(discriminator.get("mapping"), dict):
        name = discriminator["propertyName"]
        out.setdefault("allOf", []).extend(
            {"if": {"required": [name], "properties": {name: {"const": value}}}, "then": {"$ref": ref}}
            for value, ref in discriminator["mapping"].items()
        )
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


# -- the reads' answers ------------------------------------------------------------------------------------
#
# Our own shapes, named like Qovery's in one namespace (`#/components/schemas/<name>`): the OpenAPI document
# lists them beside Qovery's, and an MCP tool's outputSchema carries the ones it needs under `$defs`. Where
# the data is Qovery's (a Status, a JobResponse, a DeploymentHistoryService) they refer to Qovery's schema.


def schema_ref(name: str) -> dict[str, str]:
    """A reference to a named schema (ours or Qovery's)."""
    return {"$ref": _SCHEMA_REF + name}


_TEXT = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_ID = {"type": ["string", "null"], "format": "uuid"}


def _object(properties: dict[str, Any], description: str) -> dict[str, Any]:
    """An object of ours: every property always there (null when unknown), nothing else."""
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "properties": properties,
    }


def _named(what: str) -> dict[str, Any]:
    return _object(
        {"id": _ID, "name": _TEXT}, f"The job's {what}: its id and name (null when Qovery would not say)."
    )


def read_schemas() -> dict[str, Any]:
    """Our named schemas of what the read routes and tools answer."""
    state = {
        "type": ["string", "null"],
        "description": "Qovery's StateEnum (DEPLOYED, DEPLOYMENT_ERROR, STOPPED, ...); a state added later comes as it is.",
    }
    return {
        "Job": {
            "type": "object",
            "description": "A job of the relay's list, with its last known state and our last action on it.",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": _TEXT,
                "environment": _ID,
                "type": {"type": ["string", "null"], "enum": ["CRON", "LIFECYCLE", None]},
                "events": {"type": "array", "items": force_event_schema()},
                "state": state,
                "last_deployment_date": _TEXT,
                "last_action": _TEXT,
                "last_result": _TEXT,
            },
        },
        "JobList": {
            "type": "object",
            "properties": {
                "jobs": {"type": "array", "items": schema_ref("Job")},
                "refreshed_at": _TIME,
                "error": {
                    "type": ["string", "null"],
                    "description": "Why the last refresh failed, if it did.",
                },
            },
        },
        "Named": _named("environment, project or organization"),
        "JobSource": _object(
            {
                "kind": {"enum": ["image", "git", "unknown"]},
                "image_name": _TEXT,
                "tag": _TEXT,
                "registry": _TEXT,
                "repository": {**_TEXT, "description": "The git repository's URL."},
                "branch": _TEXT,
                "commit": {**_TEXT, "description": "The commit deployed."},
                "summary": {
                    "type": "string",
                    "description": "One line: image:tag (registry), or repository @ branch (commit).",
                },
            },
            "What the job runs: a container image, or a git repository Qovery builds.",
        ),
        "LastAction": {
            "type": ["object", "null"],
            "description": "Our last action on the job (from any face of this process), or null.",
            "required": ["action", "result", "ok"],
            "properties": {
                "action": {"type": "string"},
                "result": _TEXT,
                "ok": {"type": ["boolean", "null"]},
            },
        },
        "JobDetail": _object(
            {
                "id": {"type": "string", "format": "uuid"},
                "name": _TEXT,
                "type": {"type": ["string", "null"], "description": "CRON or LIFECYCLE."},
                "environment": schema_ref("Named"),
                "project": schema_ref("Named"),
                "organization": schema_ref("Named"),
                "schedule": {
                    "type": ["object", "null"],
                    "description": "A cron job's schedule; null for a lifecycle job.",
                    "properties": {"cron": {"type": "string"}, "timezone": _TEXT},
                },
                "hooks": {
                    "type": "array",
                    "description": "A lifecycle job's hooks.",
                    "items": {"enum": ["on_start", "on_stop", "on_delete"]},
                },
                "source": schema_ref("JobSource"),
                "status": schema_ref("Status"),
                "last_action": schema_ref("LastAction"),
                "qovery": {
                    **schema_ref("JobResponse"),
                    "description": "Qovery's JobResponse, as it answered.",
                },
            },
            "One job: its facts, Qovery's Status now, and our last action on it.",
        ),
        "JobRun": _object(
            {
                "execution_id": {
                    **_TEXT,
                    "description": "The run's id: its log is GET .../logs?run=<execution_id>.",
                },
                "state": state,
                "settled": {
                    "type": "boolean",
                    "description": "Whether the run is over (its state is no longer queued or in progress).",
                },
                "created_at": _TIME,
                "updated_at": _TIME,
                "triggered_by": _TEXT,
                "origin": {
                    **_TEXT,
                    "description": "Where it was started from (Qovery's OrganizationEventOrigin: CONSOLE, API, GIT, ...).",
                },
                "duration_s": {
                    "type": ["number", "null"],
                    "description": "How long it took; null while it runs.",
                },
                "version": {**_TEXT, "description": "The image tag it deployed, or the commit of a git job."},
                "qovery": {
                    **schema_ref("DeploymentHistoryService"),
                    "description": "Qovery's row, as it answered.",
                },
            },
            "One run of the job.",
        ),
        "JobRuns": _object(
            {
                "job_id": {"type": "string", "format": "uuid"},
                "runs": {"type": "array", "items": schema_ref("JobRun")},
            },
            "The job's recent runs, newest first (Qovery's deploymentHistoryV2).",
        ),
        "JobLogLine": _object(
            {
                "timestamp": _TIME,
                "kind": {"enum": ["info", "warning", "error"]},
                "message": {
                    "type": "string",
                    "description": "The line's safe_message, or an error's user_log_message.",
                },
                "hint": {**_TEXT, "description": "What to do about an error (its hint_message)."},
                "link": {**_TEXT, "description": "Where an error is explained."},
                "execution_id": _TEXT,
                "step": {
                    **_TEXT,
                    "description": "The deployment step: Build, Deploy, Executing, Deployed, DeployedError...",
                },
            },
            "One line of the run's deployment log (from Qovery's EnvironmentLogs).",
        ),
        "JobLog": _object(
            {
                "job_id": {"type": "string", "format": "uuid"},
                "execution_id": {
                    **_TEXT,
                    "description": "The run the lines are of; null when the job never ran.",
                },
                "settled": {
                    "type": "boolean",
                    "description": "Whether the run is over: then these are all its lines.",
                },
                "lines": {"type": "array", "items": schema_ref("JobLogLine")},
            },
            "The deployment log of one run: the job's own lines of that run, oldest first.",
        ),
        "NoContent": _object(
            {"status": {"const": 204}, "detail": {"type": "string"}},
            "Qovery answered 204 with no body (e.g. an uninstall with nothing deployed: nothing was triggered).",
        ),
    }


def action_answer_schema(action: JobAction) -> dict[str, Any]:
    """What an action's tool gives as structured content: Qovery's JSON (its schema by status), `NoContent`
    for a 204, or `{"result": ...}` for a JSON answer that is not an object."""
    branches: list[dict[str, Any]] = []
    for status in action.success_status:
        schema = qovery_answer(action, status)[1]
        if status == 204:
            branches.append(schema_ref("NoContent"))
        elif schema is not None:
            branches.append(schema)
    branches.append({"type": "object", "required": ["result"], "properties": {"result": {}}})
    return {"type": "object", "anyOf": branches}


def output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An MCP tool's outputSchema: `schema` (a `$ref` alone is taken in) with every schema it refers to under
    `$defs`. MCP clients validate each result against it, so Qovery's parts are `tolerant`: a state Qovery
    adds, or a field it leaves out, must not turn an action that was done into an error for the agent."""
    ours = read_schemas()
    defs: dict[str, Any] = {}
    pending = list(_refs(schema))
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        defs[name] = (
            ours[name]
            if name in ours
            else tolerant(openapi_31(qovery_document()["components"]["schemas"][name]))
        )
        pending.extend(_refs(defs[name]))
    ref = schema.get("$ref")
    root = (
        dict(defs[ref.removeprefix(_SCHEMA_REF)])
        if isinstance(ref, str) and len(schema) == 1
        else dict(schema)
    )
    root["type"] = "object"  # MCP wants an object at the top (a tolerant Qovery schema would allow null)
    if defs:
        root["$defs"] = dict(sorted(defs.items()))
    rebased: dict[str, Any] = _rebase(root)
    return rebased


def tolerant(node: Any) -> Any:
    """A schema of Qovery's loosened for validating answers in the field: its shapes and types stay, but every
    value may be null, nothing is required, enums become examples (Qovery's StateEnum grows), `oneOf` becomes
    `anyOf` (Qovery's job branches both match a job: only its discriminator tells them apart) and objects stay
    open."""
    if isinstance(node, list):
        return [tolerant(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("required", "discriminator") or (key == "additionalProperties" and value is False):
            continue
        if key == "enum":
            out["examples"] = [item for item in value if item is not None]
        elif key == "oneOf":
            out["anyOf"] = tolerant(value)
        elif key == "properties":
            out[key] = {name: tolerant(schema) for name, schema in value.items()}
        else:
            out[key] = tolerant(value)
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    return out


def _rebase(node: Any) -> Any:
    """References into `#/components/schemas/` pointed at `#/$defs/` instead."""
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rebase(value) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
        out["$ref"] = "#/$defs/" + ref.removeprefix(_SCHEMA_REF)
    return out
