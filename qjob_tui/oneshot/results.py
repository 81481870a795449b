"""How a one-shot command ends: the exit code a script reads, the word of the `result` JSON line, and why.

The codes are the contract's (README, "Scripts and CI"). Two decisions of ours beside them:
- CANCELED is not success: the run did not do what was asked (Qovery's own CLI exits 0 there). It ends
  `failed`, exit 1, as an error state does; so does a settled state qjob-tui does not know, rather than let a
  script take it for success.
- A signal while watching ends the watch, not the run: exit 128 + the signal (130 SIGINT, 143 SIGTERM), as a
  shell reports a command stopped by it, result `interrupted`. A usage error after the line was read (an
  unknown job name, read-only) still ends the JSON lines with a `result` line, result `usage`.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from qjob_tui.jobs import state_category
from qjob_tui.pipeline import ActionOutcome, ActionRefused, ReadOnlyRefused
from qjob_tui.qovery import QoveryError, QoveryHTTPError

CANCELED = "CANCELED"


class Exit(enum.IntEnum):
    """The exit codes of the one-shot commands."""

    SUCCESS = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    TIMEOUT = 4
    UNREACHABLE = 5
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM

    @property
    def result(self) -> str:
        """The `result` of the last JSON line."""
        return _RESULTS[self]


_RESULTS = {
    Exit.SUCCESS: "success",
    Exit.FAILED: "failed",
    Exit.USAGE: "usage",
    Exit.REFUSED: "refused",
    Exit.TIMEOUT: "timeout",
    Exit.UNREACHABLE: "unreachable",
    Exit.SIGINT: "interrupted",
    Exit.SIGTERM: "interrupted",
}


def exit_for_signal(signum: int) -> Exit:
    return Exit.SIGTERM if signum == signal.SIGTERM else Exit.SIGINT


@dataclass(frozen=True)
class Ending:
    """How a command ended: its exit code, why (for any end but a plain success), the job's last known state,
    and Qovery's HTTP status when its answer decided it."""

    exit: Exit
    message: str | None = None
    state: str | None = None
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit is Exit.SUCCESS


def ending_of_refusal(refused: ActionRefused, where: str | None = None) -> Ending:
    """qjob-tui refused before Qovery (bad input, a job not configured): exit 3; read-only (server.read_only in
    the config) is a usage error, exit 2, as --read-only is. `where` names the input at fault as the command
    line spells it (`--image-tag`), when it was one."""
    if isinstance(refused, ReadOnlyRefused):
        return Ending(Exit.USAGE, f"read-only: {refused.detail}; nothing was sent")
    return Ending(
        Exit.REFUSED, f"refused: {where}: {refused.detail}" if where else f"refused: {refused.detail}"
    )


def ending_of_error(error: QoveryError) -> Ending:
    """Qovery's failure to answer well: a 4xx refuses (exit 3); 5xx, no answer or not JSON is exit 5."""
    if isinstance(error, QoveryHTTPError):
        exit_ = Exit.REFUSED if error.status < 500 else Exit.UNREACHABLE
        return Ending(exit_, error.message, http_status=error.status)
    return Ending(Exit.UNREACHABLE, error.message, http_status=getattr(error, "status", None))


def ending_of_unread(message: str, unread: Sequence[str]) -> Ending:
    """Reads that failed (`discovery.Unread` lines): refused (exit 3) when Qovery answered every one with a 4xx
    (a wrong token, a job it does not know), else unreachable (exit 5), as one read's error would end."""
    statuses = [getattr(line, "status", None) for line in unread]
    if statuses and all(status is not None and 400 <= status < 500 for status in statuses):
        return Ending(Exit.REFUSED, message, http_status=statuses[0])  # the lines name every status
    return Ending(Exit.UNREACHABLE, message)


def ending_of_outcome(outcome: ActionOutcome) -> Ending:
    """What Qovery's answer to the action means for the command, before any watching."""
    state = outcome.data.get("state") if isinstance(outcome.data, dict) else None
    state = state if isinstance(state, str) else None
    if outcome.refused is not None:
        return ending_of_refusal(outcome.refused)
    if outcome.error is not None:
        return ending_of_error(outcome.error)
    return Ending(Exit.SUCCESS, state=state, http_status=outcome.status)


def ending_of_state(state: str) -> Ending:
    """A run that has settled in `state`: success only in a good state, and CANCELED is not one."""
    category = state_category(state)
    if category == "ok" and state != CANCELED:
        return Ending(Exit.SUCCESS, state=state)
    if category == "error":
        why = f"the run ended in {state}"
    elif state == CANCELED:
        why = "the run was CANCELED"
    else:
        why = f"the run ended in {state}, a state qjob-tui does not know as a success"
    return Ending(Exit.FAILED, why, state=state)
