"""Fuzzing the REST adapter from its own OpenAPI document (schemathesis, valid and invalid inputs):
every answer is one the document lists, none is a 500 of our own, whatever the relay refuses never reaches
Qovery, and whatever reaches Qovery is a valid action call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from qjob_tui.server.schemas import EXAMPLE_JOB_ID
from qjob_tui.simulator import JobSpec, Simulator
from tests.common import DEMO, Relay

from .relay_harness import DEMO_JOBS, relay_in_thread, unvalidated

# Refusals the relay makes itself, before anything is sent upstream.
OUR_REFUSALS = {400, 401, 403, 404, 405, 413}
PROBLEM = "application/problem+json"
FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
}


@pytest.fixture(scope="module")
def fuzz_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """A relay in its own thread in front of the demo simulator, plus one job with the id the document uses
    as its example, so that generated calls reach a real job as well as unknown ones."""
    sim = Simulator(phase_s=0.01)
    environment = DEMO.environments[0].id
    sim.add_job(JobSpec(id=EXAMPLE_JOB_ID, environment_id=environment, name="example-job"))
    audit = tmp_path_factory.mktemp("fuzz") / "audit.jsonl"
    # Unlisted jobs allowed: every well-formed job id goes upstream, so that what reaches Qovery is tested.
    with relay_in_thread(sim, audit, jobs=[*DEMO_JOBS, EXAMPLE_JOB_ID], allow_unlisted_jobs=True) as relay:
        yield relay


@pytest.fixture(scope="module")
def relay_schema(fuzz_relay: Relay) -> Any:
    document = httpx.get(f"{fuzz_relay.rest_url}/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return schema


schema = schemathesis.pytest.from_fixture("relay_schema")


def check_answer(case: Any, relay: Relay) -> None:
    seen = len(relay.sim.requests)
    response = case.call(base_url=relay.rest_url, timeout=15)
    arrived = relay.sim.requests[seen:]
    documented = {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}
    status = response.status_code
    assert status != 500, response.text
    assert status in documented or status == 405, f"{status} is not documented for {case.operation.label}"
    if case.method.upper() == "POST":
        assert len(arrived) <= 1, "one action call, at most one upstream request"
    for request in arrived:
        assert unvalidated(request) is None, unvalidated(request)
    content_type = next(iter(response.headers.get("content-type", [])), "")
    if content_type.startswith(PROBLEM):
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem)
        assert problem["status"] == status
        # Refusals are made before Qovery; a run that is not among the job's runs was looked for there.
        if status in OUR_REFUSALS and problem["type"] != "urn:qjob-tui:problem:run-not-found":
            assert not arrived, f"refused with {status}, yet Qovery got {arrived}"
    elif status != 204:
        assert content_type.startswith("application/json"), content_type
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    checks.append(negative_data_rejection)
    case.validate_response(response, checks=checks)


@schema.parametrize()
@settings(max_examples=30, **FUZZ_SETTINGS)
def test_fuzzed_calls_get_documented_answers_and_only_valid_ones_reach_qovery(
    case: Any, fuzz_relay: Relay
) -> None:
    check_answer(case, fuzz_relay)


@pytest.mark.heavy
@schema.parametrize()
@settings(max_examples=600, **FUZZ_SETTINGS)
def test_fuzzed_calls_heavy(case: Any, fuzz_relay: Relay) -> None:
    check_answer(case, fuzz_relay)


def test_the_fuzzing_reached_qovery_and_the_audit_log_kept_up(fuzz_relay: Relay, relay_schema: Any) -> None:
    """Runs after the fuzzing above (same module): it must have sent valid calls upstream, and the audit log
    has one JSON line per call that reached the pipeline's client."""
    actions = [r for r in fuzz_relay.sim.requests if r.method == "POST"]
    assert actions, "the fuzzer never got a call through to the simulator"
    assert any(r.path.endswith("/logs") for r in fuzz_relay.sim.requests), "no read got through either"
    assert all(unvalidated(r) is None for r in fuzz_relay.sim.requests)
    records = fuzz_relay.audit_outcomes()
    assert len(records) == len(actions)
    assert Path(fuzz_relay.audit_path).stat().st_mode & 0o077 == 0
