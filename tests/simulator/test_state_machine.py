"""The state machine without HTTP: states are computed from the clock when read."""

from __future__ import annotations

import pytest

from qjob_tui.simulator import JobSpec, ManualClock, Simulator, demo_dataset
from qjob_tui.simulator.jobs import (
    DEPLOY,
    STOP,
    UNINSTALL,
    NothingToCancel,
    OperationInProgress,
    OperationKind,
)

DEMO = demo_dataset()
BACKUP = DEMO.job_named("nightly-backup").id
VACUUM = DEMO.job_named("table-vacuum").id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock, phase_s=3.0)


def test_a_deploy_is_queued_then_deploying_then_deployed(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    job.start(DEPLOY)
    seen = []
    for _ in range(8):
        seen.append((job.state, job.status_details[1], job.deployment_requests_count))
        clock.advance(1.0)
    assert seen == [
        ("DEPLOYMENT_QUEUED", "QUEUED", 1),
        ("DEPLOYMENT_QUEUED", "QUEUED", 1),
        ("DEPLOYMENT_QUEUED", "QUEUED", 1),
        ("DEPLOYING", "ONGOING", 1),
        ("DEPLOYING", "ONGOING", 1),
        ("DEPLOYING", "ONGOING", 1),
        ("DEPLOYED", "SUCCESS", 0),
        ("DEPLOYED", "SUCCESS", 0),
    ]


@pytest.mark.parametrize(
    ("kind", "states"),
    [
        (STOP, ("STOP_QUEUED", "STOPPING", "STOPPED")),
        (UNINSTALL, ("DELETE_QUEUED", "DELETING", "DELETED")),
    ],
)
def test_stop_and_uninstall_have_their_own_states(
    sim: Simulator, clock: ManualClock, kind: OperationKind, states: tuple[str, str, str]
) -> None:
    sim.job(BACKUP).start(kind)
    observed = [sim.state_of(BACKUP)]
    clock.advance(3)
    observed.append(sim.state_of(BACKUP))
    clock.advance(3)
    observed.append(sim.state_of(BACKUP))
    assert tuple(observed) == states
    assert sim.job(BACKUP).status_details == (kind.action, "SUCCESS")


def test_a_second_action_while_busy_raises(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    job.start(DEPLOY)
    with pytest.raises(OperationInProgress):
        job.start(STOP)
    clock.advance(5.9)
    with pytest.raises(OperationInProgress):
        job.start(UNINSTALL)
    clock.advance(0.1)
    job.start(STOP)
    assert job.state == "STOP_QUEUED"


def test_nothing_happens_without_the_clock(sim: Simulator) -> None:
    sim.job(BACKUP).start(DEPLOY)
    assert [sim.state_of(BACKUP) for _ in range(5)] == ["DEPLOYMENT_QUEUED"] * 5


def test_a_phase_change_applies_to_the_next_action(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    job.start(DEPLOY)
    sim.phase_s = 0
    assert job.state == "DEPLOYMENT_QUEUED"
    clock.advance(6)
    job.start(DEPLOY)
    assert job.state == "DEPLOYED"
    with pytest.raises(ValueError):
        sim.phase_s = -1


def test_the_deployment_status_follows_the_deploys(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(VACUUM)
    assert (job.state, job.service_deployment_status) == ("READY", "NEVER_DEPLOYED")
    assert job.last_deployment_date() is None
    job.start(DEPLOY)
    assert job.service_deployment_status == "NEVER_DEPLOYED"
    assert job.last_deployment_date() is not None
    clock.advance(6)
    assert job.service_deployment_status == "UP_TO_DATE"
    job.start(DEPLOY)
    assert job.service_deployment_status == "OUT_OF_DATE"


def test_set_state_settles_a_job_at_once(sim: Simulator) -> None:
    sim.job(BACKUP).start(DEPLOY)
    sim.set_state(BACKUP, "DEPLOYMENT_ERROR")
    assert sim.state_of(BACKUP) == "DEPLOYMENT_ERROR"
    assert len(sim.job(BACKUP).clean_failed()) == 1
    assert sim.state_of(BACKUP) == "DEPLOYED"


def test_unknown_jobs_raise_key_error(sim: Simulator) -> None:
    with pytest.raises(KeyError):
        sim.job("nope")
    with pytest.raises(KeyError):
        sim.state_of("nope")


def test_add_job_serves_a_new_job_and_checks_its_environment(sim: Simulator) -> None:
    env_id = DEMO.environments[0].id
    job = sim.add_job(
        JobSpec(id="aaaaaaaa-0000-4000-8000-000000000001", environment_id=env_id, name="extra", fails=True)
    )
    assert sim.state_of(job.id) == "DEPLOYED"
    assert sim.jobs[job.id] is job
    with pytest.raises(ValueError, match="exists already"):
        sim.add_job(JobSpec(id=job.id, environment_id=env_id, name="twin"))
    with pytest.raises(ValueError, match="unknown environment"):
        sim.add_job(JobSpec(id="aaaaaaaa-0000-4000-8000-000000000002", environment_id="x", name="lost"))


def test_two_simulators_of_one_dataset_do_not_share_state(clock: ManualClock) -> None:
    first, second = Simulator(clock=clock), Simulator(clock=clock)
    first.job(BACKUP).start(STOP)
    assert (first.state_of(BACKUP), second.state_of(BACKUP)) == ("STOP_QUEUED", "DEPLOYED")


def test_a_clock_never_goes_back() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


def test_a_canceled_run_is_canceling_for_one_phase_then_canceled(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    run = job.start(DEPLOY)
    clock.advance(4)
    job.cancel()
    seen = []
    for _ in range(4):
        seen.append((job.state, job.status_details, run.state_at(clock.now), job.in_progress))
        clock.advance(1)
    assert seen == [
        ("CANCELING", ("DEPLOY", "CANCELING"), "CANCELING", True),
        ("CANCELING", ("DEPLOY", "CANCELING"), "CANCELING", True),
        ("CANCELING", ("DEPLOY", "CANCELING"), "CANCELING", True),
        ("CANCELED", ("DEPLOY", "CANCELED"), "CANCELED", False),
    ]
    assert (run.ends_at - run.queued_at, job.service_deployment_status) == (7.0, "UP_TO_DATE")


def test_only_a_run_in_progress_can_be_canceled(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    with pytest.raises(NothingToCancel):
        job.cancel()
    job.start(STOP)
    job.cancel()
    with pytest.raises(NothingToCancel):
        job.cancel()
    clock.advance(3)
    with pytest.raises(NothingToCancel):
        job.cancel()
    assert job.runs[0].outcome == "CANCELED"
    assert not job.is_stopped, "the stop was canceled: the job still runs"


def test_set_state_cuts_the_run_in_progress_short(sim: Simulator, clock: ManualClock) -> None:
    job = sim.job(BACKUP)
    run = job.start(DEPLOY)
    clock.advance(1)
    sim.set_state(BACKUP, "STOPPED")
    clock.advance(10)
    assert (job.state, run.state_at(clock.now), run.ends_at - run.queued_at) == ("STOPPED", "STOPPED", 1.0)
