"""The job's detail screen (`Enter` on a job): its facts and Qovery's Status, its recent runs, and the
deployment log of the selected run, growing live while the run is in progress.

    nightly-backup  cron  DEPLOYED  UP_TO_DATE  deployed 26h ago          facts (JobFactsPanel)
    Acme Robotics / storefront / production  ·  cbc600f8-…
    schedule 0 3 * * * (Etc/UTC)  ·  image acme/pg-backup:2.4.1
    ── runs · 3 ─────────────────────────────────────────────────────────
    STATE             WHEN     TOOK  BY            ORIGIN   VERSION       runs (RunList), newest first
    DEPLOYED          26h ago  50s   Alice Martin  CONSOLE  2.4.1
    ── log · run 59486f0e…-1779906400 · DEPLOYED ────────────────────────
    18:26:40 LoadConfig… Deployment of job nightly-backup queued (…)    the log (RunLogView)
    ↓ 4 new lines below — End follows                                   the marker, when scrolled up
    / deploy                                               2/5          the search (LogSearchBar)
    Deploy d  Redeploy r  Stop s  …                                     the action bar (the main screen's)

Everything comes from the core reads (`runtime.reads`: cached and shared with the other faces). The screen
reads the facts once, the Status with every refresh (and from the board as it refreshes), the runs every
`FAST_REFRESH_S` while a run is in progress (else on `poll_interval_s`), and follows the shown run's log with
`reads.follow` until it settles. A read that fails shows where its answer would, goes to the dashboard's log
pane and a notification once, and is tried again on the next refresh: the screen never waits on the network
outside a worker, and no error ends it.

The shown run is the newest one, and a newer one takes its place as soon as it appears (an action from this
screen, a cron run, someone else's deploy), unless the operator picked an older one (↑↓, or a click).

The action keys and buttons act on this job (the app asks `detail_job` which job a key means): the same
confirmations as on the main screen, and the run the action starts is shown and followed.

The screen is a plain `Screen`, not a dialog: the approval dialog (and any dialog) opens over it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from qjob_tui.lines import printable
from qjob_tui.pipeline import ActionOutcome, ActionRefused
from qjob_tui.qovery import QoveryError
from qjob_tui.reads import JobFacts, LogLine, Run
from qjob_tui.tui.keys import APP_KEYS, action_keys
from qjob_tui.tui.screens.help import HelpScreen
from qjob_tui.tui.widgets.action_bar import ActionBar
from qjob_tui.tui.widgets.job_facts import JobFactsPanel
from qjob_tui.tui.widgets.log_search import LogSearchBar
from qjob_tui.tui.widgets.run_list import RunList, run_key
from qjob_tui.tui.widgets.run_log import RunLogView

if TYPE_CHECKING:
    from qjob_tui.runtime import Runtime

FAST_REFRESH_S = 1.5  # the runs and the Status while a run is in progress (the follow's pace: answers shared)
FOLLOW_INTERVAL_S = 1.5  # how often the shown run's new lines are asked for (the cache shares the answers)
RETRY_S = 2.0  # after a failed read of the log, before it is read again
NEW_RUN_WAIT_S = 30.0  # after an action, how long a new run is waited for before the newest is shown again
AGE_REFRESH_S = 10.0  # ages ("26h ago") and a running run's time move with the clock

_KEY = {spec.id: spec.key for spec in APP_KEYS}  # the default keys of the bindings this screen shares

Note = Callable[[str, str], None]  # (topic, message): a line in the dashboard's log pane


def detail_job(app: App[Any]) -> str | None:
    """The job of the detail screen the operator is on (under any dialog), or None: what an action key means."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, JobDetailScreen):
            return screen.job_id
        if not isinstance(screen, ModalScreen):
            return None
    return None


class JobDetailScreen(Screen[None]):
    """One job: facts, Status, runs, and the selected run's log, live. Escape goes back to the jobs."""

    DEFAULT_CSS = """
    JobDetailScreen {
        layout: vertical;

        JobFactsPanel {
            height: 3;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            padding: 0 1;
            background: $panel;
        }
        RunList {
            height: auto;
            max-height: 30%;
            border-top: solid $panel-lighten-2;
            border-title-align: left;
            border-title-color: $text-muted;
            scrollbar-size-vertical: 1;
        }
        #log-area {
            height: 1fr;
            min-height: 4;
        }
        RunLogView {
            height: 1fr;
            border-top: solid $panel-lighten-2;
            border-title-align: left;
            border-title-color: $text-muted;
            scrollbar-size-vertical: 1;
            scrollbar-gutter: stable;  /* rows are wrapped to a width that does not change when it scrolls */
            &:focus {
                border-top: solid $primary;
                border-title-color: $text;
            }
            &.-maximized {
                height: 1fr;
            }
        }
        #log-marker {
            display: none;
            height: 1;
            padding: 0 1;
            background: $warning 25%;
            text-style: bold;
            &.-waiting {
                display: block;
            }
        }
        LogSearchBar {
            display: none;
            height: 1;
            background: $boost;
            &.-open {
                display: block;
            }
            #search-prompt {
                width: 2;
                padding-left: 1;
                text-style: bold;
            }
            Input, Input:focus {
                width: 1fr;
                height: 1;
                border: none;
                padding: 0;
            }
            #search-count {
                width: auto;
                min-width: 10;
                padding: 0 1;
                text-align: right;
            }
        }
    }
    """

    ALLOW_IN_MAXIMIZED_VIEW = "Footer, LogSearchBar, #log-marker"

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail-back"),
        # The quit key of the jobs and the log (k9s', lazygit's `q`) goes back here, as in a pager: pressed to
        # leave a job's page it must not end the dashboard and the servers with it (ctrl+q still quits).
        Binding(_KEY["exit"], "back", "Back", show=False, id="exit"),
        Binding("up", "pick(-1)", "Run", key_display="↑↓", id="detail-newer-run"),
        Binding("down", "pick(1)", "Older run", show=False, id="detail-older-run"),
        Binding(_KEY["filter"], "search", "Search", id="filter"),
        Binding("n", "next_match(1)", "Next", id="detail-next-match"),
        Binding("N", "next_match(-1)", "Previous", show=False, id="detail-previous-match"),
        Binding(_KEY["zoom-log"], "zoom", "Zoom", id="zoom-log"),
        Binding(_KEY["copy-log"], "copy_log", "Copy log", show=False, id="copy-log"),
        # Marks are the jobs table's: here the key says so instead of marking a job out of sight.
        Binding(_KEY["mark"], "mark", "Mark", show=False, id="mark"),
        Binding(_KEY["help"], "help", "Help", id="help"),
    ]

    def __init__(
        self,
        runtime: Runtime,
        job_id: str,
        *,
        now: Callable[[], datetime],
        key_for: Callable[[str], str],
        note: Note,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.job_id = job_id
        self._now = now
        self._key_for = key_for
        self._note = note
        job = runtime.board.get(job_id)
        self.job_label = job.label if job is not None else job_id
        self._job_type = job.job_type if job is not None else None
        self.facts: JobFacts | None = None
        self.runs: list[Run] | None = None  # None until read
        self.pinned: str | None = None  # the run the operator picked; None: the newest
        self.shown: str | None = None  # the run whose log is on screen
        self.log_settled = False  # the shown run's log is all there (its run settled)
        self._awaiting: tuple[str | None, float] | None = None  # after an action: (the newest then, until)
        self._failing: set[str] = set()  # reads failing now ("facts", "runs", "log"): said once each
        self._pending: list[LogLine] = []  # lines followed, not yet on screen
        self._flush_scheduled = False
        self._timer: Any = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._thread_id = threading.get_ident()
        self._ask_early()

    def _ask_early(self) -> None:
        """Ask Qovery now, while Textual builds the screen (its first frame costs more than a round trip):
        the screen's own reads then find the answers in the shared cache, or on their way. Their errors are
        the screen's reads' to show (a failed answer is not kept: those ask again)."""
        reads = self.runtime.reads
        for asked in (reads.logs(self.job_id), reads.facts(self.job_id), reads.status(self.job_id)):
            asyncio.ensure_future(asked).add_done_callback(_seen)

    # -- the widgets --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield JobFactsPanel(self.job_label, self._job_type, now=self._now, id="facts")
        yield RunList(now=self._now, id="runs")
        with Vertical(id="log-area"):
            yield RunLogView(id="run-log")
            yield Static("", id="log-marker")
            yield LogSearchBar(id="log-search")
        if not self.runtime.read_only:
            yield ActionBar(self._key_for, self.runtime.actions)
        yield Footer(compact=True)

    @property
    def facts_panel(self) -> JobFactsPanel:
        return self.query_one(JobFactsPanel)

    @property
    def run_list(self) -> RunList:
        return self.query_one(RunList)

    @property
    def log_view(self) -> RunLogView:
        return self.query_one(RunLogView)

    @property
    def search_bar(self) -> LogSearchBar:
        return self.query_one(LogSearchBar)

    def on_mount(self) -> None:
        self._thread_id = threading.get_ident()
        self.run_list.border_title = "runs"
        self.log_view.border_title = "log"
        self.log_view.set_note("reading the job's runs…")
        job = self.runtime.board.get(self.job_id)
        if job is not None and job.status:
            self.facts_panel.show(status=job.status)
        self._unsubscribe.append(self.runtime.board.subscribe(self._board_changed))
        self._unsubscribe.append(self.runtime.pipeline.subscribe(self._action_done))
        self.set_interval(AGE_REFRESH_S, self._refresh_ages)
        self.log_view.focus()
        self.refresh_now(status=True)

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- reading ------------------------------------------------------------------------------------

    def refresh_now(self, *, status: bool = True) -> None:
        """Read the runs (and the facts until they are known, and the Status) now, then again later."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._read(status)

    # Workers by @work: a worker replaced (exclusive) before it started leaves no coroutine never awaited.
    @work(name="detail", group="detail-read", exclusive=True, exit_on_error=False)
    async def _read(self, status: bool) -> None:
        # Each read shows its answer as soon as it comes: the log waits for the runs, not for the facts.
        async with asyncio.TaskGroup() as reads:
            reads.create_task(self._read_runs())
            if self.facts is None:
                reads.create_task(self._read_facts())
            if status:
                reads.create_task(self._read_status())
        self._schedule()

    async def _read_runs(self) -> None:
        try:
            runs = await self.runtime.reads.runs(self.job_id)
        except (QoveryError, ActionRefused) as exc:
            reason = self._failed("runs", exc)
            self.run_list.border_title = (
                f"runs · ⚠ could not read them: {headline(exc)} (retried on the next refresh)"
            )
            if self.runs is None:
                self.log_view.set_note(f"⚠ could not read the job's runs: {reason}", "bold red")
            return
        self._recovered("runs")
        self._show_runs(runs)

    async def _read_facts(self) -> None:
        try:
            facts = await self.runtime.reads.facts(self.job_id)
        except (QoveryError, ActionRefused) as exc:
            self._failed("facts", exc)
            self.facts_panel.show(error=f"could not read the job: {headline(exc)}")
            return
        self._recovered("facts")
        self.facts = facts
        self.facts_panel.show(facts=facts)

    async def _read_status(self) -> None:
        try:
            status = await self.runtime.reads.status(self.job_id)
        except (QoveryError, ActionRefused) as exc:
            self._failed("status", exc)
            self.facts_panel.show(status_error=headline(exc))
            return
        self._recovered("status")
        self.facts_panel.show(status=status)

    def _schedule(self) -> None:
        busy = self._awaiting is not None or (
            self.runs is not None and bool(self.runs) and not self.runs[0].settled
        )
        failing = bool(self._failing)
        interval = FAST_REFRESH_S if busy or failing else self.runtime.settings.config.qovery.poll_interval_s
        self._timer = self.set_timer(interval, self.refresh_now)

    def _show_runs(self, runs: list[Run]) -> None:
        self.runs = runs
        self.run_list.show(runs)
        self.run_list.display = bool(runs)
        self.run_list.border_title = f"runs · {len(runs)}" if runs else "runs"
        if not runs:
            self.shown = None
            self.log_view.clear()
            self.log_view.set_note(
                f"No runs yet: {self.job_label} has never been deployed ({self._key_for('deploy')} deploys it)."
            )
            self._title_log(None)
            return
        keys = [run_key(run, index) for index, run in enumerate(runs)]
        if self._awaiting is not None:
            before, until = self._awaiting
            if keys[0] != before or asyncio.get_running_loop().time() > until:
                self._awaiting = None  # the action's run is here (or will not come): show the newest
        if self.pinned not in keys:
            self.pinned = None
        wanted = self.pinned or keys[0]
        self.run_list.select(wanted)
        if wanted != self.shown:
            self._show_run(wanted)
        else:
            self._title_log(self.run_list.run_of(wanted))

    def _show_run(self, key: str) -> None:
        """The log of this run, from its first line, followed until the run settles."""
        self.shown = key
        self.log_settled = False
        self._pending.clear()
        self.log_view.clear()
        if self.search_bar.is_open:
            self.log_view.search(self.search_bar.text)
        run = self.run_list.run_of(key)
        self._title_log(run)
        if run is None or run.execution_id is None:
            self.log_view.set_note("Qovery gave this run no execution id: it has no log to show.")
            self.workers.cancel_group(self, "detail-log")
            return
        self.log_view.set_note("reading the log…")
        self._follow(key, run.execution_id)

    @work(name="detail log", group="detail-log", exclusive=True, exit_on_error=False)
    async def _follow(self, key: str, execution_id: str) -> None:
        shown = 0  # lines of this run already taken, whatever the attempt
        while True:
            taken = 0
            try:
                async for line in self.runtime.reads.follow(
                    self.job_id, execution_id, interval_s=FOLLOW_INTERVAL_S
                ):
                    taken += 1
                    if taken > shown:  # after a failed attempt, the lines already shown come again first
                        shown += 1
                        self._take(line)
                break
            except (QoveryError, ActionRefused) as exc:
                self._flush()
                reason = self._failed("log", exc)
                self.log_view.set_note(
                    f"⚠ could not read the log: {reason} (trying again in {RETRY_S:.0f}s)", "bold red"
                )
                await asyncio.sleep(RETRY_S)
        self._recovered("log")
        self._flush()
        if self.shown == key:
            self.log_settled = True
            self.log_view.set_note(None if self.log_view.lines else "This run's log is empty.")
            self.refresh_now(status=True)  # the run has settled: its state and how long it took

    def _take(self, line: LogLine) -> None:
        """A line followed: on screen with the others of its answer (one layout for a whole answer)."""
        self._pending.append(line)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_later(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        lines, self._pending = self._pending, []
        if lines:
            self._recovered("log")
            self.log_view.set_note(None)
            self.log_view.append(lines)
        elif not self.log_view.lines and not self.log_settled:
            run = self.run_list.run_of(self.shown)
            state = run.state if run is not None and run.state else "waiting"
            self.log_view.set_note(f"No line yet ({state}): the log grows here as the run goes.")

    def _title_log(self, run: Run | None) -> None:
        if run is None:
            self.log_view.border_title = "log"
            return
        state = run.state or "?"
        live = "" if run.settled else " · live"
        self.log_view.border_title = f"log · run {printable(run.execution_id or '?')} · {state}{live}"

    # -- errors ---------------------------------------------------------------------------------------

    def _failed(self, what: str, error: BaseException) -> str:
        """What went wrong, in words; said in the dashboard's log and a notification when it starts."""
        while isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]  # a read's own error, not the task group's wrapping of it
        if isinstance(error, ActionRefused):
            reason = f"{error.status} {error.explained}"
        elif isinstance(error, QoveryError):
            reason = str(error)
        else:
            reason = f"{type(error).__name__}: {error}"
        reason = printable(self.runtime.redactor.text(reason))  # our words, and Qovery's: never a secret
        if what not in self._failing:
            self._failing.add(what)
            self._note(f"detail {what}", f"{self.job_label}: {reason} (retrying)")
            self.app.notify(
                f"{self.job_label}: could not read its {what}: {reason}",
                title="Qovery",
                severity="error",
                markup=False,
            )
        return reason

    def _recovered(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            self._note(f"detail {what}", f"{self.job_label}: its {what} read again")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in a read (not Qovery's error, which is shown where it belongs): said, and the screen stays."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self._failed(event.worker.name or "detail", event.worker.error)
            if event.worker.group == "detail-read" and self.is_attached:
                self._schedule()  # and the refreshes go on

    # -- what the core says ---------------------------------------------------------------------------

    def _from_core(self, callback: Callable[..., None], *args: Any) -> None:
        # The board and the pipeline call from whatever thread a face serves in; the screen's loop does the rest.
        if threading.get_ident() == self._thread_id:
            self.call_later(callback, *args)
        else:
            self.app.call_from_thread(self.call_later, callback, *args)

    def _board_changed(self, job_ids: set[str]) -> None:
        if self.job_id in job_ids:
            self._from_core(self._status_changed)

    def _status_changed(self) -> None:
        job = self.runtime.board.get(self.job_id)
        if job is None or not job.status or not self.is_attached:
            return
        self.facts_panel.show(status=job.status)
        if self.runs and job.status.get("state") != self.runs[0].state:
            self.refresh_now(status=False)  # the board saw the run move on: the list follows at once

    def _action_done(self, outcome: ActionOutcome) -> None:
        if outcome.request.job_id == self.job_id:
            self._from_core(self._after_action, outcome)

    def _after_action(self, outcome: ActionOutcome) -> None:
        """An action on this job (from any face): its run is shown and followed as soon as Qovery lists it."""
        if not outcome.ok or not self.is_attached:
            return
        newest = run_key(self.runs[0], 0) if self.runs else None
        self.pinned = None
        self._awaiting = (newest, asyncio.get_running_loop().time() + NEW_RUN_WAIT_S)
        self.refresh_now(status=True)

    def _refresh_ages(self) -> None:
        self.run_list.refresh_ages()
        self.facts_panel.show()

    # -- keys -----------------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Escape: close the search if it is open, else back to the jobs (the same job still selected)."""
        if self.search_bar.is_open:
            self._close_search()
            return
        self.dismiss()

    def action_pick(self, step: int) -> None:
        """↑ a newer run, ↓ an older one: its log is shown (the newest: newer runs take its place)."""
        key = self.run_list.step(step)
        if key is not None:
            self._picked(key)

    @on(RunList.Picked)
    def _clicked(self, message: RunList.Picked) -> None:
        self._picked(message.execution_id)

    def _picked(self, key: str) -> None:
        keys = [run_key(run, index) for index, run in enumerate(self.runs or [])]
        self.pinned = None if keys[:1] == [key] else key
        if key != self.shown:
            self._show_run(key)

    def action_search(self) -> None:
        self.search_bar.open()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_match":
            return bool(self.log_view.query_text)  # n and N only mean something once a search has matches
        return True

    def action_next_match(self, step: int) -> None:
        self.log_view.next_match(step)
        self._count()

    @on(LogSearchBar.Changed)
    def _search_changed(self, message: LogSearchBar.Changed) -> None:
        self.log_view.search(message.text)
        self._count()
        self.refresh_bindings()

    @on(LogSearchBar.Submitted)
    def _search_submitted(self) -> None:
        if not self.search_bar.text.strip():
            self._close_search()  # nothing to keep: as the jobs' filter, an empty Enter closes the line
            return
        self.log_view.focus()

    def _count(self) -> None:
        view = self.log_view
        self.search_bar.show_count(view.current + 1 if view.matches else 0, len(view.matches))

    def _close_search(self) -> None:
        self.search_bar.close()
        self.log_view.search("")
        self.log_view.focus()
        self.refresh_bindings()

    @on(RunLogView.Following)
    def _following(self, message: RunLogView.Following) -> None:
        marker = self.query_one("#log-marker", Static)
        waiting = not message.following and message.waiting > 0
        marker.set_class(waiting, "-waiting")
        if waiting:
            lines = "line" if message.waiting == 1 else "lines"
            marker.update(f"↓ {message.waiting} new {lines} below — End follows the log again")

    def action_zoom(self) -> None:
        if self.maximized is self.log_view:
            self.minimize()
        else:
            self.maximize(self.log_view)
        self.log_view.focus()

    def action_copy_log(self) -> None:
        if not self.log_view.lines:
            self.app.notify("The log is empty", severity="warning")
            return
        self.app.copy_to_clipboard(self.log_view.log_text())
        self.app.notify(f"Copied {len(self.log_view.lines)} log lines of {self.job_label}", markup=False)

    def action_mark(self) -> None:
        self.app.notify("Marks are set in the jobs table: Escape goes back to it", severity="warning")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.help_rows()))

    def help_rows(self) -> list[tuple[str, str]]:
        """This screen's keys, then the action keys (they act on this job), as remapped by `ui.keys`."""
        rows = [
            (f"esc {self._key_for('exit')}", "Back to the jobs (esc closes the search first); ^q quits"),
            ("↑↓", "Pick a run (a click too): its log is shown; the newest follows new runs"),
            ("PgUp PgDn", "Scroll the log (the wheel too; shift+↑↓ a line)"),
            ("Home End", "The log's first line; its last, and follow it again"),
            (self._key_for("filter"), "Search the log; Enter keeps the matches, Escape closes"),
            ("n N", "Next and previous match"),
            (self._key_for("zoom-log"), "The log full screen, and back"),
            (self._key_for("copy-log"), "Copy the run's log"),
        ]
        if self.runtime.read_only:
            return rows
        acting = [
            *action_keys(self.runtime.actions),
            *(spec for spec in APP_KEYS if spec.id in ("force-run", "deploy-options")),
        ]
        rows += [(self._key_for(spec.id), f"{spec.help} (this job)") for spec in acting]
        return rows


def headline(error: QoveryError | ActionRefused) -> str:
    """A failed read in the few words a one-line place has room for (`Qovery unreachable`, `Qovery 503`): the
    whole message starts with the request, and at 80 columns the cause fell off its end. The whole message
    goes to the log pane and a notification (`_failed`)."""
    if isinstance(error, ActionRefused):
        return f"refused ({error.status})"
    return error.headline


def _seen(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an early read's error is not "never retrieved"
