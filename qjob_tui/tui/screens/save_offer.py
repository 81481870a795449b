"""Asked after the dashboard's browse added entries: save them to the config file? y/enter saves, n/escape not."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class SaveOfferScreen(ModalScreen[bool]):
    """Ask whether to save what was just added to the dashboard; dismisses with the answer."""

    DEFAULT_CSS = """
    SaveOfferScreen {
        align: center middle;
    }
    SaveOfferScreen > #offer {
        width: 80;
        max-width: 100%;
        height: auto;
        border: thick $primary 80%;
        background: $surface;
        padding: 1 2;
    }
    SaveOfferScreen #offer-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    SaveOfferScreen #offer-buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Save"),
        Binding("n,escape", "answer(False)", "Not now"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="offer"):
            yield Static(self.question, id="question", markup=False)
            with Horizontal(id="offer-buttons"):
                yield Button("Save (y)", id="save", variant="primary", compact=True)
                yield Button("Not now (n)", id="skip", compact=True)

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    def action_answer(self, save: bool) -> None:
        self.dismiss(save)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "save")
