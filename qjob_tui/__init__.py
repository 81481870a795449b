"""qjob-tui: a terminal dashboard and REST/MCP relay for the Qovery job actions."""

__version__ = "0.1.0"
