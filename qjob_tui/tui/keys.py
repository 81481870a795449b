"""The dashboard's keys, as data: one row per binding, each with the id that `ui.keys` remaps.

The job actions' keys come from the action table (their `name` is the binding id, their `key` the default
key); `COMMAND_KEYS` are the dashboard's own commands. To add a command's key: add a `KeySpec` to
`COMMAND_KEYS` and an `action_<name>` method to `QJobApp`. The help screen and the footer follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.keys import key_to_character

from qjob_tui.actions import ACTIONS, JobAction


@dataclass(frozen=True)
class KeySpec:
    """One key of the dashboard: binding id, default key, Textual action, and how it is described."""

    id: str  # the binding id users remap in `ui.keys`
    key: str  # the default key, in Textual's names ("D", "space", "slash", "question_mark")
    action: str  # the Textual action string it runs on the app
    label: str  # short, for the footer and buttons
    help: str  # one line, for the help screen
    footer: bool = True  # shown in the footer (the job actions show on the action bar instead)
    priority: bool = False  # checked before the focused widget's keys, even under a dialog (quit, Enter)
    acts: bool = False  # leads to an action on Qovery: gone in --read-only


def action_keys(actions: Sequence[JobAction]) -> tuple[KeySpec, ...]:
    """One key per action of the table: its name is the binding id, its key the default."""
    return tuple(
        KeySpec(
            id=action.name,
            key=action.key,
            action=f"job('{action.name}')",
            label=action.title,
            help=action.help_line,
            footer=False,
            acts=True,
        )
        for action in actions
    )


# The dashboard's own commands, after the job actions' keys.
COMMAND_KEYS: tuple[KeySpec, ...] = (
    # A priority key: the jobs table would take Enter for itself; the app hands it on wherever Enter is
    # another's (a dialog, an input, the detail screen itself).
    KeySpec(
        "open-job",
        "enter",
        "open_job",
        "Open",
        "Open the selected job: facts, Status, runs, the live log",
        priority=True,
    ),
    KeySpec(
        "force-run",
        "f",
        "force_run",
        "Force run",
        "Force a run: CRON, or a lifecycle hook (START/STOP/DELETE)",
        acts=True,
    ),
    KeySpec(
        "deploy-options",
        "D",
        "deploy_options",
        "Deploy…",
        "Deploy with an image tag or a git commit id",
        acts=True,
    ),
    KeySpec(
        "mark",
        "space",
        "mark",
        "Mark",
        "Mark a job; actions then run on all marked jobs",
        acts=True,
    ),
    KeySpec(
        "filter",
        "slash",
        "filter",
        "Filter",
        "Filter by name, id, state, project or env (Esc clears)",
    ),
    KeySpec(
        "sort",
        "o",
        "sort",
        "Sort",
        "Sort: by name, state, last deployment, then as configured",
        footer=False,  # the jobs pane's title shows it, with the order in use
    ),
    KeySpec("help", "question_mark", "help", "Help", "Show every key"),
    KeySpec(
        "browse",
        "b",
        "browse",
        "Browse",
        "Add environments and jobs from Qovery (the init picker)",
        footer=False,
    ),
    KeySpec(
        "copy-log",
        "y",
        "copy_log",
        "Copy JSON",
        "Copy the selected log entry's JSON",
        footer=False,
    ),
    KeySpec("zoom-log", "z", "zoom_log", "Zoom log", "Log pane full screen, and back", footer=False),
    KeySpec(
        "approvals",
        "a",
        "approvals",
        "Approvals",
        "Answer what waits for your approval (REST, MCP), over any dialog",
        footer=False,
        priority=True,  # over a dialog too; it lets the key through when nothing waits or an input has focus
    ),
    KeySpec(
        "quit",
        "ctrl+q",
        "quit",
        "Quit",
        "Quit (with --server, the servers stop too), from anywhere",
        priority=True,
    ),
    # k9s' and lazygit's quit key; not a priority one, so that a q typed into an input stays a q.
    KeySpec(
        "exit",
        "q",
        "quit",
        "Quit",
        "Quit from the jobs or the log (as ctrl+q); on a job's page: back",
        footer=False,
    ),
)


def app_keys(actions: Sequence[JobAction] = ACTIONS) -> tuple[KeySpec, ...]:
    """Every key of the dashboard: one per action of the table, then the dashboard's own."""
    return (*action_keys(actions), *COMMAND_KEYS)


APP_KEYS = app_keys()

# The app's actions that lead to an action on Qovery (`job('deploy')` is `job`): refused in --read-only.
ACTING_ACTIONS = frozenset(spec.action.split("(")[0] for spec in APP_KEYS if spec.acts)

# Keys Textual provides that the help screen lists too; not remappable through `ui.keys`.
FIXED_KEYS: tuple[tuple[str, str], ...] = (
    ("^p", "Command palette: every action for the selected job"),
    ("tab", "Go between the jobs table and the log pane"),
    ("↑↓", "Select a job (home/end: first/last), or a log entry"),
    ("y n", "In a dialog: y or enter confirms, n or escape cancels"),
    ("y n", "In an approval: y approves, n or escape refuses (not enter)"),
)


def app_bindings(actions: Sequence[JobAction] = ACTIONS) -> list[BindingType]:
    """The app's BINDINGS, each with its id so that `App.set_keymap` can remap it."""
    return [
        Binding(
            spec.key,
            spec.action,
            spec.label,
            show=spec.footer,
            id=spec.id,
            tooltip=spec.help,
            priority=spec.priority,
        )
        for spec in app_keys(actions)
    ]


# Keys the tables and Textual keep for themselves (navigation, the palette): a remap onto them would shadow them.
RESERVED_KEYS = frozenset(
    {
        "up",
        "down",
        "left",
        "right",
        "home",
        "end",
        "g",
        "G",
        "pageup",
        "pagedown",
        "tab",
        "shift+tab",
        "enter",
        "escape",
        "ctrl+p",
        "ctrl+c",
    }
)


def _keys(keys: str) -> list[str]:
    # "?" and "question_mark" are one key: compare them as the character they type, when there is one.
    return [key_to_character(key) or key for key in (part.strip() for part in keys.split(",")) if key]


@dataclass(frozen=True)
class KeymapCheck:
    """`ui.keys` checked: the remaps that apply, and why the others do not (lines a user can act on)."""

    accepted: dict[str, str]
    problems: list[str]


def check_keymap(keymap: dict[str, str], specs: Sequence[KeySpec] = APP_KEYS) -> KeymapCheck:
    """Keep the remaps that work; refuse (and say why) an unknown id, a key taken by navigation, and a key two
    bindings would share. A refused remap leaves its binding on its default key, as the help and the action
    bar then show."""
    by_id = {spec.id: spec for spec in specs}
    problems = []
    accepted: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        if binding_id not in by_id:
            problems.append(f"ui.keys: {binding_id!r} is not a binding id; use one of {', '.join(by_id)}")
            continue
        reserved = [key for key in _keys(keys) if key in RESERVED_KEYS]
        if reserved:
            problems.append(
                f"ui.keys: {binding_id}: {reserved[0]!r} is taken by navigation; pick another key "
                f"({binding_id} stays on {by_id[binding_id].key!r})"
            )
            continue
        accepted[binding_id] = keys
    while clash := _first_shared_key(accepted, specs):
        key, ids = clash
        remapped = [binding_id for binding_id in ids if binding_id in accepted]
        kept = ", ".join(f"{binding_id} on {by_id[binding_id].key!r}" for binding_id in remapped)
        problems.append(
            f"ui.keys: {' and '.join(ids)} share the key {key!r}; give each its own key (kept: {kept})"
        )
        for binding_id in remapped:
            del accepted[binding_id]
    return KeymapCheck(accepted, problems)


def _first_shared_key(keymap: dict[str, str], specs: Sequence[KeySpec]) -> tuple[str, list[str]] | None:
    owners: dict[str, list[str]] = {}
    for spec in specs:
        for key in _keys(keymap.get(spec.id) or spec.key):
            owners.setdefault(key, []).append(spec.id)
    for key, ids in owners.items():
        if len(ids) > 1 and any(binding_id in keymap for binding_id in ids):
            return key, ids
    return None
