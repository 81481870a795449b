"""The top of the detail screen: who the job is, where it lives, what it runs, and Qovery's Status of it.

Three lines, so that an 80x24 terminal keeps room for the runs and the log:

    nightly-backup  cron  DEPLOYED  UP_TO_DATE  deployed 26h ago
    Acme Robotics / storefront / production  ·  cbc600f8-fdbd-4cda-a6e0-9f5ef9412584
    schedule 0 3 * * * (Etc/UTC)  ·  image acme/pg-backup:2.4.1 (Docker Hub)

Every name is outside text: terminal-safe, never markup. A line too long for the terminal ends in `…`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from qjob_tui.lines import printable
from qjob_tui.reads import JobFacts
from qjob_tui.tui.display import age, state_text, type_text

SEPARATOR = "  ·  "


def _line(*pieces: tuple[str, str] | Text) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for piece in pieces:
        if isinstance(piece, Text):
            text.append_text(piece)
        else:
            text.append(printable(piece[0]), style=piece[1])
    return text


def status_line(name: str, job_type: str | None, status: dict[str, Any] | None, now: datetime) -> Text:
    """The job's name, type, and Qovery's Status: its state, whether it is up to date, its last deployment."""
    text = _line((name, "bold"), ("  ", ""), type_text(job_type), ("  ", ""))
    if not status:
        text.append("status …", style="dim")
        return text
    text.append_text(state_text(status.get("state") if isinstance(status.get("state"), str) else None))
    deployment = status.get("service_deployment_status")
    if isinstance(deployment, str) and deployment:
        text.append("  ")
        text.append(printable(deployment), style="dim")
    last = status.get("last_deployment_date")
    if isinstance(last, str) and last:
        text.append(f"  deployed {age(last, now)}", style="dim")
    return text


def where_line(facts: JobFacts) -> Text:
    """`Acme Robotics / storefront / production  ·  <job id>` (a name Qovery would not give shows as `?`)."""
    names = [facts.organization_name, facts.project_name, facts.environment_name]
    text = _line()
    for index, name in enumerate(names):
        if index:
            text.append(" / ", style="dim")
        text.append(printable(name) if name else "?", style="bold" if index == 2 else "")
    text.append(SEPARATOR, style="dim")
    text.append(facts.id, style="dim")
    return text


def runs_line(facts: JobFacts) -> Text:
    """When the job runs (a cron schedule, or the lifecycle hooks it has) and what it runs (image or git)."""
    text = _line()
    if facts.schedule:
        text.append("schedule ", style="dim")
        text.append(printable(facts.schedule), style="bold")
        if facts.timezone:
            text.append(f" ({printable(facts.timezone)})")
    elif facts.hooks:
        text.append("hooks ", style="dim")
        text.append(", ".join(facts.hooks), style="bold")
    else:
        text.append("no schedule or hook", style="dim")
    text.append(SEPARATOR, style="dim")
    source = facts.source
    if source.kind != "unknown":
        text.append(f"{source.kind} ", style="dim")
    text.append(printable(source.summary))
    return text


class JobFactsPanel(Static):
    """The job's facts and Status in three lines; a read that failed says so in place of what it would show."""

    def __init__(
        self, name: str, job_type: str | None, *, now: Callable[[], datetime], id: str | None = None
    ):
        super().__init__(id=id)
        self.job_name = name
        self.job_type = job_type
        self._now = now
        self.facts: JobFacts | None = None
        self.status: dict[str, Any] | None = None
        self.error: str | None = None
        self.status_error: str | None = None
        self.text = Text()  # what the panel shows

    def on_mount(self) -> None:
        self._render_lines()

    def show(
        self,
        *,
        facts: JobFacts | None = None,
        status: dict[str, Any] | None = None,
        error: str | None = None,
        status_error: str | None = None,
    ) -> None:
        """Show what was read; what is not given stays as it was. `error`: the facts could not be read (they
        are read until they are); `status_error`: the Status could not (a Status that comes clears it)."""
        if facts is not None:
            self.facts = facts
            self.job_name = facts.name or self.job_name
            self.job_type = facts.job_type or self.job_type
            self.error = None
        if error is not None:
            self.error = error
        if status is not None:
            self.status, self.status_error = status, None
        if status_error is not None:
            self.status_error = status_error
        self._render_lines()

    def _render_lines(self) -> None:
        lines = [status_line(self.job_name, self.job_type, self.status, self._now())]
        if self.status_error:
            lines[0].append(f"  ⚠ {self.status_error}", style="bold red")  # the status shown is the last read
        if self.error:
            lines.append(_line((f"⚠ {self.error}", "bold red")))
            lines.append(_line(("retried on the next refresh", "red")))
        elif self.facts is None:
            lines += [_line(("reading the job from Qovery…", "dim")), _line()]
        else:
            lines += [where_line(self.facts), runs_line(self.facts)]
        self.text = Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
        self.update(self.text)
