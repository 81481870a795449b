"""The simulator: a Starlette app that answers like Qovery's API for the job actions and reads.

It serves the paths of `reference/qovery-openapi-jobs.yaml` at the root of its base URL
(`POST /job/{jobId}/deploy`, `GET /environment/{environmentId}/job/status`, ...), checks the token like
Qovery does (`Authorization: Token <t>` or `Bearer <t>`), records every request it receives, and lets
tests inject faults. Job states move with the injected clock (see `jobs.py`).

How it answers, in the order it checks:
- 401 without `Token <t>` / `Bearer <t>` (any path); 404 for an unknown path, 405 for a wrong method;
- 400 for a `forceEvent` outside START/STOP/DELETE/CRON, or a body that is not a JSON object (deploy: optional
  non-empty strings `image_tag` / `git_commit_id`, not both; uninstall: any object);
- 404 for an unknown job, environment, organization or project;
- 400 for a `forceEvent` the job does not have (CRON: cron jobs; START/STOP/DELETE: lifecycle hooks it defines);
- 409 while an action is queued or running, and for stopping a job that is STOPPED, READY or DELETED;
- uninstall of a job with nothing deployed (READY or DELETED): 204, no body;
- deploy, redeploy, stop, uninstall: 202 with the queued `Status`; cleanFailedJob: 200.
Error bodies: `{"status": N, "error": "<reason>", "message": "..."}`.

Every 202 starts a run (`jobs.Run`): a row of `GET /job/{jobId}/deploymentHistoryV2` (newest first,
`pageSize` of them, default 20; 400 for a `pageSize` that is not a whole number of at least 1) and an
execution in `GET /environment/{environmentId}/logs?version=<execution_id>` (see `logs.py`). The job's
`Status` carries the `execution_id` of its newest run. `GET /environment/{environmentId}/statuses` answers
the environment's status with its jobs'.

Canceling: `POST /environment/{environmentId}/cancelDeployment` (optional body `{"force_cancel": bool}`)
cancels every run in progress in the environment and answers 202 with its `EnvironmentStatus`;
`POST /deploymentQueue/{deploymentRequestId}/cancelDeployment` cancels that request's runs, 202 without a
body, 404 for a request the simulator never saw. Both answer 409 when there is nothing in progress to
cancel. A canceled run is CANCELING for one phase, then CANCELED (the run and its job).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from qjob_tui.simulator import logs, payloads
from qjob_tui.simulator.dataset import Dataset, EnvironmentSpec, JobSpec, demo_dataset
from qjob_tui.simulator.faults import (
    UNSET,
    Fault,
    ResetResponse,
    TransportLookup,
    TruncatedResponse,
    Unset,
    take_fault,
)
from qjob_tui.simulator.jobs import (
    DEPLOY,
    STOP,
    UNINSTALL,
    NothingToCancel,
    OperationInProgress,
    OperationKind,
    Run,
    SimJob,
    Timing,
)

#: The token `qjob-tui --demo` sends; the simulator accepts it as `Token <t>` and as `Bearer <t>`.
DEMO_TOKEN = "qov-demo-token"

#: Qovery's JobForceEvent enum.
FORCE_EVENTS = frozenset({"START", "STOP", "DELETE", "CRON"})

#: How many runs `deploymentHistoryV2` answers when `pageSize` is not given.
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it.

    `query` maps each query parameter to its value (the last one when a name repeats); `headers` maps
    lower-case header names to values (the last one when a name repeats); `body` is the raw body.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body)


class Refusal(Exception):
    """An error answer (4xx) decided while handling a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Params = Mapping[str, str]
Handler = Callable[[Params, dict[str, str], bytes], Response]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(payloads.error_json(status, message), status_code=status, headers=headers)


class _Endpoint:
    """One path of the API as a plain ASGI app, so that every method reaches the simulator (and is recorded)."""

    def __init__(self, sim: Simulator, handlers: dict[str, Handler]) -> None:
        self._sim = sim
        self._handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._sim._dispatch(Request(scope, receive), self._handlers)
        await response(scope, receive, send)


class Simulator:
    """A stand-in for Qovery's API, for the demo, the tests and the benchmarks.

    `clock` drives the job states (inject a `ManualClock` for deterministic tests); each phase of an action
    lasts `phase_s` seconds (0: actions settle at once); every answer waits `latency_s` first. With
    `record=False` requests are not kept in `requests` (long benchmarks). `wall_start` is the Unix time the
    clock's first value stands for (default: now): fix it and every date and execution id is the same on
    every run.
    """

    def __init__(
        self,
        *,
        token: str = DEMO_TOKEN,
        clock: Callable[[], float] = time.monotonic,
        phase_s: float = 2.0,
        latency_s: float = 0.0,
        dataset: Dataset | None = None,
        record: bool = True,
        wall_start: float | None = None,
    ) -> None:
        if latency_s < 0:
            raise ValueError("latency_s must not be negative")
        self.token = token
        self.latency_s = latency_s
        self.record = record
        #: every request received, in order, including the refused ones (while `record` is true)
        self.requests: list[RecordedRequest] = []
        self._timing = Timing(clock, phase_s, wall_start)
        self.dataset = dataset if dataset is not None else demo_dataset()
        self._organizations = {org.id: org for org in self.dataset.organizations}
        self._projects = {project.id: project for project in self.dataset.projects}
        self._environments: dict[str, EnvironmentSpec] = {}
        self._jobs: dict[str, SimJob] = {}
        self._environment_jobs: dict[str, list[SimJob]] = {}
        for env in self.dataset.environments:
            self.add_environment(env)
        for spec in self.dataset.jobs:
            self.add_job(spec)
        self._faults: list[Fault] = []
        # The servers running this app (see attach_server): how to reach their sockets, when they stop.
        self._servers: list[tuple[TransportLookup, asyncio.Event]] = []
        self._app = self._build_app()

    # --- state, for tests and the demo ---

    @property
    def app(self) -> Starlette:
        """The ASGI app."""
        return self._app

    @property
    def phase_s(self) -> float:
        """How long each phase of an action lasts; a change applies to the actions queued after it."""
        return self._timing.phase_s

    @phase_s.setter
    def phase_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("phase_s must not be negative")
        self._timing.phase_s = value

    @property
    def jobs(self) -> Mapping[str, SimJob]:
        """Every job by id (read-only view)."""
        return MappingProxyType(self._jobs)

    def job(self, job_id: str) -> SimJob:
        """The simulator's state of one job (KeyError if unknown)."""
        return self._jobs[job_id]

    def state_of(self, job_id: str) -> str:
        """The job's state now, per the clock (KeyError if unknown)."""
        return self._jobs[job_id].state

    def add_environment(self, spec: EnvironmentSpec) -> None:
        """Serve one more environment (its project must exist)."""
        if spec.project_id not in self._projects:
            raise ValueError(f"environment {spec.name}: unknown project {spec.project_id}")
        if spec.id in self._environments:
            raise ValueError(f"environment {spec.id} exists already")
        self._environments[spec.id] = spec
        self._environment_jobs[spec.id] = []

    def add_job(self, spec: JobSpec) -> SimJob:
        """Serve one more job (its environment must exist) and return its state."""
        if spec.environment_id not in self._environments:
            raise ValueError(f"job {spec.name}: unknown environment {spec.environment_id}")
        if spec.id in self._jobs:
            raise ValueError(f"job {spec.id} exists already")
        job = SimJob(spec, self._timing)
        self._jobs[spec.id] = job
        self._environment_jobs[spec.environment_id].append(job)
        return job

    def fail_next(self, job_id: str) -> None:
        """Make the job's next deploy or redeploy end in DEPLOYMENT_ERROR."""
        self._jobs[job_id].fail_next = True

    def set_state(self, job_id: str, state: str) -> None:
        """Put a job in a settled state at once (READY, DEPLOYED, DEPLOYMENT_ERROR, STOPPED, DELETED)."""
        self._jobs[job_id].settle(state)

    # --- faults ---

    def inject(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | Unset | None = UNSET,
        json: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        reset: bool = False,
        truncate: bool = False,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` matching requests (None: all of them) with this instead of the normal answer.

        A request matches when its method equals `method` and `re.search(path, url_path)` finds something
        (None matches anything). Faults are tried in the order they were injected; the first match wins.
        The fault waits `delay_s`, then: `reset` drops the connection without an answer; otherwise the
        answer is `status` with `json` (serialised) or `raw` (bytes as-is) and `headers`, or, with
        `status=None`, the normal answer; `truncate` sends that answer with a Content-Length larger than the
        body it sends, then closes. Without json or raw, an error status gets a JSON error body.
        Leaving `status` out means 500, except for a fault that only delays, resets or truncates: that
        one keeps the normal answer.
        """
        self._faults.append(
            Fault.build(
                method=method,
                path=path,
                status=status,
                json=json,
                raw=raw,
                headers=headers,
                delay_s=delay_s,
                reset=reset,
                truncate=truncate,
                times=times,
            )
        )

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    # --- serving ---

    def attach_server(self, lookup: TransportLookup) -> asyncio.Event:
        """Called by a server that starts running this app (serve_simulator).

        `lookup` lets reset and truncate faults reach that server's sockets. The server sets the returned
        event when it stops, which cuts injected delays and latency short so that shutdown never waits.
        """
        stopping = asyncio.Event()
        self._servers.append((lookup, stopping))
        return stopping

    def detach_server(self, lookup: TransportLookup) -> None:
        """Called by a server that stopped: undoes `attach_server`."""
        self._servers = [(known, event) for known, event in self._servers if known is not lookup]

    def _transport_for(self, scope: Scope) -> asyncio.Transport | None:
        for lookup, _ in self._servers:
            transport = lookup(scope)
            if transport is not None:
                return transport
        return None

    async def _sleep(self, seconds: float) -> None:
        if not self._servers:
            await asyncio.sleep(seconds)
            return
        stopping = self._servers[-1][1]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    def _build_app(self) -> Starlette:
        table: list[tuple[str, dict[str, Handler]]] = [
            ("/account", {"GET": self._get_account}),
            ("/organization", {"GET": self._list_organizations}),
            ("/organization/{organizationId}/project", {"GET": self._list_projects}),
            ("/project/{projectId}/environment", {"GET": self._list_environments}),
            ("/environment/{environmentId}/job", {"GET": self._list_jobs}),
            ("/environment/{environmentId}/job/status", {"GET": self._list_job_statuses}),
            ("/job/{jobId}", {"GET": self._get_job}),
            ("/job/{jobId}/status", {"GET": self._get_job_status}),
            ("/job/{jobId}/deploymentHistoryV2", {"GET": self._list_runs}),
            ("/environment/{environmentId}/logs", {"GET": self._list_environment_logs}),
            ("/environment/{environmentId}/statuses", {"GET": self._get_environment_statuses}),
            ("/environment/{environmentId}/cancelDeployment", {"POST": self._cancel_environment_deployment}),
            (
                "/deploymentQueue/{deploymentRequestId}/cancelDeployment",
                {"POST": self._cancel_deployment_request},
            ),
            ("/job/{jobId}/deploy", {"POST": self._deploy}),
            ("/job/{jobId}/redeploy", {"POST": self._redeploy}),
            ("/job/{jobId}/stop", {"POST": self._stop}),
            ("/job/{jobId}/uninstall", {"POST": self._uninstall}),
            ("/job/{jobId}/cleanFailedJob", {"POST": self._clean_failed_job}),
            # Last: every other path, so that unknown paths are recorded and answered in JSON too.
            ("/{path:path}", {}),
        ]
        routes = [Route(path, _Endpoint(self, handlers)) for path, handlers in table]
        app = Starlette(routes=routes)
        # Qovery does not redirect /job/x/ to /job/x: an unknown path is a 404.
        app.router.redirect_slashes = False
        return app

    async def _dispatch(self, request: Request, handlers: dict[str, Handler]) -> Response:
        scope = request.scope
        method: str = scope["method"]
        path: str = scope["path"]
        body = await request.body()
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        if self.record:
            self.requests.append(RecordedRequest(method, path, query, headers, body))
        if self.latency_s > 0:
            await self._sleep(self.latency_s)
        fault = take_fault(self._faults, method, path) if self._faults else None
        if fault is None:
            return self._answer(method, request.path_params, query, headers, body, handlers)
        if fault.delay_s > 0:
            await self._sleep(fault.delay_s)
        if fault.reset:
            return ResetResponse(self._transport_for)
        response = fault.response()
        if response is None:
            response = self._answer(method, request.path_params, query, headers, body, handlers)
        if fault.truncate:
            return TruncatedResponse(response, self._transport_for)
        return response

    def _answer(
        self,
        method: str,
        params: Params,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        handlers: dict[str, Handler],
    ) -> Response:
        if not self._authorized(headers.get("authorization")):
            return _error(401, "Access token is missing or invalid: send 'Authorization: Token <token>'")
        handler = handlers.get(method)
        if handler is None:
            if not handlers:
                return _error(404, "no such resource")
            allow = ", ".join(sorted(handlers))
            return _error(405, f"method {method} not allowed here (allowed: {allow})", {"Allow": allow})
        try:
            return handler(params, query, body)
        except Refusal as refusal:
            return _error(refusal.status, refusal.message)

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return False
        return hmac.compare_digest(credentials.strip().encode(), self.token.encode())

    # --- lookups and checks shared by the handlers ---

    def _job_or_404(self, job_id: str) -> SimJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise Refusal(404, f"job {job_id} not found")
        return job

    def _environment_or_404(self, environment_id: str) -> EnvironmentSpec:
        env = self._environments.get(environment_id)
        if env is None:
            raise Refusal(404, f"environment {environment_id} not found")
        return env

    @staticmethod
    def _force_event(query: dict[str, str]) -> str | None:
        event = query.get("forceEvent")
        if event is not None and event not in FORCE_EVENTS:
            raise Refusal(400, f"forceEvent {event!r} is not one of {', '.join(sorted(FORCE_EVENTS))}")
        return event

    @staticmethod
    def _check_job_has_event(job: SimJob, event: str | None) -> None:
        if event is not None and event not in job.spec.force_events:
            accepted = ", ".join(job.spec.force_events)
            raise Refusal(
                400,
                f"job {job.name} is a {job.spec.job_type.lower()} job without a {event} event "
                f"(it accepts forceEvent {accepted})",
            )

    @staticmethod
    def _json_object(body: bytes, what: str) -> dict[str, Any] | None:
        if not body.strip():
            return None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise Refusal(400, f"the {what} body is not valid JSON") from None
        if not isinstance(value, dict):
            raise Refusal(400, f"the {what} body must be a JSON object")
        return value

    @staticmethod
    def _page_size(query: dict[str, str]) -> int:
        text = query.get("pageSize")
        if text is None:
            return DEFAULT_PAGE_SIZE
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        # Qovery's parameter is a number: 20 and 20.0 are the same page size, 2.5 or 0 is none.
        if not (1 <= value < float("inf")) or value != int(value):
            raise Refusal(400, f"pageSize {text!r} is not a whole number of at least 1")
        return int(value)

    @staticmethod
    def _start(
        job: SimJob,
        kind: OperationKind,
        force_event: str | None = None,
        image_tag: str | None = None,
        git_commit_id: str | None = None,
    ) -> Run:
        try:
            return job.start(kind, force_event=force_event, image_tag=image_tag, git_commit_id=git_commit_id)
        except OperationInProgress as busy:
            raise Refusal(409, str(busy)) from None

    # --- the endpoints ---

    def _get_account(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        return JSONResponse(payloads.account_json(self.dataset.account_id))

    def _list_organizations(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        results = [payloads.organization_json(org) for org in self._organizations.values()]
        return JSONResponse({"results": results})

    def _list_projects(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        organization_id = params["organizationId"]
        if organization_id not in self._organizations:
            raise Refusal(404, f"organization {organization_id} not found")
        results = []
        for project in self._projects.values():
            if project.organization_id == organization_id:
                count = sum(1 for env in self._environments.values() if env.project_id == project.id)
                results.append(payloads.project_json(project, count))
        return JSONResponse({"results": results})

    def _list_environments(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        project = self._projects.get(params["projectId"])
        if project is None:
            raise Refusal(404, f"project {params['projectId']} not found")
        results = [
            payloads.environment_json(env, project.organization_id)
            for env in self._environments.values()
            if env.project_id == project.id
        ]
        return JSONResponse({"results": results})

    def _list_jobs(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        env = self._environment_or_404(params["environmentId"])
        return JSONResponse({"results": [payloads.job_json(job) for job in self._environment_jobs[env.id]]})

    def _list_job_statuses(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        env = self._environment_or_404(params["environmentId"])
        return JSONResponse(
            {"results": [payloads.status_json(job) for job in self._environment_jobs[env.id]]}
        )

    def _get_job(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        return JSONResponse(payloads.job_json(self._job_or_404(params["jobId"])))

    def _get_job_status(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        return JSONResponse(payloads.status_json(self._job_or_404(params["jobId"])))

    def _list_runs(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        page_size = self._page_size(query)
        job = self._job_or_404(params["jobId"])
        return JSONResponse(payloads.history_json(job, page_size, self._timing))

    def _list_environment_logs(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        env = self._environment_or_404(params["environmentId"])
        lines = self.environment_log(env.id, query.get("version") or None)
        organization_id = self._projects[env.project_id].organization_id
        return JSONResponse([payloads.log_json(line, env, organization_id, self._timing) for line in lines])

    def _get_environment_statuses(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        env = self._environment_or_404(params["environmentId"])
        jobs = self._environment_jobs[env.id]
        return JSONResponse(payloads.environment_statuses_json(env, jobs, self._timing))

    def _cancel_environment_deployment(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        request = self._json_object(body, "cancelDeployment") or {}
        if not isinstance(request.get("force_cancel", False), bool):
            raise Refusal(400, "force_cancel must be true or false")
        env = self._environment_or_404(params["environmentId"])
        jobs = self._environment_jobs[env.id]
        # Every run in progress is canceled, with or without force_cancel (the simulator's jobs are all alike).
        canceled = 0
        for job in jobs:
            with contextlib.suppress(NothingToCancel):
                job.cancel()
                canceled += 1
        if not canceled:
            raise Refusal(409, f"environment {env.name} ({env.id}) has no deployment in progress to cancel")
        return JSONResponse(payloads.environment_status_json(env, jobs, self._timing), status_code=202)

    def _cancel_deployment_request(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        self._json_object(body, "cancelDeployment")
        request_id = params["deploymentRequestId"]
        jobs = [job for job in self._jobs.values() if any(run.request_id == request_id for run in job.runs)]
        if not jobs:
            raise Refusal(404, f"deployment request {request_id} not found")
        active = [job for job in jobs if (run := job.active_run) is not None and run.request_id == request_id]
        canceled = 0
        for job in active:
            with contextlib.suppress(NothingToCancel):
                job.cancel()
                canceled += 1
        if not canceled:
            raise Refusal(
                409, f"deployment request {request_id} is not in progress (done or canceled already)"
            )
        return Response(status_code=202)

    def environment_log(self, environment_id: str, version: str | None = None) -> list[logs.LogLine]:
        """The lines `GET /environment/{environmentId}/logs?version=...` answers now (KeyError if unknown)."""
        env = self._environments[environment_id]
        found = logs.executions(env, self._environment_jobs[env.id])
        return logs.environment_log(found, version, self._timing.clock())

    def _deploy(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        event = self._force_event(query)
        request = self._json_object(body, "deploy") or {}
        image_tag = request.get("image_tag")
        git_commit_id = request.get("git_commit_id")
        for name, value in (("image_tag", image_tag), ("git_commit_id", git_commit_id)):
            if name in request and (not isinstance(value, str) or not value):
                raise Refusal(400, f"{name} must be a non-empty string")
        if image_tag is not None and git_commit_id is not None:
            raise Refusal(400, "give image_tag or git_commit_id, not both")
        job = self._job_or_404(params["jobId"])
        self._check_job_has_event(job, event)
        run = self._start(job, DEPLOY, event, image_tag=image_tag, git_commit_id=git_commit_id)
        return JSONResponse(payloads.accepted_status_json(job, run), status_code=202)

    def _redeploy(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        event = self._force_event(query)
        job = self._job_or_404(params["jobId"])
        self._check_job_has_event(job, event)
        run = self._start(job, DEPLOY, event)
        return JSONResponse(payloads.accepted_status_json(job, run), status_code=202)

    def _stop(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        job = self._job_or_404(params["jobId"])
        if job.is_stopped:
            raise Refusal(409, f"job {job.name} is already stopped ({job.state})")
        run = self._start(job, STOP)
        return JSONResponse(payloads.accepted_status_json(job, run), status_code=202)

    def _uninstall(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        self._json_object(body, "uninstall")
        job = self._job_or_404(params["jobId"])
        if not job.in_progress and not job.has_something_deployed:
            # Qovery: "No deployment has been triggered".
            return Response(status_code=204)
        run = self._start(job, UNINSTALL)
        return JSONResponse(payloads.accepted_status_json(job, run), status_code=202)

    def _clean_failed_job(self, params: Params, query: dict[str, str], body: bytes) -> Response:
        job = self._job_or_404(params["jobId"])
        return JSONResponse({"clean_kubernetes_jobs": job.clean_failed()})
