"""The composition root: the one Qovery client, job board, audit log, approval queue, pipeline, reads and
lifecycle of a process.

Every face (dashboard, REST, MCP) receives the same `Runtime`. In `--demo` it also runs the embedded
Qovery simulator on a loopback port and points the client at it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from qjob_tui.actions import ACTIONS, JobAction
from qjob_tui.approvals import ApprovalQueue
from qjob_tui.audit import AuditLog
from qjob_tui.config import Settings
from qjob_tui.jobs import JobBoard
from qjob_tui.lifecycle import Lifecycle
from qjob_tui.pipeline import ActionPipeline
from qjob_tui.qovery import QoveryClient
from qjob_tui.reads import JobReads
from qjob_tui.redaction import Redactor, shown_url

STOP_GRACE_S = 1.0  # at the end, how long the faces get to answer the actions stop() interrupted


@dataclass
class Runtime:
    """What every face shares."""

    settings: Settings
    client: QoveryClient
    board: JobBoard
    audit: AuditLog
    pipeline: ActionPipeline
    api_url: str  # where the client talks to (the simulator's loopback URL in --demo)
    approvals: ApprovalQueue  # the pipeline's gate: what agents ask waits here for the dashboard's operator
    actions: tuple[JobAction, ...] = ACTIONS  # the actions every face offers: keys, routes, tools, document
    reads: JobReads = field(init=False)  # a job's Status, facts, runs and logs for every face
    lifecycle: Lifecycle = field(init=False)  # discover, then poll: run by the face that serves
    # What every text leaving the process passes (responses, audit, stderr, the screen): see process_redactor.
    redactor: Redactor = field(init=False)

    def __post_init__(self) -> None:
        self.redactor = process_redactor(self.settings, self.client)
        self.reads = JobReads(self.client, self.board, self.pipeline.allowed_job)
        # A read after an action must see what the action did, not an answer cached just before it.
        self.pipeline.subscribe(lambda outcome: self.reads.forget(outcome.request.job_id))
        interval_s = self.settings.config.qovery.poll_interval_s
        self.lifecycle = Lifecycle(self.board, self.client, interval_s)

    @property
    def demo(self) -> bool:
        return self.settings.demo

    @property
    def read_only(self) -> bool:
        """--read-only (or server.read_only): every face shows and reads, none acts."""
        return self.pipeline.read_only

    @property
    def api_label(self) -> str:
        """DEMO, or the API URL without the user info someone may have put in it."""
        return "DEMO" if self.demo else shown_url(self.api_url)


async def _stop_actions(pipeline: ActionPipeline) -> None:
    """The process ends: every action still waiting for Qovery is answered as interrupted, its outcome line
    written while the audit log is still open, and its face gets a moment to answer its caller."""
    pipeline.stop()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_GRACE_S):
            await pipeline.drained()
            await asyncio.sleep(0)  # the faces' answers go out on the loop's next turn


def process_redactor(settings: Settings, client: QoveryClient) -> Redactor:
    """The secrets of this process: the client's (the Qovery token, the URL's credentials) and the inbound
    server token."""
    server_token = settings.server_token.get_secret_value() if settings.server_token else None
    return Redactor([*client.redactor.secrets, *([server_token] if server_token else [])])


def demo_audit_path(settings: Settings) -> Path:
    """The demo keeps its own audit file, so that play never mixes with real actions."""
    return (
        settings.audit_path.with_name("audit-demo.jsonl")
        if settings.config.audit.path is None
        else (settings.audit_path)
    )


@contextlib.asynccontextmanager
async def open_qovery(settings: Settings) -> AsyncIterator[QoveryClient]:
    """The process's Qovery client: the settings' URL, token, auth scheme and timeout; in --demo, the embedded
    simulator started on a loopback port for as long as the block runs. The one wiring every command uses."""
    async with contextlib.AsyncExitStack() as stack:
        api_url, token = settings.api_url, settings.qovery_token.get_secret_value()
        if settings.demo:
            from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset, serve_simulator

            api_url = await stack.enter_async_context(serve_simulator(Simulator(dataset=demo_dataset())))
            token = DEMO_TOKEN
        client = QoveryClient(
            api_url,
            token,
            auth_scheme=settings.config.qovery.auth_scheme,
            timeout_s=settings.config.qovery.timeout_s,
        )
        stack.push_async_callback(client.aclose)
        yield client


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, actions: tuple[JobAction, ...] = ACTIONS
) -> AsyncIterator[Runtime]:
    """Build the shared parts (starting the simulator in --demo) and close them all on exit. `actions` is
    the action table the faces are built from (a test gives it another row)."""
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(open_qovery(settings))
        board = JobBoard(settings.config.jobs, settings.config.environments)
        if settings.demo and not board.jobs and not board.environments:
            from qjob_tui.simulator import demo_dataset

            board.environments = [env.id for env in demo_dataset().environments]
        redactor = process_redactor(settings, client)
        audit = AuditLog(
            demo_audit_path(settings) if settings.demo else settings.audit_path, redactor=redactor
        )
        stack.push_async_callback(audit.aclose)
        server = settings.config.server
        approvals = ApprovalQueue(server.approve, server.approve_timeout_s, board)
        pipeline = ActionPipeline(
            client,
            board,
            audit,
            allow_unlisted_jobs=server.allow_unlisted_jobs,
            gate=approvals,
            read_only=server.read_only,
        )
        stack.push_async_callback(_stop_actions, pipeline)  # before the audit log and the client close
        yield Runtime(settings, client, board, audit, pipeline, client.base_url, approvals, actions)
