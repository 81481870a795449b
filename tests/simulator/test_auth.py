"""Authentication: Qovery API tokens as `Token <t>`, JWTs as `Bearer <t>`; anything else is a 401."""

from __future__ import annotations

import httpx
import pytest

from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset

from .openapi_check import OpenAPI

JOB_ID = demo_dataset().job_named("nightly-backup").id


@pytest.mark.parametrize(
    "authorization",
    [f"Token {DEMO_TOKEN}", f"Bearer {DEMO_TOKEN}", f"token {DEMO_TOKEN}", f"BEARER {DEMO_TOKEN}"],
)
async def test_token_and_bearer_are_both_accepted(
    raw: httpx.AsyncClient, spec: OpenAPI, authorization: str
) -> None:
    answer = await raw.get(f"/job/{JOB_ID}/status", headers={"Authorization": authorization})
    assert answer.status_code == 200
    spec.check(answer)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Token wrong-token"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {DEMO_TOKEN}"},
        {"Authorization": DEMO_TOKEN},
        {"Authorization": "Token"},
        {"Authorization": f"Token {DEMO_TOKEN}x"},
    ],
    ids=["none", "empty", "wrong-token", "wrong-bearer", "basic", "no-scheme", "scheme-only", "longer"],
)
async def test_a_missing_or_wrong_token_is_401(
    raw: httpx.AsyncClient, spec: OpenAPI, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", f"/job/{JOB_ID}"),
        ("POST", f"/job/{JOB_ID}/deploy"),
        ("GET", "/organization"),
    ]:
        answer = await raw.request(method, path, headers=headers)
        assert answer.status_code == 401
        spec.check(answer)


async def test_a_refused_action_changes_nothing_and_is_recorded(
    raw: httpx.AsyncClient, sim: Simulator
) -> None:
    answer = await raw.post(f"/job/{JOB_ID}/deploy", headers={"Authorization": "Token nope"})
    assert answer.status_code == 401
    assert sim.state_of(JOB_ID) == "DEPLOYED"
    assert sim.job(JOB_ID).accepted_actions == 0
    assert [(r.method, r.path, r.headers["authorization"]) for r in sim.requests] == [
        ("POST", f"/job/{JOB_ID}/deploy", "Token nope")
    ]


async def test_a_simulator_with_its_own_token_refuses_the_demo_one() -> None:
    sim = Simulator(token="s3cret", phase_s=0)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        demo = await client.get("/organization", headers={"Authorization": f"Token {DEMO_TOKEN}"})
        own = await client.get("/organization", headers={"Authorization": "Token s3cret"})
    assert (demo.status_code, own.status_code) == (401, 200)
