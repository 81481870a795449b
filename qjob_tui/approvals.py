"""The operator approves what agents do: one queue of waiting requests per process, the pipeline's gate.

A request of an action in `server.approve` that arrives through an agent's face (REST, MCP over HTTP or
stdio) has been validated; here it waits until the operator answers it, `server.approve_timeout_s` passes
(a timeout never approves), or its caller goes away. Nothing reaches Qovery before a yes.

Someone must be there to answer: the dashboard `open()`s the queue when it starts and `close()`s it when it
quits, which refuses every request still waiting (each caller gets its answer before the process ends).
Without a dashboard (`--serve`, `qjob-tui mcp`) a gated request is refused at once. At most `MAX_WAITING`
wait; the next is refused with the time after which a place is sure to be free.

The queue knows no face: listeners (the dashboard) hear of each arrival and each decision, and the face's
`Caller` tells it when the caller left and how to tell the caller that it still waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qjob_tui.jobs import JobBoard
from qjob_tui.pipeline import ActionRefused, ActionRequest, Approval, Caller, Source, withdrawn_refusal

MAX_WAITING = 50  # requests that may wait at once; beyond, 429 with Retry-After
PROGRESS_EVERY_S = 5.0  # how often a waiting caller hears that it still waits (MCP progress notifications)
# The faces through which agents ask; the dashboard (`tui`) and the one-shot commands (`cli`) are the operator.
AGENT_SOURCES: frozenset[Source] = frozenset({"rest", "mcp"})
OPERATOR_COMMAND = "qjob-tui --server"


@dataclass(eq=False)
class PendingApproval:
    """One request that waits for the operator, with its deadline on the event loop's clock."""

    id: int
    request: ActionRequest
    job_name: str | None
    arrived_at: datetime
    arrived: float  # loop time
    deadline: float  # loop time
    answer: asyncio.Future[Approval] = field(repr=False)  # wakes the request's task, nothing more
    verdict: Approval | None = None  # once decided
    detail: str | None = None  # once refused: why, in the words its caller reads

    @property
    def job_label(self) -> str:
        return self.job_name or self.request.job_id

    def remaining_s(self) -> float:
        """Seconds left before the request times out (0 once decided or past the deadline)."""
        if self.verdict is not None:
            return 0.0
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    @property
    def waiting(self) -> bool:
        return self.verdict is None


@dataclass(frozen=True)
class ApprovalEvent:
    """A request began to wait (`verdict` None), or was decided: approved, refused, timed out, withdrawn."""

    pending: PendingApproval
    verdict: Approval | None
    waited_s: float = 0.0
    detail: str | None = None  # why, in the words the caller reads, for a refusal


ApprovalListener = Callable[[ApprovalEvent], None]


class ApprovalQueue:
    """The requests that wait for the operator, oldest first; the pipeline's gate (`holds`, `wait`)."""

    def __init__(
        self,
        actions: Iterable[str],
        timeout_s: float,
        board: JobBoard | None = None,
        *,
        limit: int = MAX_WAITING,
        sources: frozenset[Source] = AGENT_SOURCES,
        progress_every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        self.actions = frozenset(actions)
        self.timeout_s = timeout_s
        self.board = board
        self.limit = limit
        self.sources = sources
        self.progress_every_s = progress_every_s
        self._waiting: dict[int, PendingApproval] = {}  # insertion order is arrival order
        self._ids = itertools.count(1)
        self._listeners: list[ApprovalListener] = []
        self._operator = False

    # -- who answers ------------------------------------------------------------------------------------

    @property
    def operator_present(self) -> bool:
        return self._operator

    def open(self) -> None:
        """An operator is here to answer (the dashboard started): gated requests wait from now on."""
        self._operator = True

    def close(self, reason: str = "the operator quit the dashboard before answering") -> None:
        """Nobody answers any more: every waiting request is refused (`unavailable`), and later ones at once."""
        self._operator = False
        for pending in list(self._waiting.values()):
            self._decide(pending, Approval.UNAVAILABLE, f"{reason}; {_what(pending)} was not run")

    def subscribe(self, listener: ApprovalListener) -> Callable[[], None]:
        """Call `listener` with every arrival and decision; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def waiting(self) -> list[PendingApproval]:
        """The requests that wait, oldest first."""
        return list(self._waiting.values())

    def oldest(self) -> PendingApproval | None:
        return next(iter(self._waiting.values()), None)

    def answer(self, pending: PendingApproval, approve: bool) -> bool:
        """The operator's answer; False when the request no longer waits (timed out, withdrawn meanwhile)."""
        if not pending.waiting:
            return False
        if approve:
            self._decide(pending, Approval.APPROVED)
        else:
            waited = _seconds(asyncio.get_running_loop().time() - pending.arrived)
            self._decide(
                pending,
                Approval.DENIED,
                f"the operator refused {_what(pending)} after {waited}; nothing was sent to Qovery",
            )
        return True

    # -- the gate ---------------------------------------------------------------------------------------

    def holds(self, request: ActionRequest) -> bool:
        """A request waits when an agent asks for an action that `server.approve` lists."""
        return request.action.name in self.actions and request.source in self.sources

    async def wait(self, request: ActionRequest, caller: Caller) -> Approval:
        """Hold `request` until the operator approves it (returns APPROVED); else raise ActionRefused."""
        if not self._operator:
            raise _refusal(Approval.UNAVAILABLE, request, self._unavailable_detail(request))
        if len(self._waiting) >= self.limit:
            raise self._queue_full(request)
        loop = asyncio.get_running_loop()
        now = loop.time()
        job = self.board.get(request.job_id) if self.board is not None else None
        pending = PendingApproval(
            next(self._ids),
            request,
            job.name if job else None,
            datetime.now(UTC),
            now,
            now + self.timeout_s,
            loop.create_future(),
        )
        self._waiting[pending.id] = pending
        timer = loop.call_at(pending.deadline, self._time_out, pending)
        watches: list[asyncio.Future[Any]] = []
        if caller.departed is not None:  # the caller left first: withdrawn
            departure = asyncio.ensure_future(_departure(caller.departed))
            departure.add_done_callback(lambda _: self._withdraw(pending))
            watches.append(departure)
        if caller.progress is not None:
            watches.append(asyncio.ensure_future(self._report(pending, caller.progress)))
        self._announce(ApprovalEvent(pending, None))
        try:
            # Awaited as it is, not through asyncio.wait: the operator's yes wakes this task at once, and the
            # request is on its way to Qovery before the dashboard repaints.
            verdict = await pending.answer
        finally:
            timer.cancel()
            for watch in watches:
                watch.cancel()
            self._withdraw(pending)  # the face gave up on the request (cancelled): withdrawn
        if verdict is Approval.APPROVED:
            return verdict
        if verdict is Approval.WITHDRAWN:
            raise withdrawn_refusal()
        raise _refusal(verdict, request, pending.detail or "")

    # -- inside -----------------------------------------------------------------------------------------

    def _time_out(self, pending: PendingApproval) -> None:
        if pending.waiting:
            self._decide(
                pending,
                Approval.TIMEOUT,
                f"the operator did not answer within {_seconds(self.timeout_s)}; {_what(pending)} was not run "
                "(a timeout never approves)",
            )

    def _withdraw(self, pending: PendingApproval) -> None:
        if pending.waiting:
            self._decide(pending, Approval.WITHDRAWN, withdrawn_refusal().detail)

    def _decide(self, pending: PendingApproval, verdict: Approval, detail: str | None = None) -> None:
        self._waiting.pop(pending.id, None)
        if not pending.waiting:
            return
        pending.verdict, pending.detail = verdict, detail
        if not pending.answer.done():  # cancelled with the task of a face that gave up
            pending.answer.set_result(verdict)
        waited = asyncio.get_running_loop().time() - pending.arrived
        self._announce(ApprovalEvent(pending, verdict, waited, detail))

    def _unavailable_detail(self, request: ActionRequest) -> str:
        return (
            f"{request.action.name} needs the operator: run {OPERATOR_COMMAND} "
            "(server.approve lists it, and nobody is here to approve it); nothing was sent to Qovery"
        )

    def _queue_full(self, request: ActionRequest) -> ActionRefused:
        # A place is sure to be free once the oldest request times out.
        oldest = self.oldest()
        retry = max(1, math.ceil(oldest.remaining_s())) if oldest is not None else 1
        return _refusal(
            Approval.QUEUE_FULL,
            request,
            f"{self.limit} requests already wait for the operator's approval; try again in {retry}s "
            "(nothing was sent to Qovery)",
            retry_after_s=retry,
        )

    async def _report(
        self, pending: PendingApproval, progress: Callable[[float, float, str], Awaitable[None]]
    ) -> None:
        """Tell the caller now, then every `progress_every_s`, that its request still waits."""
        while True:
            if pending.waiting:
                left = pending.remaining_s()
                message = f"waiting for the operator's approval of {_what(pending)}: {_seconds(left)} left"
                with contextlib.suppress(Exception):  # a caller that cannot hear it still gets its answer
                    await progress(round(self.timeout_s - left, 1), self.timeout_s, message)
            await asyncio.sleep(self.progress_every_s)

    def _announce(self, event: ApprovalEvent) -> None:
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a face's listener must never stop an answer
                listener(event)


_TITLES = {
    Approval.DENIED: "Approval denied",
    Approval.TIMEOUT: "Approval timeout",
    Approval.UNAVAILABLE: "Approval unavailable",
    Approval.QUEUE_FULL: "Approval queue full",
}


def _refusal(
    verdict: Approval, request: ActionRequest, detail: str, *, retry_after_s: int | None = None
) -> ActionRefused:
    status = 429 if verdict is Approval.QUEUE_FULL else 403
    slug = f"approval-{verdict.value}"
    return ActionRefused(
        status, _TITLES[verdict], detail, slug=slug, retry_after_s=retry_after_s, approval=verdict
    )


def _what(pending: PendingApproval) -> str:
    return f"{pending.request.action.name} on {pending.job_label}"


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 10 or value == int(value) else f"{value:.1f}s"


async def _departure(departed: Callable[[], Awaitable[object]]) -> None:
    """Wait for the caller to go away; a watch that fails counts as a departure (nobody could hear an answer)."""
    with contextlib.suppress(Exception):
        await departed()
