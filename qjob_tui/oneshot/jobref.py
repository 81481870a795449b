"""JOB on a command line: a job's UUID, or its name on the board (the config's label, else Qovery's name), exact.

The config answers alone when it can: a UUID it lists, or a name when every job it lists has one and it lists
no environment — no request at all. Otherwise the board learns its jobs once (`discovery.discover`: the jobs
of the configured environments, the names of unnamed jobs) and the name is looked for among all of them, so
that a name two jobs share is caught wherever the second one comes from.
"""

from __future__ import annotations

import difflib

from qjob_tui.actions import is_uuid, quoted_excerpt
from qjob_tui.discovery import discover
from qjob_tui.jobs import JobBoard, JobInfo
from qjob_tui.oneshot.results import Ending, Exit, ending_of_unread
from qjob_tui.qovery import QoveryClient


class JobNotFound(Exception):
    """JOB names no job (exit 2), several (exit 2), or Qovery could not be asked (exit 5) or refused to list
    the jobs (exit 3)."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.message)
        self.ending = ending


class JobFinder:
    """Finds the jobs a command line names on one board, learning the board from Qovery at most once."""

    def __init__(self, board: JobBoard, client: QoveryClient) -> None:
        self.board = board
        self.client = client
        self.learnt = False
        self.errors: list[str] = []  # what learning could not read

    async def find(self, text: str) -> str:
        """The id of the job `text` names. Raises JobNotFound. Whether it may be touched is the pipeline's call."""
        if is_uuid(text):
            job_id = text.lower()
            # Only a configured environment can list a job the config does not.
            if not self.board.is_listed(job_id) and self.board.environments:
                await self._learn()
                if not self.board.is_listed(job_id) and self.errors:
                    raise self._unreadable(f"job {job_id}")
            return job_id
        if self.board.environments or any(job.name is None for job in self.board.jobs.values()):
            await self._learn()
        named = [job for job in self.board.jobs.values() if job.listed and job.name == text]
        if len(named) == 1:
            return named[0].id
        if named:
            raise JobNotFound(Ending(Exit.USAGE, _ambiguous(text, named)))
        if self.errors:
            raise self._unreadable(f"the job named {quoted_excerpt(text)}")
        raise JobNotFound(Ending(Exit.USAGE, self._unknown(text)))

    async def _learn(self) -> None:
        if not self.learnt:
            self.learnt = True
            self.errors = await discover(self.board, self.client, states=False)  # who, not how

    def _unreadable(self, what: str) -> JobNotFound:
        message = f"{what} could not be found: Qovery did not list the jobs ({'; '.join(self.errors)})"
        return JobNotFound(ending_of_unread(message, self.errors))

    def _unknown(self, text: str) -> str:
        names = sorted({job.name for job in self.board.jobs.values() if job.listed and job.name})
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        close += [name for name in names if name.lower() == text.lower() and name not in close]
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return (
            f"no job is named {quoted_excerpt(text)}{hint} (JOB is a job's UUID or its exact name; "
            "`qjob-tui status` lists them)"
        )


def _ambiguous(text: str, jobs: list[JobInfo]) -> str:
    which = ", ".join(f"{job.id} (environment {job.environment or 'unknown'})" for job in jobs)
    return f"{len(jobs)} jobs are named {quoted_excerpt(text)}: {which}; give the job's id instead"
