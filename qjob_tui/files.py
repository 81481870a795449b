"""The process's own files kept private: directories made 0700, the audit file 0600, no symbolic link followed.

Whatever the umask (also 000), a directory qjob-tui creates (the state dir of the audit log, the config dir
`init` writes to) is 0700, and the files in them 0600; a directory that exists already is left as it is. The
audit file is opened with `O_NOFOLLOW`: a link planted at its path would send the actions' record wherever
it points, so a symbolic link there is refused. An audit file found readable by others is tightened to 0600,
and the caller is told (a note each face shows).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class SymlinkRefused(OSError):
    """The path of a file qjob-tui appends to is a symbolic link."""


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, each 0700 whatever the umask; existing ones stay as they are."""
    missing: list[Path] = []
    current = directory
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR)
        except FileExistsError:  # made meanwhile (another qjob-tui starting): it is someone's, not ours
            continue
        os.chmod(path, PRIVATE_DIR)  # the umask only takes bits away, and may have taken the owner's too


def open_private_append(path: Path) -> tuple[int, str | None]:
    """A descriptor that appends to `path` (created 0600), never through a symbolic link, and a note to show
    when an existing file had to be tightened to 0600. SymlinkRefused for a link, OSError otherwise."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, PRIVATE_FILE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkRefused(errno.ELOOP, "is a symbolic link", str(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) or not stat.S_IMODE(mode) & 0o077:
            return fd, None  # private already (or not a file of ours to change, like /dev/null)
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return (
        fd,
        f"{path} was readable by others (mode {stat.S_IMODE(mode):o}); it is 600 now, the owner's alone",
    )
