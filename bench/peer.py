"""The peer a user would reach for instead of qjob-tui's MCP face: FastMCP's OpenAPI bridge
(`FastMCP.from_openapi`), built from Qovery's own OpenAPI document cut down to the five job actions.

It needs `fastmcp` (the `bench` extra: `pip install -e '.[bench]'`); nothing in qjob_tui imports it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from qjob_tui.actions import ACTIONS

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "qjob_tui" / "reference" / "qovery-openapi-jobs.yaml"


def five_actions_document(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """Qovery's OpenAPI document with only the POST operations of the five job actions left in it.

    The bridge turns every operation into a tool; keeping the rest would hand it reads and writes
    (createJob, deleteJob, ...) that the comparison is not about.
    """
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    wanted = {action.upstream_path for action in ACTIONS}
    paths: dict[str, Any] = {}
    for template, item in document["paths"].items():
        if template not in wanted:
            continue
        kept = {key: value for key, value in item.items() if key in ("post", "parameters", "summary")}
        paths[template] = copy.deepcopy(kept)
    missing = wanted - set(paths)
    if missing:
        raise ValueError(f"{path}: no POST operation for {', '.join(sorted(missing))}")
    document["paths"] = paths
    return document


def _name_as_capability(route: Any, component: Any) -> None:
    # The bridge slugs operationIds (deployJob -> deployJob, "deploy-job" -> deploy_job); give its tools
    # the capability's names so that one client calls both servers with the same arguments.
    tool = {action.upstream_path: action.tool for action in ACTIONS}.get(route.path)
    if tool is not None:
        component.name = tool


def build_bridge(upstream_url: str, authorization: str) -> Any:
    """The FastMCP server for the five actions, calling `upstream_url` with that Authorization header."""
    import httpx2
    from fastmcp import FastMCP

    document = five_actions_document()
    document["servers"] = [{"url": upstream_url}]
    client = httpx2.AsyncClient(
        base_url=upstream_url,
        headers={"Authorization": authorization},
        timeout=30.0,
        limits=httpx2.Limits(max_connections=200, max_keepalive_connections=200),
    )
    return FastMCP.from_openapi(
        document, client=client, name="qovery-jobs", mcp_component_fn=_name_as_capability
    )
