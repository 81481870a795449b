"""The one path every action takes, whatever face it came from: validate -> gate -> intent -> Qovery -> outcome.

A face turns its input into `prepare(...)` (which refuses bad input before anything reaches Qovery) and
awaits `run(request)`, which always returns an `ActionOutcome`: Qovery's answer, or the error that stood
in its way. A gate (the operator's approval: `qjob_tui.approvals`) holds the requests it gates between the face
and Qovery until it lets them through or refuses them; the audit records its answer and how long it took.

The audit is written ahead. An action's intent line reaches the OS before its request leaves for Qovery; an
action whose intent cannot be written (a full disk, a body the encoder cannot write) is refused and never
sent. Its outcome line (the same `id`) follows whatever happens next: Qovery's answer, an error, or an
interruption — `stop()` (the process is going: every action in flight is answered as interrupted, its line
written before `stop()` returns) or a cancellation from outside (the face's task ends). A request the gate
refused never went: one outcome line, no intent. The board and every listener (the dashboard's log pane,
the headless log line) then see the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from qjob_tui import strictjson
from qjob_tui.actions import (
    ACTIONS_BY_NAME,
    ForceEvent,
    InvalidInput,
    JobAction,
    options_text,
    validate_body,
    validate_force_event,
    validate_job_id,
)
from qjob_tui.audit import AuditError, AuditLog, RawJSON, UnrecordableValue
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

    @property
    def explained(self) -> str:
        """The detail with the input at fault first (`body.image_tag: must be a string, not a number`): what
        the caller is answered and what every line about it says."""
        if self.status == 400 and self.field and not self.detail.startswith(self.field):
            return f"{self.field}: {self.detail}"
        return self.detail


class ActionInterrupted(QoveryError):
    """Qovery had the request, and qjob-tui stopped (or the face gave up) before its answer came."""

    kind = "interrupted"

    def __init__(self) -> None:
        super().__init__(
            "qjob-tui stopped before Qovery answered; the request was sent and may have run: "
            "check the job's state before you try again"
        )

    @property
    def headline(self) -> str:
        return "interrupted"


def audit_unavailable(why: str) -> ActionRefused:
    """The refusal of an action whose intent could not be written: nothing was sent."""
    return ActionRefused(
        503,
        "Audit log unavailable",
        f"audit log unavailable: {why}; nothing was sent to Qovery",
        slug="audit-unavailable",
    )


def shutting_down() -> ActionRefused:
    """The refusal of an action that arrives while the process stops: nothing was sent."""
    return ActionRefused(
        503,
        "Shutting down",
        "qjob-tui is stopping; nothing was sent to Qovery: try again once it serves again",
        slug="shutting-down",
    )


Phase = Literal["intent", "outcome"]


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
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # shared by its intent and outcome lines
    sent: bool = False  # its intent is written and it went to Qovery: it may have run
    finished: bool = False  # its outcome is known, recorded and announced
    audit_body: RawJSON | None = None  # the body as its intent line wrote it, for the outcome line

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

    def audit_record(self, phase: Phase = "outcome") -> dict[str, Any]:
        """The audit line of one phase: what was asked (both phases), and what came of it (the outcome)."""
        request = self.request
        record: dict[str, Any] = {
            "id": self.id,
            "phase": phase,
            "time": iso_utc(self.started_at),
            "source": request.source,
            "job_id": request.job_id,
            "job_name": self.job_name,
            "action": request.action.name,
            "forceEvent": request.force_event.value if request.force_event else None,
            "body": self.audit_body if self.audit_body is not None else request.body,
        }
        if phase == "outcome":
            record.update(
                status=self.status,
                duration_ms=round(self.elapsed_s * 1000, 2),
                deployment_request_id=self.deployment_request_id,
                error=self.error_message,
            )
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
        self._in_flight: dict[str, tuple[ActionOutcome, float]] = {}  # id -> (outcome, perf_counter at send)
        self._stopping = False
        self._stop_signal: asyncio.Future[None] | None = None  # done once stop() is called: wakes the sends
        self._idle = asyncio.Event()
        self._idle.set()

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
            self.announce_refusal(action, job_id, source, exc)
            raise
        shown_client = client[:MAX_CLIENT_CHARS] if client else None
        return ActionRequest(found, job, event, payload, source, shown_client)

    def check_writable(self, action: str | JobAction, job_id: object = None, *, source: Source) -> None:
        """Raise ReadOnlyRefused (announced like any refusal) when this qjob-tui runs read-only. A face calls
        it before it reads the rest of a request, so that the refusal is the same whatever else is wrong."""
        if self.read_only:
            refused = ReadOnlyRefused()
            self.announce_refusal(action, job_id, source, refused)
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

    def announce_refusal(
        self, action: str | JobAction, job_id: object, source: Source, exc: ActionRefused
    ) -> None:
        """Tell the refusal listeners of a request refused before Qovery: by prepare() (done here), or by a
        face before it got this far (the relay's guard and routes: `action` the method, `job_id` the path)."""
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
        """Gate, write the intent, send, write the outcome, announce. Never raises for Qovery's errors nor for
        the audit's: they are in the outcome. A cancellation from outside is raised again, once the outcome
        is written.

        `caller` lets the gate learn that the caller left, and tell it that its request waits."""
        job = self.board.get(request.job_id)
        outcome = ActionOutcome(request, datetime.now(UTC), job_name=job.name if job else None)
        started = time.perf_counter()
        if self._stopping:
            outcome.refused = shutting_down()
            return self._finish(outcome, started, record=False)
        if self.gate is not None and self.gate.holds(request):
            try:
                await self._pass_gate(self.gate, request, caller, outcome, started)
            except ActionRefused as exc:  # an attempt that never went: one outcome line, no intent
                outcome.refused = exc
                return self._finish(outcome, started, record=True)
            started = time.perf_counter()  # the duration is Qovery's; the wait is audited apart
        # Stopped while the gate waited, or no intent could be written: refused, nothing sent, no line.
        refusal = shutting_down() if self._stopping else self._write_intent(outcome)
        if refusal is not None:
            outcome.refused = refusal
            return self._finish(outcome, started, record=False)
        self._in_flight[outcome.id] = (outcome, started)
        self._idle.clear()
        try:
            return await self._send(outcome, started)
        finally:
            del self._in_flight[outcome.id]
            if not self._in_flight:
                self._idle.set()

    def _write_intent(self, outcome: ActionOutcome) -> ActionRefused | None:
        """Write the intent line through to the OS; the refusal that stands in the action's way if it cannot be."""
        body = outcome.request.body
        try:
            # Both encodings of the body first, the audit's and the wire's: a body that cannot be written, or
            # cannot be sent, must never go; nor may one reach Qovery unrecorded.
            outcome.audit_body = RawJSON.of(body)
            if body is not None:
                strictjson.dump_bytes(body)
            if self.audit is not None:
                self.audit.append(outcome.audit_record("intent"))
        except (UnrecordableValue, UnicodeEncodeError, RecursionError) as exc:
            why = (
                str(exc)
                if isinstance(exc, UnrecordableValue)
                else "cannot be sent as UTF-8 (it holds a lone surrogate)"
                if isinstance(exc, UnicodeEncodeError)
                else "cannot be written as JSON (nested too deeply)"
            )
            return ActionRefused(400, "Invalid input", f"the body {why}; it was not sent", "body")
        except AuditError as exc:
            return audit_unavailable(str(exc))
        outcome.sent = True
        return None

    async def _send(self, outcome: ActionOutcome, started: float) -> ActionOutcome:
        """The exchange with Qovery, raced against stop(): an answer, an error, or an interruption."""
        request = outcome.request
        exchange = asyncio.ensure_future(
            self.client.run_action(request.action, request.job_id, request.force_event, request.body)
        )
        exchange.add_done_callback(_consume)
        try:
            await asyncio.wait((exchange, self._stopped()), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the face's task ends (the server's grace is over, the app quits)
            exchange.cancel()
            self._interrupt(outcome, started)
            raise
        if not exchange.done():  # stop(): the outcome is recorded already; Qovery's answer will not be heard
            exchange.cancel()
            self._interrupt(outcome, started)
            return outcome
        try:
            response = exchange.result()
        except QoveryHTTPError as exc:
            outcome.error, outcome.status, outcome.data, outcome.content = (
                exc,
                exc.status,
                exc.data,
                exc.content,
            )
        except QoveryError as exc:
            outcome.error = exc
        except (
            Exception
        ) as exc:  # a bug (an encoder's RecursionError...) must not leave the action unrecorded
            outcome.error = QoveryError(
                f"qjob-tui failed on this request ({type(exc).__name__}); it may not have reached Qovery: "
                "check the job's state before you try again"
            )
        else:
            outcome.status, outcome.data, outcome.content = response.status, response.data, response.content
        if outcome.finished:  # stop() came in the same moment as the answer, and recorded it interrupted
            return outcome
        return self._finish(outcome, started, record=True)

    def _stopped(self) -> asyncio.Future[None]:
        if self._stop_signal is None:
            self._stop_signal = asyncio.get_running_loop().create_future()
        return self._stop_signal

    def _interrupt(self, outcome: ActionOutcome, started: float) -> None:
        if not outcome.finished:
            outcome.error = ActionInterrupted()
            self._finish(outcome, started, record=True)

    def stop(self) -> None:
        """The process is going: refuse new actions, and answer every action in flight now as interrupted.

        Their outcome lines are written before this returns; each face answers its caller as soon as the loop
        runs again (`drained()`). Safe to call from a signal handler's callback, and more than once."""
        self._stopping = True
        if self._stop_signal is not None and not self._stop_signal.done():
            self._stop_signal.set_result(None)
        for outcome, started in list(self._in_flight.values()):
            self._interrupt(outcome, started)

    @property
    def in_flight(self) -> int:
        """Actions sent to Qovery whose run() has not returned yet."""
        return len(self._in_flight)

    async def drained(self) -> None:
        """Until no action is in flight (after `stop()`, at once: each returns its interrupted outcome)."""
        await self._idle.wait()

    async def _pass_gate(
        self, gate: Gate, request: ActionRequest, caller: Caller, outcome: ActionOutcome, started: float
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
            self._finish(outcome, started, record=True)
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

    def _finish(self, outcome: ActionOutcome, started: float, *, record: bool) -> ActionOutcome:
        """Write the outcome line (when `record`), update the board, tell the listeners."""
        outcome.finished = True
        outcome.elapsed_s = time.perf_counter() - started
        if self.audit is not None and record:
            try:
                self.audit.append(
                    outcome.audit_record("outcome")
                )  # through to the OS before the face answers
            except (AuditError, UnrecordableValue) as exc:
                # Qovery has already acted: hiding its answer would invite a retry of a non-idempotent action.
                # The outcome still goes out, carrying the failure for every face to show.
                outcome.audit_error = f"the audit log could not be written ({exc})"
        if outcome.refused is None:  # a request the gate stopped did nothing to the job
            request = outcome.request
            self.board.record_action(
                request.job_id,
                request.action.name,
                outcome.summary,
                outcome.ok,
                outcome.data,
                source=request.source,
                options=options_text(request.force_event, request.body),
            )
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a face's listener must never break another face's answer
                listener(outcome)
        return outcome


def _consume(task: asyncio.Future[Any]) -> None:
    """Read an exchange's exception once it is done, so that an abandoned one is not reported as unread."""
    if not task.cancelled():
        task.exception()
