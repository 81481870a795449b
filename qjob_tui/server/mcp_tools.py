"""The MCP face's tools, apart from any transport: one per action of the table, and the reads (list-jobs,
get-job-status, get-job-runs, get-job-logs).

`build_mcp_server(runtime)` is the official SDK's `MCPServer` with its tools, generated from the action table.
A transport serves it: Streamable HTTP at /mcp (`mcp_http.py`) or stdio (`mcp_stdio.py`, `qjob-tui mcp`), with
the same tools. Every tool declares an outputSchema (`schemas.output_schema`) and every result that is not an
error carries structured content that fits it: clients validate it. Importing this module imports the SDK (about half a second): only the relay's start does it,
never the dashboard alone. Every action goes through the shared pipeline with source "mcp", every read
through `runtime.reads`; the tools validate with the same checks as REST (`qjob_tui.actions`), so the schemas
below describe and the pipeline decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import WithJsonSchema

from qjob_tui import __version__, strictjson
from qjob_tui.actions import JobAction
from qjob_tui.pipeline import (
    NO_CALLER,
    ActionInterrupted,
    ActionOutcome,
    ActionPipeline,
    ActionRefused,
    Caller,
)
from qjob_tui.qovery import QoveryError, QoveryHTTPError, qovery_message
from qjob_tui.reads import RunNotFound
from qjob_tui.runtime import Runtime
from qjob_tui.server.guard import departure_of, user_agent
from qjob_tui.server.problems import not_json, refusal_problem, refuse_empty_force_event, upstream_problem
from qjob_tui.server.schemas import (
    action_answer_schema,
    body_schema,
    force_event_schema,
    job_id_schema,
    output_schema,
    run_schema,
    schema_ref,
    target_id_schema,
)
from qjob_tui.server.views import jobs_view, logs_view, runs_view

READ_ONLY_INSTRUCTIONS = (
    "This qjob-tui runs read-only: it acts on no job, and lists only its read tools. Call list-jobs for the "
    "jobs and their last known state, get-job-status for a fresh state, get-job-runs and get-job-logs for "
    "a job's recent runs and their deployment logs."
)


def instructions(actions: Sequence[JobAction]) -> str:
    """The server's instructions to agents: what the tools do, how to use them, and each action's own caution."""
    if not actions:
        return READ_ONLY_INSTRUCTIONS
    verbs = [action.verb for action in actions]
    listed = ", ".join(verbs[:-1]) + f" and {verbs[-1]}" if len(verbs) > 1 else "".join(verbs)
    notes = "".join(f" {action.tool} {action.agent_note}" for action in actions if action.agent_note)
    return (
        f"Tools for the Qovery job actions: {listed}. Call list-jobs "
        "first: it gives the job ids (jobId) you may act on, their type (CRON or LIFECYCLE), the events they have "
        "(forceEvent) and their last known state. After an action, call get-job-status until the state settles; "
        "get-job-runs lists a job's runs and get-job-logs shows a run's deployment log (its errors come with a hint). "
        f"Qovery answers 409 while an operation is in progress: wait, then try again.{notes}"
    )


def build_mcp_server(runtime: Runtime, *, operator: bool = True) -> MCPServer:
    """The MCP server with every tool (only the read tools when read-only), for any transport to serve.
    `operator`: a dashboard runs beside it to approve what `server.approve` gates (`--server`); without one
    (`--serve`, `qjob-tui mcp`) the instructions say that those tools are refused."""
    actions = () if runtime.read_only else runtime.actions
    text = instructions(actions) + approval_note(
        actions, runtime.approvals.actions, runtime.approvals.timeout_s, operator=operator
    )
    server = _quiet_mcp_server(build_tools(runtime), text)
    if runtime.read_only:
        server.withheld = {action.tool: action for action in runtime.actions}
        server.pipeline = runtime.pipeline
    return server


def approval_note(
    actions: Sequence[JobAction], gated: Iterable[str], timeout_s: float, *, operator: bool = True
) -> str:
    """What agents must know of `server.approve`: those tools wait for a human, who may say no; or, with no
    dashboard to ask, are refused at once (an agent told to wait would only wonder why it was not asked)."""
    tools = [action.tool for action in actions if action.name in set(gated)]
    if not tools:
        return ""
    if not operator:
        return (
            f" {', '.join(tools)} {'needs' if len(tools) == 1 else 'need'} the operator's approval, and this "
            "qjob-tui runs without its dashboard, where the operator answers: they are refused "
            "(approval-unavailable) and nothing is sent to Qovery. Tell your user rather than trying again "
            "(the operator can run qjob-tui --server)."
        )
    return (
        f" {', '.join(tools)} wait for the operator's approval in the qjob-tui dashboard (up to "
        f"{timeout_s:.0f}s) before anything is sent to Qovery; send a progressToken to hear that the call still "
        "waits. A refusal says so (approval-denied, approval-timeout, approval-unavailable): tell your user "
        "rather than trying again."
    )


def build_tools(runtime: Runtime) -> list[Tool]:
    """One tool per action of the runtime's table (none when read-only: an agent is not shown what it may
    not do), then the read-only tools."""
    tools = [
        _tool(
            _action_tool(runtime, action),
            _action_inputs(action),
            required=(action.target.tool_input,),
            output=action_answer_schema(action),
            name=action.tool,
            description=f"{action.description} {action.target.scope_note}",
            annotations=ToolAnnotations(
                title=action.summary,
                read_only_hint=False,
                destructive_hint=action.destructive,
                idempotent_hint=False,
                open_world_hint=True,
            ),
        )
        for action in runtime.actions
        if not runtime.read_only
    ]
    return tools + read_tools(runtime)


Read = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class _ReadTool:
    """A read-only tool: what it takes, what it answers (a named schema) and how it reads."""

    name: str
    title: str
    description: str
    inputs: dict[str, dict[str, Any]]
    output: str
    read: Read
    open_world: bool = True  # it asks Qovery (list-jobs reads the board)


def read_tools(runtime: Runtime) -> list[Tool]:
    """The read-only tools (the same data as the REST reads): every face may offer these, whatever it may act on."""
    reads, allowed_job = runtime.reads, runtime.pipeline.allowed_job

    async def jobs(arguments: dict[str, Any]) -> dict[str, Any]:
        return jobs_view(runtime)

    async def status(arguments: dict[str, Any]) -> dict[str, Any]:
        return await reads.status(arguments.get("jobId"))

    async def runs(arguments: dict[str, Any]) -> dict[str, Any]:
        job = allowed_job(arguments.get("jobId"))
        return runs_view(job, await reads.runs(job))

    async def logs(arguments: dict[str, Any]) -> dict[str, Any]:
        job = allowed_job(arguments.get("jobId"))
        return logs_view(job, await reads.logs(job, arguments.get("run")))

    job = {"jobId": job_id_schema()}
    specs = [
        _ReadTool(
            "list-jobs",
            "List the jobs",
            "The Qovery jobs this relay can act on: id (the jobId of the other tools), name, environment, "
            "type (CRON or LIFECYCLE), the events a forceEvent may name, the last known state and the last "
            "action. States are refreshed in the background; use get-job-status for a fresh one.",
            {},
            "JobList",
            jobs,
            open_world=False,
        ),
        _ReadTool(
            "get-job-status",
            "Get a job's status",
            "Ask Qovery for one job's current Status (state, last_deployment_date, deployment_request_id). "
            "Use it after an action to follow the job until its state settles (e.g. DEPLOYED, "
            "DEPLOYMENT_ERROR, STOPPED).",
            job,
            "Status",
            status,
        ),
        _ReadTool(
            "get-job-runs",
            "List a job's runs",
            "A job's last 20 runs, newest first: execution_id, state, settled, when it was created and updated, "
            "who triggered it and from where, how long it took (null while it runs), the version it deployed. "
            "Give a run's execution_id to get-job-logs to read its deployment log.",
            job,
            "JobRuns",
            runs,
        ),
        _ReadTool(
            "get-job-logs",
            "Read a run's deployment log",
            "The deployment log of a job's newest run, or of the run whose execution_id is given as run: the "
            "job's own lines, oldest first, each with its kind (info, warning, error), step and message; an "
            "error line carries a hint (what to do) and a link. settled says whether the run is over; while "
            "it is not, call again for the lines written since.",
            {**job, "run": run_schema()},
            "JobLog",
            logs,
        ),
    ]
    return [
        _tool(
            _read_tool(spec, runtime.pipeline),
            spec.inputs,
            required=tuple(key for key in spec.inputs if key == "jobId"),
            output=schema_ref(spec.output),
            name=spec.name,
            description=spec.description,
            annotations=ToolAnnotations(
                title=spec.title, read_only_hint=True, idempotent_hint=True, open_world_hint=spec.open_world
            ),
        )
        for spec in specs
    ]


def _action_inputs(action: JobAction) -> dict[str, dict[str, Any]]:
    """The inputs of an action's tool: its target's id (jobId: the capability spec forgot it), then what the
    action takes."""
    inputs = {action.target.tool_input: target_id_schema(action.target)}
    if action.force_event:
        inputs["forceEvent"] = force_event_schema()
    body = body_schema(action)
    if body is not None:
        inputs["body"] = body
    return inputs


def _tool(
    fn: Callable[..., Any],
    inputs: dict[str, dict[str, Any]],
    *,
    required: Sequence[str] = (),
    output: dict[str, Any],
    name: str,
    description: str,
    annotations: ToolAnnotations,
) -> Tool:
    """A tool whose arguments the SDK hands over as they came; it publishes `inputs` as the schema, with
    `required` (the id of what it acts on) required. The pipeline validates the values, so that a bad input (a missing jobId too) gets the
    same message on MCP as on REST. A function with a `ctx` parameter gets the SDK's Context there. `output` is
    the schema of its structured content (a `$ref` to a named schema, or a schema), its outputSchema."""
    parameters = [
        inspect.Parameter(
            key,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[Any, WithJsonSchema(schema)],
        )
        for key, schema in inputs.items()
    ]
    wants_context = "ctx" in inspect.signature(fn, follow_wrapped=False).parameters
    fn.__signature__ = inspect.Signature(parameters, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    tool = Tool.from_function(
        fn,
        name=name,
        title=annotations.title,
        description=description,
        annotations=annotations,
        context_kwarg="ctx" if wants_context else None,
    )
    tool.parameters = {
        "type": "object",
        "properties": {key: {**schema, "title": key} for key, schema in inputs.items()},
        "required": list(required),
        "additionalProperties": False,
    }
    # Published, not validated by the SDK (no output model): the results are built to fit, and tests prove it.
    tool.fn_metadata.output_schema = output_schema(output)
    # The SDK's argument model drops unknown keys, and forbidding them there answers with pydantic's trace; keep
    # them instead, so that the tool refuses them in our words (`refuse_unknown_arguments`), as REST refuses
    # unknown query parameters: a mistyped `forceevent` must not turn into a plain deploy.
    loose = tool.fn_metadata.arg_model

    def with_extras(model: Any) -> dict[str, Any]:
        return {**(model.model_extra or {}), **loose.model_dump_one_level(model)}

    keeping = type(
        loose.__name__,
        (loose,),
        {"model_config": {**loose.model_config, "extra": "allow"}, "model_dump_one_level": with_extras},
    )
    tool.fn_metadata = _ArgumentsAsSent(arg_model=keeping, output_schema=tool.fn_metadata.output_schema)
    return tool


class _ArgumentsAsSent(FuncMetadata):
    """The SDK's argument handling without its lenient pre-parse: it reads any string argument that looks like
    JSON with Python's own parser (NaN, a key given twice: the last wins), past `strictjson`. The one argument
    some agents send as a JSON text, `body`, is read strictly by the tool (`_object_from_text`)."""

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(data)


def _object_from_text(value: Any) -> Any:
    """An object argument sent as a JSON text (`"{\"image_tag\": \"v1\"}"`), read as strictly as a REST body;
    any other value as it came (the pipeline refuses what is not an object)."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return value
    try:
        return strictjson.loads(value)
    except strictjson.JSONRefused as exc:
        raise not_json(str(exc)) from None


def refuse_unknown_arguments(tool: str, inputs: Iterable[str], arguments: dict[str, Any]) -> None:
    """Refuse the arguments a tool does not take, naming them and what it takes."""
    known = list(inputs)
    unknown = sorted(key for key in arguments if key not in known)
    if unknown:
        takes = f"only {', '.join(known)}" if known else "none"
        raise ActionRefused(
            400,
            "Invalid input",
            f"unknown argument(s) {', '.join(unknown)}; {tool} takes {takes}",
            unknown[0],
        )


class _RelayMCPServer(MCPServer):
    """The SDK's server, except that a call of an action tool a read-only relay does not list is refused as
    REST refuses it (403 read-only, announced), not as an "Unknown tool": an agent or a script that knew the
    tool hears why it is gone."""

    withheld: dict[str, JobAction] = {}
    pipeline: ActionPipeline | None = None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        action = self.withheld.get(name)
        if action is not None and self.pipeline is not None:
            try:
                self.pipeline.check_writable(action, arguments.get(action.target.tool_input), source="mcp")
            except ActionRefused as exc:
                return _refused(exc)
        return await super().call_tool(name, arguments, context)


def _quiet_mcp_server(tools: list[Tool], instructions: str) -> _RelayMCPServer:
    """An MCPServer that leaves the process's logging alone (its constructor would otherwise install a
    handler on the root logger, which would print over the dashboard)."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    with _temporarily_added(root, placeholder):
        return _RelayMCPServer(
            "qjob-tui", version=__version__, instructions=instructions, tools=tools, log_level="WARNING"
        )


@contextlib.contextmanager
def _temporarily_added(logger: logging.Logger, handler: logging.Handler) -> Iterator[None]:
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


# -- the tools -------------------------------------------------------------------------------------------


def _action_tool(runtime: Runtime, action: JobAction) -> Callable[..., Any]:
    pipeline = runtime.pipeline
    inputs = _action_inputs(action)

    async def run_action(ctx: Context | None = None, **arguments: Any) -> CallToolResult:
        client, caller = caller_of(ctx)
        try:  # what the face checks before the pipeline's own checks (which announce their refusals)
            refuse_unknown_arguments(action.tool, inputs, arguments)
            refuse_empty_force_event(arguments.get("forceEvent"))
            body = _object_from_text(arguments.get("body"))
        except ActionRefused as exc:
            pipeline.announce_refusal(action, arguments.get(action.target.tool_input), "mcp", exc)
            return _refused(exc)
        try:
            request = pipeline.prepare(
                action,
                arguments.get(action.target.tool_input),
                arguments.get("forceEvent"),
                body,
                source="mcp",
                client=client,
            )
        except ActionRefused as exc:
            return _refused(exc)
        try:
            outcome = await pipeline.run(request, caller)
        except asyncio.CancelledError:
            # The server stops and its grace is over: the outcome line is written (interrupted); the agent
            # hears so rather than a dropped call.
            return _upstream_error(ActionInterrupted())
        return outcome_result(outcome)

    run_action.__name__ = action.tool.replace("-", "_")
    return run_action


def caller_of(ctx: Context | None) -> tuple[str | None, Caller]:
    """Who calls (MCP's clientInfo.name; over stateless HTTP in the 2025 era there is none, then the
    User-Agent), how to learn that it left (the guard's watch on the HTTP connection; none on stdio), and how
    to tell it that its request waits (progress notifications, sent when it gave a progressToken)."""
    try:
        context = ctx.request_context if ctx is not None else None
    except ValueError:  # a Context outside a request
        context = None
    if context is None:
        return None, NO_CALLER
    params = context.session.client_params
    name = params.client_info.name if params is not None and params.client_info is not None else None
    scope = getattr(context.request, "scope", None)  # Starlette's Request over HTTP; None on stdio
    if name is None and scope is not None:
        name = user_agent(scope)
    departure = departure_of(scope) if scope is not None else None
    assert ctx is not None
    return name, Caller(departed=departure.wait if departure else None, progress=ctx.report_progress)


def _read_tool(spec: _ReadTool, pipeline: ActionPipeline) -> Callable[..., Any]:
    async def read(**arguments: Any) -> CallToolResult:
        try:
            refuse_unknown_arguments(spec.name, spec.inputs, arguments)
            view = await spec.read(arguments)
        except ActionRefused as exc:
            # The operator hears of it, as of a refused REST read: an agent that keeps asking wrongly shows.
            pipeline.announce_refusal(spec.name, arguments.get("jobId"), "mcp", exc)
            return _refused(exc)
        except QoveryError as exc:
            return _upstream_error(exc)
        return CallToolResult(content=[_text(json.dumps(view, indent=2))], structured_content=view)

    read.__name__ = spec.name.replace("-", "_")
    return read


# -- results ---------------------------------------------------------------------------------------------


def outcome_result(outcome: ActionOutcome) -> CallToolResult:
    """Qovery's JSON as structured content and as text; any failure as an isError result that names the
    status and Qovery's message."""
    if outcome.refused is not None:
        return _refused(outcome.refused)
    if outcome.error is not None:
        return _upstream_error(outcome.error)
    status = outcome.status
    if not outcome.content.strip():
        text = f"Qovery answered {status} {_phrase(status)} with no body"
        meaning = outcome.request.action.no_content
        if status == 204 and meaning:
            text += f": {meaning}"
        # The tool's outputSchema wants structured content on every result that is not an error.
        return CallToolResult(content=[_text(text)], structured_content={"status": status, "detail": text})
    structured = outcome.data if isinstance(outcome.data, dict) else {"result": outcome.data}
    return CallToolResult(
        content=[_text(outcome.content.decode("utf-8", "replace"))], structured_content=structured
    )


def _upstream_error(error: QoveryError) -> CallToolResult:
    if isinstance(error, QoveryHTTPError):
        message = qovery_message(error.data) or _phrase(error.status)
        text = f"Qovery answered {error.status} {_phrase(error.status)}: {message}"
        if error.status == 409:
            # Qovery's 409 is "an operation is in progress" or "already in that state" (stop of a stopped job):
            # what to do is the same, and its own message above says which.
            text += " (the job is busy or already so: call get-job-status, and once it settles decide again)"
        structured: dict[str, Any] = {"status": error.status, "message": message, "qovery": error.data}
    else:
        status = int(upstream_problem(error)["status"])
        text = f"{status} {_phrase(status)}: {error.message}"
        structured = {"status": status, "message": error.message}
    return CallToolResult(content=[_text(text)], structured_content=structured, is_error=True)


def _refused(exc: ActionRefused) -> CallToolResult:
    body = refusal_problem(exc)
    if isinstance(exc, RunNotFound):  # Qovery was asked: the run is not among the job's runs
        text = f"{exc.title} ({exc.status}): {body['detail']}"
    else:
        text = f"Refused before Qovery ({exc.status} {exc.title}): {body['detail']}"
    return CallToolResult(content=[_text(text)], structured_content=body, is_error=True)


def _text(text: str) -> TextContent:
    return TextContent(type="text", text=text)


def _phrase(status: int | None) -> str:
    try:
        return HTTPStatus(status or 0).phrase
    except ValueError:
        return ""
