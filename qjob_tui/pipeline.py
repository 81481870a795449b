"""The one path every action takes, whatever face it came from: validate -> gate -> client -> audit -> listeners.

A face turns its input into `prepare(...)` (which refuses bad input before anything reaches Qovery) and
awaits `run(request)`, which always returns an `ActionOutcome`: Qovery's answer, or the error that stood
in its way. The audit log and every listener (the dashboard's log pane, the headless log line) see every
outcome. A gate (the operator's approval: `qjob_tui.approvals`) holds the requests it gates between the face
and Qovery until it lets them through or refuses them; the audit records its answer and how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from qjob_tui.actions import (
    ACTIONS_BY_NAME,
    ForceEvent,
    InvalidInput,
    JobAction,
    validate_body,
    validate_force_event,
    validate_job_id,
)
from qjob_tui.audit import AuditError, AuditLog
from qjob_tui.jobs import JobBoard
from qjob_tui.lines import iso_utc
from qjob_tui.qovery import QoveryClient, QoveryError, QoveryHTTPError, qovery_message

# The face that asked, as the audit log's `source` names it: `tui`, `rest` and `mcp` today (MCP over stdio is
# `mcp` too), `cli` for the one-shot commands. Open: a new face names itself, nothing here changes.
Source = str


MAX_CLIENT_CHARS = (
    200  # a caller's name (User-Agent, MCP clientInfo) is outside input: kept this long at most
)


class Approval(enum.StrEnum):
    """The gate's answer to a gated request, as the audit log's `approval` names it."""

    APPROVED = "approved"  # the operator said yes: the request went on to Qovery
    DENIED = "denied"  # the operator said no
    TIMEOUT = "timeout"  # nobody answered within server.approve_timeout_s; a timeout never approves
    UNAVAILABLE = "unavailable"  # no operator to ask: no dashboard in this process, or it quit
    QUEUE_FULL = "queue-full"  # too many requests waited already
    WITHDRAWN = "withdrawn"  # the caller went away before the operator answered


class ActionRefused(Exception):
    """A request refused before anything reached Qovery: bad input (400), unlisted job (403), or the gate.

    `slug` names the kind of problem when the status alone does not (`approval-denied`); `retry_after_s` goes
    out as Retry-After; `approval` is the gate's answer when the gate refused."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        field: str | None = None,
        *,
        slug: str | None = None,
        retry_after_s: int | None = None,
        approval: Approval | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.slug = slug
        self.retry_after_s = retry_after_s
        self.approval = approval


def withdrawn_refusal() -> ActionRefused:
    """The end of a gated request whose caller went away: nobody reads it but the audit log and the operator."""
    return ActionRefused(
        499,  # "client closed request", as proxies log it: no answer can reach the caller any more
        "Withdrawn",
        "the caller went away before the operator answered; nothing was sent to Qovery",
        slug="approval-withdrawn",
        approval=Approval.WITHDRAWN,
    )


READ_ONLY_DETAIL = (
    "this qjob-tui runs read-only (--read-only, or server.read_only: true in the config): it acts on nothing"
)


class ReadOnlyRefused(ActionRefused):
    """An action asked of a read-only qjob-tui. Every face refuses it: REST 403 `read-only`, MCP lists no action
    tool, the dashboard has no action key, a one-shot command exits 2 (a usage error: the flag said so)."""

    def __init__(self) -> None:
        super().__init__(403, "Read-only", READ_ONLY_DETAIL, slug="read-only")


@dataclass(frozen=True)
class ActionRequest:
    """A validated action on one job, ready to be sent."""

    action: JobAction
    job_id: str
    force_event: ForceEvent | None = None
    body: dict[str, Any] | None = None
    source: Source = "tui"
    client: str | None = None  # who asked, as the caller names itself (User-Agent, MCP clientInfo); raw, cut


@dataclass(frozen=True)
class Caller:
    """What a face can tell the gate about the caller of one request, beyond the request itself."""

    departed: Callable[[], Awaitable[object]] | None = None  # completes once the caller has gone away
    # (waited_s, total_s, message): tells a caller that its request still waits, so that it does not give up
    progress: Callable[[float, float, str], Awaitable[None]] | None = None


NO_CALLER = Caller()


@dataclass
class ActionOutcome:
    """What happened to one request: Qovery's answer, or the error (or refusal) that stood in its way."""

    request: ActionRequest
    started_at: datetime
    elapsed_s: float = 0.0
    status: int | None = None  # Qovery's HTTP status, when it answered
    data: Any = None  # Qovery's JSON
    content: bytes = b""  # Qovery's bytes, relayed as they are
    error: QoveryError | None = None
    refused: ActionRefused | None = None
    job_name: str | None = None
    audit_error: str | None = None  # set when the audit line could not be written
    approval: Approval | None = None  # the gate's answer, for a gated request
    waited_s: float = 0.0  # how long the gate held the request

    @property
    def ok(self) -> bool:
        return self.error is None and self.refused is None and self.status is not None and self.status < 400

    @property
    def deployment_request_id(self) -> str | None:
        data = self.data
        if isinstance(data, dict) and isinstance(data.get("deployment_request_id"), str):
            return str(data["deployment_request_id"])
        return None

    @property
    def error_message(self) -> str | None:
        if self.refused is not None:
            return self.refused.detail
        if self.error is not None:
            return self.error.message
        return None

    @property
    def summary(self) -> str:
        """A short result for tables and log lines: `202`, `409 Operation in progress`, `timeout`."""
        if self.refused is not None:
            return f"refused: {self.refused.detail}"
        if isinstance(self.error, QoveryHTTPError):
            message = qovery_message(self.error.data)
            return f"{self.error.status} {message}" if message else str(self.error.status)
        if self.error is not None:
            return self.error.kind
        return str(self.status)

    def audit_record(self) -> dict[str, Any]:
        request = self.request
        record: dict[str, Any] = {
            "time": iso_utc(self.started_at),
            "source": request.source,
            "job_id": request.job_id,
            "job_name": self.job_name,
            "action": request.action.name,
            "forceEvent": request.force_event.value if request.force_event else None,
            "body": request.body,
            "status": self.status,
            "duration_ms": round(self.elapsed_s * 1000, 2),
            "deployment_request_id": self.deployment_request_id,
            "error": self.error_message,
        }
        if request.client is not None:
            record["client"] = request.client
        if self.approval is not None:
            record["approval"] = self.approval.value
            record["waited_ms"] = round(self.waited_s * 1000, 2)
        return record


@dataclass(frozen=True)
class Refusal:
    """A request some face refused before Qovery: shown to the operator, not audited (nothing was sent)."""

    at: datetime
    source: Source
    action: str
    job_id: str  # as the caller sent it, cut short: it may be anything
    refused: ActionRefused


class Gate(Protocol):
    """What may hold a validated request before Qovery: the operator's approval (`approvals.ApprovalQueue`)."""

    def holds(self, request: ActionRequest) -> bool:
        """Whether `request` must pass this gate (the others go straight on)."""
        ...

    async def wait(self, request: ActionRequest, caller: Caller) -> Approval:
        """Hold the request until it may go on (returns APPROVED) or raise ActionRefused with `approval` set."""
        ...


OutcomeListener = Callable[[ActionOutcome], None]
RefusalListener = Callable[[Refusal], None]


class ActionPipeline:
    """Validates, gates, runs, audits and announces every job action."""

    def __init__(
        self,
        client: QoveryClient,
        board: JobBoard,
        audit: AuditLog | None,
        *,
        allow_unlisted_jobs: bool = False,
        gate: Gate | None = None,
        read_only: bool = False,
    ) -> None:
        self.client = client
        self.board = board
        self.audit = audit
        self.allow_unlisted_jobs = allow_unlisted_jobs
        self.read_only = read_only  # --read-only: every action is refused, whatever face asks
        self.gate = gate
        self._listeners: list[OutcomeListener] = []
        self._refusal_listeners: list[RefusalListener] = []

    def subscribe(self, listener: OutcomeListener) -> Callable[[], None]:
        """Call `listener` with every outcome; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def subscribe_refusals(self, listener: RefusalListener) -> Callable[[], None]:
        """Call `listener` with every request refused by prepare() (bad input, unlisted job)."""
        self._refusal_listeners.append(listener)
        return lambda: self._refusal_listeners.remove(listener)

    def prepare(
        self,
        action: str | JobAction,
        job_id: object,
        force_event: object = None,
        body: object = None,
        *,
        source: Source,
        client: str | None = None,
    ) -> ActionRequest:
        """Validate a request from any face. Raises ActionRefused (400, 403, 404) naming what is wrong.

        `client` is how the caller names itself (a User-Agent, MCP's clientInfo): kept for the operator's
        approval dialog and the audit, cut to MAX_CLIENT_CHARS.

        ReadOnlyRefused first, whatever the request, when this qjob-tui runs read-only."""
        self.check_writable(action, job_id, source=source)
        try:
            found = ACTIONS_BY_NAME.get(action) if isinstance(action, str) else action
            if found is None:
                raise ActionRefused(404, "Unknown action", f"{action!r} is not an action")
            job = self.allowed_job(job_id)
            try:
                event = validate_force_event(found, force_event)
                payload = validate_body(found, body)
            except InvalidInput as exc:
                raise ActionRefused(400, "Invalid input", exc.message, exc.field) from None
        except ActionRefused as exc:
            self._announce_refusal(action, job_id, source, exc)
            raise
        shown_client = client[:MAX_CLIENT_CHARS] if client else None
        return ActionRequest(found, job, event, payload, source, shown_client)

    def check_writable(self, action: str | JobAction, job_id: object = None, *, source: Source) -> None:
        """Raise ReadOnlyRefused (announced like any refusal) when this qjob-tui runs read-only. A face calls
        it before it reads the rest of a request, so that the refusal is the same whatever else is wrong."""
        if self.read_only:
            refused = ReadOnlyRefused()
            self._announce_refusal(action, job_id, source, refused)
            raise refused

    def allowed_job(self, job_id: object) -> str:
        """The job id, if it is a UUID this qjob-tui may touch; else ActionRefused (400, 403). Reads use it too."""
        try:
            job = validate_job_id(job_id)
        except InvalidInput as exc:
            raise ActionRefused(400, "Invalid input", exc.message, exc.field) from None
        if not self.allow_unlisted_jobs and not self.board.is_listed(job):
            raise ActionRefused(
                403,
                "Job not configured",
                f"job {job} is not in this qjob-tui's job list; add it to the config's jobs: "
                "(or set server.allow_unlisted_jobs: true)",
                "jobId",
            )
        return job

    def _announce_refusal(
        self, action: str | JobAction, job_id: object, source: Source, exc: ActionRefused
    ) -> None:
        if not self._refusal_listeners:
            return
        name = action if isinstance(action, str) else action.name
        known = self.board.get(job_id) if isinstance(job_id, str) else None
        shown = (
            (known.label if known else job_id)
            if isinstance(job_id, str)
            else "-"
            if job_id is None
            else repr(job_id)
        )
        refusal = Refusal(datetime.now(UTC), source, name[:40], shown[:80], exc)
        for listener in list(self._refusal_listeners):
            with contextlib.suppress(Exception):
                listener(refusal)

    async def run(self, request: ActionRequest, caller: Caller = NO_CALLER) -> ActionOutcome:
        """Gate, send, audit, announce. Never raises for Qovery's errors: they are in the outcome.

        `caller` lets the gate learn that the caller left, and tell it that its request waits."""
        job = self.board.get(request.job_id)
        outcome = ActionOutcome(request, datetime.now(UTC), job_name=job.name if job else None)
        started = time.perf_counter()
        try:
            if self.gate is not None and self.gate.holds(request):
                await self._pass_gate(self.gate, request, caller, outcome)
                started = time.perf_counter()  # the duration is Qovery's; the wait is audited apart
            response = await self.client.run_action(
                request.action, request.job_id, request.force_event, request.body
            )
        except ActionRefused as exc:
            outcome.refused = exc
        except QoveryHTTPError as exc:
            outcome.error, outcome.status, outcome.data, outcome.content = (
                exc,
                exc.status,
                exc.data,
                exc.content,
            )
        except QoveryError as exc:
            outcome.error = exc
        else:
            outcome.status, outcome.data, outcome.content = response.status, response.data, response.content
        outcome.elapsed_s = time.perf_counter() - started
        self._finish(outcome)
        return outcome

    async def _pass_gate(
        self, gate: Gate, request: ActionRequest, caller: Caller, outcome: ActionOutcome
    ) -> None:
        """Wait at the gate, noting its answer and the wait on the outcome; raises ActionRefused when refused."""
        gated_at = time.perf_counter()
        try:
            outcome.approval = await gate.wait(request, caller)
        except ActionRefused as exc:
            outcome.approval = exc.approval
            outcome.waited_s = time.perf_counter() - gated_at
            raise
        except asyncio.CancelledError:
            # The face gave up on the request (its caller left): that attempt is audited too, then it ends.
            outcome.waited_s = time.perf_counter() - gated_at
            outcome.refused = withdrawn_refusal()
            outcome.approval = outcome.refused.approval
            self._finish(outcome)
            raise
        outcome.waited_s = time.perf_counter() - gated_at

    async def perform(
        self,
        action: str | JobAction,
        job_id: object,
        force_event: object = None,
        body: object = None,
        *,
        source: Source,
    ) -> ActionOutcome:
        """prepare() then run(); a refusal by prepare() is raised, not returned."""
        return await self.run(self.prepare(action, job_id, force_event, body, source=source))

    def _finish(self, outcome: ActionOutcome) -> None:
        if self.audit is not None:
            try:
                self.audit.append(outcome.audit_record())  # through to the OS before the face answers
            except (AuditError, OSError) as exc:
                # Qovery has already acted: hiding its answer would invite a retry of a non-idempotent action.
                # The outcome still goes out, carrying the failure for every face to show.
                outcome.audit_error = f"the audit log could not be written ({exc})"
        if outcome.refused is None:  # a request the gate stopped did nothing to the job
            self.board.record_action(
                outcome.request.job_id, outcome.request.action.name, outcome.summary, outcome.ok, outcome.data
            )
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a face's listener must never break another face's answer
                listener(outcome)
