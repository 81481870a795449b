"""The append-only audit log: two JSON lines per action that goes to Qovery, from every face.

Write-ahead: an action's intent line (`"phase": "intent"`) is written before its request leaves for Qovery,
its outcome line (`"phase": "outcome"`, the same `id`) once it is answered, failed or interrupted. An action
whose intent cannot be written is not sent. An attempt that never reached Qovery (refused by the operator's
approval) is one outcome line without an intent. So after any crash, an intent without its outcome names an
action that may have run, whose answer nobody heard.

Each line is written to the operating system (one `os.write` on an `O_APPEND` descriptor) before the action
goes on, so that a crash of the process loses no line; an fsync follows in the background within a second, so
a crash of the machine loses at most that second. The token is never in a record: records are built from the
action's inputs and Qovery's answer only, and every line passes the process's `Redactor` on its way to the file
(a caller may paste the token into a body; an upstream may echo it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qjob_tui.files import SymlinkRefused, make_private_dirs, open_private_append
from qjob_tui.lines import iso_utc
from qjob_tui.redaction import Redactor

FSYNC_DELAY_S = 1.0


class AuditError(Exception):
    """The audit log cannot be opened or written."""


class UnrecordableValue(ValueError):
    """A value that cannot be written as JSON (NaN, nested deeper than the encoder follows, not JSON at all)."""


@dataclass(frozen=True)
class RawJSON:
    """A value already encoded as JSON text: written into a line as it is, never encoded again, so that what
    was recorded once (an action's body, in its intent) cannot fail to be recorded the second time."""

    text: str

    @classmethod
    def of(cls, value: Any) -> RawJSON:
        """`value` as one JSON line's worth of text; UnrecordableValue when it cannot be written as JSON."""
        try:
            return cls(json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False))
        except (ValueError, TypeError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise UnrecordableValue(f"cannot be written as JSON ({why})") from None


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One record as one line of ASCII JSON. UnrecordableValue when a value cannot be written as JSON."""
    plain = {key: value for key, value in record.items() if not isinstance(value, RawJSON)}
    # ASCII only: U+0085, U+2028 and U+2029 are line breaks to many readers (Python's splitlines, JavaScript),
    # and json.dumps leaves them raw otherwise, which would cut a record in two.
    members = [RawJSON.of(plain).text[1:-1]] if plain else []
    members += [
        f"{json.dumps(key)}:{value.text}" for key, value in record.items() if isinstance(value, RawJSON)
    ]
    return ("{" + ",".join(members) + "}\n").encode()


#: The error of the outcome line given at start to an intent an earlier process left without one.
UNKNOWN_OUTCOME = (
    "no outcome was recorded: qjob-tui stopped before Qovery answered (written at the next start); "
    "the action may or may not have run"
)
# What an outcome given at start copies from its intent (the rest of an outcome is unknown).
_INTENT_KEYS = (
    "id",
    "time",
    "source",
    "job_id",
    "job_name",
    "action",
    "forceEvent",
    "body",
    "client",
    "approval",
)

#: How much of the end of an audit file is read at start for intents without an outcome: the latest actions.
TAIL_BYTES = 1024 * 1024


def unfinished_intents(path: Path, tail_bytes: int = TAIL_BYTES) -> list[dict[str, Any]]:
    """The intent lines near the end of the audit file at `path` that have no outcome line: actions that were
    sent (or about to be) when a process stopped without recording Qovery's answer (SIGKILL, a power cut).
    Oldest first; [] when there are none or the file cannot be read."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a device (/dev/full) is written to, never read back
            return []
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - tail_bytes))
            tail = file.read(tail_bytes)
    except OSError:
        return []
    intents: dict[str, dict[str, Any]] = {}
    for raw in tail.split(b"\n")[1 if size > tail_bytes else 0 :]:  # the first may be cut: skipped
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            continue
        if record.get("phase") == "intent":
            intents[record["id"]] = record
        elif record.get("phase") == "outcome":
            intents.pop(record["id"], None)
    return list(intents.values())


def unfinished_note(intents: list[dict[str, Any]]) -> str:
    """What the operator should know at start about actions whose outcome was never recorded."""
    last = intents[-1]
    what = f"{last.get('action')} {last.get('job_name') or last.get('job_id')} at {last.get('time')}"
    count = f"{len(intents)} action{'s' if len(intents) != 1 else ''}"
    return (
        f"audit: {count} sent to Qovery with no recorded outcome (the last: {what}); qjob-tui stopped before "
        "Qovery answered, so they may or may not have run: check the job's state and runs before trying again"
    )


class AuditLog:
    """Appends JSON lines to a file; `fsync`s in the background at most `FSYNC_DELAY_S` after a write."""

    def __init__(self, path: Path, *, redactor: Redactor | None = None) -> None:
        """Open (or create: 0600, in directories made 0700) the file at `path`; AuditError when it cannot be,
        or when `path` is a symbolic link. `notes` says what a face should tell the operator at start."""
        self.path = path
        self.redactor = redactor or Redactor()
        self.notes: list[str] = []
        try:
            make_private_dirs(path.parent)
            self._fd: int | None
            self._fd, tightened = open_private_append(path)
        except SymlinkRefused:
            raise AuditError(
                f"audit.path: {path} is a symbolic link, and qjob-tui follows none for its audit log "
                "(a planted link would send the record elsewhere): give the path of the file itself"
            ) from None
        except OSError as exc:
            raise AuditError(f"audit.path: cannot open {path} for appending ({exc.strerror})") from None
        if tightened:
            self.notes.append(f"audit.path: {tightened}")
        self._dirty = False
        self._lock = threading.Lock()  # guards the descriptor and `_dirty`; held only for a write
        self._sync_lock = threading.Lock()  # one fsync at a time, and no close during one
        self._fsync_timer: threading.Timer | None = None
        self._close_unfinished()

    def _close_unfinished(self) -> None:
        """Say at start which actions of an earlier process have an intent and no outcome, and give each its
        outcome line (status unknown), so that the record is whole and the next start does not say it again."""
        unfinished = unfinished_intents(self.path)
        if not unfinished:
            return
        self.notes.append(unfinished_note(unfinished))
        now = iso_utc(datetime.now(UTC))
        for intent in unfinished:
            outcome = {key: intent.get(key) for key in _INTENT_KEYS if key in intent}
            outcome.update(
                phase="outcome",
                recorded_at=now,
                status=None,
                duration_ms=None,
                deployment_request_id=None,
                error=UNKNOWN_OUTCOME,
            )
            with contextlib.suppress(AuditError, UnrecordableValue):
                self.append(outcome)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as a JSON line, through to the OS. Never blocks on the disk's flush.

        UnrecordableValue when a value cannot be written as JSON (nothing is written); AuditError when the
        line cannot be written (a full disk, a file grown past its limit, a closed log)."""
        self._write(encode_line(record))

    def _write(self, line: bytes) -> None:
        """Write one encoded line (`encode_line`), redacted, through to the OS; AuditError if it cannot be."""
        line = self.redactor.encoded(line)
        with self._lock:
            if self._fd is None:
                raise AuditError(f"{self.path}: the audit log is closed")
            try:
                written = os.write(self._fd, line)
                while written < len(line):  # a short write on a regular file is rare, but not impossible
                    written += os.write(self._fd, line[written:])
            except OSError as exc:
                raise AuditError(f"{self.path} could not be written ({exc.strerror})") from None
            if not self._dirty:
                self._dirty = True
                self._schedule_fsync()

    def _schedule_fsync(self) -> None:
        timer = threading.Timer(FSYNC_DELAY_S, self.flush)
        timer.daemon = True
        self._fsync_timer = timer
        timer.start()

    def flush(self) -> None:
        """fsync what was written so far (called by the background timer, and at close)."""
        with self._sync_lock:
            with self._lock:
                fd, dirty = self._fd, self._dirty
                self._dirty = False  # an append from now on schedules the next fsync
            if fd is not None and dirty:
                # Outside `_lock`: a slow disk must not hold up the appends (and the answers behind them).
                with contextlib.suppress(OSError):
                    os.fsync(fd)

    def close(self) -> None:
        """Flush and close; later appends raise AuditError."""
        if self._fsync_timer is not None:
            self._fsync_timer.cancel()
        self.flush()
        with self._sync_lock, self._lock:
            if self._fd is not None:
                if self._dirty:  # appended while the last flush ran
                    with contextlib.suppress(OSError):
                        os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
