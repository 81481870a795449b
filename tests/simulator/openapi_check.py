"""Checks answers against Qovery's OpenAPI description (the copy inside the package).

OpenAPI 3.0 schemas are almost JSON Schema; the differences handled here: `nullable` (turned into a
`null` type), `discriminator` (turned into if/then on the discriminating property, since both job
branches would otherwise match a `oneOf`), a `oneOf` without one (its inline object branches admit only
the properties they name, as the clients generated from the description decode them: otherwise a branch
with no required property, like `HelmDeploymentHistoryDetails`, matches every object and no answer could
fit exactly one branch), and formats (`uuid`, `date-time` and ISO 8601 `duration` are checked here,
without optional packages). An answer documented with `content: {}` has no body.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

import qjob_tui

SPEC_PATH = Path(qjob_tui.__file__).parent / "reference" / "qovery-openapi-jobs.yaml"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
# Errors the simulator may give although an operation does not list them: cleanFailedJob lists only 200,
# and redeploy lists no 400 although a forceEvent outside its enum can only be refused.
UNDOCUMENTED_ERRORS = frozenset({400, 401, 404, 405})

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return str(uuid.UUID(value)) == value.lower()


# ISO 8601 durations as Qovery's `format: duration` means them: PT4S, PT1M12.5S, P1DT2H.
_DURATION = re.compile(r"P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?")


@FORMATS.checks("duration", raises=ValueError)
def _is_duration(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if value in ("P", "PT") or value.endswith("T") or not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 8601 duration")
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


def to_json_schema(node: Any) -> Any:
    """Turn an OpenAPI 3.0 schema (and everything below it) into JSON Schema draft 7."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "discriminator", "example") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(schema) for name, schema in value.items()}
        elif key == "oneOf" and not node.get("discriminator"):
            out[key] = [_closed(to_json_schema(branch)) for branch in value]
        else:
            out[key] = to_json_schema(value)
    discriminator = node.get("discriminator")
    if discriminator and "oneOf" in out:
        name = discriminator["propertyName"]
        mapping = discriminator["mapping"]
        del out["oneOf"]
        out.setdefault("type", "object")
        out["required"] = [name]
        out["properties"] = {name: {"enum": list(mapping)}}
        out["allOf"] = [
            {"if": {"properties": {name: {"const": value}}}, "then": {"$ref": ref}}
            for value, ref in mapping.items()
        ]
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _closed(branch: Any) -> Any:
    """A `oneOf` branch that admits only the properties it names (inline object branches only)."""
    if isinstance(branch, dict) and "properties" in branch and "additionalProperties" not in branch:
        return {**branch, "additionalProperties": False}
    return branch


class OpenAPI:
    """Qovery's description: which answers each operation documents, and validators for their bodies."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.document = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._components: dict[str, Any] = {
            "components": {"schemas": to_json_schema(self.document["components"]["schemas"])}
        }
        self._paths = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in self.document["paths"]
        ]
        self._validators: dict[int, jsonschema.Draft7Validator] = {}

    def template_of(self, path: str) -> str | None:
        """The path template of the description that `path` fits, if any."""
        for pattern, template in self._paths:
            if pattern.match(path):
                return template
        return None

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft7Validator:
        """A validator for an OpenAPI schema fragment of the description (refs resolve into its components)."""
        key = id(schema)
        if key not in self._validators:
            root: dict[str, Any] = {**self._components, "allOf": [to_json_schema(schema)]}
            self._validators[key] = jsonschema.Draft7Validator(root, format_checker=FORMATS)
        return self._validators[key]

    def schema(self, name: str) -> dict[str, Any]:
        """A named schema of the description's components."""
        schema: dict[str, Any] = self.document["components"]["schemas"][name]
        return schema

    def check(self, response: httpx.Response) -> None:
        """Assert that the response is one its operation documents, with a body that fits.

        The response's body must have been read.
        """
        method = response.request.method.lower()
        path = response.request.url.path
        status = response.status_code
        template = self.template_of(path)
        assert template is not None, f"{method.upper()} {path}: not a path of the description"
        path_item = self.document["paths"][template]
        operation = path_item.get(method)
        if operation is None:
            assert status in (401, 405), (
                f"{method.upper()} {template}: no such operation, yet answered {status}"
            )
            check_error_body(response)
            return
        entry = operation["responses"].get(str(status))
        if entry is None:
            assert status in UNDOCUMENTED_ERRORS, f"{method.upper()} {template}: {status} is not documented"
            check_error_body(response)
            return
        if "$ref" in entry:
            entry = self.document["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
        content = entry.get("content")
        if not content:
            if status < 300:
                assert response.content == b"", f"{method.upper()} {template}: {status} must have no body"
            else:
                check_error_body(response)
            return
        assert response.headers["content-type"].startswith("application/json")
        self.validator(content["application/json"]["schema"]).validate(response.json())


def check_error_body(response: httpx.Response) -> None:
    """Qovery publishes no schema for errors: the simulator answers JSON with a `message`."""
    assert response.status_code >= 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str) and body["message"]
    assert body.get("status") == response.status_code


@cache
def openapi() -> OpenAPI:
    """The description, parsed once per test session."""
    return OpenAPI()
