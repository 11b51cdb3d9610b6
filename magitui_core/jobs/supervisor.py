"""The process that owns one job: ``python -m magitui_core.jobs.supervisor DIR -- CMD...``.

It is started in a new session by the launcher, forks once more so that no
terminal or UI process is its parent, runs the command in its own process group,
and records the outcome in status.json and events.jsonl. Because it is neither
a child of the UI nor attached to a terminal, closing the UI or a dropped SSH
link (SIGHUP) does not touch the job.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from magitui_core.credentials import StreamRedactor, redact_argv
from magitui_core.disk_space import write_failed
from magitui_core.jobs.events import JOB_DIR_ENV, EventWriter, last_error_message
from magitui_core.jobs.status import (
    EVENTS_FILE,
    OUTPUT_FILE,
    STOP_MARKER,
    JobState,
    JobStatus,
    now,
)

STRAGGLER_GRACE = 3.0
IDLE_FLUSH = 0.25  # seconds of silence after which held-back output is written anyway


def group_members(pgid: int, exclude: int | None = None) -> list[psutil.Process]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.pid == exclude or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def wait_group_empty(pgid: int, timeout: float) -> bool:
    """True once no live process is left in the group; False if some remain after ``timeout``."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _end_stragglers(pgid: int) -> None:
    """Whatever the command left behind in its group goes with it: no orphans."""
    me = os.getpid()
    members = group_members(pgid, exclude=me)
    for proc in members:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(members, timeout=STRAGGLER_GRACE)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def copy_redacted(child: subprocess.Popen[bytes], fd: int, log: Any, pgid: int) -> OSError | None:
    """Copy the job's output to its log, secrets scrubbed, until every writer has closed it;
    the error that stopped the copy (a full disk), if one did.

    When the command ends, what it left running in its group is ended too: such a process
    could hold the pipe open (and the job unfinished) forever. After a failed write the pipe
    is still drained, so the job never blocks on output nobody reads.
    """
    redactor = StreamRedactor()
    ended = False
    failed: OSError | None = None

    def write(data: bytes) -> None:
        nonlocal failed
        if failed is None and data:
            try:
                log.write(data)
            except OSError as exc:
                failed = exc

    while True:
        ready, _, _ = select.select([fd], [], [], IDLE_FLUSH)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            write(redactor.feed(data))
        else:
            write(redactor.flush())  # a quiet job: show what it printed, even a partial line
        if not ended and child.poll() is not None:
            ended = True
            _end_stragglers(pgid)
    write(redactor.flush())
    return failed


def supervise(job_dir: Path, command: list[str]) -> int:
    status = JobStatus.read(job_dir)
    events = EventWriter(job_dir / EVENTS_FILE)
    pgid = os.getpgid(0)
    marker = job_dir / STOP_MARKER

    def on_stop_signal(signum: int, _frame: object) -> None:
        # A signal sent to the supervisor alone (not via `jobs stop`) still stops the whole job.
        if not marker.exists():
            marker.write_text(f"{now()} {signal.Signals(signum).name}\n")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_stop_signal)
    signal.signal(signal.SIGINT, on_stop_signal)

    env = dict(os.environ)
    env[JOB_DIR_ENV] = str(job_dir)
    env["MAGITUI_JOB_ID"] = status.id
    env.setdefault("PYTHONUNBUFFERED", "1")  # so output.log follows progress live

    with open(job_dir / OUTPUT_FILE, "ab", buffering=0) as log:
        try:
            # Output passes through us, not straight to the file, so that every secret the
            # job was given (or magitui stores) is scrubbed before it reaches the disk.
            child = subprocess.Popen(
                command,
                cwd=status.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if isinstance(exc, FileNotFoundError):
                reason = "command not found"
            message = f"cannot start {command[0]!r}: {reason}"
            with contextlib.suppress(OSError):
                log.write(f"magitui: {message}\n".encode())
                events.emit("error", message=message)
            status.updated(
                state=JobState.FAILED, error=message, ended_at=now(), exit_code=127, pid=os.getpid()
            ).write(job_dir)
            return 127

        me = psutil.Process()
        status = status.updated(
            state=JobState.RUNNING,
            started_at=now(),
            pid=me.pid,
            pid_create_time=me.create_time(),
            pgid=pgid,
            child_pid=child.pid,
        )
        status.write(job_dir)
        with contextlib.suppress(OSError):  # a full disk loses the event, not the job
            events.emit("started", pid=child.pid, command=redact_argv(command))

        assert child.stdout is not None
        lost = copy_redacted(child, child.stdout.fileno(), log, pgid)
        returncode = child.wait()
        _end_stragglers(pgid)

    stopped = marker.exists()
    sig = signal.Signals(-returncode).name if returncode < 0 else None
    if stopped:
        state = JobState.STOPPED
    elif returncode == 0:
        state = JobState.SUCCEEDED
    else:
        state = JobState.FAILED
    ended = now()
    # The job's own last word on why it failed, so every job list can show it without
    # reading events.
    error = last_error_message(job_dir / EVENTS_FILE) if state is JobState.FAILED else None
    if lost is not None:
        # Said first: a job that failed on a full disk usually says so less clearly itself.
        note = write_failed(job_dir / OUTPUT_FILE, lost, then="look at what filled it")
        error = f"{note}; output after that was lost" + (f" ({error})" if error else "")
    status.updated(
        state=state,
        ended_at=ended,
        exit_code=returncode,
        signal=sig,
        stop_requested_at=_marker_time(marker),
        error=error or status.error,
    ).write(job_dir)
    with contextlib.suppress(OSError):  # the status above is what counts; events may be lost
        events.emit("exited", state=state.value, exit_code=returncode, signal=sig)
    events.close()
    return 0


def _marker_time(marker: Path) -> float | None:
    try:
        return float(marker.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print(
            "usage: python -m magitui_core.jobs.supervisor JOB_DIR -- COMMAND [ARGS...]",
            file=sys.stderr,
        )
        return 2
    job_dir, command = Path(args[0]), args[2:]
    # Second fork: the launcher reaps our first half at once, so a long-lived UI
    # never collects zombies, and we are no session leader that could gain a terminal.
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    try:
        return supervise(job_dir, command)
    except Exception as exc:  # the status file must say what happened
        try:
            JobStatus.read(job_dir).updated(
                state=JobState.CRASHED, error=f"supervisor error: {exc!r}", ended_at=now()
            ).write(job_dir)
        finally:
            raise


if __name__ == "__main__":
    sys.exit(main())
