"""The relay: the capability's REST and MCP surfaces, and how they are served (uvicorn, security).

`RelayServers(runtime)` runs both in the current event loop (used by `--server` beside the dashboard);
`serve_headless(runtime)` is `qjob-tui --serve`. The MCP SDK is imported only when the MCP server starts.
"""

from qjob_tui.server.headless import serve_headless
from qjob_tui.server.serving import RelayServers

__all__ = ["RelayServers", "serve_headless"]
