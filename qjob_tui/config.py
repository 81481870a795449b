"""The typed settings: the YAML file, the environment, and the errors a user can read.

`load_settings()` finds the config file (the order the README's Configuration section gives), validates it strictly (unknown keys,
ids that are not UUIDs, duplicates, ports out of range are refused) and applies the environment. Every
mistake is a `ConfigError` whose one-line message names the file, the key and what to do.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from qjob_tui.actions import ACTION_NAMES, CONFIRM_BY_DEFAULT, is_uuid

DEFAULT_API_URL = "https://api.qovery.com"
CONFIG_ENV = "QJOB_TUI_CONFIG"
API_URL_ENV = "QOVERY_API_URL"
SERVER_TOKEN_ENV = "QJOB_TUI_SERVER_TOKEN"
DEFAULT_TOKEN_ENV = "QOVERY_API_KEY"
LOCAL_CONFIG = Path("qjob-tui.yaml")
APP_NAME = "qjob-tui"


class ConfigError(Exception):
    """A mistake in the config, the arguments or the environment: one line, shown as is, exit code 2."""


def user_config_path() -> Path:
    """`config.yaml` in the platform's user config dir (~/.config/qjob-tui on Linux)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.yaml"


def default_audit_path() -> Path:
    """`audit.jsonl` in the platform's user state dir (~/.local/state/qjob-tui on Linux)."""
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME)) / "audit.jsonl"


def api_url_problem(url: str) -> str | None:
    """Why `url` cannot be the base URL of Qovery's API, or None when it can."""
    if not url.startswith(("http://", "https://")):
        return "must start with https:// (or http:// for a local stand-in)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- reading it checks the port
    except ValueError as exc:  # httpx would refuse it later, with a traceback
        return f"is not a valid URL ({exc})"
    if not parts.hostname or any(c.isspace() for c in url):
        return "needs a host name without spaces, like https://api.qovery.com"
    if parts.query or parts.fragment:
        return "must not have a query (?...) or a fragment (#...)"
    if parts.username is not None or parts.password is not None:
        # Qovery takes no user:password; such a URL could only send it where the token belongs, or nowhere.
        return (
            f"must not carry a user name or password (user:pass@); the token goes in {DEFAULT_TOKEN_ENV} "
            "(or the variable qovery.token_env names)"
        )
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Every key carries its description: `configfile` writes them as the comments of config.example.yaml and of
# the files `qjob-tui init` writes, so a key and its explanation cannot drift apart.


class QoverySettings(_Strict):
    """How to reach Qovery."""

    api_url: str = Field(
        default=DEFAULT_API_URL, description=f"Qovery's API; the {API_URL_ENV} variable overrides it"
    )
    token_env: str = Field(
        default=DEFAULT_TOKEN_ENV,
        description="the environment variable that holds your Qovery token (never the token itself)",
    )
    auth_scheme: Literal["auto", "token", "bearer"] = Field(
        default="auto",
        description='auto | token | bearer — API tokens go as "Token <t>", JWTs as "Bearer <t>"; auto picks '
        "by shape",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="seconds to wait for Qovery on each request"
    )
    poll_interval_s: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="seconds between status refreshes (one request per environment)",
    )

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        problem = api_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum():
            raise ValueError("must be the name of an environment variable, like QOVERY_API_KEY")
        return value


class JobEntry(_Strict):
    """One job on the dashboard."""

    id: str = Field(description="required: the job's UUID (Qovery console URL, or `qjob-tui init`)")
    name: str | None = Field(default=None, description="optional label; else taken once from GET /job/{id}")
    environment: str | None = Field(
        default=None, description="optional environment UUID; else taken once from GET /job/{id}"
    )

    @field_validator("id", "environment")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is not None and not is_uuid(value):
            raise ValueError(
                f"{value!r} is not a UUID (copy the id from the Qovery console or `qjob-tui init`)"
            )
        return value.lower() if value else value


class ServerSettings(_Strict):
    """The REST and MCP servers."""

    host: str = Field(
        default="127.0.0.1",
        description=f"loopback by default; others need {SERVER_TOKEN_ENV} (--host overrides)",
    )
    rest_port: int = Field(
        default=8080, ge=1, le=65535, description="REST adapter port (--rest-port overrides)"
    )
    mcp_port: int = Field(
        default=9090, ge=1, le=65535, description="MCP adapter port, endpoint /mcp (--mcp-port overrides)"
    )
    allow_unlisted_jobs: bool = Field(
        default=False, description="true: the relay acts on any job id, not only the listed ones"
    )
    approve: list[str] = Field(
        default_factory=list,
        description="actions that, asked for through REST or MCP, wait for the operator's yes in the dashboard "
        "(qjob-tui --server); refused without one; names: " + ", ".join(ACTION_NAMES),
    )
    approve_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="seconds such an action waits for the operator; then it is refused, never run",
    )

    @field_validator("approve")
    @classmethod
    def _approve(cls, value: list[str]) -> list[str]:
        return _known_actions(value)

    read_only: bool = Field(
        default=False,
        description="true: act on nothing from any face (as --read-only); reads still work",
    )


class UISettings(_Strict):
    """The dashboard."""

    confirm: list[str] = Field(
        default_factory=lambda: list(CONFIRM_BY_DEFAULT),
        description="actions that ask before they run (bulk actions always ask); names: "
        + ", ".join(ACTION_NAMES),
    )
    keys: dict[str, str] = Field(
        default_factory=dict, description="remap keys by binding id, e.g. {deploy: x, uninstall: U}"
    )

    @field_validator("confirm")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        return _known_actions(value)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for binding, key in value.items():
            if not isinstance(key, str) or not key.strip():
                raise ValueError(f"{binding}: give a key name such as x, U or ctrl+d")
        return value


class AuditSettings(_Strict):
    """The append-only action log."""

    path: Path | None = Field(
        default=None,
        description="the JSON-lines action log; default: audit.jsonl in the user state dir "
        "(~/.local/state/qjob-tui/audit.jsonl on Linux)",
    )


class Config(_Strict):
    """The config file; `config.example.yaml` is rendered from these models and their descriptions."""

    qovery: QoverySettings = Field(default_factory=QoverySettings, description="How to reach Qovery.")
    jobs: list[JobEntry] = Field(
        default_factory=list,
        description="The jobs on the dashboard, and the only ones the REST/MCP relay acts on.",
    )
    environments: list[str] = Field(
        default_factory=list,
        description="Optional environment UUIDs: every job of these environments joins the list, including "
        "jobs added later.",
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings,
        description="The REST and MCP servers (qjob-tui --serve, or --server beside the dashboard).",
    )
    ui: UISettings = Field(default_factory=UISettings, description="The dashboard.")
    audit: AuditSettings = Field(
        default_factory=AuditSettings,
        description="Every action from every face is appended to the audit log.",
    )

    @field_validator("environments")
    @classmethod
    def _envs(cls, value: list[str]) -> list[str]:
        out = []
        for env in value:
            if not is_uuid(env):
                raise ValueError(f"{env!r} is not an environment UUID")
            if env.lower() in out:
                raise ValueError(f"environment {env} is listed twice")
            out.append(env.lower())
        return out

    @model_validator(mode="after")
    def _no_duplicate_jobs(self) -> Config:
        seen: set[str] = set()
        for index, job in enumerate(self.jobs):
            if job.id in seen:
                raise ValueError(f"jobs[{index}]: job {job.id} is listed twice; remove one of the entries")
            seen.add(job.id)
        return self


def _known_actions(value: list[str]) -> list[str]:
    for name in value:
        if name not in ACTION_NAMES:
            raise ValueError(f"{name!r} is not an action; use {', '.join(ACTION_NAMES)}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a run needs: the validated file, where it came from, and what the environment adds."""

    config: Config
    path: Path | None  # None in --demo without a file
    api_url: str
    qovery_token: SecretStr
    server_token: SecretStr | None
    demo: bool = False

    @property
    def audit_path(self) -> Path:
        return self.config.audit.path or default_audit_path()


def named_config_path(value: str) -> Path:
    """`--config`'s value as a path. An empty one is refused, not taken for "not given": `--config "$VAR"` with
    the variable unset would otherwise act on whichever config the search finds (./qjob-tui.yaml)."""
    if not value.strip():
        raise ConfigError(
            "--config: the path is empty (was it given a variable that is not set?); name a config file, "
            "or leave --config out to use the usual places"
        )
    return Path(value).expanduser()


def find_config(explicit: str | None, env: Mapping[str, str]) -> tuple[Path | None, list[str]]:
    """The config path in the README's order (--config, $QJOB_TUI_CONFIG, ./qjob-tui.yaml, the user config dir), and the places looked at (for the error message)."""
    if explicit is not None:
        return named_config_path(explicit), [explicit]
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser(), [f"${CONFIG_ENV}={env[CONFIG_ENV]}"]
    looked = [str(LOCAL_CONFIG), str(user_config_path())]
    for candidate in (LOCAL_CONFIG, user_config_path()):
        if candidate.is_file():
            return candidate, looked
    return None, looked


# libyaml's parser when PyYAML has it: ten times faster, which a config of a thousand jobs feels at start-up.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Anchors and aliases are fine for repeating a value; what they may add, expanded, is bounded: a few hundred
# bytes of nested aliases (a "billion laughs") otherwise expand to a billion values, which took 20 s and
# 1.7 GB to read, and printed a 580 MB error.
MAX_ALIAS_EXPANSION = 10_000
MAX_SHOWN_CHARS = 300  # of a config error's line


class _AliasBomb(Exception):
    """The document's aliases expand too far, or refer to themselves."""


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """YAML's safe loader, except that a key given twice is an error (the second would silently win), and that
    aliases may not expand beyond MAX_ALIAS_EXPANSION values or refer to themselves."""

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _check_aliases(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; the safe loader reports it
                continue
            if duplicate and key != "<<":
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (the second would override the first)",
                    key_node.start_mark,
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)  # typed Any by the yaml stubs
        return mapping


def _check_aliases(root: yaml.Node) -> None:
    """_AliasBomb when the document, with its aliases expanded, holds MAX_ALIAS_EXPANSION more values than it
    is written with, or an alias refers to a node that holds it. Each node is visited once (an alias is the
    same node object reached again), without recursion."""
    sizes: dict[int, int] = {}  # id(node) -> how many values it holds, expanded
    on_path: set[int] = set()
    written = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if not children_done:
            if key in on_path:
                raise _AliasBomb("an alias refers to a value that holds it")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        on_path.discard(key)
        written += 1
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] - written > MAX_ALIAS_EXPANSION:
            raise _AliasBomb(f"its aliases expand to more than {MAX_ALIAS_EXPANSION:,} values")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def one_line(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` on one line of at most `limit` characters: what a start-up error may print."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def _shown(value: Any) -> str:
    """A short repr of a value from the file, whatever its size (nested lists are cut, not expanded)."""
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxstring, short.maxother = 2, 4, 4, 60, 60
    return short.repr(value)


def read_config(path: Path) -> Config:
    """Parse and validate one config file; every mistake becomes a ConfigError naming the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; copy config.example.yaml there (or run `qjob-tui init`), "
            "or try `qjob-tui --demo`"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader underneath
    except _AliasBomb as exc:
        raise ConfigError(f"{path}: YAML error: {exc}; write the values out instead") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML error: values nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        what = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ConfigError(one_line(f"{path}: {what}{where}: {problem}")) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with keys like qovery:, jobs:, server:")
    try:
        return Config.model_validate(raw)
    except RecursionError:
        raise ConfigError(f"{path}: values nested too deeply") from None
    except ValidationError as exc:
        raise ConfigError(one_line(f"{path}: {describe_validation_error(exc, raw)}")) from None


def describe_validation_error(exc: ValidationError, raw: Any) -> str:
    """The first pydantic error as `key.path: reason — what to do`."""
    error = exc.errors()[0]
    loc = error.get("loc", ())
    key = _dotted(loc)
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ").replace("Input should be", "must be")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _keys_beside(loc), n=1) if loc else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{key}: unknown key{hint}; config.example.yaml lists every key"
    if kind == "missing":
        return f"{key}: required key is missing"
    shown = error.get("input")
    if kind in {"less_than_equal", "greater_than_equal", "greater_than", "less_than"}:
        if key.endswith("_port"):
            return f"{key}: {_shown(shown)} is out of range; a port is 1 to 65535"
        return f"{key}: {_shown(shown)} is out of range: {message}"
    if kind.endswith("_type") or kind.startswith(("int_", "float_", "bool_", "literal")):
        return f"{key}: {_shown(shown)} is not valid: {message}"
    return f"{key}: {message}" if key else message


def _keys_beside(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping that holds `loc[-1]`, for a "did you mean" on an unknown key."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list: the list's model is already in hand
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        inner = next(
            (t for t in (field.annotation, *get_args(field.annotation)) if isinstance(t, type)),
            None,
        )
        if inner is None or not issubclass(inner, BaseModel):
            return []
        model = inner
    return list(model.model_fields)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_settings(
    config_path: str | None = None,
    *,
    demo: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Find, read and validate the config, then apply the environment. Raises ConfigError."""
    env = os.environ if env is None else env
    if demo and config_path is None:
        # The demo's jobs live in the simulator: a config found on the way (with real job ids) has no place here.
        return apply_environment(Config(), None, env, demo=True)
    path, looked = find_config(config_path, env)
    if path is None:
        raise ConfigError(
            f"no config file found (looked at {', '.join(looked)}); start with `qjob-tui --demo`, "
            "run `qjob-tui init`, or copy config.example.yaml to qjob-tui.yaml"
        )
    if config_path is None and env.get(CONFIG_ENV) and not path.is_file():
        what = "is a directory, not a config file" if path.is_dir() else "no such config file"
        raise ConfigError(f"{path}: {what} (named by ${CONFIG_ENV})")
    return apply_environment(read_config(path), path, env, demo=demo)


# Where Qovery's other tools look for a token (its Terraform provider, its CLI): a user who has one of them set
# is told so, rather than only that QOVERY_API_KEY is missing.
OTHER_TOKEN_VARIABLES = ("QOVERY_API_TOKEN", "QOVERY_CLI_ACCESS_TOKEN", "Q_CLI_ACCESS_TOKEN")


def apply_environment(
    config: Config,
    path: Path | None,
    env: Mapping[str, str],
    *,
    demo: bool = False,
    demo_command: str = "qjob-tui --demo",
) -> Settings:
    """The settings of a run on `config` (read from `path`, if from a file): the API URL, the Qovery token from
    the variable `qovery.token_env` names, and the inbound server token. Raises ConfigError; `demo_command`
    is the command its messages suggest to try without a token."""
    server_token_value = (env.get(SERVER_TOKEN_ENV) or "").strip() or None
    if server_token_value is not None and (
        len(server_token_value) < 16
        or not server_token_value.isascii()
        or any(c.isspace() for c in server_token_value)
    ):
        raise ConfigError(
            f"${SERVER_TOKEN_ENV} must be at least 16 printable ASCII characters with no spaces "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    server_token = SecretStr(server_token_value) if server_token_value else None
    if demo:
        return Settings(config, path, "", SecretStr(""), server_token, demo=True)

    token_env = config.qovery.token_env
    token = env.get(token_env, "").strip()
    api_url = env.get(API_URL_ENV) or config.qovery.api_url
    problem = api_url_problem(api_url) if env.get(API_URL_ENV) else None
    if problem:
        # The two variables sit side by side: a token pasted into the URL's must not be shown back.
        shown = "its value" if (token and token in api_url) or "@" in api_url else repr(api_url)
        raise ConfigError(f"${API_URL_ENV}: {shown} {problem}")
    api_url = api_url.rstrip("/")
    if not token:
        named_by = f" (named by qovery.token_env in {path})" if token_env != DEFAULT_TOKEN_ENV else ""
        if not _looks_like_variable_name(token_env):
            # Someone wrote the token itself into qovery.token_env: it must not be printed back.
            raise ConfigError(
                f"qovery.token_env{f' in {path}' if path else ''} does not look like the name of an environment "
                "variable (is it the token itself? it is not shown): put the variable's name there, e.g. "
                f"{DEFAULT_TOKEN_ENV}, and export your Qovery API token in that variable"
            )
        elsewhere = next((name for name in OTHER_TOKEN_VARIABLES if env.get(name, "").strip()), None)
        if elsewhere is not None and token_env == DEFAULT_TOKEN_ENV:
            # Pointed at, not read: the contract names the one variable, and a token is used only where asked.
            raise ConfigError(
                f"${token_env} is not set, but ${elsewhere} is: qjob-tui reads its token from ${token_env} "
                f'(export {token_env}="${elsewhere}"), or from the variable qovery.token_env names '
                f"(qovery.token_env: {elsewhere})"
            )
        raise ConfigError(
            f"${token_env} is not set{named_by}: export your Qovery API token in it "
            f"(Qovery console > Organization settings > API tokens), or try `{demo_command}`"
        )
    if not (token.isascii() and token.isprintable() and " " not in token):
        # Never shown: an HTTP header cannot carry it, and httpx would quote it back in its error.
        raise ConfigError(
            f"${token_env} holds a character no Qovery token has (a space, a line break or a "
            "non-ASCII character); export the token alone, exactly as Qovery shows it"
        )
    return Settings(config, path, api_url, SecretStr(token), server_token)


def _looks_like_variable_name(name: str) -> bool:
    """An environment variable's name as people write them (`QOVERY_API_KEY`), not a Qovery token (`qov_...`)."""
    return name.isupper() and not name.startswith("QOV_") and len(name) <= 64 and not name[0].isdigit()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the addresses nobody else can reach."""
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_exposure(host: str, server_token: SecretStr | None) -> None:
    """Refuse to listen beyond loopback without an inbound token."""
    if not is_loopback(host) and server_token is None:
        raise ConfigError(
            f"refusing to listen on {host} without ${SERVER_TOKEN_ENV}: set it to a long random secret "
            "(clients send Authorization: Bearer <token>), or listen on 127.0.0.1"
        )
