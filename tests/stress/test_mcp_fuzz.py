"""Fuzzing the MCP tools with the official client: arbitrary `jobId`, `forceEvent` and `body` arguments, given
to every tool whether it publishes them or not. What the core's checks refuse is an isError result and never
reaches Qovery; what they accept reaches Qovery once, as a valid action call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from qjob_tui.actions import (
    ACTIONS,
    FORCE_EVENTS,
    BodyKind,
    InvalidInput,
    validate_body,
    validate_force_event,
    validate_job_id,
)
from qjob_tui.simulator import Simulator
from tests.common import Relay

from .relay_harness import DEMO_JOBS, relay_in_thread, unvalidated

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
job_ids = st.sampled_from(DEMO_JOBS) | st.uuids().map(str) | st.text(max_size=40) | json_values
force_events = st.sampled_from([*FORCE_EVENTS, "", "cron", "START "]) | json_values
bodies = (
    st.fixed_dictionaries(
        {}, optional={"image_tag": st.text(max_size=8), "git_commit_id": st.text(max_size=8)}
    )
    | json_values
)
MISSING = object()


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    action = draw(st.sampled_from(ACTIONS))
    arguments = {}
    for name, values in (("jobId", job_ids), ("forceEvent", force_events), ("body", bodies)):
        value = draw(st.one_of(st.just(MISSING), values))
        if value is not MISSING:
            arguments[name] = value
    return action, arguments


def published(action: Any) -> set[str]:
    names = {"jobId"} | ({"forceEvent"} if action.force_event else set())
    return names | ({"body"} if action.body is not BodyKind.NONE else set())


def accepted(action: Any, arguments: dict[str, Any]) -> bool:
    """Whether the relay lets this call through. An argument the tool does not publish is refused (a mistyped
    name must not be dropped silently), so it counts as a refusal."""
    if "jobId" not in arguments or set(arguments) - published(action):
        return False
    if "forceEvent" in published(action) and arguments.get("forceEvent") == "":
        return False  # an empty forceEvent is refused, not taken for none
    try:
        validate_job_id(arguments["jobId"])
        if "forceEvent" in published(action):
            validate_force_event(action, arguments.get("forceEvent"))
        if "body" in published(action):
            validate_body(action, arguments.get("body"))
    except InvalidInput:
        return False
    return True


@pytest.fixture(scope="module")
def fuzz_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    audit = tmp_path_factory.mktemp("mcp-fuzz") / "audit.jsonl"
    with relay_in_thread(Simulator(phase_s=0.0), audit, allow_unlisted_jobs=True) as relay:
        yield relay


async def call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with asyncio.timeout(30), Client(url) as client:
        return await client.call_tool(tool, arguments)


def check_call(relay: Relay, action: Any, arguments: dict[str, Any]) -> None:
    seen = len(relay.sim.requests)
    result = asyncio.run(call(relay.mcp_url, action.tool, arguments))
    arrived = [r for r in relay.sim.requests[seen:] if r.method == "POST"]
    if not accepted(action, arguments):
        assert result.is_error, (arguments, result.content)
        assert not arrived, f"{arguments} was refused, yet Qovery got {arrived}"
        return
    assert len(arrived) == 1, (arguments, arrived)
    assert unvalidated(arrived[0]) is None, unvalidated(arrived[0])
    if "forceEvent" not in published(action):
        assert not arrived[0].query, arrived[0]
    if "body" not in published(action):
        assert not arrived[0].body, arrived[0]


@given(call_and_arguments=tool_calls())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzed_tool_calls_are_refused_or_reach_qovery_valid(
    fuzz_relay: Relay, call_and_arguments: tuple[Any, dict[str, Any]]
) -> None:
    check_call(fuzz_relay, *call_and_arguments)


@pytest.mark.heavy
@given(call_and_arguments=tool_calls())
@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzed_tool_calls_heavy(fuzz_relay: Relay, call_and_arguments: tuple[Any, dict[str, Any]]) -> None:
    check_call(fuzz_relay, *call_and_arguments)


def test_the_mcp_fuzzing_reached_qovery_and_the_audit_log_kept_up(fuzz_relay: Relay) -> None:
    """Runs after the fuzzing above: some calls got through, and each of those has its audit line."""
    actions = [r for r in fuzz_relay.sim.requests if r.method == "POST"]
    assert actions, "the fuzzer never got a call through to the simulator"
    records = fuzz_relay.audit_outcomes()
    assert len(records) == len(actions)
    assert {r["source"] for r in records} == {"mcp"}
