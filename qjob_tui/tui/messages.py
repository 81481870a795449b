"""The messages the dashboard posts to itself: the board and the pipeline speak, the widgets follow."""

from __future__ import annotations

from textual.message import Message

from qjob_tui.pipeline import ActionOutcome, Refusal


class JobsChanged(Message):
    """Jobs on the board changed (states, names, new jobs). The app keeps the ids; the message is a nudge."""


class OutcomeReceived(Message):
    """An action finished, from any face (dashboard, REST, MCP): its outcome goes to the log pane."""

    def __init__(self, outcome: ActionOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class RefusalReceived(Message):
    """A REST or MCP request was refused before Qovery (bad input, unlisted job): the operator should see it."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__()
        self.refusal = refusal


class FilterChanged(Message):
    """The user typed in the filter bar: the jobs table shows only what matches `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class FilterClosed(Message):
    """The user left the filter bar: Enter keeps the filter (`cleared` False), Escape clears it."""

    def __init__(self, cleared: bool) -> None:
        super().__init__()
        self.cleared = cleared
