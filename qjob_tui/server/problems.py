"""RFC 9457 problem details: what the relay answers when it refuses a request or Qovery could not be reached.

Every refusal made before Qovery (bad input, missing token, unknown path, ...) and every upstream failure is
one small JSON object with `type`, `title`, `status` and `detail` (plus `field` when one input is at fault),
served as `application/problem+json`. Never a traceback. The mapping to a status lives here once: REST sends
these objects, MCP turns the same ones into its error results.
"""

from __future__ import annotations

import json
from typing import Any

from qjob_tui.pipeline import ActionInterrupted, ActionRefused
from qjob_tui.qovery import QoveryError, QoveryTimeout

PROBLEM_CONTENT_TYPE = b"application/problem+json"
_TYPE_PREFIX = "urn:qjob-tui:problem:"


def problem_type(slug: str) -> str:
    """The problem `type` URI for a kind of problem, e.g. `urn:qjob-tui:problem:invalid-input`."""
    return _TYPE_PREFIX + slug


# One slug per kind of problem, so that a client can branch on `type` rather than on the prose.
SLUG_BY_STATUS = {
    400: "invalid-input",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    500: "internal-error",
    502: "upstream-unavailable",
    504: "upstream-timeout",
}


def problem(status: int, title: str, detail: str, *, slug: str | None = None, **extra: Any) -> dict[str, Any]:
    """A problem details object; `extra` members (like `field`) are added when not None."""
    body: dict[str, Any] = {
        "type": problem_type(slug or SLUG_BY_STATUS.get(status, "error")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def encode_problem(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def not_json(reason: str) -> ActionRefused:
    """The refusal of a body that is not strict JSON (`strictjson`), on either surface."""
    return ActionRefused(400, "Invalid input", f"the body is not JSON ({reason}); send a JSON object", "body")


def not_json_media(reason: str) -> ActionRefused:
    """The refusal of a body whose Content-Type does not say JSON, on either surface."""
    return ActionRefused(415, "Unsupported media type", reason)


def refusal_problem(refused: ActionRefused) -> dict[str, Any]:
    """The problem for a request the pipeline refused; an input error's detail starts with the input's name.
    A refusal of the operator's approval gate carries its own slug (`approval-denied`, ...)."""
    return problem(
        refused.status,
        refused.title,
        refused.explained,
        slug=refused.slug,
        field=refused.field,
        retryAfter=refused.retry_after_s,
    )


def refusal_headers(refused: ActionRefused) -> list[tuple[bytes, bytes]]:
    """The headers that go with a refusal: Retry-After when the refusal says when to come back."""
    if refused.retry_after_s is None:
        return []
    return [(b"retry-after", str(refused.retry_after_s).encode())]


def upstream_problem(error: QoveryError) -> dict[str, Any]:
    """The problem for a Qovery that gave no answer: 504 when it took longer than `timeout_s`, 503 when
    qjob-tui stopped before it answered (the request was sent: it may have run), else 502 (unreachable,
    connection lost, an answer that is not JSON). An answer with an error status is Qovery's own, and each
    surface relays it as it is."""
    if isinstance(error, QoveryTimeout):
        return problem(504, "Qovery timeout", error.message)
    if isinstance(error, ActionInterrupted):
        return problem(503, "Interrupted", error.message, slug="interrupted")
    return problem(502, "Qovery unavailable", error.message)


def refuse_empty_force_event(value: object) -> None:
    """An empty forceEvent (`?forceEvent=`, often an unset variable in a script) is refused rather than taken
    for "none": the caller meant to force an event, and a plain deploy is not what they asked for."""
    if value == "":
        raise ActionRefused(
            400,
            "Invalid input",
            "is empty; give one of START, STOP, DELETE, CRON, or leave it out",
            "forceEvent",
        )
