"""`qjob-tui init`: pick your jobs once and write them into a commented config file.

    qjob-tui init [--demo] [--config PATH] [--force]
        the picker: organization -> project -> environment -> jobs, then the file
    qjob-tui init --environment ID [--environment ID ...] [--demo] [--config PATH] [--force]
        for scripts: every job of those environments, no questions asked

The file goes to `--config PATH`, else `$QJOB_TUI_CONFIG`, else `./qjob-tui.yaml` (where `qjob-tui` looks
first), and an existing file is only replaced with `--force`. The YAML text is written here, line by line,
because a YAML library would drop the comments that explain every key; each value that comes from Qovery is
emitted by `yaml.safe_dump` (so quotes, colons and newlines in a name are escaped) and the whole text is
loaded back and compared before it is written. Exit codes: 0 written, 1 cancelled in the picker, 2 for any
error (nothing written).

The dashboard's browse screen (`b`) adds jobs to an existing file with `append_to_config`, which keeps the
user's comments by inserting lines into the `jobs:` and `environments:` lists.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from qjob_tui.actions import is_uuid
from qjob_tui.config import (
    API_URL_ENV,
    CONFIG_ENV,
    DEFAULT_API_URL,
    LOCAL_CONFIG,
    Config,
    ConfigError,
    JobEntry,
    read_config,
    user_config_path,
)
from qjob_tui.qovery import QoveryClient, QoveryError, QoveryHTTPError

EXIT_WRITTEN = 0
EXIT_CANCELLED = 1
EXIT_ERROR = 2
TOKEN_ENV = "QOVERY_API_KEY"


class InitError(Exception):
    """Something that stops `init` before a file is written: one line for the user, exit code 2."""


# -- what the user picked -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentChoice:
    """An environment, with the names that make a config file readable."""

    id: str
    name: str | None = None
    project: str | None = None
    organization: str | None = None
    mode: str | None = None

    @property
    def path(self) -> str:
        """`organization / project / environment`, as far as it is known."""
        parts = [p for p in (self.organization, self.project, self.name) if p]
        return " / ".join(parts) if parts else self.id


@dataclass(frozen=True)
class JobChoice:
    """A job, as Qovery listed it (`data` is its JobResponse), with the environment it was found in."""

    id: str
    name: str | None
    environment: EnvironmentChoice
    job_type: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_response(cls, data: Mapping[str, Any], environment: EnvironmentChoice) -> JobChoice | None:
        """A choice from one item of `GET /environment/{id}/job`; None when Qovery's item has no usable id."""
        job_id = data.get("id")
        if not is_uuid(job_id):
            return None
        name = data.get("name")
        job_type = data.get("job_type")
        return cls(
            id=str(job_id).lower(),
            name=name if isinstance(name, str) else None,
            environment=environment,
            job_type=job_type if isinstance(job_type, str) else None,
            data=dict(data),
        )

    def entry(self) -> JobEntry:
        return JobEntry(id=self.id, name=self.name, environment=self.environment.id)


@dataclass(frozen=True)
class Selection:
    """What the picker hands back: whole environments and single jobs (none of them in those environments)."""

    environments: tuple[EnvironmentChoice, ...] = ()
    jobs: tuple[JobChoice, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.environments or self.jobs)

    def describe(self) -> str:
        """`2 environments and 3 jobs`."""
        parts = []
        if self.environments:
            parts.append(count_of(len(self.environments), "environment"))
        if self.jobs:
            parts.append(count_of(len(self.jobs), "job"))
        return " and ".join(parts) or "nothing"


def count_of(n: int, noun: str) -> str:
    """`1 job`, `2 jobs`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- where the file goes, and how to start the dashboard on it ------------------------------------------


def target_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """`--config`, else `$QJOB_TUI_CONFIG`, else `./qjob-tui.yaml`: the first place `qjob-tui` looks."""
    if explicit:
        return Path(explicit).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return LOCAL_CONFIG


def start_command(path: Path, demo: bool, env: Mapping[str, str]) -> str:
    """The shortest command that starts the dashboard on `path`, once `path` is written."""
    if demo:  # --demo reads a config only when it is named (see load_settings)
        return f"qjob-tui --demo --config {_shell_word(str(path))}"
    # The file `qjob-tui` alone will read (config.find_config's order, with `path` already there).
    if env.get(CONFIG_ENV):
        first = Path(env[CONFIG_ENV]).expanduser()
    elif _same_file(path, LOCAL_CONFIG) or LOCAL_CONFIG.is_file():
        first = LOCAL_CONFIG
    else:
        first = user_config_path()
    if _same_file(first, path):
        return "qjob-tui"
    return f"qjob-tui --config {_shell_word(str(path))}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _shell_word(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./~+:=@%-]+", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


# -- the YAML text --------------------------------------------------------------------------------------

# What each key means, in the file itself (config.example.yaml says the same at more length).
_KEY_COMMENTS: dict[str, dict[str, str]] = {
    "qovery": {
        "api_url": "Qovery's API; the QOVERY_API_URL variable overrides it",
        "token_env": "the environment variable that holds your Qovery token (never put the token here)",
        "auth_scheme": 'auto | token | bearer: API tokens go as "Token <t>", JWTs as "Bearer <t>"; auto picks by shape',
        "timeout_s": "seconds to wait for Qovery on each request",
        "poll_interval_s": "seconds between status refreshes (one request per environment)",
    },
    "server": {
        "host": "where the REST and MCP servers listen; beyond loopback needs QJOB_TUI_SERVER_TOKEN",
        "rest_port": "REST adapter port (--rest-port overrides it)",
        "mcp_port": "MCP adapter port, endpoint /mcp (--mcp-port overrides it)",
        "allow_unlisted_jobs": "true: the relay acts on any job id, not only the listed ones",
    },
    "ui": {
        "confirm": "actions that ask before they run (bulk actions always ask)",
        "keys": "remap keys by binding id, e.g. {deploy: x, uninstall: U}",
    },
    "audit": {
        "path": "the JSON-lines action log; null: audit.jsonl in your user state directory",
    },
}
_SECTION_COMMENTS = {
    "qovery": "How to reach Qovery.",
    "server": "The REST and MCP relay (qjob-tui --serve, or --server beside the dashboard).",
    "ui": "The dashboard.",
    "audit": "Every action from every face is appended to the audit log.",
}
_JOBS_COMMENT = (
    "# The jobs on the dashboard, and the only ones the REST/MCP relay acts on.\n"
    "# id: the job's UUID (required); name: a label; environment: the UUID of the job's environment.\n"
)
_ENVIRONMENTS_COMMENT = (
    "# Environment UUIDs: every job of these environments joins the list, including jobs added later.\n"
)
_COMMENT_WIDTH = 100


def yaml_scalar(value: Any, *, quote: bool = True) -> str:
    """One YAML flow value on one line. Names from Qovery are always double-quoted (`quote`), so that no
    quote, colon, `#` or newline in a name can break the file; settings are left plain when YAML allows."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # `30`, not `30.0`: pydantic reads it back as the same float
    style = '"' if isinstance(value, str) and quote else None
    text = yaml.safe_dump(
        value, default_style=style, default_flow_style=True, allow_unicode=True, width=2**31 - 1
    )
    text = text.rstrip("\n").removesuffix("\n...").rstrip("\n")
    if "\n" in text:  # safe_dump keeps a flow value on one line at this width; refuse rather than guess
        raise ValueError(f"cannot write {value!r} on one line")
    return text


def comment_text(text: str) -> str:
    """Text made safe to follow a `#`: one line, printable, not too long."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= _COMMENT_WIDTH else flat[: _COMMENT_WIDTH - 1] + "…"


def _with_comment(line: str, comment: str | None) -> str:
    return f"{line}  # {comment_text(comment)}" if comment else line


def job_comment(job: JobChoice) -> str:
    """`cron job (0 3 * * *) in Acme / shop / production`."""
    kind = f"{job.job_type.lower()} job" if job.job_type else "job"
    schedule = job.data.get("schedule")
    cron = schedule.get("cronjob") if isinstance(schedule, Mapping) else None
    if isinstance(cron, Mapping) and isinstance(cron.get("scheduled_at"), str):
        kind += f" ({cron['scheduled_at']})"
    where = job.environment.path if job.environment.name else None
    return f"{kind} in {where}" if where else kind


def environment_comment(environment: EnvironmentChoice) -> str | None:
    if not environment.name:
        return None
    mode = environment.mode.lower() if environment.mode else ""
    mode = f" ({mode})" if mode and mode != environment.name.lower() else ""
    return f"{environment.path}{mode}"


def job_item_lines(entry: JobEntry, comment: str | None = None, env_comment: str | None = None) -> list[str]:
    """One `jobs:` item, unindented: `- id: ...` and its keys two spaces in."""
    lines = [_with_comment(f"- id: {entry.id}", comment)]
    if entry.name is not None:
        lines.append(f"  name: {yaml_scalar(entry.name)}")
    if entry.environment is not None:
        lines.append(_with_comment(f"  environment: {entry.environment}", env_comment))
    return lines


def environment_item_lines(environment_id: str, comment: str | None = None) -> list[str]:
    return [_with_comment(f"- {environment_id}", comment)]


@dataclass
class _Entries:
    """The jobs: and environments: items to write, each with its comment."""

    jobs: list[tuple[JobEntry, str | None, str | None]] = field(default_factory=list)
    environments: list[tuple[str, str | None]] = field(default_factory=list)

    @classmethod
    def of(cls, base: Config, selection: Selection) -> _Entries:
        """The base config's entries first (as they are), then the new ones not already there."""
        out = cls()
        out.jobs = [(entry, None, None) for entry in base.jobs]
        out.environments = [(env, None) for env in base.environments]
        known_jobs = {entry.id for entry in base.jobs}
        known_envs = set(base.environments)
        for environment in selection.environments:
            if environment.id not in known_envs:
                known_envs.add(environment.id)
                out.environments.append((environment.id, environment_comment(environment)))
        for job in selection.jobs:
            if job.id not in known_jobs and job.environment.id not in known_envs:
                known_jobs.add(job.id)
                out.jobs.append(
                    (
                        job.entry(),
                        job_comment(job),
                        job.environment.name and comment_text(job.environment.name),
                    )
                )
        return out

    def config(self, base: Config) -> Config:
        return base.model_copy(
            update={
                "jobs": [entry for entry, _, _ in self.jobs],
                "environments": [e for e, _ in self.environments],
            }
        )


def _section_lines(name: str, section: BaseModel) -> list[str]:
    """A settings section with every key (the model's, so a new key is never forgotten) and its comment."""
    comments = _KEY_COMMENTS.get(name, {})
    values = section.model_dump(mode="json")
    lines = [f"# {_SECTION_COMMENTS[name]}"] if name in _SECTION_COMMENTS else []
    lines.append(f"{name}:")
    for key in type(section).model_fields:
        lines.append(_with_comment(f"  {key}: {yaml_scalar(values[key], quote=False)}", comments.get(key)))
    return lines


def render_config(
    base: Config,
    selection: Selection,
    *,
    start_hint: str | None = None,
    written_by: str = "qjob-tui init",
    today: datetime.date | None = None,
) -> str:
    """The whole config file: `base`'s settings and entries plus the selection, every key commented.

    The text is loaded back and compared with the config it stands for; a mismatch raises ValueError, so a
    file that would not read back the same is never written."""
    entries = _Entries.of(base, selection)
    day = (today or datetime.date.today()).isoformat()
    out = [
        f"# qjob-tui configuration, written by `{written_by}` on {day}.",
        "# Every key is optional except jobs[].id; unknown keys are refused; config.example.yaml has them all.",
    ]
    if start_hint:
        out.append(f"# Start the dashboard on it: {comment_text(start_hint)}")
    out.append("")
    out += _section_lines("qovery", base.qovery)
    out.append("")
    out += _JOBS_COMMENT.rstrip("\n").split("\n")
    if entries.jobs:
        out.append("jobs:")
        for entry, comment, env_comment in entries.jobs:
            out += ["  " + line for line in job_item_lines(entry, comment, env_comment)]
    else:
        out.append("jobs: []")
    out.append("")
    out += _ENVIRONMENTS_COMMENT.rstrip("\n").split("\n")
    if entries.environments:
        out.append("environments:")
        for env_id, comment in entries.environments:
            out += ["  " + line for line in environment_item_lines(env_id, comment)]
    else:
        out.append("environments: []")
    for name, section in (("server", base.server), ("ui", base.ui), ("audit", base.audit)):
        out.append("")
        out += _section_lines(name, section)
    text = "\n".join(out) + "\n"
    check_reads_back(text, entries.config(base))
    return text


def check_reads_back(text: str, expected: Config) -> None:
    """Raise ValueError unless `text` loads and validates into exactly `expected`."""
    try:
        loaded = Config.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"the text written does not load back ({exc.__class__.__name__})") from None
    if loaded != expected:
        raise ValueError("the text written does not load back into the same config")


# -- writing files --------------------------------------------------------------------------------------


class FileExists(InitError):
    """The target exists and the caller did not ask to replace it."""


def write_file_atomically(path: Path, text: str, *, overwrite: bool, mode: int = 0o600) -> None:
    """Write `text` to `path` through a temporary file in the same directory, so a reader never sees half a file.

    Without `overwrite`, an existing `path` is left alone (FileExists), even one that appears meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # atomic and never replaces: the no-clobber form of rename
        except FileExistsError:
            raise FileExists(f"{path} already exists") from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExists(f"{path} already exists") from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@dataclass(frozen=True)
class SaveResult:
    """Where the entries went: into `path` itself, or (`copy=True`) into a new file next to it."""

    path: Path
    copy: bool
    reason: str = ""  # why the file itself was not edited

    @property
    def message(self) -> str:
        if not self.copy:
            return f"Saved to {self.path}"
        return f"Wrote a full copy with the new entries to {self.path}: {self.reason}"


class CannotEdit(Exception):
    """The file's text has a shape that lines cannot be safely inserted into."""


def append_to_config(path: Path, selection: Selection, fallback: Config | None = None) -> SaveResult:
    """Add the selection to the config file at `path`, keeping its comments and layout.

    New items go at the end of the file's `jobs:` and `environments:` lists (a missing list is added at the
    end; `[]` becomes a block list). The edited text must load back into the old config plus the new entries,
    and nothing else; if the file cannot be edited that way, a commented copy is written beside it (its
    settings from the file, or from `fallback` when the file no longer reads) and the result says so.
    Raises OSError when nothing at all could be written."""
    try:
        current = read_config(path)
        text = path.read_text(encoding="utf-8")
    except ConfigError as exc:
        return _write_copy(
            path, fallback or Config(), selection, f"{path} does not read as a config now ({exc})"
        )
    except OSError as exc:
        return _write_copy(path, fallback or Config(), selection, f"{path} cannot be read ({exc})")
    entries = _Entries.of(current, selection)
    new_jobs = entries.jobs[len(current.jobs) :]
    new_envs = entries.environments[len(current.environments) :]
    if not new_jobs and not new_envs:
        return SaveResult(path, copy=False)
    try:
        edited = _insert_items(
            text,
            "jobs",
            [job_item_lines(e, c, ec) for e, c, ec in new_jobs],
            _JOBS_COMMENT,
        )
        edited = _insert_items(
            edited,
            "environments",
            [environment_item_lines(e, c) for e, c in new_envs],
            _ENVIRONMENTS_COMMENT,
        )
        check_reads_back(edited, entries.config(current))
    except (CannotEdit, ValueError) as exc:
        return _write_copy(path, current, selection, f"{path} could not be edited safely ({exc})")
    mode = path.stat().st_mode & 0o777
    write_file_atomically(path, edited, overwrite=True, mode=mode)
    if read_config(path) != entries.config(current):  # what the next start will read
        raise OSError(f"{path} changed while it was being saved; check it")
    return SaveResult(path, copy=False)


def write_new_config(path: Path, base: Config, selection: Selection, *, demo: bool = False) -> SaveResult:
    """A new commented config at `path`; if a file is there already, a copy beside it (never over it)."""
    text = render_config(
        base, selection, start_hint=start_command(path, demo, os.environ), written_by="qjob-tui (browse)"
    )
    try:
        write_file_atomically(path, text, overwrite=False)
    except FileExists:
        return _write_copy(path, base, selection, f"{path} exists already", demo=demo)
    return SaveResult(path, copy=False)


def _write_copy(
    path: Path, base: Config, selection: Selection, reason: str, *, demo: bool = False
) -> SaveResult:
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        copy = path.with_name(f"{path.stem}.browse{suffix}{path.suffix or '.yaml'}")
        text = render_config(
            base, selection, start_hint=start_command(copy, demo, os.environ), written_by="qjob-tui (browse)"
        )
        try:
            write_file_atomically(copy, text, overwrite=False)
        except FileExists:
            continue
        return SaveResult(copy, copy=True, reason=reason)
    raise OSError(f"no free name for a copy of {path}")


_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")


def _split_comment(rest: str) -> tuple[str, str]:
    """`value  # comment` -> (value, '# comment'); only for the simple values this edit accepts."""
    match = re.match(r"^(?P<value>[^#]*?)\s*(?P<comment>#.*)?$", rest)
    assert match is not None
    return match["value"].strip(), match["comment"] or ""


def _insert_items(text: str, key: str, items: list[list[str]], header: str) -> str:
    """Append `items` (each a list of unindented lines) to the top-level block list `key:` of `text`."""
    if not items:
        return text
    if not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if (m := _TOP_KEY.match(line)) and m["key"] == key]
    if len(found) > 1:
        raise CannotEdit(f"{key}: appears twice")
    if any(line.rstrip() in {"---", "..."} for line in lines):
        raise CannotEdit("the file has YAML document markers")
    if not found:
        block = [f"{key}:\n"] + ["  " + line + "\n" for item in items for line in item]
        return text + "\n" + header + "".join(block)
    index = found[0]
    match = _TOP_KEY.match(lines[index].rstrip("\n"))
    assert match is not None
    value, comment = _split_comment(match["rest"])
    if value == "[]":
        head = f"{key}:" + (f"  {comment}" if comment else "") + "\n"
        block = ["  " + line + "\n" for item in items for line in item]
        return "".join([*lines[:index], head, *block, *lines[index + 1 :]])
    if value:
        raise CannotEdit(f"{key}: is not a block list (write it as one item per line, `- ...`)")
    last, indent = index, None
    for i in range(index + 1, len(lines)):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] == "\t":
            raise CannotEdit(f"{key}: indented with tabs")
        if line[0] == " " or line.startswith("-"):
            if indent is None and stripped.startswith("-"):
                indent = len(line) - len(line.lstrip(" "))
            last = i
            continue
        break
    if indent is None:
        raise CannotEdit(f"{key}: has no items to line up with")
    pad = " " * indent
    block = [pad + line + "\n" for item in items for line in item]
    return "".join([*lines[: last + 1], *block, *lines[last + 1 :]])


# -- talking to Qovery ----------------------------------------------------------------------------------


def explain(exc: QoveryError, what: str, demo: bool = False) -> str:
    """A Qovery failure as a line that says what to do; never holds the token."""
    token = "the demo token" if demo else f"the token in ${TOKEN_ENV}"
    if isinstance(exc, QoveryHTTPError):
        if exc.status == 401:
            return (
                f"Qovery refused {token} (401) while listing {what}: check that it is a valid, unexpired "
                "API token (Qovery console > Organization settings > API tokens)"
            )
        if exc.status == 403:
            return f"{token} may not read {what} (403): use a token of an organization that can"
        if exc.status == 404:
            return f"{what}: not found (404), or not visible with {token}"
    return f"{what}: {exc.message}"


@contextlib.asynccontextmanager
async def open_client(demo: bool, env: Mapping[str, str]) -> AsyncIterator[QoveryClient]:
    """A Qovery client from the environment, or on the embedded simulator with `--demo`."""
    if demo:
        from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset, serve_simulator

        async with (
            serve_simulator(Simulator(dataset=demo_dataset())) as base_url,
            QoveryClient(base_url, DEMO_TOKEN) as client,
        ):
            yield client
        return
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise InitError(
            f"${TOKEN_ENV} is not set: export your Qovery API token in it (Qovery console > Organization "
            "settings > API tokens), or try `qjob-tui init --demo`; nothing written"
        )
    api_url = (env.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise InitError(f"${API_URL_ENV}: {api_url!r} must start with https://; nothing written")
    async with QoveryClient(api_url, token) as client:
        yield client


async def jobs_of_environments(
    client: QoveryClient, environment_ids: Sequence[str], demo: bool = False
) -> Selection:
    """Every job of the environments, for the non-interactive form. An empty environment is an error."""
    jobs: list[JobChoice] = []
    for env_id in environment_ids:
        environment = EnvironmentChoice(id=env_id)
        try:
            listed = await client.list_environment_jobs(env_id)
        except QoveryError as exc:
            raise InitError(f"{explain(exc, f'environment {env_id}', demo)}; nothing written") from None
        found = [job for data in listed if (job := JobChoice.from_response(data, environment))]
        if not found:
            raise InitError(
                f"environment {env_id} has no jobs: create a job in it first, or name another "
                "environment; nothing written"
            )
        jobs += [job for job in found if job.id not in {j.id for j in jobs}]
    return Selection(jobs=tuple(jobs))


async def empty_environments(client: QoveryClient, selection: Selection) -> list[EnvironmentChoice]:
    """The picked whole environments that have no job yet (worth a note: the dashboard would show none)."""
    empty = []
    for environment in selection.environments:
        with contextlib.suppress(QoveryError):  # only a note: a failure here must not stop the file
            if not await client.list_environment_jobs(environment.id):
                empty.append(environment)
    return empty


async def first_organizations(client: QoveryClient, demo: bool = False) -> list[dict[str, Any]]:
    """The organizations the token sees, before any screen opens: a wrong token fails here, as a line."""
    try:
        organizations = await client.list_organizations()
    except QoveryError as exc:
        raise InitError(f"{explain(exc, 'organizations', demo)}; nothing written") from None
    organizations = [org for org in organizations if is_uuid(org.get("id"))]
    if not organizations:
        raise InitError(
            ("the demo token" if demo else f"the token in ${TOKEN_ENV}")
            + " sees no organization: create one in the Qovery console, or use a token of an organization "
            "that has projects; nothing written"
        )
    return organizations


# -- the command ----------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qjob-tui init",
        description=(
            "Pick organization, project, environments and jobs, and write them into a commented config file. "
            "With --environment, no questions: every job of those environments is written (for scripts)."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"file to write (default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG})",
    )
    parser.add_argument("--force", action="store_true", help="replace the file if it exists")
    parser.add_argument("--demo", action="store_true", help="pick from the embedded Qovery simulator")
    parser.add_argument(
        "--environment",
        "-e",
        action="append",
        metavar="ID",
        default=[],
        help="an environment UUID; repeat it for more (no picker: every job of them is written)",
    )
    return parser


def main(argv: list[str]) -> int:
    """`qjob-tui init ...`: 0 written, 1 cancelled, 2 for any error; nothing is written unless 0."""
    try:
        return asyncio.run(main_async(argv, os.environ))
    except KeyboardInterrupt:
        print("qjob-tui init: interrupted; nothing written", file=sys.stderr)
        return EXIT_CANCELLED


async def main_async(argv: list[str], env: Mapping[str, str], picker: PickerRunner | None = None) -> int:
    """`main` inside a running event loop; `picker` replaces the terminal picker (tests drive it)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return await run_init(args, env, picker)
    except InitError as exc:
        print(f"qjob-tui init: {exc}", file=sys.stderr)
        return EXIT_ERROR


PickerRunner = Callable[[QoveryClient, list[dict[str, Any]], Path, bool], Awaitable["Selection | None"]]


async def run_init(
    args: argparse.Namespace, env: Mapping[str, str], picker: PickerRunner | None = None
) -> int:
    """The command after parsing. `picker` replaces the terminal picker (tests drive it with a Pilot)."""
    path = target_path(args.config, env)
    environment_ids = check_environment_ids(args.environment)
    check_target(path, args.force)
    if not environment_ids and picker is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise InitError(
                "the picker needs a terminal; in a script name the environments instead: "
                "qjob-tui init --environment ID [--environment ID ...]; nothing written"
            )
        from qjob_tui.tui.picker import run_picker

        picker = run_picker
    notes: list[str] = []
    async with open_client(args.demo, env) as client:
        if environment_ids:
            selection = await jobs_of_environments(client, environment_ids, args.demo)
        else:
            assert picker is not None
            organizations = await first_organizations(client, args.demo)
            picked = await picker(client, organizations, path, args.demo)
            if not picked:
                print("qjob-tui init: cancelled; nothing written", file=sys.stderr)
                return EXIT_CANCELLED
            selection = picked
            notes = [
                f"Note: {environment.name or environment.id} has no jobs yet; they will join the dashboard "
                "once created."
                for environment in await empty_environments(client, selection)
            ]
    base = Config()
    if not args.demo and env.get(API_URL_ENV):
        # The URL the jobs were picked from is the one they live on.
        base = base.model_copy(
            update={"qovery": base.qovery.model_copy(update={"api_url": env[API_URL_ENV].rstrip("/")})}
        )
    command = start_command(path, args.demo, env)
    text = render_config(base, selection, start_hint=command)
    try:
        write_file_atomically(path, text, overwrite=args.force)
    except FileExists:
        raise InitError(f"{path} already exists: pass --force to replace it; nothing written") from None
    except OSError as exc:
        raise InitError(f"{path}: cannot be written ({exc.strerror or exc}); nothing written") from None
    try:
        read_config(path)  # belt and braces: what is on disk is what was checked
    except ConfigError as exc:
        raise InitError(f"{path} was written but does not read back: {exc}") from None
    print(f"Wrote {path}: {selection.describe()}.")
    for note in notes:
        print(note)
    print(f"Start the dashboard with: {command}")
    return EXIT_WRITTEN


def check_environment_ids(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if not is_uuid(value):
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise InitError(
                f"--environment {shown!r} is not an environment UUID (like 7a1f0c2e-5b3d-4e8f-9a6b-1c2d3e4f5a6b); "
                "copy it from the Qovery console's URL, or run `qjob-tui init` to pick; nothing written"
            )
        if value.lower() not in out:
            out.append(value.lower())
    return out


def check_target(path: Path, force: bool) -> None:
    """Fail before any question is asked when the file cannot be written."""
    if path.is_dir():
        raise InitError(f"{path} is a directory; name a file with --config; nothing written")
    if path.exists() and not force:
        raise InitError(
            f"{path} already exists: pass --force to replace it, or --config PATH to write another "
            "file; nothing written"
        )
