"""MCP over Streamable HTTP at /mcp: the tools of `mcp_tools`, stateless with JSON responses, behind the guard.

The relay's guard checks the bearer token and reads the body with the relay's limit; the SDK's transport
security checks Host and Origin against the allowlist (421 and 403 are its answers) until the guard holds one
exact rule for both surfaces. Imported by `serving.py` in a worker thread: the SDK is slow to import.
"""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from qjob_tui.actions import BODY_LIMIT_BYTES
from qjob_tui.runtime import Runtime
from qjob_tui.server.guard import Guard
from qjob_tui.server.mcp_tools import build_mcp_server
from qjob_tui.server.schemas import MCP_PATH
from qjob_tui.server.security import host_allowlist


def build_mcp_app(runtime: Runtime, host: str) -> ASGIApp:
    """The MCP ASGI application (its lifespan runs the SDK's session manager), behind the relay's guard."""
    hosts, origins = host_allowlist(host)
    app = build_mcp_server(runtime).streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=BODY_LIMIT_BYTES,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
        ),
    )
    return Guard(app, runtime.settings, check_origin=False, whole_body=True)
