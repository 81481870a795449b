"""What the faces generate from the action table without running: the OpenAPI document's answers (Qovery's
schemas, turned into OpenAPI 3.1), and the design of an environment action, which no row exposes yet."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from qjob_tui.actions import ACTION_NAMES, ACTIONS, ENVIRONMENT, JobAction
from qjob_tui.server.openapi import action_path, openapi_document
from qjob_tui.server.schemas import openapi_31, qovery_document

JOB_ID = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"

CANCEL_DEPLOYMENT = JobAction(
    name="cancel-deployment",
    title="Cancel deployment",
    summary="Cancel an environment's deployment",
    verb="cancel an environment's deployment",
    description="Cancel the deployment in progress of a Qovery environment.",
    upstream_path="/environment/{environmentId}/cancelDeployment",
    rest_segment="canceldeployment",
    operation="cancelenvironmentdeployment",
    tool="cancel-environment-deployment",
    key="x",
    success_status=(202,),
    target=ENVIRONMENT,
)


def answer_validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for one answer's schema of the document: its `#/components/...` references resolve in the
    document's components, as an OpenAPI 3.1 reader resolves them."""
    return jsonschema.Draft202012Validator({"allOf": [schema], "components": document["components"]})


def qovery_success(action: JobAction, status: int) -> Any:
    return qovery_document()["paths"][action.upstream_path]["post"]["responses"][str(status)]


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_each_answer_is_described_by_qoverys_own_schema(action: JobAction) -> None:
    document = openapi_document(token_required=False)
    responses = document["paths"][action_path(action)]["post"]["responses"]
    for status in action.success_status:
        described = responses[str(status)]
        qovery = qovery_success(action, status)
        if "content" not in qovery:
            assert "content" not in described and action.no_content in described["description"]
            continue
        schema = described["content"]["application/json"]["schema"]
        assert schema == openapi_31(qovery["content"]["application/json"]["schema"])


def test_every_reference_of_the_document_resolves_inside_it() -> None:
    document = openapi_document(token_required=False, actions=(*ACTIONS, CANCEL_DEPLOYMENT))
    refs = set(_all_refs(document))
    assert "#/components/schemas/Status" in refs and "#/components/schemas/EnvironmentStatus" in refs
    for ref in refs:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # a KeyError names the reference that leads nowhere
        assert isinstance(node, dict)


def _all_refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _all_refs(item)]
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _all_refs(value)]
    return []


def status_answer(**changes: Any) -> dict[str, Any]:
    """A Status as Qovery's document requires it (what deploy, redeploy, stop and uninstall answer)."""
    status = {
        "id": JOB_ID,
        "state": "DEPLOYMENT_QUEUED",
        "service_deployment_status": "OUT_OF_DATE",
        "status_details": {"action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE"},
        "is_part_last_deployment": True,
        "deployment_requests_count": 1,
        "deployment_request_id": None,  # nullable in Qovery's 3.0 document: a null type in 3.1
    }
    status.update(changes)
    return status


def test_the_documented_status_accepts_qoverys_answer_and_refuses_one_that_is_not() -> None:
    document = openapi_document(token_required=False)
    deploy = document["paths"]["/v1/job/{jobid}/deploy"]["post"]["responses"]["202"]
    validator = answer_validator(document, deploy["content"]["application/json"]["schema"])
    validator.validate(status_answer())
    validator.validate(status_answer(deployment_request_id=JOB_ID, execution_id="e-1"))
    without_state = status_answer()
    del without_state["state"]
    for wrong in (without_state, status_answer(deployment_requests_count="one")):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(wrong)


@pytest.mark.parametrize(
    ("qovery", "ours"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["A"], "nullable": True},
            {"type": ["string", "null"], "enum": ["A", None]},
        ),
        (
            {"$ref": "#/components/schemas/X", "nullable": True},
            {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]},
        ),
        ({"type": "integer", "example": 3, "x-stoplight": {"id": "z"}}, {"type": "integer", "examples": [3]}),
        (
            {"type": "object", "properties": {"nullable": {"type": "boolean", "nullable": True}}},
            {"type": "object", "properties": {"nullable": {"type": ["boolean", "null"]}}},
        ),
    ],
)
def test_openapi_30_schemas_become_31(qovery: dict[str, Any], ours: dict[str, Any]) -> None:
    assert openapi_31(qovery) == ours


def test_an_environment_action_fills_in_the_environment_id() -> None:
    assert CANCEL_DEPLOYMENT.upstream_url(JOB_ID) == f"/environment/{JOB_ID}/cancelDeployment"


def test_an_environment_action_gets_its_route_parameter_and_qoverys_environment_status() -> None:
    document = openapi_document(token_required=False, actions=(*ACTIONS, CANCEL_DEPLOYMENT))
    operation = document["paths"]["/v1/environment/{environmentid}/canceldeployment"]["post"]
    assert operation["parameters"] == [{"$ref": "#/components/parameters/environmentid"}]
    assert operation["tags"] == ["Environment actions"]
    assert operation["x-qovery-upstream"] == "POST /environment/{environmentId}/cancelDeployment"
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EnvironmentStatus"
    }
    assert "already cancelled" in operation["responses"]["409"]["description"]  # Qovery's words for it
    parameter = document["components"]["parameters"]["environmentid"]
    assert parameter["in"] == "path" and parameter["schema"]["description"] == ENVIRONMENT.id_help
    # Without such a row, the document has no environment parameter at all.
    assert "environmentid" not in openapi_document(token_required=False)["components"]["parameters"]
