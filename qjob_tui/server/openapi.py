"""The OpenAPI 3.1 document of the REST adapter, generated from the action table (served at /v1/openapi.json).

Each action's operation comes from its row; its answers' schemas are Qovery's (`schemas.qovery_answer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qjob_tui import __version__
from qjob_tui.actions import ACTIONS, BodyKind, JobAction, Target
from qjob_tui.server.schemas import (
    body_schema,
    force_event_schema,
    qovery_answer,
    qovery_components,
    read_schemas,
    run_schema,
    target_id_schema,
)

REST_PREFIX = "/v1"


def action_path(action: JobAction) -> str:
    """The capability's REST path of an action: `/v1/job/{jobid}/<segment>`."""
    target = action.target
    return f"{REST_PREFIX}/{target.kind}/{{{target.rest_param}}}/{action.rest_segment}"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _responses(action: JobAction) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in action.success_status:
        _, schema = qovery_answer(action, status)
        if status == 204:
            meaning = action.no_content or "no content"
            responses["204"] = {"description": f"Qovery answered 204: {meaning}."}
        else:
            responses[str(status)] = {
                "description": f"Qovery's answer ({status}), relayed unchanged.",
                "content": {"application/json": {"schema": schema or {}}},
            }
    # These the relay answers itself (problem JSON) when it refuses a request, and Qovery too (its JSON,
    # relayed unchanged): a forceEvent the job has no hook for, an unknown job, a token Qovery refuses.
    for code, name in (
        ("400", "InvalidInput"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "NotFound"),
        ("429", "ApprovalQueueFull"),
    ):
        responses[code] = _refused_or_relayed(_PROBLEM_DESCRIPTIONS[name])
    busy, _ = qovery_answer(action, 409)
    busy = (
        busy[0].lower() + busy[1:]
        if busy
        else f"an operation is already in progress on this {action.target.kind}"
    )
    responses["409"] = {
        "description": f"Qovery answered 409: {busy} (relayed unchanged).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    # The 64 KiB cap holds at the door whatever the action (a body-less one refuses any body, too late for one
    # this big); only the actions that take a body read its Content-Type.
    responses["413"] = _ref("responses", "BodyTooLarge")
    if action.body is not BodyKind.NONE:
        responses["415"] = _ref("responses", "UnsupportedMediaType")
    responses["502"] = _ref("responses", "UpstreamUnavailable")
    responses["504"] = _ref("responses", "UpstreamTimeout")
    responses["default"] = {
        "description": "Any other status Qovery answered (401, 403, 404, 429, 5xx), relayed with its JSON body.",
        "content": {"application/json": {"schema": {}}},
    }
    return responses


def _operation(action: JobAction) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [_ref("parameters", action.target.rest_param)]
    if action.force_event:
        parameters.append(_ref("parameters", "forceEvent"))
    operation: dict[str, Any] = {
        "operationId": action.operation,
        "summary": action.summary,
        "description": action.description,
        "tags": [f"{action.target.kind.capitalize()} actions"],
        "parameters": parameters,
        "responses": _responses(action),
        "x-qovery-upstream": f"POST {action.upstream_path}",
    }
    body = body_schema(action)
    if body is not None:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return operation


def _refused_or_relayed(description: str) -> dict[str, Any]:
    return {
        "description": f"{description} Or Qovery's own answer with this status, relayed unchanged.",
        "content": {
            "application/problem+json": {"schema": _ref("schemas", "Problem")},
            "application/json": {"schema": {}},
        },
    }


_PROBLEM_DESCRIPTIONS = {
    "InvalidInput": (
        "Refused before Qovery: a job id that is not a UUID, a forceEvent outside the enum, "
        "a body that is not strict JSON (RFC 8259: no NaN or Infinity, no key twice, no lone surrogate, "
        "at most 64 levels deep) or of the wrong shape, a query parameter the route does not take."
    ),
    "Unauthorized": "Missing or wrong Authorization: Bearer <token>.",
    "Forbidden": (
        "A job that is not in the relay's job list; or, for an action in server.approve, the operator's "
        "refusal (type ...:approval-denied), no answer in time (...:approval-timeout), or no operator to ask "
        "(...:approval-unavailable); read-only mode (...:read-only); a request from a web page or for "
        "another Host name (...:foreign-origin). Nothing was sent to Qovery."
    ),
    "ForeignOrigin": (
        "A request from a web page (an Origin header) or for another Host name than the relay listens on "
        "(type ...:foreign-origin)."
    ),
    "ApprovalQueueFull": (
        "Refused before Qovery: 50 requests already wait for the operator's approval (type "
        "...:approval-queue-full); try again after Retry-After seconds."
    ),
    "NotFound": "An unknown path or action.",
    "BodyTooLarge": "A body over 64 KiB.",
    "UnsupportedMediaType": "A body sent without Content-Type: application/json.",
    "UpstreamUnavailable": (
        "Qovery is unreachable, the connection was lost, or it answered something that is not JSON."
    ),
    "UpstreamTimeout": "Qovery did not answer within the configured timeout.",
}


# What the relay itself answers on the routes that read no job (the jobs list, health, this document).
_SERVICE_REFUSALS = {
    "400": _ref("responses", "InvalidInput"),
    "401": _ref("responses", "Unauthorized"),
    "403": _ref("responses", "ForeignOrigin"),
}


def _read_operation(
    operation_id: str, summary: str, description: str, schema: str, upstream: str
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["Job reads"],
        "parameters": [_ref("parameters", "jobid")],
        "responses": {
            "200": {
                "description": "The answer.",
                "content": {"application/json": {"schema": _ref("schemas", schema)}},
            },
            "400": _ref("responses", "InvalidInput"),
            "401": _ref("responses", "Unauthorized"),
            "403": _ref("responses", "Forbidden"),
            "404": {
                "description": "Qovery's 404 for a job it does not know (a job the relay may read when "
                "server.allow_unlisted_jobs is set), relayed unchanged.",
                "content": {"application/json": {"schema": {}}},
            },
            "502": _ref("responses", "UpstreamUnavailable"),
            "504": _ref("responses", "UpstreamTimeout"),
            "default": {
                "description": "Any other status Qovery answered (429, 5xx), relayed with its JSON body.",
                "content": {"application/json": {"schema": {}}},
            },
        },
        "x-qovery-upstream": upstream,
    }


def _read_paths() -> dict[str, Any]:
    """The reads of one job: what Qovery says of it, its runs, and the deployment log of one run."""
    logs = _read_operation(
        "getjoblogs",
        "A run's deployment log",
        "The deployment log lines of the job's newest run, or of the run named by `run`: the environment's "
        "deployment log kept to this job's lines of that run, oldest first. `settled` says whether the run is over.",
        "JobLog",
        "GET /job/{jobId}/deploymentHistoryV2, GET /environment/{environmentId}/logs?version=<execution_id>",
    )
    logs["parameters"].append(
        {
            "name": "run",
            "in": "query",
            "required": False,
            "description": "A run's execution_id (see /runs); default: the newest run.",
            "schema": run_schema(),
        }
    )
    logs["responses"]["404"] = {
        "description": "The job has no such run among its last 20 (problem type urn:qjob-tui:problem:run-not-found); "
        "or Qovery's 404 for a job it does not know, relayed unchanged.",
        "content": {
            "application/problem+json": {"schema": _ref("schemas", "Problem")},
            "application/json": {"schema": {}},
        },
    }
    return {
        f"{REST_PREFIX}/job/{{jobid}}": {
            "get": _read_operation(
                "getjob",
                "One job",
                "The job's facts (name, type, environment, project, organization, schedule or hooks, image or git "
                "source), Qovery's Status now, and our last action on it.",
                "JobDetail",
                "GET /job/{jobId}, GET /job/{jobId}/status (the names: GET /organization, .../project, .../environment, once)",
            )
        },
        f"{REST_PREFIX}/job/{{jobid}}/runs": {
            "get": _read_operation(
                "listjobruns",
                "A job's runs",
                "The job's last 20 runs, newest first: state, when, who triggered it, how long it took, what it deployed.",
                "JobRuns",
                "GET /job/{jobId}/deploymentHistoryV2",
            )
        },
        f"{REST_PREFIX}/job/{{jobid}}/logs": {"get": logs},
    }


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("schemas", "Problem")}},
    }


def openapi_document(*, token_required: bool, actions: Sequence[JobAction] = ACTIONS) -> dict[str, Any]:
    """The document of the REST routes of `actions`; `token_required` adds the bearer requirement when
    QJOB_TUI_SERVER_TOKEN is set."""
    paths: dict[str, Any] = {action_path(action): {"post": _operation(action)} for action in actions}
    paths[f"{REST_PREFIX}/jobs"] = {
        "get": {
            "operationId": "listjobs",
            "summary": "List the jobs",
            "description": "The jobs this relay acts on, with their last known state (refreshed in the background).",
            "tags": ["Jobs"],
            "responses": {
                "200": {
                    "description": "The jobs.",
                    "content": {"application/json": {"schema": _ref("schemas", "JobList")}},
                },
                **_SERVICE_REFUSALS,
            },
        }
    }
    paths.update(_read_paths())
    paths[f"{REST_PREFIX}/health"] = {
        "get": {
            "operationId": "health",
            "summary": "Health",
            "description": 'Answers 200 {"status": "ok"} while the process serves.',
            "tags": ["Service"],
            "responses": {
                "200": {
                    "description": "Serving.",
                    "content": {"application/json": {"schema": _ref("schemas", "Health")}},
                },
                **_SERVICE_REFUSALS,
            },
        }
    }
    paths[f"{REST_PREFIX}/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["Service"],
            "responses": {
                "200": {"description": "The OpenAPI 3.1 document of this adapter."},
                **_SERVICE_REFUSALS,
            },
        }
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "qjob-tui REST relay — Qovery job actions",
            "version": __version__,
            "description": (
                "The Qovery job actions (capability qovery-job-actions, REST adapter). Qovery's status and JSON "
                "body are relayed unchanged; a request refused before Qovery is application/problem+json "
                "(RFC 9457). Only the configured jobs can be acted on."
            ),
        },
        "paths": paths,
        "components": {
            "parameters": {
                **{
                    target.rest_param: {
                        "name": target.rest_param,
                        "in": "path",
                        "required": True,
                        "schema": target_id_schema(target),
                    }
                    for target in _targets(actions)
                },
                "forceEvent": {
                    "name": "forceEvent",
                    "in": "query",
                    "required": False,
                    "schema": force_event_schema(),
                },
            },
            "schemas": _schemas(actions),
            "responses": {name: _problem_response(text) for name, text in _PROBLEM_DESCRIPTIONS.items()},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "QJOB_TUI_SERVER_TOKEN, required when the relay runs with it set.",
                }
            },
        },
    }
    if token_required:
        document["security"] = [{"bearer": []}]
    return document


def _schemas(actions: Sequence[JobAction]) -> dict[str, Any]:
    ours: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string", "description": "The input at fault, when there is one."},
                "retryAfter": {"type": "integer", "description": "Seconds to wait before trying again."},
            },
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"const": "ok"},
                "version": {"type": "string"},
                "api": {"type": "string", "description": "DEMO, or the Qovery API URL."},
                "read_only": {"type": "boolean", "description": "Whether it acts on nothing (--read-only)."},
                "jobs": {"type": "integer"},
                "uptime_s": {"type": "number", "description": "Seconds since the relay started serving."},
            },
        },
    }
    ours.update(read_schemas())
    # Qovery's answers keep Qovery's schema names (Status, JobResponse, ...), with all they refer to.
    qovery = qovery_components(
        [
            *(qovery_answer(action, status)[1] for action in actions for status in action.success_status),
            *ours.values(),
        ],
        ours=set(ours),
    )
    clash = sorted(set(qovery) & set(ours))
    if clash:
        raise ValueError(f"our schema names {', '.join(clash)} are Qovery's too: rename ours")
    return {**ours, **qovery}


def _targets(actions: Sequence[JobAction]) -> list[Target]:
    """The targets the actions act on, once each, in table order."""
    return list(dict.fromkeys(action.target for action in actions))
