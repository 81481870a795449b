"""The approval dialog: an agent's request that waits for the operator's yes, with a live countdown.

`ApprovalScreen` names where the request came from (`rest`/`mcp`), the client as it names itself (outside
input: escaped and cut), the action, the job (name and id), `forceEvent` and body, and counts down the time
left. `y` approves, `n` or Escape refuses. Enter does not answer, and no key counts in the first half second
after the dialog appears: a key meant for something else must not answer it.

`ApprovalDesk` is the dashboard's side of the approval queue: it opens the queue when the dashboard starts
(from then on, requests wait rather than being refused), opens the dialog for the oldest waiting request as
soon as no other dialog is open (a dialog the operator has open is not pushed away: the header counts the
waiting ones, and `a` opens the queue over it), moves on to the next once one is answered, closes the dialog
of a request that stopped waiting elsewhere (its caller left, it timed out) saying so, and writes arrivals
and approvals to the log pane (the refusals and Qovery's answers arrive there as outcomes). When the
dashboard quits it closes the queue: every waiting request is refused and its caller answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Static

from qjob_tui.actions import BodyKind
from qjob_tui.approvals import ApprovalEvent, ApprovalQueue, PendingApproval
from qjob_tui.lines import printable
from qjob_tui.pipeline import Approval
from qjob_tui.tui.display import SOURCE_STYLES
from qjob_tui.tui.widgets.log_pane import LogEntry

if TYPE_CHECKING:
    from textual.app import App

ARMING_S = 0.5  # keys pressed this soon after the dialog appears do not count
# While an input has the keys, a request waits for the typing to end (the input left), or to pause this long:
# a filter left open must not hide a request until it times out.
TYPING_PAUSE_S = 3.0
TICK_S = 0.25  # how often the countdown is redrawn
CLIENT_CHARS = 60  # the client's name as shown (the audit keeps more)
BODY_CHARS = 240  # the body as shown
URGENT_S = 10  # the countdown turns red below this


def shown(text: str, limit: int, redact: Callable[[str], str] = str) -> str:
    """Outside text on one line of the dialog: the process's secrets out (`redact`), control characters escaped
    (a terminal's escape sequences must not run), then cut to `limit` characters."""
    safe = printable(redact(text))
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def _fields(pending: PendingApproval, redact: Callable[[str], str]) -> Table:
    """The request, one fact a line: source, client, action, job, forceEvent, body."""
    request = pending.request
    rows: list[tuple[str, Text]] = [
        ("source", Text(request.source, style=SOURCE_STYLES.get(request.source, "bold"))),
        ("client", Text(shown(request.client, CLIENT_CHARS, redact) if request.client else "(did not say)")),
        ("action", Text(request.action.title, style="bold")),
        (
            "job",
            Text(
                shown(pending.job_name, 60, redact) if pending.job_name else "(name not known)", style="bold"
            ),
        ),
        ("job id", Text(request.job_id)),
        ("forceEvent", Text(request.force_event.value if request.force_event else "none")),
    ]
    if request.action.body is not BodyKind.NONE:
        body = (
            json.dumps(request.body, ensure_ascii=False, separators=(", ", ": ")) if request.body else "none"
        )
        rows.append(("body", Text(shown(body, BODY_CHARS, redact))))
    # A grid, not one text: a long value (a client's name, a body) wraps in its own column, not under the names.
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, value)
    return table


class ApprovalScreen(ModalScreen[bool | None]):
    """Asks the operator about one waiting request. Dismisses with True (approved), False (refused), or None
    (it stopped waiting before an answer)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Approve", id="approval-yes", show=False),
        Binding("n,escape", "answer(False)", "Refuse", id="approval-no", show=False),
        Binding("enter", "enter", "Enter does not answer", show=False),
    ]

    # The clock the half-second guard reads; the tests replace it to press keys "too soon" deterministically.
    clock: ClassVar[Callable[[], float]] = staticmethod(time.monotonic)

    def __init__(
        self, queue: ApprovalQueue, pending: PendingApproval, redact: Callable[[str], str] = str
    ) -> None:
        super().__init__()
        self.queue = queue
        self.pending = pending
        self.redact = redact  # the process's secrets out of what the caller sent (Runtime.redactor.text)
        self._armed_at = float("inf")  # set when the dialog appears

    def compose(self) -> ComposeResult:
        request = self.pending.request
        title = f"{request.source} asks to {request.action.title.lower()} {self.pending.job_label}"
        with Vertical(id="dialog", classes="dialog -approval"):
            yield Label(Content(shown(title, 80, self.redact)), id="approval-title", classes="dialog-title")
            yield Static(_fields(self.pending, self.redact), id="approval-fields")
            if request.action.warning:
                yield Label(Content(request.action.warning), id="warning")
            yield Static("", id="countdown")
            yield Label(Content(""), id="approval-hint")
            with Horizontal(classes="dialog-buttons"):
                yes = Button(
                    Content.assemble("Approve ", ("y", "$accent")),
                    id="approve",
                    variant="error",
                    compact=True,
                )
                no = Button(Content.assemble("Refuse ", ("n", "$accent")), id="refuse", compact=True)
                yes.can_focus = no.can_focus = False  # Enter must never press one
                yield yes
                yield no

    def on_mount(self) -> None:
        self._armed_at = type(self).clock() + ARMING_S
        self._tick()
        self.set_interval(TICK_S, self._tick)

    def _tick(self) -> None:
        left = self.pending.remaining_s()
        more = sum(1 for other in self.queue.waiting if other is not self.pending)
        text = Text()
        text.append(f"{left:.0f}s", style="bold red" if left < URGENT_S else "bold")
        text.append(" left to answer · then it is refused", style="dim")
        if more:
            text.append(f" · {more} more waiting", style="bold yellow")
        self.query_one("#countdown", Static).update(text)

    def _hint(self, text: str) -> None:
        self.query_one("#approval-hint", Label).update(Content(text))

    def action_answer(self, approve: bool) -> None:
        if type(self).clock() < self._armed_at:
            self._hint("Too soon: a key pressed as the dialog appeared does not count. Press it again.")
            return
        answered = self.queue.answer(self.pending, approve)
        self.dismiss(approve if answered else None)

    def action_enter(self) -> None:
        self._hint("Enter does not answer: y approves, n or Escape refuses.")

    @on(Button.Pressed, "#approve")
    def _approve(self) -> None:
        self.action_answer(True)

    @on(Button.Pressed, "#refuse")
    def _refuse(self) -> None:
        self.action_answer(False)


class ApprovalDesk:
    """The dashboard's side of the approval queue: opens it, shows its requests one by one, closes it.

    `log` adds an entry to the log pane, `changed` redraws the header's count, `ready` says whether the main
    screen is up (False while the app closes)."""

    def __init__(
        self,
        app: App[Any],
        queue: ApprovalQueue,
        *,
        log: Callable[[LogEntry], None],
        changed: Callable[[], None],
        ready: Callable[[], bool],
        redact: Callable[[str], str] = str,
    ) -> None:
        self.app = app
        self.queue = queue
        self.log = log
        self.changed = changed
        self.ready = ready
        self.redact = redact
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def waiting(self) -> int:
        return len(self.queue.waiting)

    def start(self) -> None:
        """From now on a gated request waits for this dashboard's operator."""
        self._unsubscribe = self.queue.subscribe(self._heard)
        self.app.screen_change_signal.subscribe(self.app, self._screen_changed)
        self.queue.open()

    def stop(self) -> None:
        """Refuse every waiting request (each caller gets its answer) and refuse new ones at once."""
        self.queue.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def open_now(self) -> None:
        """`a`: the oldest waiting request's dialog, over whatever dialog is open (that one stays beneath).
        With nothing waiting it says so, unless the key is a letter for someone else (an input, a dialog)."""
        if isinstance(self.app.screen, ApprovalScreen):
            raise SkipAction  # the key means nothing here: let it go to whoever wants it (an input)
        if self._input_has_keys():
            raise SkipAction  # a letter for the input
        if not self.queue.waiting:
            if isinstance(self.app.screen, ModalScreen):
                raise SkipAction  # a dialog's own letter (the picker's filter)
            self.app.notify(self._nothing_waits(), title="Approvals", markup=False)
            return
        self._show(force=True)

    def _nothing_waits(self) -> str:
        """Why `a` opened nothing, and what would wait: the key is in the help whatever the config."""
        gated = sorted(self.queue.actions)
        if not gated:
            return "Nothing waits for your approval: server.approve is empty, so no request from REST or MCP asks"
        return f"Nothing waits for your approval ({' and '.join(gated)} from REST or MCP would)"

    # -- inside -----------------------------------------------------------------------------------------

    def _heard(self, event: ApprovalEvent) -> None:
        # The queue speaks from whatever task decided; the app's loop does the rest.
        self.app.call_later(self._handle, event)

    def _handle(self, event: ApprovalEvent) -> None:
        if not self.ready():  # the app is closing: no widgets left to tell
            return
        pending = event.pending
        request = pending.request
        if event.verdict is None:
            client = shown(request.client, CLIENT_CHARS) if request.client else "a client that did not say"
            self.log(
                LogEntry(
                    time=pending.arrived_at,
                    source=request.source,
                    action=LogEntry.action_text(request),
                    job=pending.job_label,
                    result="waiting for approval",
                    ok=True,
                    detail=f"asked by {client}; {self.queue.timeout_s:.0f}s to answer (y or n in the dialog)",
                )
            )
            self.app.bell()
        elif event.verdict is Approval.APPROVED:
            self.log(
                LogEntry(
                    time=datetime.now(UTC),
                    source=request.source,
                    action=LogEntry.action_text(request),
                    job=pending.job_label,
                    result="approved",
                    ok=True,
                    detail=f"by the operator after {event.waited_s:.1f}s; sent to Qovery",
                )
            )
        screen = self.app.screen
        # A request that stopped waiting elsewhere (not the operator's answer): its dialog closes, saying why.
        ended_elsewhere = event.verdict not in (None, Approval.APPROVED, Approval.DENIED)
        if ended_elsewhere and isinstance(screen, ApprovalScreen) and screen.pending is pending:
            assert event.verdict is not None
            self.app.notify(
                f"{_ended(event.verdict)}: {request.action.name} on {pending.job_label}",
                title="Approval",
                severity="warning",
                markup=False,
            )
            screen.dismiss(None)
        self.changed()
        self._show()

    def _screen_changed(self, screen: Screen[object]) -> None:
        self.app.call_after_refresh(self._show)

    def typing_done(self) -> None:
        """An input lost the keys (Enter or Escape in the filter or a search): a request that waited for the
        operator to finish typing gets its dialog now."""
        self.app.call_after_refresh(self._show)

    def _input_has_keys(self) -> bool:
        """An input has the keys. TextArea is imported here, not with this module: its module costs about 25 ms
        of CPU, and this module is on the way to the dashboard's first frame (the desk starts on mount)."""
        from textual.widgets import TextArea

        return isinstance(self.app.focused, Input | TextArea)

    def _typing(self) -> float:
        """How long the keys still have to pause before a dialog may open over the input that has them (0:
        no input has them, or they paused long enough)."""
        if not self._input_has_keys():
            return 0.0
        last_key = getattr(self.app, "last_key_at", None)  # OrderedKeysApp's: when the last key arrived
        if not isinstance(last_key, float):
            return TYPING_PAUSE_S
        return max(0.0, TYPING_PAUSE_S - (time.monotonic() - last_key))

    def _show(self, *, force: bool = False) -> None:
        """The oldest waiting request's dialog, when nothing else is asking the operator (or when `force`d)."""
        if not self.ready() or not self.queue.operator_present:
            return
        screen = self.app.screen
        if isinstance(screen, ApprovalScreen) or (isinstance(screen, ModalScreen) and not force):
            return
        typing = 0.0 if force else self._typing()
        if typing:
            # The operator is typing (a y in `nightly-backup` must not answer): once the input is left
            # (`typing_done`), or the keys pause.
            self.app.set_timer(typing, self._show)
            return
        pending = self.queue.oldest()
        if pending is None:
            return
        self.app.push_screen(ApprovalScreen(self.queue, pending, self.redact))


def _ended(verdict: Approval) -> str:
    return {
        Approval.WITHDRAWN: "The caller went away; withdrawn",
        Approval.TIMEOUT: "Nobody answered in time; refused",
        Approval.UNAVAILABLE: "Refused",
        Approval.QUEUE_FULL: "Refused",
    }.get(verdict, "Ended")
