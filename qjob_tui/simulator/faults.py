"""Injected faults: answers that replace the simulator's normal ones, for testing how clients cope.

A fault matches requests by method and by a regular expression searched in the URL path. It can answer
with any status, JSON or raw bytes, wait first, drop the connection without an answer (reset), or send
fewer bytes than its `Content-Length` announces (truncate). Reset and truncate act on the real socket, so
they need the simulator to run under `serve_simulator`; in-process (httpx's ASGI transport) they raise
`SimulatedConnectionError` instead.
"""

from __future__ import annotations

import asyncio
import enum
import json as jsonlib
import re
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from qjob_tui.simulator.payloads import error_json

#: Finds the transport of the connection a request came in on (None when there is no real socket).
TransportLookup = Callable[[Scope], asyncio.Transport | None]


class Unset(enum.Enum):
    """Marks an argument left out, where None has a meaning of its own."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


class SimulatedConnectionError(ConnectionError):
    """A reset or truncate fault fired without a real socket to break (in-process transport)."""


@dataclass
class Fault:
    """One injected fault and how many more requests it will answer (None: every one)."""

    method: str | None
    path: re.Pattern[str] | None
    status: int | None
    body: bytes | None
    headers: dict[str, str]
    delay_s: float
    reset: bool
    truncate: bool
    remaining: int | None

    @classmethod
    def build(
        cls,
        *,
        method: str | None,
        path: str | None,
        status: int | Unset | None,
        json: Any,
        raw: bytes | None,
        headers: dict[str, str] | None,
        delay_s: float,
        reset: bool,
        truncate: bool,
        times: int | None,
    ) -> Fault:
        """Check the arguments of `Simulator.inject` and make the fault they describe."""
        if json is not None and raw is not None:
            raise ValueError("inject: give json or raw, not both")
        if reset and truncate:
            raise ValueError("inject: a fault either resets or truncates, not both")
        if times is not None and times < 1:
            raise ValueError("inject: times must be at least 1 (or None for every request)")
        if delay_s < 0:
            raise ValueError("inject: delay_s must not be negative")
        if status is UNSET:
            # Left out: a fault that only delays, resets or truncates keeps the normal answer.
            only_transport = json is None and raw is None and (delay_s > 0 or reset or truncate)
            status = None if only_transport else 500
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"inject: status {status} is not an HTTP status")
        body: bytes | None = raw
        content_type = "text/plain; charset=utf-8"
        if json is not None:
            body = jsonlib.dumps(json).encode()
            content_type = "application/json"
        elif raw is None and status is not None and status >= 200 and status not in (204, 304):
            body = jsonlib.dumps(error_json(status, "injected fault")).encode()
            content_type = "application/json"
        all_headers = {"content-type": content_type}
        all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
        return cls(
            method=method.upper() if method is not None else None,
            path=re.compile(path) if path is not None else None,
            status=status,
            body=body,
            headers=all_headers,
            delay_s=delay_s,
            reset=reset,
            truncate=truncate,
            remaining=times,
        )

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault answers a request with this method and URL path."""
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None

    def response(self) -> Response | None:
        """The answer that replaces the normal one; None keeps the normal answer."""
        if self.status is None:
            return None
        return Response(content=self.body or b"", status_code=self.status, headers=self.headers)


def take_fault(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault that matches, counted as used (and dropped once used up)."""
    for index, fault in enumerate(faults):
        if fault.matches(method, path):
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    del faults[index]
            return fault
    return None


async def _wait_for_disconnect(receive: Receive) -> None:
    # Returning before the server has seen the connection go would make it log an incomplete response.
    while (await receive())["type"] != "http.disconnect":
        pass


class ResetResponse(Response):
    """Drops the connection without any answer: the client sees a reset (TCP RST)."""

    def __init__(self, lookup: TransportLookup) -> None:
        super().__init__(status_code=500)
        self._lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = self._lookup(scope)
        if transport is None:
            raise SimulatedConnectionError("injected reset (no real socket to reset)")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends RST at once instead of a polite FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await _wait_for_disconnect(receive)


class TruncatedResponse(Response):
    """Sends an answer's headers with a `Content-Length` larger than the body it sends, then closes."""

    def __init__(self, inner: Response, lookup: TransportLookup) -> None:
        super().__init__(status_code=inner.status_code)
        self._inner = inner
        self._lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = self._lookup(scope)
        if transport is None:
            raise SimulatedConnectionError("injected truncation (no real socket to cut)")
        body = bytes(self._inner.body)
        sent = body[: len(body) // 2]
        headers = [(name, value) for name, value in self._inner.raw_headers if name != b"content-length"]
        headers.append((b"content-length", str(len(body) + 64).encode()))
        # 204 and 304 cannot carry a body at all, so a cut one is announced as a 200.
        status = 200 if self._inner.status_code in (204, 304) else self._inner.status_code
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": sent, "more_body": True})
        transport.close()
        await _wait_for_disconnect(receive)
