"""One writer per output: an OS lock (``flock``) on a small file beside what is written.

The kernel drops the lock when its holder exits, however it exits (kill -9 included), so a
crash never leaves a stale lock behind, and a job whose supervisor died keeps its output locked
for exactly as long as the process that writes it lives. A clean release deletes the lock file
(while still holding it; a writer that locked the deleted file notices and tries again), so no
litter is left beside the data; after a crash the empty file stays and is simply reused. The
lock file also says who holds it (pid, job id, host, since when, command), so a refused writer
can name the holder and say how to stop it. flock is advisory and local: a workspace on a
network file system shared between hosts is only protected against writers on the same host.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

JOB_ID_ENV = "MAGITUI_JOB_ID"  # set by the supervisor for the command it runs


class OutputLocked(Exception):
    """Another process writes this output; the message names it and how to stop it."""


def lock_path(target: Path) -> Path:
    """``.NAME.lock`` beside ``NAME`` (a hidden file, so file pickers do not list it)."""
    return target.parent / f".{target.name}.lock"


def describe_holder(holder: dict[str, Any], target: Path) -> str:
    pid = holder.get("pid", "?")
    job = holder.get("job_id")
    host = holder.get("host") or "?"
    since = holder.get("since")
    when = time.strftime("%H:%M:%S", time.localtime(since)) if isinstance(since, float) else "?"
    who = f"pid {pid} on {host}" + (f", job {job}" if job else "") + f", since {when}"
    if job:
        how = f"wait for it to finish, or stop it: magitui jobs stop {job}"
    elif host == socket.gethostname():
        how = f"wait for it to finish, or stop it: kill {pid}"
    else:
        how = f"wait for it to finish, or stop it on {host}"
    return f"another magitui is writing {target} ({who}) — {how}"


class OutputLock:
    """``with OutputLock(path):`` — held until the block ends or the process exits."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = lock_path(target)
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise OutputLocked(describe_holder(holder, self.target)) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the holder released and deleted it meanwhile: lock the new one
        holder = {
            "pid": os.getpid(),
            "job_id": os.environ.get(JOB_ID_ENV),
            "host": socket.gethostname(),
            "since": time.time(),
            "command": " ".join(sys.argv[:3]),
        }
        # Who holds it, for the refused: written while locked, so never read half-written by
        # a writer that got the lock (a reader without the lock may see it empty: "?").
        with contextlib.suppress(OSError):  # a full disk must not stop the lock itself
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                if _same_file(fd, self.path):
                    self.path.unlink()  # still locked: nobody can take it half-deleted
            os.close(fd)  # closing the last descriptor releases the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def holder_of(target: Path) -> dict[str, Any] | None:
    """Who writes ``target`` now, or None when nobody does (probes without keeping the lock)."""
    path = lock_path(target)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def ensure_free(target: Path) -> None:
    """Refuse at once when another process writes ``target`` (a check before starting a job;
    the job takes the lock itself)."""
    holder = holder_of(target)
    if holder is not None:
        raise OutputLocked(describe_holder(holder, target))


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
