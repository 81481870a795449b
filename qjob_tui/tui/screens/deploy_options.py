"""The deploy-with-options dialog: an image tag or a git commit id, checked like every other face does.

The body is validated by `qjob_tui.actions.validate_body` (the same rule as REST and MCP: one of the two,
not both, not empty); a refusal is shown in the dialog, which stays open until it is right or cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from qjob_tui.actions import ACTIONS_BY_NAME, InvalidInput, validate_body


def deploy_body(image_tag: str, commit_id: str) -> dict[str, Any]:
    """The JSON body of a deploy from the two fields; raises InvalidInput naming what is wrong."""
    body = {}
    if image_tag.strip():
        body["image_tag"] = image_tag.strip()
    if commit_id.strip():
        body["git_commit_id"] = commit_id.strip()
    if not body:
        raise InvalidInput(
            "body", "give an image tag or a git commit id (or press Escape and use plain deploy)"
        )
    checked = validate_body(ACTIONS_BY_NAME["deploy"], body)
    assert checked is not None
    return checked


class DeployOptionsScreen(ModalScreen[dict[str, Any] | None]):
    """Asks for the version to deploy; dismisses with the body (`image_tag` or `git_commit_id`), or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="deploy-options-cancel", show=False)]

    def __init__(self, title: str, job_names: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.job_names = list(job_names)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -deploy-options"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Label("Image tag (image-based jobs)")
            yield Input(placeholder="e.g. 2.5.0", id="image-tag")
            yield Label("or git commit id (git-based jobs)")
            yield Input(placeholder="e.g. 3f9c2a17e5b04d8c9a61f0e2b7d48c5a1e93b260", id="commit-id")
            yield Label("", id="error")
            with Horizontal(classes="dialog-buttons"):
                deploy = Button(
                    Content.assemble("Deploy ", ("enter", "$accent")),
                    id="deploy",
                    variant="primary",
                    compact=True,
                )
                cancel = Button(Content.assemble("Cancel ", ("esc", "$accent")), id="cancel", compact=True)
                deploy.can_focus = cancel.can_focus = False
                yield deploy
                yield cancel

    def on_mount(self) -> None:
        self.query_one("#image-tag", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#deploy")
    def _submit(self) -> None:
        try:
            body = deploy_body(
                self.query_one("#image-tag", Input).value, self.query_one("#commit-id", Input).value
            )
        except InvalidInput as exc:
            self.query_one("#error", Label).update(Content(f"✗ {exc.message}"))
            return
        self.dismiss(body)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
