"""How much room is left where a write failed, said in one line with what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

FULL_ERRORS = (errno.ENOSPC, errno.EDQUOT)


def mount_point(path: Path) -> Path:
    """The mount that holds ``path`` (its nearest existing ancestor, if it does not exist)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    while not os.path.ismount(path) and path.parent != path:
        path = path.parent
    return path


def free_text(path: Path) -> str:
    """'12,288 bytes free on /data', or why that is unknown."""
    mount = mount_point(path)
    try:
        stats = os.statvfs(mount)
    except OSError:
        return "free space unknown"
    return f"{stats.f_bavail * stats.f_frsize:,} bytes free on {mount}"


def is_full(exc: OSError) -> bool:
    return exc.errno in FULL_ERRORS


def write_failed(
    path: Path, exc: OSError, doing: str = "writing", then: str = "rerun the same command"
) -> str:
    """One line for a failed write: the file, the room left, the fix."""
    room = free_text(path)
    if is_full(exc):
        return f"disk full {doing} {path}: {room} — free space and {then}"
    problem = exc.strerror or str(exc)
    return f"cannot write {path}: {problem} ({room}) — fix it and {then}"
