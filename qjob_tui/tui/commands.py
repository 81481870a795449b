"""The command palette's job commands (ctrl+p): every action for the selected (or marked) jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from textual.command import Hit, Hits, Provider
from textual.content import Content


@dataclass(frozen=True)
class JobCommand:
    """One palette entry: `Deploy nightly-backup`, and what runs when it is chosen."""

    title: str
    help: str
    run: Callable[[], None]


class HasJobCommands(Protocol):
    def job_commands(self) -> list[JobCommand]: ...


class JobCommands(Provider):
    """Offers the app's `job_commands()`: every action of the table, force run per event, deploy with options."""

    def _commands(self) -> list[JobCommand]:
        return cast(HasJobCommands, self.app).job_commands()

    async def discover(self) -> Hits:
        # Scored hits, not DiscoveryHits (all 0): the job's actions list above Textual's own commands.
        for command in self._commands():
            yield Hit(1.0, Content(command.title), command.run, text=command.title, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.run,
                    text=command.title,
                    help=command.help,
                )
