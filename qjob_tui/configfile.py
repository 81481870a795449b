"""The config file as text: what a user picked, written as commented YAML, and added to an existing file.

- **The selection** (`Selection` of `EnvironmentChoice` and `JobChoice`): what the picker hands back, or what
  `qjob-tui init --environment` lists; the listing errors worded for a user (`explain`).
- **The renderer** (`render_config`, `render_example`): a whole config file, every key commented with the
  description the config model gives it, so `config.example.yaml` and the files `init` writes explain the
  same keys in the same words. The text is written line by line, because a YAML library would drop the
  comments; each value from Qovery goes through `yaml.safe_dump` (quotes, colons and newlines in a name are
  escaped), and the whole text is loaded back and compared before anyone writes it.
- **Writing** (`write_file_atomically`): through a temporary file, so a reader never sees half a file, and
  never over an existing file unless asked.
- **Adding to a file** (`append_to_config`, `save_selection`): the dashboard's browse saves picked entries by
  inserting lines into the `jobs:` and `environments:` lists, which keeps the user's comments; a file that
  cannot be edited that way gets a commented copy beside it instead.

`python -m qjob_tui.configfile` prints `config.example.yaml` as the model renders it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from qjob_tui.actions import is_uuid
from qjob_tui.config import (
    CONFIG_ENV,
    LOCAL_CONFIG,
    Config,
    ConfigError,
    JobEntry,
    Settings,
    named_config_path,
    read_config,
    user_config_path,
)
from qjob_tui.files import make_private_dirs
from qjob_tui.lines import count_of
from qjob_tui.qovery import QoveryError, QoveryHTTPError

# -- what the user picked -------------------------------------------------------------------------------


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


def credential_of(settings: Settings) -> str:
    """How a message names the token in use (never its value): `the token in $QOVERY_API_KEY`."""
    return "the demo token" if settings.demo else f"the token in ${settings.config.qovery.token_env}"


def explain(exc: QoveryError, what: str, credential: str = "the token") -> str:
    """A failure to list `what` from Qovery, as a line that says what to do; `credential` from credential_of."""
    if isinstance(exc, QoveryHTTPError):
        if exc.status == 401:
            return (
                f"Qovery refused {credential} (401) while listing {what}: check that it is a valid, unexpired "
                "API token (Qovery console > Organization settings > API tokens)"
            )
        if exc.status == 403:
            return f"{credential} may not read {what} (403): use a token of an organization that can"
        if exc.status == 404:
            return f"{what}: not found (404), or not visible with {credential}"
    return f"{what}: {exc.message}"


# -- where the file goes, and how to start the dashboard on it ------------------------------------------


def target_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """`--config`, else `$QJOB_TUI_CONFIG`, else `./qjob-tui.yaml`: the first place `qjob-tui` looks."""
    if explicit is not None:
        return named_config_path(explicit)
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

_COMMENT_COLUMN = 38  # where the comments of settings start, lined up
_LINE_WIDTH = 120  # a setting's description wraps onto comment lines below it beyond this
_NAME_COMMENT_WIDTH = 100  # a comment made of names from Qovery is cut here

# The one job config.example.yaml shows: placeholder ids in the shape of Qovery's, no real job's.
EXAMPLE_JOB = JobEntry(
    id="0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11",
    name="nightly-backup",
    environment="7a1f0c2e-5b3d-4e8f-9a6b-1c2d3e4f5a6b",
)
_EXAMPLE_HEADER = (
    "# qjob-tui configuration — copy to ./qjob-tui.yaml (or ~/.config/qjob-tui/config.yaml), or let",
    "# `qjob-tui init` write one for you. Every key is optional except jobs[].id; unknown keys are refused.",
    "# The job below is an example: put yours in its place.",
    "# Generated from the descriptions in qjob_tui/config.py: python -m qjob_tui.configfile > config.example.yaml",
)


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


def _one_line(text: str) -> str:
    """Text made safe to follow a `#`: printable, on one line."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(flat.split())


def comment_text(text: str) -> str:
    """Text made safe to follow a `#`: one line, printable, not too long (for names that come from Qovery)."""
    flat = _one_line(text)
    return flat if len(flat) <= _NAME_COMMENT_WIDTH else flat[: _NAME_COMMENT_WIDTH - 1] + "…"


def _with_comment(line: str, comment: str | None) -> str:
    return f"{line}  # {comment_text(comment)}" if comment else line


def _comment_block(text: str, indent: str = "") -> list[str]:
    """`text` as whole `#` lines, wrapped."""
    width = _LINE_WIDTH - len(indent) - 2
    return [f"{indent}# {line}" for line in textwrap.wrap(_one_line(text), width)]


def _setting_lines(line: str, description: str) -> list[str]:
    """A setting's line with its description beside it, lined up, and wrapped onto comment lines below."""
    column = max(_COMMENT_COLUMN, len(line) + 2)
    parts = textwrap.wrap(_one_line(description), max(30, _LINE_WIDTH - column - 2))
    if not parts:
        return [line]
    return [line.ljust(column) + "# " + parts[0], *(" " * column + "# " + part for part in parts[1:])]


def _bounds(info: FieldInfo) -> str:
    """The range a number must be in, from the field's constraints: `1 to 3600`, `more than 0, at most 600`."""
    limits = {
        name: getattr(item, name)
        for item in info.metadata
        for name in ("gt", "ge", "lt", "le")
        if getattr(item, name, None) is not None
    }
    if "ge" in limits and "le" in limits:
        return f"{limits['ge']} to {limits['le']}"
    words = {"gt": "more than", "ge": "at least", "lt": "less than", "le": "at most"}
    return ", ".join(f"{words[name]} {value}" for name, value in limits.items())


def describe_field(model: type[BaseModel], key: str) -> str:
    """What a key means, as its comment says it: the model's description, and its range if it has one."""
    info = model.model_fields[key]
    description = info.description or ""
    bounds = _bounds(info)
    return f"{description}; {bounds}" if bounds else description


def _section_comment(key: str) -> list[str]:
    """The comment above a top-level key: its description; for `jobs:`, what each key of an item means."""
    lines = _comment_block(describe_field(Config, key))
    if key == "jobs":
        fields = list(JobEntry.model_fields)
        width = max(len(name) for name in fields) + 2
        for name in fields:
            description = describe_field(JobEntry, name)
            lines += [
                f"#   {name.ljust(width)}{line}"
                for line in textwrap.wrap(description, _LINE_WIDTH - 6 - width)
            ]
    return lines


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


def _settings_lines(name: str, section: BaseModel) -> list[str]:
    """A settings section with every key of its model (a new key is never forgotten), each with its comment."""
    model = type(section)
    values = section.model_dump(mode="json")
    lines = [*_section_comment(name), f"{name}:"]
    for key in model.model_fields:
        lines += _setting_lines(
            f"  {key}: {yaml_scalar(values[key], quote=False)}", describe_field(model, key)
        )
    return lines


def _render(base: Config, entries: _Entries, header: Sequence[str]) -> str:
    """The whole file: `header`, then every section of the model in the order of its keys."""
    out = [*header]
    for key in Config.model_fields:
        out.append("")
        if key == "jobs":
            out += _section_comment(key)
            out.append("jobs:" if entries.jobs else "jobs: []")
            for entry, comment, env_comment in entries.jobs:
                out += ["  " + line for line in job_item_lines(entry, comment, env_comment)]
        elif key == "environments":
            out += _section_comment(key)
            out.append("environments:" if entries.environments else "environments: []")
            for env_id, comment in entries.environments:
                out += ["  " + line for line in environment_item_lines(env_id, comment)]
        else:
            out += _settings_lines(key, getattr(base, key))
    return "\n".join(out) + "\n"


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
    header = [
        f"# qjob-tui configuration, written by `{written_by}` on {day}.",
        "# Every key is optional except jobs[].id; unknown keys are refused; config.example.yaml has them all.",
    ]
    if start_hint:
        header.append(f"# Start the dashboard on it: {comment_text(start_hint)}")
    text = _render(base, entries, header)
    check_reads_back(text, entries.config(base))
    return text


def render_example() -> str:
    """`config.example.yaml`: every key at its default, one example job, every key explained."""
    config = Config(jobs=[EXAMPLE_JOB])
    text = _render(config, _Entries.of(config, Selection()), _EXAMPLE_HEADER)
    check_reads_back(text, config)
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


class FileExists(FileExistsError):
    """The target exists and the caller did not ask to replace it."""


def write_file_atomically(path: Path, text: str, *, overwrite: bool, mode: int = 0o600) -> None:
    """Write `text` to `path` through a temporary file in the same directory, so a reader never sees half a file.

    Without `overwrite`, an existing `path` is left alone (FileExists), even one that appears meanwhile."""
    make_private_dirs(path.parent)
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


# -- adding entries to a file that exists ---------------------------------------------------------------


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


def save_selection(settings: Settings, selection: Selection, env: Mapping[str, str]) -> SaveResult:
    """Save picked entries for a run on `settings`: into its config file, keeping the comments; a run without
    a file gets a new one where `init` would write it, never over another file."""
    if settings.path is not None:
        return append_to_config(settings.path, selection, fallback=settings.config)
    # --demo without --config ignores ./qjob-tui.yaml, so that file may hold real jobs: never edit it here.
    return write_new_config(target_path(None, env), settings.config, selection, demo=settings.demo, env=env)


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
        )
        edited = _insert_items(
            edited,
            "environments",
            [environment_item_lines(e, c) for e, c in new_envs],
        )
        check_reads_back(edited, entries.config(current))
    except (CannotEdit, ValueError) as exc:
        return _write_copy(path, current, selection, f"{path} could not be edited safely ({exc})")
    mode = path.stat().st_mode & 0o777
    write_file_atomically(path, edited, overwrite=True, mode=mode)
    if read_config(path) != entries.config(current):  # what the next start will read
        raise OSError(f"{path} changed while it was being saved; check it")
    return SaveResult(path, copy=False)


def write_new_config(
    path: Path,
    base: Config,
    selection: Selection,
    *,
    demo: bool = False,
    env: Mapping[str, str] | None = None,
) -> SaveResult:
    """A new commented config at `path`; if a file is there already, a copy beside it (never over it)."""
    return _write_copy(
        path, base, selection, f"{path} exists already", demo=demo, env=env, at_path_first=True
    )


def _write_copy(
    path: Path,
    base: Config,
    selection: Selection,
    reason: str,
    *,
    demo: bool = False,
    env: Mapping[str, str] | None = None,
    at_path_first: bool = False,
) -> SaveResult:
    """A new file beside `path` (`qjob-tui.browse.yaml`, `-2`, ...), or at `path` itself if it is free and
    `at_path_first`; never over an existing file. `reason`: why not at `path`."""
    env = os.environ if env is None else env
    names = [
        path.with_name(f"{path.stem}.browse{'' if n == 1 else f'-{n}'}{path.suffix or '.yaml'}")
        for n in range(1, 1000)
    ]
    for candidate in [path, *names] if at_path_first else names:
        text = render_config(
            base, selection, start_hint=start_command(candidate, demo, env), written_by="qjob-tui (browse)"
        )
        try:
            write_file_atomically(candidate, text, overwrite=False)
        except FileExists:
            continue
        if candidate == path:
            return SaveResult(path, copy=False)
        return SaveResult(candidate, copy=True, reason=reason)
    raise OSError(f"no free name for a copy of {path}")


_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")


def _split_comment(rest: str) -> tuple[str, str]:
    """`value  # comment` -> (value, '# comment'); only for the simple values this edit accepts."""
    match = re.match(r"^(?P<value>[^#]*?)\s*(?P<comment>#.*)?$", rest)
    assert match is not None
    return match["value"].strip(), match["comment"] or ""


def _insert_items(text: str, key: str, items: list[list[str]]) -> str:
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
    if not found:  # a new list at the end, with the comment a rendered file has above it
        block = [line + "\n" for line in _section_comment(key)]
        block += [f"{key}:\n"] + ["  " + line + "\n" for item in items for line in item]
        return text + "\n" + "".join(block)
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


if __name__ == "__main__":
    print(render_example(), end="")
