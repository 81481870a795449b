"""Property tests of the input checks every face relies on: nothing that is not a job UUID, a known
forceEvent or a body of the right shape gets past `qjob_tui.actions`, and what does get past is safe to put
in an upstream URL and to send as JSON."""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qjob_tui.actions import (
    ACTIONS,
    FORCE_EVENTS,
    BodyKind,
    ForceEvent,
    InvalidInput,
    JobAction,
    validate_body,
    validate_force_event,
    validate_job_id,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

WITH_FORCE_EVENT = [a for a in ACTIONS if a.force_event]
WITHOUT_FORCE_EVENT = [a for a in ACTIONS if not a.force_event]
WITHOUT_BODY = [a for a in ACTIONS if a.body is BodyKind.NONE]
DEPLOY = next(a for a in ACTIONS if a.body is BodyKind.DEPLOY)
OBJECT_BODY = [a for a in ACTIONS if a.body is BodyKind.OBJECT]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
not_json_objects = json_scalars.filter(lambda v: v is not None) | st.lists(json_values, max_size=4)


def mixed_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def uuid_strings(draw: st.DrawFn) -> str:
    """A canonical UUID, its hex digits in any case (the console shows lower case; users paste anything)."""
    return mixed_case(draw, str(draw(st.uuids())))


@st.composite
def near_uuids(draw: st.DrawFn) -> str:
    """A UUID damaged the ways a pasted or hostile id is: one character changed, added or removed, a path
    or query smuggled in, whitespace or a newline around it, braces, URL-encoding."""
    good = str(draw(st.uuids()))
    kind = draw(st.sampled_from(["replace", "insert", "delete", "wrap", "suffix", "braces", "percent"]))
    position = draw(st.integers(0, len(good) - 1))
    if kind == "replace":
        bad = draw(st.characters().filter(lambda c: c not in string.hexdigits + "-"))
        return good[:position] + bad + good[position + 1 :]
    if kind == "insert":
        return good[:position] + draw(st.characters()) + good[position:]
    if kind == "delete":
        return good[:position] + good[position + 1 :]
    if kind == "wrap":
        pad = draw(st.sampled_from([" ", "\n", "\t", "\r\n", "\x00", "\u00a0"]))
        return draw(st.sampled_from([pad + good, good + pad, pad + good + pad]))
    if kind == "suffix":
        return good + draw(st.sampled_from(["/", "/../stop", "?forceEvent=CRON", "#x", "%2F..", "/deploy"]))
    if kind == "braces":
        return "{" + good + "}"
    return good.replace("-", "%2D", 1)


# -- job ids -------------------------------------------------------------------------------------------


@SETTINGS
@given(uuid_strings())
def test_every_uuid_is_accepted_and_comes_back_canonical(value: str) -> None:
    assert validate_job_id(value) == value.lower()
    assert CANONICAL.fullmatch(validate_job_id(value))


@SETTINGS
@given(near_uuids())
def test_a_damaged_uuid_is_refused_naming_the_field(value: str) -> None:
    assume(CANONICAL.fullmatch(value.lower()) is None)  # a replaced hex digit can still be a UUID
    with pytest.raises(InvalidInput) as refused:
        validate_job_id(value)
    assert refused.value.field == "jobId"
    assert "UUID" in refused.value.message


@SETTINGS
@given(st.text(max_size=80))
def test_whatever_passes_is_safe_in_an_upstream_path(value: str) -> None:
    try:
        job_id = validate_job_id(value)
    except InvalidInput as refused:
        assert refused.field == "jobId"
        assert len(refused.message) < 200  # a huge input is shortened in the message
        return
    assert CANONICAL.fullmatch(job_id)
    for action in ACTIONS:
        path = action.upstream_url(job_id)
        assert path == action.upstream_path.replace("{jobId}", job_id)
        assert path.count("/") == action.upstream_path.count("/")


@SETTINGS
@given(json_values.filter(lambda v: not isinstance(v, str)))
def test_a_job_id_that_is_not_a_string_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="must be a string"):
        validate_job_id(value)


# -- forceEvent ----------------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(WITH_FORCE_EVENT), st.sampled_from(FORCE_EVENTS))
def test_the_four_force_events_are_accepted(action: JobAction, value: str) -> None:
    assert validate_force_event(action, value) is ForceEvent(value)


@SETTINGS
@given(st.sampled_from(ACTIONS), st.sampled_from([None, ""]))
def test_no_force_event_means_none(action: JobAction, value: str | None) -> None:
    assert validate_force_event(action, value) is None


@SETTINGS
@given(
    st.sampled_from(WITH_FORCE_EVENT),
    json_values.filter(lambda v: v is not None and v != "" and v not in FORCE_EVENTS),
)
def test_anything_else_is_refused_as_force_event(action: JobAction, value: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_force_event(action, value)
    assert refused.value.field == "forceEvent"
    assert all(event in refused.value.message for event in FORCE_EVENTS)


@SETTINGS
@given(
    st.sampled_from(FORCE_EVENTS).flatmap(
        lambda e: st.sampled_from([e.lower(), e.title(), f" {e}", f"{e} ", e + "\n"])
    )
)
def test_force_events_are_exact_not_case_or_space_insensitive(value: str) -> None:
    with pytest.raises(InvalidInput):
        validate_force_event(WITH_FORCE_EVENT[0], value)


@SETTINGS
@given(st.sampled_from(WITHOUT_FORCE_EVENT), st.sampled_from(FORCE_EVENTS))
def test_actions_without_force_event_refuse_one(action: JobAction, value: str) -> None:
    with pytest.raises(InvalidInput, match="takes no forceEvent"):
        validate_force_event(action, value)


# -- bodies --------------------------------------------------------------------------------------------

# What an image tag or a commit id may hold: letters, digits, punctuation and symbols (no space, no control).
version_text = st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=40)


def deployable(value: Any) -> bool:
    """A version the relay passes on: a string of 1 to 256 characters, none a space or a control character."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 256
        and all(char.isprintable() and not char.isspace() for char in value)
    )


@SETTINGS
@given(
    st.one_of(
        st.just({}),
        st.fixed_dictionaries({"image_tag": version_text}),
        st.fixed_dictionaries({"git_commit_id": version_text}),
    )
)
def test_a_deploy_body_of_the_documented_shape_is_relayed_as_is(body: dict[str, Any]) -> None:
    assert validate_body(DEPLOY, body) == body
    assert json.loads(json.dumps(body)) == body


@SETTINGS
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=4))
def test_a_deploy_body_is_accepted_only_in_its_documented_shape(body: dict[str, Any]) -> None:
    known = {"image_tag", "git_commit_id"}
    documented = set(body) <= known and len(body) <= 1 and all(deployable(v) for v in body.values())
    if documented:
        assert validate_body(DEPLOY, body) == body
    else:
        with pytest.raises(InvalidInput) as refused:
            validate_body(DEPLOY, body)
        assert refused.value.field.startswith("body")


@SETTINGS
@given(version_text, version_text)
def test_a_deploy_body_with_both_versions_is_refused(tag: str, commit: str) -> None:
    with pytest.raises(InvalidInput, match="not both"):
        validate_body(DEPLOY, {"image_tag": tag, "git_commit_id": commit})


@SETTINGS
@given(st.sampled_from([DEPLOY, *OBJECT_BODY]), not_json_objects)
def test_a_body_that_is_not_an_object_is_refused(action: JobAction, body: Any) -> None:
    with pytest.raises(InvalidInput, match="must be a JSON object") as refused:
        validate_body(action, body)
    assert refused.value.field == "body"


@SETTINGS
@given(st.sampled_from(OBJECT_BODY), st.dictionaries(st.text(max_size=12), json_values, max_size=4))
def test_uninstall_takes_any_object(action: JobAction, body: dict[str, Any]) -> None:
    assert validate_body(action, body) == body


@SETTINGS
@given(st.sampled_from(WITHOUT_BODY), json_values.filter(lambda v: v is not None))
def test_actions_without_body_refuse_any(action: JobAction, body: Any) -> None:
    with pytest.raises(InvalidInput, match="takes no body"):
        validate_body(action, body)


@SETTINGS
@given(st.sampled_from(ACTIONS))
def test_no_body_is_always_fine(action: JobAction) -> None:
    assert validate_body(action, None) is None
