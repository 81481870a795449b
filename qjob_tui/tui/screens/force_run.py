"""The force-run dialog: which event to force, among the events the job has.

A cron job has CRON (run it now); a lifecycle job has the hooks it defines: START, STOP, DELETE. Keys
`1`..`n` pick an event; Enter runs the focused one; Escape cancels.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from qjob_tui.actions import ForceEvent

EVENT_HELP: dict[ForceEvent, str] = {
    ForceEvent.CRON: "run the cron job now",
    ForceEvent.START: "run the job's on-start hook",
    ForceEvent.STOP: "run the job's on-stop hook",
    ForceEvent.DELETE: "run the job's on-delete hook",
}


class ForceRunScreen(ModalScreen[ForceEvent | None]):
    """Offers the events of the job(s); dismisses with the chosen event, or None."""

    BINDINGS = [
        Binding("escape,n", "dismiss(None)", "Cancel", id="force-run-cancel", show=False),
        Binding("1", "pick(0)", show=False, id="force-run-1"),
        Binding("2", "pick(1)", show=False, id="force-run-2"),
        Binding("3", "pick(2)", show=False, id="force-run-3"),
        Binding("left,up", "app.focus_previous", show=False),
        Binding("right,down", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, job_names: Sequence[str], events: Sequence[ForceEvent]) -> None:
        super().__init__()
        self.title_text = title
        self.job_names = list(job_names)
        self.events = list(events)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -force-run"):
            yield Label(Content(self.title_text), classes="dialog-title")
            for number, event in enumerate(self.events, 1):
                yield Label(
                    Content.assemble((str(number), "$accent"), f"  {event.value:<7} {EVENT_HELP[event]}")
                )
            with Horizontal(classes="dialog-buttons"):
                for number, event in enumerate(self.events, 1):
                    yield Button(
                        Content.assemble(event.value, " ", (str(number), "$accent")),
                        id=f"event-{event.value}",
                        variant="primary",
                        compact=True,
                    )
                cancel = Button(Content.assemble("Cancel ", ("esc", "$accent")), id="cancel", compact=True)
                cancel.can_focus = False
                yield cancel

    def on_mount(self) -> None:
        self.query_one(f"#event-{self.events[0].value}", Button).focus()

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.events):
            self.dismiss(self.events[index])

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        self.dismiss(ForceEvent(button_id.removeprefix("event-")) if button_id.startswith("event-") else None)
