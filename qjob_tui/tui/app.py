"""The dashboard: the jobs with their live state, every action on a key and a button, and the log pane.

Data flows one way. A key (or button, or palette command) becomes `pipeline.prepare(..., source="tui")`
then `pipeline.run()` in a worker; the pipeline tells every listener, so the log pane shows the outcomes of
every face (dashboard, REST, MCP) through the same subscription. The runtime's lifecycle (discover, poll)
runs in two workers and reports through `board.subscribe` and `lifecycle.subscribe`; the table updates the
cells that changed.

Nothing here waits on the network outside a worker, and no worker's error ends the app: it goes to the
log pane and a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input
from textual.worker import Worker, WorkerState

from qjob_tui.actions import ACTIONS_BY_NAME, ForceEvent, JobAction
from qjob_tui.discovery import Unread
from qjob_tui.jobs import JobInfo
from qjob_tui.lifecycle import LifecycleNote
from qjob_tui.lines import count_of, printable
from qjob_tui.pipeline import ActionOutcome, ActionRefused, Refusal
from qjob_tui.signals import on_signals
from qjob_tui.startup import started
from qjob_tui.tui.commands import JobCommand, JobCommands
from qjob_tui.tui.key_order import OrderedKeysApp
from qjob_tui.tui.keys import ACTING_ACTIONS, FIXED_KEYS, app_bindings, app_keys, check_keymap
from qjob_tui.tui.messages import FilterChanged, FilterClosed, JobsChanged, OutcomeReceived, RefusalReceived
from qjob_tui.tui.screens.approval import ApprovalDesk
from qjob_tui.tui.widgets.action_bar import ActionBar
from qjob_tui.tui.widgets.filter_bar import FilterBar
from qjob_tui.tui.widgets.job_table import JobTable
from qjob_tui.tui.widgets.log_pane import LogEntry, LogPane
from qjob_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from qjob_tui.runtime import Runtime

BULK_CONCURRENCY = 8  # actions in flight at once for a bulk action
LOG_LIMIT = 5000  # entries the log pane keeps
BOARD_BATCH_S = 0.1  # the board's changes reach the table at most this often
AGE_REFRESH_S = 10.0  # how often the DEPLOYED ages are re-rendered
HEADER_TICK_S = 1.0  # how often the header's "refreshed 12s ago" moves
SERVER_LOG_DRAIN_S = 1.0  # the servers' warnings reach the log pane within a second
DISCOVERY_RETRY_S = (10.0, 30.0, 60.0, 120.0, 300.0)  # after a discovery that could not read everything

DEPLOY = ACTIONS_BY_NAME["deploy"]


class QJobApp(OrderedKeysApp[None]):
    """The qjob-tui dashboard over one `Runtime` (client, board, pipeline), with the relay's ports if it runs."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses (tests) live elsewhere
    TITLE = "qjob-tui"
    COMMANDS = App.COMMANDS | {JobCommands}
    # Textual reads bindings from the class: the production table's keys. A runtime with another table (a
    # test's extra row) needs a subclass with `BINDINGS = app_bindings(its table)`.
    BINDINGS = app_bindings()
    ALLOW_IN_MAXIMIZED_VIEW = "StatusHeader, Footer"  # the zoomed log pane keeps the header and the keys

    # Shown instead of each log entry's time; snapshot tests set it so that screenshots do not move.
    FROZEN_LOG_TIME: ClassVar[str | None] = None

    def __init__(
        self,
        runtime: Runtime,
        *,
        rest_port: int | None = None,
        mcp_port: int | None = None,
        server_log: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.rest_port = rest_port
        self.mcp_port = mcp_port
        # Lines the REST/MCP servers append (from any thread): a warning, or why MCP did not start.
        self.server_log = server_log
        self.keymap: dict[str, str] = {}
        self.confirm_actions = set(runtime.settings.config.ui.confirm)
        self.actions = {action.name: action for action in runtime.actions}
        self.key_specs = {spec.id: spec for spec in app_keys(runtime.actions)}
        self._changed: set[str] = set()
        self._change_posted = False
        self._synced_at = 0.0  # time.monotonic() of the last table update from the board
        self._unsubscribe: list[Callable[[], None]] = []
        self._restore_signals: Callable[[], None] | None = None
        self._quitting = False
        self._poll_error: str | None = None
        self._discovery_retry_at: float | None = None  # time.time() of the next discovery, while one failed
        self._thread_id = threading.get_ident()

        def log_entry(entry: LogEntry) -> None:
            if self._main_screen_up():
                self.log_pane.add(entry)

        # What agents ask for that waits for the operator: the dialog, one request after another.
        self.approvals = ApprovalDesk(
            self,
            runtime.approvals,
            log=log_entry,
            changed=self._refresh_header,
            ready=self._main_screen_up,
            redact=runtime.redactor.text,
        )

    # -- the widgets --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(
            self.runtime.api_label, self.rest_port, self.mcp_port, read_only=self.runtime.read_only
        )
        yield JobTable(self.runtime.board, now=self.now, id="jobs")
        yield FilterBar(id="filter")
        if not self.runtime.read_only:
            yield ActionBar(self.key_for, self.runtime.actions)
        yield LogPane(
            LOG_LIMIT, frozen_time=self.FROZEN_LOG_TIME, redact=self.runtime.redactor.text, id="log"
        )
        yield Footer(compact=True)

    @property
    def table(self) -> JobTable:
        return self.query_one("#jobs", JobTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one("#log", LogPane)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def on_mount(self) -> None:
        self._thread_id = threading.get_ident()
        self._apply_keymap(self.runtime.settings.config.ui.keys)
        self._unsubscribe.append(self.runtime.board.subscribe(self._board_changed))
        self._unsubscribe.append(self.runtime.pipeline.subscribe(self._action_done))
        self._unsubscribe.append(self.runtime.pipeline.subscribe_refusals(self._action_refused))
        self._unsubscribe.append(self.runtime.lifecycle.subscribe(self._lifecycle_note))
        self.table.focus()
        self._refresh_header()
        self._title_panes()
        self.set_interval(AGE_REFRESH_S, self.table.refresh_ages)
        self.set_interval(HEADER_TICK_S, self._refresh_header)
        # However the zoomed log pane ends (z, or Escape), the keys go back to the jobs table.
        self.watch(self.screen, "maximized", self._maximized_changed, init=False)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self.server_log is not None:
            self.set_interval(SERVER_LOG_DRAIN_S, self._drain_server_log)
            self.call_after_refresh(self._drain_server_log)
        self._install_signal_handlers()
        self.approvals.start()  # from now on an agent's gated request waits for this operator
        for note in self.runtime.audit.notes:  # e.g. an audit file that had to be made private
            self._note("audit", note)
            self.notify(note, title="Audit log", severity="warning", markup=False)
        board = self.runtime.board
        if not board.jobs and not board.environments:
            self._note(
                "config", "no jobs to show: list them under jobs: or environments: (or run qjob-tui init)"
            )
        self.call_after_refresh(started)  # the first frame is drawn: collections resume (qjob_tui.startup)
        self.call_after_refresh(self.start_refreshing)  # the first frame before any network work

    def on_unmount(self) -> None:
        self.approvals.stop()  # however the app ends, no request is left waiting for an operator who is gone
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(ValueError):
                unsubscribe()
        self._unsubscribe.clear()
        if self._restore_signals is not None:
            self._restore_signals()

    def _install_signal_handlers(self) -> None:
        """SIGTERM (and SIGHUP) quit like ctrl+q: the terminal is restored, the servers stop, exit code 0."""
        self._restore_signals = on_signals((signal.SIGTERM, signal.SIGHUP), self.action_quit)

    def action_quit(self) -> None:  # type: ignore[override]
        """ctrl+q and SIGTERM: quit once the actions in flight have Qovery's answer (and their audit line).

        Cancelling an action that Qovery already received would leave it out of the audit log; the wait is
        bounded by the client's timeout. What waits for the operator's approval is refused first, so that each
        of its callers has an answer before the servers stop.
        """
        self.approvals.stop()
        in_flight = [worker for worker in self.workers if worker.group == "actions" and worker.is_running]
        if not in_flight:
            self.exit()
            return
        if self._quitting:
            return
        self._quitting = True
        self.notify(f"Quitting once {count_of(len(in_flight), 'action')} in flight have Qovery's answer…")
        self.run_worker(self._quit_after(in_flight), group="quit", exit_on_error=False)

    async def _quit_after(self, workers: list[Worker[Any]]) -> None:
        timeout = self.runtime.settings.config.qovery.timeout_s + 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout
            )
        self.exit()

    # -- keys ---------------------------------------------------------------------------------------

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        checked = check_keymap(keymap, list(self.key_specs.values()))
        for problem in checked.problems:
            self._note("keys", problem)
        self.keymap = checked.accepted  # a refused remap keeps its default key, in the bar and the help too
        self.set_keymap(self.keymap)
        for bar in self.query(ActionBar):
            bar.relabel()
        self._title_panes()

    def _title_panes(self) -> None:
        """Each pane's title says what it is and the keys that work in it (its own footer); the focused
        pane's title is lit (app.tcss)."""
        order = self.table.order
        sort = f"sorted by {SORT_NAMES[order]}" if order else "config order"
        self.table.border_title = (
            f"jobs · ↑↓ select · {self.key_for('filter')} filter · {self.key_for('sort')} sort ({sort})"
            + ("" if self.runtime.read_only else f" · {self.key_for('mark')} mark")
        )
        self.log_pane.border_title = (
            f"log · ↑↓ pick an entry · {self.key_for('copy-log')} copy JSON · {self.key_for('zoom-log')} zoom"
            " · end newest"
        )

    def key_for(self, binding_id: str) -> str:
        """The key that runs a binding now (after `ui.keys`), as the footer shows keys."""
        keys = self.keymap.get(binding_id) or self.key_specs[binding_id].key
        return self.get_key_display(Binding(keys.split(",")[0].strip(), ""))

    def help_rows(self) -> list[tuple[str, str]]:
        read_only = self.runtime.read_only
        specs = self.key_specs.values()
        rows = [(self.key_for(spec.id), spec.help) for spec in specs if not (read_only and spec.acts)]
        return rows + list(FIXED_KEYS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """--read-only: no key, button or palette entry leads to an action (the pipeline refuses them too).
        Enter opens a job from the main screen only: in a dialog, the filter or the detail screen it is
        theirs (a disabled priority key goes on to them, and is not in their footer). The palette does not
        open over a dialog."""
        if action == "open_job":
            return len(self.screen_stack) == 1 and not isinstance(self.focused, Input)
        if action == "command_palette" and isinstance(self.screen, ModalScreen):
            return False  # a dialog is answered first: the palette's actions must not run beneath one
        return not (self.runtime.read_only and action in ACTING_ACTIONS)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, with its "Keys" panel (a second key list, in other words than `?`'s)
        replaced by this screen's help, and "Quit" saying what this dashboard's quit does."""
        for command in super().get_system_commands(screen):
            if command.title == "Keys":
                shows = getattr(screen, "action_help", self.action_help)
                yield SystemCommand("Keys", "Every key of this screen, as ? shows them", shows)
            elif command.title == "Quit":
                yield SystemCommand(
                    "Quit", "Quit once the actions in flight have Qovery's answer (ctrl+q)", self.action_quit
                )
            else:
                yield command

    @on(events.DescendantBlur)
    def _input_left(self, event: events.DescendantBlur) -> None:
        if isinstance(event.widget, Input):
            self.approvals.typing_done()  # an approval that waited for the typing to end may open now

    def _screen_changed(self, screen: object) -> None:
        # A dialog lets none of the keys of the screen beneath through: its footer goes while the dialog is up
        # (app.tcss), instead of offering keys that do nothing. The dialog shows its own.
        self.set_class(isinstance(self.screen, ModalScreen), "-dialog")

    def on_key(self, event: events.Key) -> None:
        """--read-only: an action key says why it does nothing. Its binding is off (`check_action`), so the key
        reaches here unhandled; a letter typed into an input or a dialog stops before."""
        if (
            not self.runtime.read_only
            or isinstance(self.screen, ModalScreen)
            or isinstance(self.focused, Input)
        ):
            return
        for spec in self.key_specs.values():
            keys = (self.keymap.get(spec.id) or spec.key).split(",")
            if spec.acts and (event.key in (key.strip() for key in keys)):
                self.notify(
                    f"{spec.label.rstrip('…')} is off: this dashboard is read-only (--read-only or server.read_only)",
                    severity="warning",
                    markup=False,
                )
                return

    # -- live state ---------------------------------------------------------------------------------

    def start_refreshing(self) -> None:
        """Keep the states fresh from now on, and learn the jobs' names, types and environments once: the
        runtime's lifecycle, in two workers (Textual cancels them when the app ends)."""
        lifecycle = self.runtime.lifecycle
        self.run_worker(lifecycle.poll(), name="refresh", group="board", exit_on_error=False)
        self.run_worker(self._discover(), name="discover", group="board", exit_on_error=False)

    async def _discover(self) -> None:
        """Discover; while some jobs or environments could not be read, try again later (backing off), with
        the trouble in the header until it clears."""
        lifecycle = self.runtime.lifecycle
        for attempt in range(1_000_000):
            await lifecycle.discover()  # each error reached the log pane as a note
            await lifecycle.name_environments()  # for the environment and project columns
            if attempt == 0:
                self.call_after_refresh(self._freeze_what_lives)
            errors = lifecycle.discovery_errors
            if not errors:
                if attempt:
                    self._note("discover", "every job and environment could be read", ok=True)
                self._discovery_retry_at = None
                self._refresh_header()
                return
            delay = DISCOVERY_RETRY_S[min(attempt, len(DISCOVERY_RETRY_S) - 1)]
            self._discovery_retry_at = time.time() + delay
            self._refresh_header()
            if attempt == 0:
                self.notify(
                    f"{count_of(len(errors), 'job or environment', 'jobs or environments')} could not be "
                    "read; see the log pane",
                    title="Discovery",
                    severity="warning",
                )
            await asyncio.sleep(delay)

    @staticmethod
    def _freeze_what_lives() -> None:
        """Once the jobs are on the board and on screen, what stays for the whole run (modules, widgets, the
        board) leaves the garbage collector's view: a full collection over a thousand jobs' objects paused the
        dashboard for 100 ms, a key typed into the filter with it (bench/filter.py). Done once: what is
        frozen is never collected, and later garbage (rebuilt rows) is collected as usual."""
        gc.freeze()

    def _lifecycle_note(self, note: LifecycleNote) -> None:
        self._note(note.topic, note.message)
        if note.unexpected:
            self.notify(
                f"{note.topic}: {note.message}", title="Unexpected error", severity="error", markup=False
            )

    def _board_changed(self, job_ids: set[str]) -> None:
        # Called by the board for every change; many changes between two frames make one message.
        self._changed |= job_ids
        if not self._change_posted:
            self._change_posted = True
            self._post(JobsChanged())

    def _action_done(self, outcome: ActionOutcome) -> None:
        self._post(OutcomeReceived(outcome))

    def _action_refused(self, refusal: Refusal) -> None:
        if refusal.source != "tui":  # the dashboard's own dialogs already say what is wrong
            self._post(RefusalReceived(refusal))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (the app's, its screens' and widgets'): without secrets, terminal-safe."""
        redact = self.runtime.redactor.text
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        super().notify(
            printable(redact(message)),
            title=printable(redact(title)),
            severity=severity,
            markup=markup,
            **kwargs,
        )

    def _post(self, message: JobsChanged | OutcomeReceived | RefusalReceived) -> None:
        if threading.get_ident() == self._thread_id:
            self.post_message(message)
        else:  # a face serving from another thread: hand over to the app's loop
            self.call_from_thread(self.post_message, message)

    @on(JobsChanged)
    def _jobs_changed(self) -> None:
        # At most one table update per BOARD_BATCH_S: discovery's answers arrive every few milliseconds, and
        # each update re-renders the table (with 10,000 rows, Textual recomputes every row's offset each
        # time); what changes meanwhile waits in self._changed and goes in the next one.
        wait = self._synced_at + BOARD_BATCH_S - time.monotonic()
        if wait > 0:
            self.set_timer(wait, lambda: self.post_message(JobsChanged()))
            return
        self._sync_board()

    def _sync_board(self) -> None:
        """The board's pending changes to the table and the header, now."""
        changed, self._changed, self._change_posted = self._changed, set(), False
        self._synced_at = time.monotonic()
        if not self._main_screen_up():
            return
        self.table.sync(changed)
        board = self.runtime.board
        if board.last_error != self._poll_error:
            if board.last_error:
                self._note("refresh", f"{board.last_error} (retrying in {board.backoff_s:.0f}s)")
            elif self._poll_error:
                self._note("refresh", "Qovery answers again", ok=True)
            self._poll_error = board.last_error
        self._refresh_header()

    def _refresh_header(self) -> None:
        board = self.runtime.board
        if not self._main_screen_up():
            return
        self.query_one(StatusHeader).show(
            jobs=len(board.jobs),
            shown=self.table.shown_count,
            marked=len(self.table.marked),
            error=board.last_error_headline or board.last_error,  # the full message is in the log pane
            backoff_s=board.backoff_s,
            filter_text=self.table.filter_text,
            waiting=self.approvals.waiting,
            waiting_key=self.key_for("approvals"),
            discovery=board.discovery.headline if board.discovery else "",
            refreshed_s=self.seconds_since_refresh(),
            discovery_error=self._discovery_headline(),
            browse_key=self.key_for("browse"),
        )

    def seconds_since_refresh(self) -> float | None:
        """How long ago the states were last read (None: not yet); snapshot tests hold it still."""
        refreshed = self.runtime.board.refreshed_at
        return None if refreshed is None else max(0.0, time.time() - refreshed)

    def _discovery_headline(self) -> str | None:
        """`Qovery unreachable: 3 jobs or environments unread · retry in 20s` while a discovery could not read
        everything: the cause first, as a refresh error's headline, so that a narrow header still shows it."""
        errors = self.runtime.lifecycle.discovery_errors
        if not errors or self._discovery_retry_at is None:
            return None
        first = errors[0]
        cause = first.headline if isinstance(first, Unread) else "Qovery error"
        unread = count_of(len(errors), "job or environment", "jobs or environments")
        retry = max(0, round(self._discovery_retry_at - time.time()))
        return f"{cause}: {unread} unread · retry in {retry}s"

    @on(OutcomeReceived)
    def _log_outcome(self, message: OutcomeReceived) -> None:
        if self._change_posted:
            self._sync_board()  # the job's row (its LAST ACTION) and the log line show together
        if self._main_screen_up():
            self.log_pane.add(LogEntry.from_outcome(message.outcome))

    def _drain_server_log(self) -> None:
        lines = self.server_log
        while lines:
            self._note("server", lines.pop(0))

    @on(RefusalReceived)
    def _log_refusal(self, message: RefusalReceived) -> None:
        if self._main_screen_up():
            self.log_pane.add(LogEntry.from_refusal(message.refusal))

    def _note(self, action: str, message: str, *, job: str = "-", ok: bool = False) -> None:
        if self._main_screen_up():
            self.log_pane.add(LogEntry.note(action, message, job=job, ok=ok))

    def _main_screen_up(self) -> bool:
        """False while the app closes: messages still queued then have no widgets to update."""
        return bool(self.screen_stack) and bool(self.query("#jobs"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        self._note(worker.name or "worker", f"{type(error).__name__}: {error}")
        self.notify(f"{worker.name}: {error}", title="Unexpected error", severity="error", markup=False)

    # -- choosing the jobs --------------------------------------------------------------------------

    def _targets(self) -> tuple[list[str], bool]:
        """The jobs an action applies to: the detail screen's job when it is open, else every marked job (a
        bulk action), else the selected one."""
        from qjob_tui.tui.screens.job_detail import detail_job  # the screens load when first used

        if (job_id := detail_job(self)) is not None:
            return [job_id], False
        table = self.table
        if table.marked:
            return [job_id for job_id in self.runtime.board.jobs if job_id in table.marked], True
        selected = table.selected_id
        return ([selected] if selected else []), False

    def _label(self, job_id: str) -> str:
        """The job's name (Qovery's text) as dialogs and notifications show it: terminal-safe."""
        job = self.runtime.board.get(job_id)
        return printable(job.label if job else job_id)

    def _jobs(self, job_ids: Sequence[str]) -> list[JobInfo]:
        return [job for job in map(self.runtime.board.get, job_ids) if job is not None]

    def _target_text(self, job_ids: Sequence[str], bulk: bool) -> str:
        if bulk or len(job_ids) != 1:
            return f"{len(job_ids)} marked job{'s' if len(job_ids) != 1 else ''}"
        return self._label(job_ids[0])

    # -- actions ------------------------------------------------------------------------------------

    def action_job(self, name: str) -> None:
        """`d r s u c` and the action bar: run an action on the selected (or marked) jobs."""
        action = self.actions.get(name)
        if action is not None:
            self.request_action(action)

    def request_action(
        self,
        action: JobAction,
        *,
        force_event: ForceEvent | None = None,
        body: dict[str, Any] | None = None,
        targets: tuple[list[str], bool] | None = None,
    ) -> None:
        """Ask first when the action is in `ui.confirm` or runs on marked jobs, then send it."""
        job_ids, bulk = targets if targets is not None else self._targets()
        if not job_ids:
            self.notify("No job selected", severity="warning")
            return
        # A lifecycle job's DELETE hook deletes what the job manages: it asks first, like uninstall.
        deletes = force_event is ForceEvent.DELETE
        if not bulk and not deletes and action.name not in self.confirm_actions:
            self.send(action, job_ids, force_event, body, bulk=False)
            return
        question = confirm_question(action, force_event, body, self._target_text(job_ids, bulk))
        warning = DELETE_HOOK_WARNING if deletes else action.warning

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.send(action, job_ids, force_event, body, bulk=bulk)

        from qjob_tui.tui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(question, [self._label(j) for j in job_ids], warning), answered)

    def send(
        self,
        action: JobAction,
        job_ids: list[str],
        force_event: ForceEvent | None,
        body: dict[str, Any] | None,
        *,
        bulk: bool,
    ) -> None:
        """Run the action on the jobs in a worker; marks are cleared once a bulk action is on its way."""
        if bulk:
            self.table.clear_marks()
            self._refresh_header()
        self.run_worker(
            self._run_actions(action, job_ids, force_event, body, bulk),
            name=f"{action.name} on {count_of(len(job_ids), 'job')}",
            group="actions",
            exit_on_error=False,
        )

    async def _run_actions(
        self,
        action: JobAction,
        job_ids: list[str],
        force_event: ForceEvent | None,
        body: dict[str, Any] | None,
        bulk: bool,
    ) -> list[ActionOutcome]:
        limit = asyncio.Semaphore(BULK_CONCURRENCY)
        pipeline = self.runtime.pipeline

        async def one(job_id: str) -> ActionOutcome | None:
            async with limit:
                try:
                    request = pipeline.prepare(action, job_id, force_event, body, source="tui")
                except ActionRefused as exc:
                    self._note(
                        action.name, f"refused ({exc.status}): {exc.explained}", job=self._label(job_id)
                    )
                    return None
                return await pipeline.run(request)  # the outcome reaches the log through the listener

        results = await asyncio.gather(*(one(job_id) for job_id in job_ids))
        outcomes = [outcome for outcome in results if outcome is not None]
        failed = len(job_ids) - sum(outcome.ok for outcome in outcomes)
        what = describe(action, force_event, body)
        if bulk:
            self.notify(
                f"{len(job_ids) - failed} of {len(job_ids)} accepted"
                + (f", {failed} failed (see the log)" if failed else ""),
                title=what,
                severity="warning" if failed else "information",
            )
        elif outcomes:
            outcome = outcomes[0]
            self.notify(
                f"{self._label(job_ids[0])}: {outcome.summary}",
                title=what,
                severity="information" if outcome.ok else "error",
                markup=False,
            )
        return outcomes

    def action_force_run(self) -> None:
        """`f`: pick an event the job has (CRON, or START/STOP/DELETE), then deploy with forceEvent."""
        job_ids, bulk = self._targets()
        if not job_ids:
            self.notify("No job selected", severity="warning")
            return
        jobs = self._jobs(job_ids)
        events = [e for e in ForceEvent if all(e in job.events for job in jobs)]
        if not events:
            if any(job.job_type is None for job in jobs):
                reason = "the job's type is not known yet (see the log for discovery errors)"
            elif bulk:
                reason = "the marked jobs have no event in common"
            else:
                reason = "this lifecycle job defines no START, STOP or DELETE hook"
            self.notify(f"Nothing to force: {reason}", severity="warning")
            return
        kind = {job.job_type for job in jobs}
        what = "cron job" if kind == {"CRON"} else "lifecycle job" if kind == {"LIFECYCLE"} else "job"
        title = f"Force run {self._target_text(job_ids, bulk)} ({what}{'s' if bulk else ''})"
        names = [self._label(j) for j in job_ids]

        def chosen(event: ForceEvent | None) -> None:
            if event is not None:
                self.request_action(DEPLOY, force_event=event, targets=(job_ids, bulk))

        from qjob_tui.tui.screens.force_run import ForceRunScreen

        self.push_screen(ForceRunScreen(title, names, events), chosen)

    def action_deploy_options(self) -> None:
        """`D`: deploy a given image tag or git commit id."""
        job_ids, bulk = self._targets()
        if not job_ids:
            self.notify("No job selected", severity="warning")
            return
        names = [self._label(j) for j in job_ids]

        def chosen(body: dict[str, Any] | None) -> None:
            if body is not None:
                self.request_action(DEPLOY, body=body, targets=(job_ids, bulk))

        from qjob_tui.tui.screens.deploy_options import DeployOptionsScreen

        self.push_screen(
            DeployOptionsScreen(f"Deploy {self._target_text(job_ids, bulk)} with options", names), chosen
        )

    @on(DataTable.RowSelected, "#jobs")
    def _row_clicked(self) -> None:
        """A click on the highlighted job (DataTable selects a row on a second click; Enter is the app's own
        key and never reaches the table): its detail screen, as Enter opens it."""
        self.action_open_job()

    def action_open_job(self) -> None:
        """Enter: the selected job's detail screen."""
        job_id = self.table.selected_id
        if job_id is None:
            raise SkipAction  # no job to open: Enter means nothing here
        label = self._label(job_id)
        from qjob_tui.tui.screens.job_detail import JobDetailScreen

        self.push_screen(
            JobDetailScreen(
                self.runtime,
                job_id,
                now=self.now,
                key_for=self.key_for,
                note=lambda topic, message: self._note(topic, message, job=label),
            )
        )

    def action_mark(self) -> None:
        """`space`: mark or unmark the selected job, and move down (k9s style)."""
        job_id = self.table.selected_id
        if job_id is None:
            return
        self.table.toggle_mark(job_id)
        self.table.action_cursor_down()
        self._refresh_header()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_clear_filter(self) -> None:
        """Escape on the jobs table: clear the filter kept with Enter (nothing to clear: the key goes on)."""
        if not self.table.filter_text:
            raise SkipAction
        self.query_one(FilterBar).action_close(True)

    @on(FilterChanged)
    def _filter_changed(self, message: FilterChanged) -> None:
        self.table.set_filter(message.text)
        self._refresh_header()

    @on(FilterClosed)
    def _filter_closed(self) -> None:
        self.table.focus()
        self._refresh_header()

    def action_approvals(self) -> None:
        """`a`: the dialog of the oldest request that waits for approval, even over another dialog."""
        self.approvals.open_now()

    def action_help(self) -> None:
        from qjob_tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.help_rows()))

    def action_copy_log(self) -> None:
        """`y`: the selected log entry's JSON to the clipboard (the newest, unless one is picked in the pane)."""
        entry = self.log_pane.selected
        if entry is None:
            self.notify("The log is empty", severity="warning")
            return
        self.copy_to_clipboard(entry.json_text())
        self.notify(f"Copied the JSON of {entry.action} {entry.job}", markup=False)

    def action_zoom_log(self) -> None:
        """`z`: the log pane full screen, and back (Escape too); the keys then go back to the jobs table."""
        if self.screen.maximized is self.log_pane:
            self.screen.minimize()
        else:
            self.screen.maximize(self.log_pane)
            self.log_pane.focus()

    def _maximized_changed(self, maximized: object) -> None:
        if maximized is None and self._main_screen_up():
            self.table.focus()

    def action_sort(self) -> None:
        """`o`: the next order of the jobs (name, state, last deployment, the config's), shown on its column."""
        self.table.cycle_order()
        self._title_panes()

    def action_browse(self) -> None:
        """`b`: pick environments and jobs in Qovery, add them to the board, offer to save them to the config."""
        from qjob_tui.tui.browse import browse  # the picker loads when asked for, not at start-up

        browse(self, self.runtime)

    # -- the command palette ------------------------------------------------------------------------

    def job_commands(self) -> list[JobCommand]:
        """Every action for the selected (or marked) jobs, for ctrl+p (none when read-only)."""
        job_ids, bulk = self._targets()
        if not job_ids or self.runtime.read_only:
            return []
        targets = (job_ids, bulk)
        who = self._target_text(job_ids, bulk)
        commands = [
            JobCommand(
                f"{action.title} {who}", action.summary, partial(self.request_action, action, targets=targets)
            )
            for action in self.actions.values()
        ]
        jobs = self._jobs(job_ids)
        from qjob_tui.tui.screens.force_run import EVENT_HELP

        for event in ForceEvent:
            if jobs and all(event in job.events for job in jobs):
                commands.append(
                    JobCommand(
                        f"Force run {event.value} {who}",
                        EVENT_HELP[event],
                        partial(self.request_action, DEPLOY, force_event=event, targets=targets),
                    )
                )
        commands.append(
            JobCommand(
                f"Deploy {who} with options…", "An image tag or a git commit id", self.action_deploy_options
            )
        )
        return commands


DELETE_HOOK_WARNING = "This runs the job's on-delete hook: it deletes what the job manages."
SORT_NAMES = {"name": "name", "state": "state", "deployed": "last deployment"}


def describe(action: JobAction, force_event: ForceEvent | None, body: dict[str, Any] | None) -> str:
    """What an action does, in the words of a dialog: `Uninstall`, `Force run CRON`, `Deploy image tag 2.5.0`."""
    if force_event is not None:
        return f"Force run {force_event.value} ({action.name})"
    version = _version_words(body)
    return f"{action.title} {version}" if version else action.title


def confirm_question(
    action: JobAction, force_event: ForceEvent | None, body: dict[str, Any] | None, target: str
) -> str:
    """The confirmation's question, the jobs right after the verb: `Deploy 2 marked jobs with image tag 2.5.0?`,
    `Force run DELETE on seed-fixtures?` (`describe`'s words with the jobs after them read as one run-on)."""
    if force_event is not None:
        return f"Force run {force_event.value} on {target}?"
    version = _version_words(body)
    return f"{action.title} {target} with {version}?" if version else f"{action.title} {target}?"


def _version_words(body: dict[str, Any] | None) -> str | None:
    """`image tag 2.5.0` or `commit 3f9c2a17e5b0` (cut to twelve) for a deploy's body; None without one."""
    if body and "image_tag" in body:
        return f"image tag {body['image_tag']}"
    if body and "git_commit_id" in body:
        return f"commit {str(body['git_commit_id'])[:12]}"
    return None
