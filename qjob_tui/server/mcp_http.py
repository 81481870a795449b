"""MCP over Streamable HTTP at /mcp: the tools of `mcp_tools`, stateless with JSON responses, behind the guard.

The relay's guard checks Host/Origin (the one rule of both surfaces), the bearer token, and reads the body
with the relay's checks; the SDK's own Host/Origin check is off. Imported by `serving.py` in a worker
thread: the SDK is slow to import.
"""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from qjob_tui.actions import BODY_LIMIT_BYTES
from qjob_tui.runtime import Runtime
from qjob_tui.server.guard import Guard, RefusalHook
from qjob_tui.server.mcp_tools import build_mcp_server
from qjob_tui.server.schemas import MCP_PATH


def build_mcp_app(runtime: Runtime, *, on_refusal: RefusalHook | None = None) -> ASGIApp:
    """The MCP ASGI application (its lifespan runs the SDK's session manager), behind the relay's guard."""
    app = build_mcp_server(runtime).streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=BODY_LIMIT_BYTES,
        # The guard holds the one Host/Origin rule of both surfaces; the SDK's own (prefix patterns, its own
        # statuses) would answer the same request differently.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return Guard(app, runtime.settings, surface="mcp", whole_body=True, on_refusal=on_refusal)
