"""The action table agrees with Qovery's OpenAPI document and with the capability it implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from qjob_tui.actions import (
    ACTION_NAMES,
    ACTIONS,
    ACTIONS_BY_NAME,
    FORCE_EVENTS,
    BodyKind,
    ForceEvent,
    InvalidInput,
    JobAction,
    validate_body,
    validate_force_event,
    validate_job_id,
)
from qjob_tui.config import UISettings

REFERENCE = Path(__file__).resolve().parents[2] / "qjob_tui" / "reference"
QOVERY = yaml.safe_load((REFERENCE / "qovery-openapi-jobs.yaml").read_text(encoding="utf-8"))
EXAMPLE_ID = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
CAPABILITY = yaml.safe_load((REFERENCE / "qovery-job-actions.yaml").read_text(encoding="utf-8"))["capability"]


def operation_of(action: JobAction) -> dict[str, Any]:
    return QOVERY["paths"][action.upstream_path]["post"]


def parameter_names(action: JobAction) -> set[str]:
    path_item = QOVERY["paths"][action.upstream_path]
    params = [*path_item.get("parameters", []), *operation_of(action).get("parameters", [])]
    return {p["name"] for p in params if "name" in p}


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_action_matches_qoverys_operation(action: JobAction) -> None:
    operation = operation_of(action)  # the path exists, with POST
    assert ("forceEvent" in parameter_names(action)) is action.force_event
    assert ("requestBody" in operation) is (action.body is not BodyKind.NONE)
    successes = {int(code) for code in operation["responses"] if str(code).startswith("2")}
    assert successes == set(action.success_status)


def test_force_events_are_qoverys_enum() -> None:
    assert set(FORCE_EVENTS) == set(QOVERY["components"]["schemas"]["JobForceEvent"]["enum"])


def test_deploy_body_is_qoverys_job_deploy_request() -> None:
    schema = QOVERY["components"]["schemas"]["JobDeployRequest"]
    assert set(schema["properties"]) == {"image_tag", "git_commit_id"}


CAPABILITY_OPERATIONS = [
    (resource, operation)
    for c in CAPABILITY["consumes"]
    for resource in c["resources"]
    for operation in resource["operations"]
]


@pytest.mark.parametrize(
    ("resource", "operation"), CAPABILITY_OPERATIONS, ids=[o["name"] for _, o in CAPABILITY_OPERATIONS]
)
def test_each_operation_of_the_capability_is_an_action_of_the_table(
    resource: dict[str, Any], operation: dict[str, Any]
) -> None:
    """The capability's five are rows of the table (which may hold more: Qovery's document wins)."""
    [action] = [a for a in ACTIONS if a.operation == operation["name"]]
    assert (resource["path"], operation["method"]) == (action.upstream_path, "POST")
    call = f"qovery-job-actions.{action.operation}"
    inputs = {p["name"] for p in operation.get("inputParameters", [])}
    assert ("forceEvent" in inputs) is action.force_event
    assert ("body" in inputs) is (action.body is not BodyKind.NONE)

    [rest] = [e for e in CAPABILITY["exposes"] if e["type"] == "rest"]
    [route] = [r for r in rest["resources"] if r["path"] == f"/v1/job/{{jobid}}/{action.rest_segment}"]
    assert route["operations"][0]["call"] == call

    [mcp] = [e for e in CAPABILITY["exposes"] if e["type"] == "mcp"]
    [tool] = [t for t in mcp["tools"] if t["name"] == action.tool]
    assert tool["call"] == call
    assert set(tool.get("with", {})) == inputs


# The five the product promises: their keys (README.md), which one deletes, which ones ask first by default.
CONTRACT = {
    "deploy": ("d", False, False),
    "redeploy": ("r", False, False),
    "stop": ("s", False, True),
    # The capability marks uninstall-job non-destructive; it deletes the job's resources
    # (qjob_tui/reference/README.md).
    "uninstall": ("u", True, True),
    "clean-failed": ("c", False, False),
}


@pytest.mark.parametrize("name", CONTRACT)
def test_the_contracts_actions_keep_their_keys_hints_and_confirmation(name: str) -> None:
    action = ACTIONS_BY_NAME[name]
    assert (action.key, action.destructive, action.confirm) == CONTRACT[name]


def test_ui_confirm_asks_by_default_before_the_actions_whose_row_says_so() -> None:
    assert UISettings().confirm == [a.name for a in ACTIONS if a.confirm]


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_a_destructive_action_warns_the_operator_and_agents_and_asks_first(action: JobAction) -> None:
    if action.destructive:
        assert action.confirm and action.warning and action.agent_note
        assert action.help_line != action.summary  # the help screen says what it destroys


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_what_a_204_means_is_said_exactly_for_the_actions_qovery_answers_204(action: JobAction) -> None:
    assert (action.no_content is not None) is (204 in action.success_status)


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_the_upstream_path_names_the_id_of_the_actions_target(action: JobAction) -> None:
    path_item = QOVERY["paths"][action.upstream_path]
    params = [*path_item.get("parameters", []), *operation_of(action).get("parameters", [])]
    in_path = {
        (p.get("name") or p["$ref"].rsplit("/", 1)[1])
        for p in params
        if p.get("in", "path") == "path"  # a $ref to components/parameters/<id> is a path parameter here
    }
    assert in_path == {action.target.upstream_param}
    assert action.upstream_url(EXAMPLE_ID).count(EXAMPLE_ID) == 1


def test_names_keys_and_tools_are_unique() -> None:
    for attribute in ("name", "key", "tool", "rest_segment", "operation", "upstream_path"):
        values = [getattr(a, attribute) for a in ACTIONS]
        assert len(values) == len(set(values)), attribute
    assert all(a.description and a.summary and a.title for a in ACTIONS)


def test_upstream_url_fills_in_the_job_id() -> None:
    assert ACTIONS_BY_NAME["clean-failed"].upstream_url(EXAMPLE_ID) == f"/job/{EXAMPLE_ID}/cleanFailedJob"


@pytest.mark.parametrize(
    "value",
    [
        "../x",
        "%2e%2e%2f",
        "",
        "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11\n",
        "0d6e3c5a1f0b4c559d7e2b1a4f9c8e11",
        None,
        7,
    ],
)
def test_validate_job_id_refuses(value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_job_id(value)
    assert caught.value.field == "jobId"


def test_validate_job_id_shortens_what_it_shows() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_job_id("x" * 500)
    assert len(caught.value.message) < 200


def test_validate_force_event() -> None:
    deploy, stop = ACTIONS_BY_NAME["deploy"], ACTIONS_BY_NAME["stop"]
    assert validate_force_event(deploy, "CRON") is ForceEvent.CRON
    assert validate_force_event(deploy, None) is None
    assert validate_force_event(stop, "") is None
    for bad in ("cron", "RUN", 1):
        with pytest.raises(InvalidInput, match="is not one of START, STOP, DELETE, CRON"):
            validate_force_event(deploy, bad)
    with pytest.raises(InvalidInput, match="stop takes no forceEvent"):
        validate_force_event(stop, "CRON")


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("deploy", [], "must be a JSON object, not an array"),
        ("deploy", "x", "must be a JSON object, not a string"),
        ("deploy", {"image_tag": True}, "must be a string, not a boolean"),
        ("deploy", {"image_tag": "1", "git_commit_id": "a"}, "not both"),
        ("deploy", {"tag": "1"}, "unknown field(s) tag"),
        ("uninstall", 3, "not a number"),
        ("redeploy", {}, "redeploy takes no body"),
        ("deploy", {"image_tag": "2.5.0\nDEPLOYED"}, "'2.5.0\\nDEPLOYED' has a space or a control character"),
        ("deploy", {"image_tag": "2.5 .0"}, "has a space or a control character"),
        ("deploy", {"git_commit_id": "3f9c2a1\x1b[2J"}, "has a space or a control character"),
        (
            "deploy",
            {"image_tag": "v" * 70_000},
            "is 70,000 characters; an image tag or a commit id has at most 256",
        ),
    ],
)
def test_validate_body_refuses(action: str, body: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_body(ACTIONS_BY_NAME[action], body)
    assert message in caught.value.message


def test_validate_body_accepts() -> None:
    assert validate_body(ACTIONS_BY_NAME["deploy"], {"image_tag": "2.5.0"}) == {"image_tag": "2.5.0"}
    longest = {"image_tag": "v" + "1" * 255}  # the longest a tag may be, with room over a registry's 128
    assert validate_body(ACTIONS_BY_NAME["deploy"], longest) == longest
    commit = {"git_commit_id": "3f9c2a17e5b0" * 5 + "ab12"}  # a SHA-256 commit id: 64 hex digits
    assert validate_body(ACTIONS_BY_NAME["deploy"], commit) == commit
    assert validate_body(ACTIONS_BY_NAME["deploy"], {}) == {}
    assert validate_body(ACTIONS_BY_NAME["uninstall"], {}) == {}
    assert validate_body(ACTIONS_BY_NAME["stop"], None) is None


def test_a_job_id_full_of_control_characters_gets_a_short_readable_message() -> None:
    """Escaping multiplies the length (one \\x1f becomes four characters): the message is cut after escaping."""
    with pytest.raises(InvalidInput) as refused:
        validate_job_id("0" * 24 + "\x1f" * 8 + "\U000105ba\U0001134e" * 4)
    assert len(refused.value.message) < 200
    assert "\x1f" not in refused.value.message and "\\x1f" in refused.value.message
