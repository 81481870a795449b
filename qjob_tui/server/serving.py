"""How the relay is served: the REST and MCP apps on two uvicorn servers in the current event loop.

`RelayServers` binds both ports itself (so that a port in use is a readable `ConfigError`, and port 0 gives a
free port), runs uvicorn without its signal handling (the caller owns the signals: the headless loop or
the dashboard), and on exit stops accepting, lets in-flight requests finish, then closes the ports.

Limits that hold whatever the clients do (`ServerLimits`): at most `max_connections` open connections per
server (beyond, a new one gets a 503 and is closed, within a second, without a parser or an app); a connection with no
request under way closes after `idle_timeout_s`, and a request must arrive whole (head and body) within
`request_timeout_s` of its first byte (408), so that idle, half-open or trickling connections hold nothing
for long; at most `max_streams` open `GET /mcp` streams (the guard's `OpenStreams`). On stop, the streams
end at once (they owe nobody an answer), idle connections close, the requests in flight have
`shutdown_grace_s` to be answered, and then they are cancelled: a stop takes about a second and a half
whatever is open.

The MCP SDK costs about half a second to import. The MCP port is bound at once, so its number is known
and clients can connect; the SDK is imported in a worker thread and the MCP server starts serving the
queued connections as soon as it is ready. The dashboard of `--server` does not wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import importlib
import logging
import resource
import socket
import sys
import termios
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from qjob_tui.config import ConfigError
from qjob_tui.listeners import stop_accepting
from qjob_tui.pipeline import ActionPipeline, ActionRefused
from qjob_tui.runtime import Runtime
from qjob_tui.server.guard import GuardRefusal, OpenStreams, RefusalHook
from qjob_tui.server.problems import encode_problem, problem
from qjob_tui.server.rest import build_rest_app
from qjob_tui.server.schemas import MCP_PATH

LogLine = Callable[[str], None]

_LOGGERS = ("uvicorn", "mcp", "qjob_tui.server")
_BACKLOG = 2048
LIFESPAN_END_S = 1.0  # after a forced stop, how long an app's lifespan gets to end


@dataclass(frozen=True)
class ServerLimits:
    """What one relay server holds at most, and for how long (see the module's docstring)."""

    max_connections: int = 4096  # per server (fewer when the process may not open that many files)
    max_streams: int = 100  # open GET /mcp streams
    # A connection with no request under way (new, or kept alive after one): well past the keep-alive of the
    # clients' pools (httpx 5 s, aiohttp 15 s), so that a client never sends on a connection being closed.
    idle_timeout_s: float = 30.0
    request_timeout_s: float = 10.0  # from a request's first byte to its last
    shutdown_grace_s: float = 1.0  # for the requests in flight, once a stop begins


def _problem_response(status: int, title: str, detail: str, reason: str) -> bytes:
    """A whole problem response as bytes, for a connection the relay answers and closes below ASGI."""
    body = encode_problem(problem(status, title, detail))
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


_SERVER_FULL = _problem_response(
    503,
    "Too many connections",
    "the relay holds as many connections as it serves; try again",
    "Service Unavailable",
)
_REQUEST_TIMEOUT = _problem_response(
    408, "Request timeout", "the request did not arrive whole in time; send it at once", "Request Timeout"
)
_NOT_HTTP = _problem_response(
    400,
    "Bad request",
    "not an HTTP/1.1 request the relay can read (a malformed line or header, or a body framed by both "
    "Content-Length and Transfer-Encoding)",
    "Bad Request",
)


class _BoundedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with the relay's limits: a cap on connections, an idle and a request
    deadline, and problem JSON for what its parser refuses. One subclass per server carries its limits."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    _deadline: asyncio.TimerHandle | None = None
    _overflow = False  # over the cap: answered 503 as soon as the request comes (or in a second), then closed
    _reading = False  # a request has begun and has not arrived whole
    _idle_since = 0.0  # when the connection was last idle from (made, or its last answer complete)
    _head_done = False  # ... and its head has arrived (the app runs)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            # Not counted, not parsed, no app: the 503 goes out once the client's request has come (closing
            # with its bytes unread would reset the connection, and the client would never read the 503).
            self.transport, self._overflow = transport, True
            self._deadline = self.loop.call_later(1.0, self._refuse_overflow)
            return
        super().connection_made(transport)
        self._idle()

    def data_received(self, data: bytes) -> None:
        if self._overflow:
            self._refuse_overflow()
            return
        super().data_received(data)  # (uvicorn's keep-alive timer, never armed here, stays so)
        if self._deadline is None and not self._reading and self._answered():
            # Bytes that began no request (blank lines, which a parser skips): still idle, and the time idle
            # counts from the last answer, so that a blank line now and then holds no connection open.
            self._arm(self._idle_since + self.limits.idle_timeout_s - self.loop.time())

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The idle deadline is ours, with the same checks as a new connection's, not uvicorn's keep-alive timer.
        self._unset_keepalive_if_required()
        if (
            not self.transport.is_closing()
            and self._deadline is None
            and not self._reading
            and self._answered()
        ):
            self._idle()

    def _answered(self) -> bool:
        """No request is being answered (none yet, or the last one's answer is complete)."""
        return self.cycle is None or self.cycle.response_complete

    def _idle(self) -> None:
        self._idle_since = self.loop.time()
        self._arm(self.limits.idle_timeout_s)

    def _refuse_overflow(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_SERVER_FULL)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._overflow:
            super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading, self._head_done = True, False
        self._arm(self.limits.request_timeout_s)

    def on_headers_complete(self) -> None:
        self._head_done = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading = False
        self._disarm()

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_NOT_HTTP)
        self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        """Nothing, or not all of a request, came in time: close; a 408 first when it can still be the answer."""
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._reading and _bytes_waiting(self.transport):
            # A loaded loop can come to the idle deadline before it reads what has just arrived: closing with
            # those bytes unread would reset the connection, and a client whose request may be an action could
            # not tell whether it ran. Look again once the loop has read them (a request re-arms its own).
            self._arm(_WAITING_RECHECK_S)
            return
        cycle = self.cycle
        if self._reading and not self._head_done:
            if cycle is None or cycle.response_complete:  # (not while a pipelined answer is going out)
                self.transport.write(_REQUEST_TIMEOUT)
        elif self._reading and cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the app waiting for the rest of the body hears the caller is gone
            cycle.message_event.set()
            self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


_WAITING_RECHECK_S = 0.05


def _bytes_waiting(transport: asyncio.BaseTransport) -> bool:
    """Whether the connection's socket holds bytes not read yet (asked of the kernel; nothing is read)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        waiting = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return False
    return int.from_bytes(waiting, sys.byteorder) > 0


def _bounded_protocol(limits: ServerLimits) -> type[_BoundedProtocol]:
    return type("BoundedProtocol", (_BoundedProtocol,), {"limits": limits})


_FILES_BESIDE = (
    512  # open files beside the two servers' connections: the Qovery pool, the audit log, the loop
)


def _connection_cap(wanted: int) -> int:
    """The connections each server may hold: `wanted`, or fewer when this process may not open enough files for
    both servers full. Raises the soft limit of open files towards what both need first (within the hard
    limit): a cap must be reached before the system's limit, or accept() fails for everyone, loopback
    clients included."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        needed = 2 * wanted + _FILES_BESIDE
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ValueError, OSError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, max(64, (soft - _FILES_BESIDE) // 2))


class _RelayServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to its host, and whose stop misses no connection its
    listeners have just accepted (see qjob_tui.listeners)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await stop_accepting(self.servers)
        await super().shutdown(sockets)


class _LineHandler(logging.Handler):
    """Hands each warning of uvicorn, the MCP SDK and the relay to `log` as one line, never a traceback."""

    def __init__(self, log: LogLine | None) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        if self.log is None:
            return
        with contextlib.suppress(Exception):
            lines = record.getMessage().strip().splitlines()
            line = lines[0] if lines else record.name
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                line += f" ({type(exc).__name__}: {exc})"
            self.log(line)


def route_warnings(log: LogLine | None) -> Callable[[], None]:
    """Route uvicorn's, the MCP SDK's and our warnings to `log` (or nowhere), one line each: nothing may print
    over the dashboard or onto MCP's stdout, and no traceback may reach a user. Returns what puts it back."""
    handler = _LineHandler(log)
    saved: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.propagate))
        logger.handlers = [handler]
        logger.propagate = False

    def restore() -> None:
        for logger, handlers, propagate in reversed(saved):
            logger.handlers = handlers
            logger.propagate = propagate
        saved.clear()

    return restore


def bind_listener(host: str, port: int, flag: str) -> socket.socket:
    """A listening socket on host:port (0: any free port); a readable ConfigError when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(
            f"server.host: cannot listen on {host!r} ({exc.strerror}); give an address with --host"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # restart at once over TIME_WAIT connections
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        key = flag.removeprefix("--").replace("-", "_")
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use; choose another with {flag} (server.{key})"
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); change --host or {flag} (server.{key})"
        ) from None
    sock.setblocking(False)
    return sock


def _url(host: str, port: int, path: str = "") -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}{path}"


def announced_by(pipeline: ActionPipeline) -> RefusalHook:
    """A refusal hook that announces each refused request as the pipeline announces its own."""

    def announce(refusal: GuardRefusal) -> None:
        slug = refusal.type.rsplit(":", 1)[-1]
        refused = ActionRefused(refusal.status, "Refused", refusal.detail, slug=slug)
        pipeline.announce_refusal(refusal.method, refusal.path, refusal.surface, refused)

    return announce


class RelayServers:
    """The REST and MCP servers of one process, sharing the runtime's Qovery client and pipeline.

    async with RelayServers(runtime) as servers:
        servers.rest_url, servers.mcp_url   # bound ports, known at once
        await servers.wait_started()         # optional: until the MCP server serves (it imports the SDK)
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        log: LogLine | None = None,
        on_refusal: RefusalHook | None = None,
        limits: ServerLimits | None = None,
        operator: bool = True,
    ) -> None:
        """`log`: where warnings go, one line each. `on_refusal`: told of each request the guard or the REST
        routes turn away; by default each is announced to the pipeline's refusal listeners, with the refusals
        of the pipeline itself (one channel for the dashboard's log pane and --serve's stderr). `operator`:
        a dashboard runs beside the servers to approve what `server.approve` gates (False for --serve: the MCP
        instructions then say those tools are refused)."""
        self.runtime = runtime
        self.operator = operator
        self.log = log
        self.on_refusal = on_refusal or announced_by(runtime.pipeline)
        self.limits = limits or ServerLimits()
        self.streams = OpenStreams(self.limits.max_streams)
        server = runtime.settings.config.server
        self.host = server.host
        self.rest_port = server.rest_port
        self.mcp_port = server.mcp_port
        self._sockets: list[socket.socket] = []
        self._servers: list[_RelayServer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._mcp_started = asyncio.Event()
        self._mcp_task: asyncio.Task[None] | None = None
        self._mcp_error: BaseException | None = None
        self._unroute: Callable[[], None] | None = None

    @property
    def rest_url(self) -> str:
        return _url(self.host, self.rest_port)

    @property
    def mcp_url(self) -> str:
        return _url(self.host, self.mcp_port, MCP_PATH)

    def _config(self, app: Any, lifespan: str) -> uvicorn.Config:
        limits = self.limits
        return uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan=lifespan,  # type: ignore[arg-type]
            # uvicorn's httptools protocol (a fifth less CPU per relayed call than h11: bench/relay.py --stacks)
            # with the relay's limits
            http=_bounded_protocol(limits),
            ws="none",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=limits.idle_timeout_s,  # type: ignore[arg-type]  # a float works; typed int
            timeout_graceful_shutdown=limits.shutdown_grace_s,  # type: ignore[arg-type]
        )

    async def __aenter__(self) -> RelayServers:
        cap = _connection_cap(self.limits.max_connections)
        if cap != self.limits.max_connections:
            self.limits = replace(self.limits, max_connections=cap)
        if self.rest_port == self.mcp_port != 0:  # else the second bind says "in use", by our own server
            raise ConfigError(
                f"--rest-port and --mcp-port are both {self.rest_port}: the REST and MCP servers need a port "
                "each (server.rest_port, server.mcp_port)"
            )
        rest_socket = bind_listener(self.host, self.rest_port, "--rest-port")
        self._sockets.append(rest_socket)
        try:
            mcp_socket = bind_listener(self.host, self.mcp_port, "--mcp-port")
        except ConfigError:
            rest_socket.close()
            raise
        self._sockets.append(mcp_socket)
        self.rest_port = rest_socket.getsockname()[1]
        self.mcp_port = mcp_socket.getsockname()[1]
        self._unroute = route_warnings(self.log)
        try:
            rest = _RelayServer(self._config(build_rest_app(self.runtime, on_refusal=self.on_refusal), "off"))
            await self._start(rest, rest_socket)
        except BaseException:
            await self._close()
            raise
        self._mcp_task = asyncio.create_task(self._start_mcp(mcp_socket), name="qjob-tui mcp start")
        return self

    async def _start(self, server: _RelayServer, sock: socket.socket) -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]), name="qjob-tui server")
        self._servers.append(server)
        self._tasks.append(task)
        while not server.started:
            if task.done():
                exc = task.exception()
                raise RuntimeError(f"the server on port {sock.getsockname()[1]} did not start") from exc
            await asyncio.sleep(0.005)

    async def _start_mcp(self, sock: socket.socket) -> None:
        try:
            module = await asyncio.to_thread(importlib.import_module, "qjob_tui.server.mcp_http")
            app = module.build_mcp_app(
                self.runtime, on_refusal=self.on_refusal, streams=self.streams, operator=self.operator
            )
            await self._start(_RelayServer(self._config(app, "on")), sock)
        except Exception as exc:  # the dashboard keeps running; the log says why MCP is not there
            self._mcp_error = exc
            sock.close()
            if self.log is not None:
                self.log(f"the MCP server did not start: {type(exc).__name__}: {exc}")
        finally:
            self._mcp_started.set()

    async def wait_started(self) -> None:
        """Wait until the MCP server serves too; raises if it could not start."""
        await self._mcp_started.wait()
        if self._mcp_error is not None:
            raise RuntimeError("the MCP server did not start") from self._mcp_error

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """End the GET /mcp streams, stop accepting on both ports, give the requests in flight
        `shutdown_grace_s` to be answered (then they are cancelled), close the ports."""
        self.streams.close()
        if self._mcp_task is not None:
            # Still importing the SDK: no MCP server to wait for (what it started is in _servers, stopped below).
            self._mcp_task.cancel()
            await asyncio.gather(self._mcp_task, return_exceptions=True)
        await self._close()

    def force_stop(self) -> None:
        """Give up on in-flight requests (a second Ctrl+C): each action waiting for Qovery is answered at once as
        interrupted (its outcome line written first), then the servers go."""
        self.runtime.pipeline.stop()
        for server in self._servers:
            server.should_exit = server.force_exit = True

    async def _close(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(_end_lifespan(server) for server in self._servers if server.force_exit))
        for sock in self._sockets:
            sock.close()
        self._servers.clear()
        self._tasks.clear()
        if self._unroute is not None:
            self._unroute()
            self._unroute = None


async def _end_lifespan(server: uvicorn.Server) -> None:
    """A forced stop skips the app's lifespan shutdown (uvicorn's force_exit): end it here, bounded, so that no
    lifespan task is left for the loop's end to cancel (uvicorn would print its traceback on stderr)."""
    lifespan = getattr(server, "lifespan", None)
    ended = getattr(lifespan, "shutdown_event", None)  # only a lifespan that runs ("on") has one
    if lifespan is None or ended is None or ended.is_set():
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(lifespan.shutdown(), LIFESPAN_END_S)
