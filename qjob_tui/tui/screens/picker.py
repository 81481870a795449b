"""The picker: walk organization -> project -> environment -> jobs, and pick environments and jobs.

`PickerScreen(client)` is a modal screen that dismisses with a `Selection` (or None when the user backs
out). The dashboard opens it with `b` (`tui.browse`); `qjob-tui init` runs it in a tiny app of its own
(`run_picker`, which the entry hands to the init face).

Keys: type to filter the level shown; up/down move; enter or right opens the highlighted item (on a job,
enter selects it); space selects an environment or a job; ctrl+a selects every shown item; escape clears
the filter, else goes back (backspace and left go back too); ctrl+s is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from qjob_tui.actions import is_uuid
from qjob_tui.config import Settings
from qjob_tui.configfile import EnvironmentChoice, JobChoice, Selection, credential_of, explain
from qjob_tui.lines import count_of, printable
from qjob_tui.qovery import QoveryClient, QoveryError
from qjob_tui.tui.key_order import OrderedKeysApp

LevelKind = Literal["organization", "project", "environment", "job"]

_PLURAL: dict[LevelKind, str] = {
    "organization": "organizations",
    "project": "projects",
    "environment": "environments",
    "job": "jobs",
}
_PROMPTS: dict[LevelKind, str] = {
    "organization": "Pick an organization (enter opens it)",
    "project": "Pick a project (enter opens it)",
    "environment": "Pick environments: space takes a whole one (its jobs now and later); enter opens it to pick jobs",
    "job": "Pick jobs: space or enter selects",
}
_CHILD: dict[LevelKind, LevelKind] = {
    "organization": "project",
    "project": "environment",
    "environment": "job",
}


@dataclass
class Level:
    """One step of the walk: what is listed, under which parent, and where the cursor was."""

    kind: LevelKind
    parent: dict[str, Any] | None = None  # the item opened to get here (None at the top)
    items: list[dict[str, Any]] | None = None  # None while loading
    error: str | None = None
    highlighted: str | None = None  # the id under the cursor, restored when coming back

    @property
    def title(self) -> str:
        return _label(self.parent) if self.parent else "Qovery"


def _name(item: Mapping[str, Any] | None) -> str:
    """An item's name as Qovery gave it (else its id): what a selection and the config file keep."""
    name = item.get("name") if item else None
    return name if isinstance(name, str) and name else str(item.get("id") if item else "?")


def _label(item: Mapping[str, Any] | None) -> str:
    """An item's name as the screen shows it: terminal-safe, since Qovery's names are outside text."""
    return printable(_name(item))


@dataclass
class _Picked:
    """The running selection, in the order the user made it."""

    environments: dict[str, EnvironmentChoice] = field(default_factory=dict)
    jobs: dict[str, JobChoice] = field(default_factory=dict)

    def selection(self) -> Selection:
        return Selection(
            environments=tuple(self.environments.values()),
            jobs=tuple(job for job in self.jobs.values() if job.environment.id not in self.environments),
        )


class PickerScreen(ModalScreen[Selection | None]):
    """Browse Qovery and pick environments and jobs; dismisses with the Selection, or None if abandoned."""

    DEFAULT_CSS = """
    PickerScreen {
        align: center middle;
    }
    PickerScreen > #picker {
        width: 100%;
        height: 100%;
        max-width: 120;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    PickerScreen #picker-title {
        text-style: bold;
        color: $accent;
    }
    PickerScreen #breadcrumb {
        color: $text-muted;
    }
    PickerScreen #prompt {
        margin-top: 1;
    }
    PickerScreen #filter {
        color: $text-muted;
    }
    PickerScreen #items {
        height: 1fr;
        border: none;
        padding: 0;
    }
    PickerScreen #status {
        height: auto;
        min-height: 1;
    }
    PickerScreen #status.error {
        color: $error;
    }
    PickerScreen #hint {
        color: $text-muted;
    }
    PickerScreen #buttons {
        height: auto;
        align-horizontal: right;
    }
    PickerScreen #buttons Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        client: QoveryClient,
        *,
        organizations: Sequence[dict[str, Any]] | None = None,
        title: str = "Pick the jobs for the dashboard",
        done_label: str = "Done",
        present: Collection[str] = (),
        credential: str = "the token",
    ) -> None:
        """`organizations`: already listed (init does that first, to fail early); `present`: ids of jobs and
        environments already on the dashboard, marked as such; `credential`: how errors name the token."""
        super().__init__()
        self.client = client
        self.picker_title = title
        self.done_label = done_label
        self.present = {item.lower() for item in present}
        self.credential = credential
        self.levels: list[Level] = [
            Level("organization", items=list(organizations) if organizations is not None else None)
        ]
        self.filter_text = ""
        self.picked = _Picked()
        self._cache: dict[tuple[LevelKind, str], list[dict[str, Any]]] = {}
        self._auto_opened = False
        self._confirm_abandon = False

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label(self.picker_title, id="picker-title", markup=False)
            yield Static("", id="breadcrumb", markup=False)
            yield Static("", id="prompt", markup=False)
            yield Static("", id="filter", markup=False)
            yield OptionList(id="items")
            yield Static("", id="status", markup=False)
            yield Static(
                "type to filter · ↑↓ move · enter/→ open · space select · ctrl+a all · "
                "esc/← back · ctrl+s done",
                id="hint",
                markup=False,
            )
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(f"{self.done_label} (ctrl+s)", id="done", variant="primary", compact=True)

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False  # the keys belong to the list; the buttons are for the mouse
        self.query_one("#items", OptionList).focus()
        self._show()
        if self.level.items is None:
            self._load(self.level)
        else:
            self._maybe_auto_open()

    @property
    def level(self) -> Level:
        return self.levels[-1]

    @property
    def items_list(self) -> OptionList:
        return self.query_one("#items", OptionList)

    # -- loading ------------------------------------------------------------------------------------

    def _fetch(self, level: Level) -> Awaitable[list[dict[str, Any]]]:
        parent_id = str(level.parent["id"]) if level.parent else ""
        if level.kind == "organization":
            return self.client.list_organizations()
        if level.kind == "project":
            return self.client.list_projects(parent_id)
        if level.kind == "environment":
            return self.client.list_environments(parent_id)
        return self.client.list_environment_jobs(parent_id)

    @work(group="picker-load", exclusive=True, exit_on_error=False)
    async def _load(self, level: Level) -> None:
        key = (level.kind, str(level.parent["id"]) if level.parent else "")
        cached = self._cache.get(key)
        if cached is None:
            try:
                listed = await self._fetch(level)
            except QoveryError as exc:
                level.items, level.error = [], explain(exc, self._what(level), self.credential)
                self._show()
                return
            cached = [item for item in listed if is_uuid(item.get("id"))]
            cached.sort(key=lambda item: _name(item).lower())
            self._cache[key] = cached
        level.items, level.error = cached, None
        if level is self.level:
            self._show()
            self._maybe_auto_open()

    def _what(self, level: Level) -> str:
        where = f" of {level.title}" if level.parent else ""
        return f"the {_PLURAL[level.kind]}{where}"

    def _maybe_auto_open(self) -> None:
        """One organization only: open it at once, the way most people would anyway. What was typed while
        it loaded filters its projects: the user never saw the organization to filter it."""
        level = self.level
        if (
            not self._auto_opened
            and level.kind == "organization"
            and level.items is not None
            and len(level.items) == 1
        ):
            self._auto_opened = True
            typed = self.filter_text
            self._open(level.items[0])
            if typed:
                self._set_filter(typed)

    # -- drawing ------------------------------------------------------------------------------------

    def _visible(self) -> list[dict[str, Any]]:
        items = self.level.items or []
        needle = self.filter_text.lower()
        if not needle:
            return items
        return [item for item in items if needle in _name(item).lower() or needle in str(item["id"]).lower()]

    def _show(self) -> None:
        """Redraw everything from the state: breadcrumb, filter, list, status."""
        level = self.level
        crumbs = ["Organizations", *(_label(lv.parent) for lv in self.levels if lv.parent)]
        self.query_one("#breadcrumb", Static).update(Text(" > ".join(crumbs)))
        self.query_one("#prompt", Static).update(Text(_PROMPTS[level.kind], style="bold"))
        filter_line = Text("filter: ")
        filter_line.append(self.filter_text or "type to filter", style="bold" if self.filter_text else "dim")
        self.query_one("#filter", Static).update(filter_line)

        option_list = self.items_list
        visible = self._visible()
        option_list.clear_options()
        option_list.add_options([Option(self._prompt(item), id=str(item["id"])) for item in visible])
        if visible:
            ids = [str(item["id"]) for item in visible]
            option_list.highlighted = ids.index(level.highlighted) if level.highlighted in ids else 0
        self._show_status()

    def _show_status(self, note: str | None = None) -> None:
        level = self.level
        status = self.query_one("#status", Static)
        status.set_class(bool(level.error), "error")
        if level.error:
            status.update(Text(f"{level.error} — ctrl+r retries, esc goes back"))
            return
        if level.items is None:
            status.update(Text(f"Loading {self._what(level)}…"))
            return
        if note:
            status.update(Text(note))
            return
        if not level.items:
            status.update(Text(f"No {_PLURAL[level.kind]} in {level.title}."))
            return
        shown = len(self._visible())
        lead = f"{shown} of {len(level.items)} shown" if self.filter_text else count_of(shown, level.kind)
        picked = self.picked.selection()
        tail = f" · selected: {picked.describe()}" if picked else ""
        status.update(Text(lead + tail))

    def _mark(self, item: Mapping[str, Any]) -> str:
        item_id = str(item["id"]).lower()
        kind = self.level.kind
        if kind == "environment":
            if item_id in self.picked.environments:
                return "[x] "
            if any(job.environment.id == item_id for job in self.picked.jobs.values()):
                return "[-] "
            return "[ ] "
        if kind == "job":
            if self.level.parent and str(self.level.parent["id"]).lower() in self.picked.environments:
                return "[x] "
            return "[x] " if item_id in self.picked.jobs else "[ ] "
        return ""

    def _prompt(self, item: Mapping[str, Any]) -> Text:
        kind = self.level.kind
        text = Text(self._mark(item))
        text.append(_label(item), style="bold")
        details: list[str] = []
        if kind == "organization" and isinstance(item.get("description"), str) and item["description"]:
            details.append(item["description"])
        elif kind == "project":
            count = item.get("associated_environments_count")
            if isinstance(count, int):
                details.append(count_of(count, "environment"))
            if isinstance(item.get("description"), str) and item["description"]:
                details.append(item["description"])
        elif kind == "environment":
            for key in ("mode", "cluster_name"):
                if isinstance(item.get(key), str):
                    details.append(str(item[key]).lower() if key == "mode" else str(item[key]))
        elif kind == "job":
            if isinstance(item.get("job_type"), str):
                details.append(str(item["job_type"]).lower())
            schedule = item.get("schedule")
            cron = schedule.get("cronjob") if isinstance(schedule, dict) else None
            if isinstance(cron, dict) and isinstance(cron.get("scheduled_at"), str):
                details.append(cron["scheduled_at"])
        if str(item["id"]).lower() in self.present:
            details.append("on the dashboard")
        if details:
            text.append("  " + printable(" · ".join(details)), style="dim")
        return text

    # -- keys ---------------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Every key of the picker is handled here, in the order typed.

        Bindings would run later, when the key has bubbled up to the app, so a fast `down space` would select
        the row *before* the cursor moved; and typing a filter must never fire a key of the dashboard beneath.
        Priority keys (ctrl+q) still reach the app first."""
        if self.focused is not self.items_list:
            return
        handler = self._key_handlers.get(event.key)
        if handler is None and event.is_printable and event.character and len(event.character) == 1:
            character = event.character

            def handler() -> None:
                self._set_filter(self.filter_text + character)

        if handler is not None:
            event.stop()
            event.prevent_default()
            handler()

    @property
    def _key_handlers(self) -> dict[str, Callable[[], None]]:
        items = self.items_list
        return {
            "up": items.action_cursor_up,
            "down": items.action_cursor_down,
            "home": items.action_first,
            "end": items.action_last,
            "pageup": items.action_page_up,
            "pagedown": items.action_page_down,
            "enter": self.action_enter,
            "right": self.action_open,
            "left": self.action_back,
            "escape": self.action_escape,
            "backspace": self.action_backspace,
            "space": self.action_select_item,
            "ctrl+a": self.action_toggle_all,
            "ctrl+s": self.action_done,
            "ctrl+r": self.action_reload,
        }

    def action_enter(self) -> None:
        """Open the highlighted item; on a job, select it (there is nothing deeper)."""
        if self.level.kind == "job":
            self.action_select_item()
        else:
            self.action_open()

    def action_backspace(self) -> None:
        if self.filter_text:
            self._set_filter(self.filter_text[:-1])
        else:
            self.action_back()

    def _set_filter(self, text: str) -> None:
        self._remember_highlight()
        self.filter_text = text
        self._confirm_abandon = False
        self._show()

    def _remember_highlight(self) -> None:
        option = self.items_list.highlighted_option
        if option is not None and option.id is not None:
            self.level.highlighted = option.id

    def _highlighted_item(self) -> dict[str, Any] | None:
        option = self.items_list.highlighted_option
        if option is None or self.level.items is None:
            return None
        return next((item for item in self.level.items if str(item["id"]) == option.id), None)

    @on(OptionList.OptionSelected, "#items")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        """A click on a row (enter is handled in on_key)."""
        event.stop()
        self.action_enter()

    def action_open(self) -> None:
        item = self._highlighted_item()
        if item is not None and self.level.kind in _CHILD:
            self._open(item)

    def _open(self, item: dict[str, Any]) -> None:
        self._remember_highlight()
        child = Level(_CHILD[self.level.kind], parent=item)
        key = (child.kind, str(item["id"]))
        child.items = self._cache.get(key)
        self.levels.append(child)
        self.filter_text = ""
        self._confirm_abandon = False
        self._show()
        if child.items is None:
            self._load(child)

    def action_back(self) -> None:
        if len(self.levels) == 1:
            return
        self.levels.pop()
        self.filter_text = ""
        self._show()

    def action_escape(self) -> None:
        if self.filter_text:
            self._set_filter("")
        elif len(self.levels) > 1:
            self.action_back()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if self.picked.selection() and not self._confirm_abandon:
            self._confirm_abandon = True
            self._show_status(
                f"Leave without your {self.picked.selection().describe()}? Press escape again; "
                "ctrl+s keeps them."
            )
            return
        self.dismiss(None)

    def action_reload(self) -> None:
        level = self.level
        self._cache.pop((level.kind, str(level.parent["id"]) if level.parent else ""), None)
        level.items, level.error = None, None
        self._show()
        self._load(level)

    def action_select_item(self) -> None:
        item = self._highlighted_item()
        if item is None:
            return
        self._confirm_abandon = False
        if self.level.kind in ("organization", "project"):
            self._show_status(f"Only environments and jobs can be selected; enter opens {_label(item)}.")
            return
        self._toggle(item)
        self._remember_highlight()
        self._show()

    def action_toggle_all(self) -> None:
        if self.level.kind not in ("environment", "job"):
            self._show_status("Only environments and jobs can be selected; enter opens one.")
            return
        visible = self._visible()
        if self.level.kind == "environment":
            every = all(str(item["id"]).lower() in self.picked.environments for item in visible)
        else:
            every = all(str(item["id"]).lower() in self.picked.jobs for item in visible)
        for item in visible:
            selected = (
                str(item["id"]).lower() in self.picked.environments
                if self.level.kind == "environment"
                else str(item["id"]).lower() in self.picked.jobs
            )
            if selected == every:
                self._toggle(item)
        self._remember_highlight()
        self._show()

    def _toggle(self, item: dict[str, Any]) -> None:
        item_id = str(item["id"]).lower()
        if self.level.kind == "environment":
            if item_id in self.picked.environments:
                del self.picked.environments[item_id]
            else:
                self.picked.environments[item_id] = self._environment_choice(item)
            return
        environment = self._environment_choice(self.level.parent or {})
        if environment.id in self.picked.environments:
            self.notify(
                f"All of {environment.name or environment.id} is selected; unselect the environment "
                "to pick its jobs one by one.",
                severity="warning",
            )
            return
        if item_id in self.picked.jobs:
            del self.picked.jobs[item_id]
        else:
            job = JobChoice.from_response(item, environment)
            if job is not None:
                self.picked.jobs[item_id] = job

    def _environment_choice(self, environment: Mapping[str, Any]) -> EnvironmentChoice:
        """The environment with the names of the project and organization it was reached through."""
        # The project level was opened from an organization, the environment level from a project.
        opened_from = {level.kind: _name(level.parent) for level in self.levels if level.parent is not None}
        mode = environment.get("mode")
        return EnvironmentChoice(
            id=str(environment.get("id", "")).lower(),
            name=_name(environment),
            project=opened_from.get("environment"),
            organization=opened_from.get("project"),
            mode=mode if isinstance(mode, str) else None,
        )

    def action_done(self) -> None:
        selection = self.picked.selection()
        if not selection:
            self._show_status("Nothing selected yet: space selects the highlighted environment or job.")
            return
        self.dismiss(selection)

    @on(Button.Pressed, "#done")
    def _done_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_done()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()


# -- `qjob-tui init` ------------------------------------------------------------------------------------


class PickerApp(OrderedKeysApp[Selection | None]):
    """The picker on its own, for `qjob-tui init`: returns the Selection (None if the user left)."""

    TITLE = "qjob-tui init"

    def __init__(
        self,
        client: QoveryClient,
        organizations: Sequence[dict[str, Any]],
        path: Path,
        *,
        demo: bool = False,
        credential: str = "the token",
    ) -> None:
        super().__init__()
        self.client = client
        self.organizations = list(organizations)
        self.path = path
        self.demo = demo
        self.credential = credential

    def on_mount(self) -> None:
        title = f"qjob-tui init{' (DEMO)' if self.demo else ''}: pick the jobs to write to {self.path}"
        self.push_screen(
            PickerScreen(
                self.client,
                organizations=self.organizations,
                title=title,
                done_label="Write",
                credential=self.credential,
            ),
            callback=self.exit,
        )


async def run_picker(
    client: QoveryClient, organizations: list[dict[str, Any]], path: Path, settings: Settings
) -> Selection | None:
    """The terminal picker of `qjob-tui init` (its `PickerRunner`)."""
    app = PickerApp(client, organizations, path, demo=settings.demo, credential=credential_of(settings))
    await app.run_async()
    return app.return_value
