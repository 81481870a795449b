"""What a one-shot command prints, and where.

Without `--json`: human lines on stdout, in the house's words (`lines.py`: ISO times, the action line), and
the end on stdout when it is a success, on stderr otherwise. With `--json`: one JSON object per line on
stdout and nothing else there — `accepted`, `state`, `log` (or `job`) events, and last the `result` — while the same
human lines go to stderr when it is a terminal (a person watching a script). The program's own notes (a
failed read being retried, an audit problem) always go to stderr.

Every line passes the process's `Redactor` (no token, no URL credentials), and a human line `printable()`
(a job name or Qovery's message cannot drive the terminal nor forge a second line); JSON is ASCII-escaped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from qjob_tui.jobs import JobInfo
from qjob_tui.lines import OutputLines, action_line, is_terminal, iso_utc, note_line, printable, write_line
from qjob_tui.oneshot.results import Ending, Exit
from qjob_tui.pipeline import ActionOutcome
from qjob_tui.reads import LogLine
from qjob_tui.redaction import Redactor

MAX_SHOWN_JOB = 100  # characters of the job in a human line: more than a name needs


@dataclass
class Subject:
    """What the command is about, once known: for the end's line and the result record."""

    command: str
    job: str | None  # as typed, then the job's id once found (None: no one job)
    label: str | None = None  # the job's name, once known

    @property
    def shown(self) -> str:
        """The job in a human line: its name, else its id, else JOB as typed, which may be anything (a 100 KB
        paste): cut, as the messages quote it (`quoted_excerpt`)."""
        text = self.label or self.job or ""
        return text if len(text) <= MAX_SHOWN_JOB else text[: MAX_SHOWN_JOB - 3] + "..."


class Reporter:
    """Prints one command's events: JSON lines or human lines, as the command line asked."""

    def __init__(self, *, json_lines: bool, stdout: TextIO, stderr: TextIO, subject: Subject) -> None:
        self.json_lines = json_lines
        self.stdout = stdout
        self.stderr = stderr
        self.subject = subject
        self.redactor = Redactor()  # the runtime's, once it is open (`run_args`): it knows the secrets
        # With --json the human lines are progress for a person: on stderr, when one is looking at it.
        self._human: TextIO | None = stdout if not json_lines else (stderr if is_terminal(stderr) else None)
        self._out = OutputLines(stdout, stderr)

    # -- the events -------------------------------------------------------------------------------------

    def accepted(self, outcome: ActionOutcome) -> None:
        """Qovery's answer to the action, whatever it was (the end says what it means)."""
        self._say(action_line(outcome))
        if not outcome.ok:
            return
        if outcome.status == 204 and outcome.request.action.no_content:
            self._say(f"{self.subject.shown}: {outcome.request.action.no_content}")
        record: dict[str, Any] = {"event": "accepted"}
        data = outcome.data
        if isinstance(data, dict):
            record.update((key, value) for key, value in data.items() if key != "event")
        elif data is not None:
            record["answer"] = data
        self._record(record)

    def state(self, state: str, at: float | None = None) -> None:
        """A state the job was seen in, at `at` (a `time.time()` stamp; default now)."""
        when = iso_utc(time.time() if at is None else at)
        self._say(f"{when} {self.subject.shown} {state}")
        self._record({"event": "state", "state": state, "at": when})

    def log(self, line: LogLine) -> None:
        """A line of the run's deployment log: Qovery's time, the job, the step, the text; an error's hint
        and link under it."""
        record = {"event": "log", **line.as_dict()}
        self._record(record)
        if self._human is None:
            return
        kind = "" if line.kind == "info" else f"{line.kind.upper()} "
        head = f"{_qovery_time(line.timestamp)} {self.subject.shown} {line.step or '-'}: {kind}{line.message}"
        self._say(head)
        if line.hint:
            self._say(f"    hint: {line.hint}")
        if line.link:
            self._say(f"    see: {line.link}")

    def jobs(self, jobs: Iterable[JobInfo]) -> None:
        """`status`: a table for people, one JSON object per job for programs."""
        rows = list(jobs)
        for job in rows:
            self._record({"event": "job", **job.as_dict()})
        if self._human is None:
            return
        header = ("NAME", "STATE", "TYPE", "LAST DEPLOYMENT", "ID")
        table = [header] + [
            tuple(  # escaped before measured, so that the columns hold whatever a name holds
                printable(cell)
                for cell in (
                    job.label,
                    job.state or "-",
                    job.job_type or "-",
                    job.last_deployment or "-",
                    job.id,
                )
            )
            for job in rows
        ]
        widths = [max(len(row[column]) for row in table) for column in range(len(header) - 1)]
        for row in table:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self._say("  ".join([*cells, row[-1]]))

    def note(self, text: str) -> None:
        """The program's own remark, on stderr whatever the mode."""
        self._write(self.stderr, note_line(self.redactor.text(text)))

    def end(self, ending: Ending, *, said: bool = False) -> None:
        """The last line: the result record with --json, and a human line saying how it ended (unless it was
        `said` already: a usage error the parser printed)."""
        subject = self.subject
        record: dict[str, Any] = {
            "event": "result",
            "result": ending.exit.result,
            "state": ending.state,
            "exit": int(ending.exit),
            "command": subject.command,
            "job": subject.job,
            "name": subject.label,
        }
        if ending.http_status is not None:
            record["http_status"] = ending.http_status
        if ending.message is not None:
            record["message"] = ending.message
        self._record(record)
        if ending.message is None or said:
            return  # a plain success: the lines before it said all
        line = note_line(
            self.redactor.text(
                f"{' '.join(filter(None, (subject.command, subject.shown)))}: {ending.message}"
            )
        )
        if ending.ok:
            self._say(line)
            return
        if ending.exit is Exit.SIGINT and is_terminal(self.stderr):
            line = "\n" + line  # off the line where the terminal echoed ^C
        self._write(self.stderr, line)

    # -- the two streams ----------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self._human is not None:
            self._write(self._human, printable(self.redactor.text(text)))

    def _record(self, record: dict[str, Any]) -> None:
        if self.json_lines:
            # ASCII only: no control or line-break character of Qovery's text reaches a reader raw.
            self._write(self.stdout, json.dumps(self.redactor.data(record), ensure_ascii=True, default=str))

    def _write(self, stream: TextIO, text: str) -> None:
        """One line, flushed. A stream that cannot take it changes nothing of what the command does: the
        action, once sent, is still followed and audited, and the exit code is the command's; the lines are
        dropped (a lost stdout said once on stderr: `OutputLines`)."""
        if stream is self.stdout:
            self._out(text)
        else:
            write_line(stream, text)


def _qovery_time(timestamp: str | None) -> str:
    """Qovery's time of a log line, written as ours (ISO UTC to the millisecond); as it is if unreadable."""
    if not timestamp:
        return "-"
    try:
        return iso_utc(datetime.fromisoformat(timestamp))
    except ValueError:
        return timestamp
