"""The filter bar: `/` opens it, typing filters the jobs, Enter keeps the filter, Escape clears it."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from qjob_tui.tui.messages import FilterChanged, FilterClosed


class FilterBar(Input):
    """An input line under the jobs table, hidden until `/`."""

    BINDINGS = [Binding("escape", "close(True)", "Clear filter", show=False)]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(
            placeholder="filter by name, id, state, project or env — Enter keeps it, Escape clears it", id=id
        )

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(FilterChanged(event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_close(not self.value.strip())

    def action_close(self, cleared: bool) -> None:
        if cleared:
            self.value = ""
            self.remove_class("-open")
        self.post_message(FilterClosed(cleared))
