"""The async Qovery client shared by every face: authentication, timeouts, retries of reads, typed errors.

One `QoveryClient` (one `httpx.AsyncClient`, one connection pool) per process. Actions are never retried:
they are not idempotent. Reads retry with backoff on 429, 5xx and network errors, honouring `Retry-After`.
The client knows no face. What Qovery says comes back without the token or the URL's credentials, even when
an upstream echoes them (`qjob_tui.redaction`), and no error message names them.

The HTTP stack (httpx and aiohttp: about 110 ms of CPU to import, more than half a bare Textual table's whole
first paint) loads with the first request, not with this module: every core module imports the error types
from here, and building a `QoveryClient` costs nothing, so the dashboard's first frame never waits for it
(`tests/tui/test_startup.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from qjob_tui import __version__, strictjson
from qjob_tui.actions import ForceEvent, JobAction, validate_job_id
from qjob_tui.redaction import Redactor, shown_url

if TYPE_CHECKING:
    import httpx

AuthScheme = Literal["auto", "token", "bearer"]

USER_AGENT = f"qjob-tui/{__version__}"

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def authorization_header(token: str, scheme: AuthScheme = "auto") -> str:
    """The Authorization header for a Qovery token: `Token` for API tokens, `Bearer` for JWTs."""
    if scheme == "auto":
        scheme = "bearer" if _JWT.fullmatch(token) else "token"
    return f"Bearer {token}" if scheme == "bearer" else f"Token {token}"


class QoveryError(Exception):
    """Something went wrong talking to Qovery. `message` is safe to show: it never holds the token."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headline(self) -> str:
        """A few words for a status line: `Qovery unreachable`, `Qovery 429`."""
        return {
            "unreachable": "Qovery unreachable",
            "timeout": "Qovery timed out",
            "bad-response": "Qovery answered non-JSON",
        }.get(self.kind, "Qovery error")


class QoveryHTTPError(QoveryError):
    """Qovery answered with an error status (4xx/5xx). `data` is its JSON body (None when empty)."""

    kind = "http"

    def __init__(
        self, status: int, data: Any, content: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.data = data
        self.content = content
        self.headers = dict(headers or {})
        super().__init__(f"Qovery answered {status}: {qovery_message(data) or _reason(status)}")

    @property
    def headline(self) -> str:
        return f"Qovery {self.status}"

    @property
    def retry_after_s(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class QoveryUnreachable(QoveryError):
    """No answer could be had: connection refused, DNS failure, connection lost mid-answer."""

    kind = "unreachable"


class QoveryTimeout(QoveryError):
    """Qovery did not answer within the configured timeout."""

    kind = "timeout"


class QoveryBadResponse(QoveryError):
    """Qovery answered something that is not JSON (or not the JSON shape expected)."""

    kind = "bad-response"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class QoveryResponse:
    """A successful answer from Qovery: status, raw bytes, decoded JSON (None for an empty body)."""

    status: int
    data: Any
    content: bytes
    content_type: str = "application/json"


def qovery_message(data: Any) -> str | None:
    """Qovery's human message from an error body; it publishes no schema, so look in the usual places."""
    if isinstance(data, dict):
        for key in ("message", "detail", "error_description", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    if isinstance(data, str) and data.strip():
        return data.strip()[:200]
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


@dataclass
class RetryPolicy:
    """How reads are retried: attempts in all, exponential backoff with jitter, Retry-After honoured up to a cap."""

    attempts: int = 4
    base_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        backoff: float = min(self.max_s, self.base_s * (2**attempt))
        return backoff * (0.5 + random.random() / 2)


class _RequestOptions(TypedDict, total=False):
    params: dict[str, str] | None
    content: bytes | None
    headers: dict[str, str] | None


class QoveryClient:
    """The async Qovery API client. Use as an async context manager, or call `aclose()`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        auth_scheme: AuthScheme = "auto",
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 200,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown_url = shown_url(self.base_url)  # for messages: without the user info a URL may carry
        self.redactor = Redactor.for_qovery(token, self.base_url)
        self.timeout_s = timeout_s
        # Requests beyond the pool's size wait here, in one queue with its own clear timeout, whatever transport
        # carries them (httpcore's queue, rescanned on every event, once collapsed at thousands in flight).
        self._slots = asyncio.Semaphore(max_connections)
        self.retry = retry or RetryPolicy()
        self._headers = {
            "Authorization": authorization_header(token, auth_scheme),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self._transport = transport
        self._max_connections = max_connections
        self._opened: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """The one `httpx.AsyncClient` (its pool), built with the first request: see the module's docstring."""
        if self._opened is None:
            import httpx

            from qjob_tui.transport import AiohttpTransport

            self._opened = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=httpx.Timeout(self.timeout_s),
                # httpx's client over aiohttp's pool: a third of the CPU per call of httpx's own (transport.py)
                transport=self._transport or AiohttpTransport(max_connections=self._max_connections),
                follow_redirects=False,
                trust_env=False,  # the Qovery URL is the only place we go; no proxy from the environment
            )
        return self._opened

    async def __aenter__(self) -> QoveryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._opened is not None:  # a client that never asked anything has no pool to close
            await self._opened.aclose()

    # -- actions: exactly one request each, never retried -------------------------------------------

    async def run_action(
        self,
        action: JobAction,
        job_id: str,
        force_event: ForceEvent | None = None,
        body: dict[str, Any] | None = None,
    ) -> QoveryResponse:
        """Run one job action. Raises a QoveryError subclass for anything but a 2xx JSON (or empty 204) answer."""
        path = action.upstream_url(validate_job_id(job_id))
        params = {"forceEvent": force_event.value} if force_event is not None and action.force_event else None
        content = strictjson.dump_bytes(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        return await self._request("POST", path, params=params, content=content, headers=headers)

    # -- reads: retried with backoff ----------------------------------------------------------------

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """`GET /job/{jobId}`: the job's name, type, environment and schedule."""
        data = await self._read(f"/job/{validate_job_id(job_id)}")
        if not isinstance(data, dict):
            raise QoveryBadResponse("GET /job/{id}: expected a JSON object")
        return data

    async def get_job_status(self, job_id: str) -> dict[str, Any]:
        """`GET /job/{jobId}/status`: one job's Status."""
        data = await self._read(f"/job/{validate_job_id(job_id)}/status")
        if not isinstance(data, dict):
            raise QoveryBadResponse("GET /job/{id}/status: expected a JSON object")
        return data

    async def list_environment_jobs(self, environment_id: str) -> list[dict[str, Any]]:
        """`GET /environment/{environmentId}/job`: every job of an environment."""
        env = validate_job_id(environment_id, field="environment id")
        return await self._read_results(f"/environment/{env}/job")

    async def environment_job_statuses(self, environment_id: str) -> list[dict[str, Any]]:
        """`GET /environment/{environmentId}/job/status`: the id and Status of every job of an environment."""
        env = validate_job_id(environment_id, field="environment id")
        return await self._read_results(f"/environment/{env}/job/status")

    async def list_job_runs(self, job_id: str, page_size: int = 20) -> list[dict[str, Any]]:
        """`GET /job/{jobId}/deploymentHistoryV2`: the job's newest `page_size` runs (DeploymentHistoryService),
        newest first. One page only: older runs are not what anyone follows."""
        path = f"/job/{validate_job_id(job_id)}/deploymentHistoryV2"
        data = await self._read(path, params={"pageSize": str(int(page_size))})
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise QoveryBadResponse(
                "GET /job/{id}/deploymentHistoryV2: expected a JSON object with a results list"
            )
        return [item for item in data["results"] if isinstance(item, dict)]

    async def environment_logs(self, environment_id: str, version: str | None = None) -> list[dict[str, Any]]:
        """`GET /environment/{environmentId}/logs[?version=<execution_id>]`: the last 1,000 deployment log lines
        (EnvironmentLogs) of that deployment of the environment — every service's, oldest first. The caller
        has validated `version` (it goes into the query as it is)."""
        env = validate_job_id(environment_id, field="environment id")
        data = await self._read(f"/environment/{env}/logs", params={"version": version} if version else None)
        if not isinstance(data, list):
            raise QoveryBadResponse("GET /environment/{id}/logs: expected a JSON list")
        return [item for item in data if isinstance(item, dict)]

    async def list_organizations(self) -> list[dict[str, Any]]:
        """`GET /organization`: the organizations the token can see."""
        return await self._read_results("/organization")

    async def list_projects(self, organization_id: str) -> list[dict[str, Any]]:
        """`GET /organization/{organizationId}/project`."""
        org = validate_job_id(organization_id, field="organization id")
        return await self._read_results(f"/organization/{org}/project")

    async def list_environments(self, project_id: str) -> list[dict[str, Any]]:
        """`GET /project/{projectId}/environment`."""
        project = validate_job_id(project_id, field="project id")
        return await self._read_results(f"/project/{project}/environment")

    async def _read_results(self, path: str) -> list[dict[str, Any]]:
        """A Qovery list answer (`{"results": [...]}`), following `page` pagination when the answer has it."""
        results: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"page": str(page)} if page > 1 else None
            data = await self._read(path, params=params)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise QoveryBadResponse(f"GET {path}: expected a JSON object with a results list")
            results.extend(item for item in data["results"] if isinstance(item, dict))
            # Qovery's PaginationData: page and page_size; a full page may have a next one.
            page_size = data.get("page_size")
            if not isinstance(page_size, int) or page_size <= 0 or len(data["results"]) < page_size:
                return results
            page += 1
            if page > 1000:  # a runaway server must not keep us looping
                return results

    async def _read(self, path: str, params: dict[str, str] | None = None) -> Any:
        policy = self.retry
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            try:
                response = await self._request("GET", path, params=params)
                return response.data
            except QoveryHTTPError as exc:
                if last or not (exc.status == 429 or exc.status >= 500):
                    raise
                wait = policy.delay(attempt, exc.retry_after_s)
                if exc.retry_after_s is not None and exc.retry_after_s > policy.max_retry_after_s:
                    raise
            except QoveryBadResponse as exc:
                # A proxy's HTML error page in front of Qovery (502/503) passes like Qovery's own 503.
                if last or exc.status is None or not (exc.status == 429 or exc.status >= 500):
                    raise
                wait = policy.delay(attempt, None)
            except (QoveryUnreachable, QoveryTimeout):
                if last:
                    raise
                wait = policy.delay(attempt, None)
            await policy.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(self, method: str, path: str, **options: Unpack[_RequestOptions]) -> QoveryResponse:
        """One exchange; its answer and its errors come back with the secrets replaced (`_scrubbed`)."""
        try:
            response = await self._exchange(method, path, **options)
        except QoveryError as exc:
            raise self._scrubbed(exc) from None
        body, data = self.redactor.body(response.content, response.data)
        if body is response.content:
            return response  # the common answer: the bytes as they came
        return dataclasses.replace(response, content=body, data=data)

    def _scrubbed(self, exc: QoveryError) -> QoveryError:
        """The error without the secrets an upstream may have echoed into its body, headers or message."""
        redactor = self.redactor
        exc.message = redactor.text(exc.message)
        exc.args = (exc.message,)
        if isinstance(exc, QoveryHTTPError):
            exc.content, exc.data = redactor.body(exc.content, exc.data)
            exc.headers = {name: redactor.text(value) for name, value in exc.headers.items()}
        return exc

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> QoveryResponse:
        # One deadline for the whole exchange: a free connection, the request, Qovery's headers and every byte
        # of its body. A per-read timeout would let an upstream that drips a byte a second hold a caller for
        # ever; cancelled by the deadline, the transport closes the connection (nothing is left half-read on it).
        http = self._http  # the HTTP stack is loaded from here on
        import httpx

        waited_for = "free connection to Qovery (too many requests in flight)"
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._slots.acquire()
                try:
                    waited_for = "answer from Qovery"
                    response = await http.request(
                        method, path, params=params, content=content, headers=headers
                    )
                finally:
                    self._slots.release()
        except (TimeoutError, httpx.TimeoutException):
            raise QoveryTimeout(f"{method} {path}: no {waited_for} within {self.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise QoveryUnreachable(
                f"{method} {path}: Qovery is unreachable at {self.shown_url} ({_why(exc)})"
            ) from None
        except httpx.DecodingError:
            raise QoveryBadResponse(
                f"{method} {path}: Qovery's answer could not be decoded (its Content-Encoding does not match its bytes)"
            ) from None
        status = response.status_code
        if not 200 <= status <= 599:  # 1xx are interim (never a final answer), and past 599 is not HTTP
            raise QoveryBadResponse(
                f"{method} {path}: Qovery answered status {status}, which is not a final HTTP status (200-599)",
                status=None,
            )
        raw = response.content
        content_type = response.headers.get("content-type", "")
        data: Any = None
        if raw.strip():
            try:
                data = strictjson.loads(raw)
            except strictjson.JSONRefused as exc:
                raise QoveryBadResponse(
                    f"{method} {path}: Qovery answered {status} with a body that is not JSON "
                    f"({content_type or 'no content type'}, {len(raw)} bytes: {exc})",
                    status=status,
                ) from None
        if status >= 400:
            raise QoveryHTTPError(status, data, raw, response.headers)
        return QoveryResponse(status, data, raw, content_type or "application/json")


def _why(exc: httpx.TransportError) -> str:
    import httpx

    name = type(exc).__name__
    if isinstance(exc, httpx.LocalProtocolError):
        # Our own request was refused before it left, and its text quotes the offending header: the token.
        return f"{name}: the request could not be sent"
    text = str(exc).strip()
    return f"{name}: {text}" if text else name
