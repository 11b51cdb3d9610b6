"""Detached jobs: start, list, stop and inspect long-running commands.

Each job is a supervisor process (see job_supervisor) in its own session and
process group. The UI and CLI never hold a job: they only read its files, so a
job outlives any of them, and anything can re-attach by reading the folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from magitui_core.credentials import job_environment, redact_argv
from magitui_core.jobs.status import (
    EVENTS_FILE,
    OUTPUT_FILE,
    STATUS_FILE,
    STOP_MARKER,
    JobState,
    JobStatus,
    now,
    this_host,
)
from magitui_core.jobs.supervisor import group_members, wait_group_empty
from magitui_core.jobs.tail import last_lines
from magitui_core.workspace import Workspace, WorkspaceError, make_folder

START_TIMEOUT = 15.0  # a supervisor that has not reported by then is reported as crashed
KILL_WAIT = 5.0


class JobError(Exception):
    """A job operation that cannot be done; the message names the job and the fix."""


@dataclass(frozen=True)
class JobInfo:
    """A job as seen now: its status file plus the state its processes show."""

    dir: Path
    status: JobStatus
    state: JobState
    note: str = ""
    orphaned: bool = False  # crashed, and its command was still running when last looked at

    @property
    def id(self) -> str:
        return self.status.id

    @property
    def is_live(self) -> bool:
        return not self.state.is_final

    @property
    def output_path(self) -> Path:
        return self.dir / OUTPUT_FILE

    @property
    def events_path(self) -> Path:
        return self.dir / EVENTS_FILE

    def duration(self, at: float | None = None) -> float | None:
        start = self.status.started_at or self.status.created_at
        end = self.status.ended_at
        if end is None and self.state is JobState.CRASHED:
            end = self.last_sign_of_life()  # not "now": a dead job does not keep running
        if end is None:
            end = at if at is not None else time.time()
        return max(0.0, end - start)

    def last_sign_of_life(self) -> float:
        """When the job last wrote anything (its status, an event or a line of output)."""
        times = [self.status.started_at or self.status.created_at]
        for path in (self.dir / STATUS_FILE, self.events_path, self.output_path):
            with contextlib.suppress(OSError):
                times.append(path.stat().st_mtime)
        return max(times)

    def leftover_pids(self) -> list[int]:
        """Processes of a crashed job that still run (its supervisor is gone, they are not)."""
        if (
            self.state is not JobState.CRASHED
            or self.status.pgid is None
            or self.note.startswith("on host")
        ):
            return []
        return [proc.pid for proc in group_members(self.status.pgid)]

    def tail(self, count: int = 20) -> list[str]:
        return last_lines(self.output_path, count)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(text)).strip("-").lower()
    return slug[:24] or "job"


def _pid_alive(pid: int | None, create_time: float | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except psutil.Error:
        return False


def observe(job_dir: Path) -> JobInfo:
    """Read a job folder and work out its real state (crashed if its supervisor is gone)."""
    status = JobStatus.read(job_dir)
    if status.state.is_final:
        return JobInfo(job_dir, status, status.state)
    if status.host != this_host():
        return JobInfo(job_dir, status, status.state, note=f"on host {status.host}")
    if status.state is JobState.STARTING and status.pid is None:
        if now() - status.created_at < START_TIMEOUT:
            return JobInfo(job_dir, status, JobState.STARTING)
        return JobInfo(job_dir, status, JobState.CRASHED, note="never started")
    if _pid_alive(status.pid, status.pid_create_time):
        return JobInfo(job_dir, status, status.state)
    # The supervisor may have written its final status and exited between the read above
    # and the liveness check: read again before calling it crashed.
    status = JobStatus.read(job_dir)
    if status.state.is_final:
        return JobInfo(job_dir, status, status.state)
    note = "supervisor vanished without a final status"
    orphaned = bool(status.child_pid and _pid_alive(status.child_pid, None))
    if orphaned:
        note += f"; command pid {status.child_pid} still running (stop it to clean up)"
    return JobInfo(job_dir, status, JobState.CRASHED, note=note, orphaned=orphaned)


class JobManager:
    def __init__(self, workspace: Workspace, env_defaults: dict[str, str] | None = None) -> None:
        self.workspace = workspace
        # Variables jobs get when the caller's environment lacks them (e.g. HF_HOME from config).
        self.env_defaults = dict(env_defaults or {})

    # ---- finding -------------------------------------------------------------------------
    def list_jobs(self) -> list[JobInfo]:
        """All jobs, newest first. Unreadable folders are skipped, never fatal."""
        jobs = []
        for job_dir in self.workspace.job_dirs():
            if not (job_dir / STATUS_FILE).exists():
                continue
            try:
                jobs.append(observe(job_dir))
            except (OSError, ValueError):
                continue
        jobs.sort(key=lambda j: j.status.created_at, reverse=True)
        return jobs

    def get(self, job_id: str) -> JobInfo:
        """A job by id or unique id prefix."""
        job_dir = self._find(job_id)
        try:
            return observe(job_dir)
        except (OSError, ValueError) as exc:
            raise JobError(
                f"job {job_dir.name}: status.json is unreadable ({exc}) — a half-made job "
                f"folder; remove it: magitui jobs rm {job_dir.name}"
            ) from None

    def _find(self, job_id: str) -> Path:
        dirs = self.workspace.job_dirs()
        exact = [d for d in dirs if d.name == job_id]
        matches = exact or [d for d in dirs if d.name.startswith(job_id)]
        if not matches:
            raise JobError(f"no job {job_id!r} in {self.workspace.root} — list them: magitui jobs")
        if len(matches) > 1:
            names = ", ".join(sorted(d.name for d in matches)[:8])
            raise JobError(f"job id {job_id!r} is ambiguous: {names} — give more of it")
        return matches[0]

    def live_in_run(self, run: str) -> list[str]:
        return [j.id for j in self.list_jobs() if j.status.run == run and j.is_live]

    # ---- starting ------------------------------------------------------------------------
    def start(
        self,
        command: list[str],
        *,
        name: str | None = None,
        kind: str = "command",
        run: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        wait: float = START_TIMEOUT,
    ) -> JobInfo:
        """Start ``command`` detached; returns once it runs (or failed to start)."""
        if not command:
            raise JobError("no command given — e.g. magitui jobs start -- sleep 60")
        if run is not None:
            try:
                parent = self.workspace.get_run(run).jobs_dir
            except WorkspaceError as exc:
                raise JobError(str(exc)) from None
        else:
            parent = self.workspace.ensure().jobs_dir
        label = name or command[0]
        job_id = f"{_slug(label)}-{secrets.token_hex(3)}"
        job_dir = parent / job_id
        status = JobStatus(
            id=job_id,
            name=label,
            kind=kind,
            run=run,
            command=redact_argv(command),
            cwd=str(cwd or Path.cwd()),
            host=this_host(),
            created_at=now(),
        )

        def fill(folder: Path) -> None:
            status.write(folder)
            (folder / OUTPUT_FILE).touch()

        try:
            make_folder(job_dir, fill, "creating job")
        except WorkspaceError as exc:
            raise JobError(str(exc)) from None

        defaults = {k: v for k, v in self.env_defaults.items() if not os.environ.get(k)}
        child_env = {**os.environ, **defaults, **job_environment(), **(env or {})}
        # The launcher is a short-lived first half; the supervisor forks away from it.
        with open(job_dir / OUTPUT_FILE, "ab") as log:
            launcher = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "magitui_core.jobs.supervisor",
                    str(job_dir),
                    "--",
                    *command,
                ],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=child_env,
                close_fds=True,
            )
        launcher.wait()
        return self._await_start(job_dir, wait)

    def _await_start(self, job_dir: Path, wait: float) -> JobInfo:
        deadline = time.monotonic() + wait
        while True:
            info = observe(job_dir)
            if info.state is not JobState.STARTING or time.monotonic() > deadline:
                return info
            time.sleep(0.02)

    # ---- stopping ------------------------------------------------------------------------
    def stop(self, job_id: str, grace: float = 10.0) -> JobInfo:
        """SIGTERM the job's process group, SIGKILL what is left after ``grace`` seconds.

        Returns once no process of the group is alive.
        """
        info = self.get(job_id)
        if info.state is JobState.STARTING:
            # No process group to signal yet: wait for it, or the job would start after all.
            info = self._await_start(info.dir, START_TIMEOUT)
        pgid = info.status.pgid
        if info.note.startswith("on host"):
            raise JobError(f"job {info.id} runs {info.note}; stop it there")
        if pgid is None or not group_members(pgid):
            if info.state is JobState.CRASHED:
                self._finalise(info, JobState.CRASHED, None)
            return self.get(info.id)
        (info.dir / STOP_MARKER).write_text(f"{now()} stop\n")
        _signal_group(pgid, signal.SIGTERM)
        ended_by = "SIGTERM"
        if not wait_group_empty(pgid, grace):
            ended_by = "SIGKILL"
            _signal_group(pgid, signal.SIGKILL)
            if not wait_group_empty(pgid, KILL_WAIT):
                left = ", ".join(str(p.pid) for p in group_members(pgid))
                raise JobError(f"job {info.id}: processes {left} survived SIGKILL")
        after = self.get(info.id)
        if not after.status.state.is_final:
            state = JobState.STOPPED if info.state is not JobState.CRASHED else JobState.CRASHED
            self._finalise(after, state, ended_by)
        return self.get(info.id)

    def _finalise(self, info: JobInfo, state: JobState, sig: str | None) -> None:
        """Record an end the supervisor could not record itself (it was killed or lost)."""
        if sig == "SIGKILL":
            note = "killed with SIGKILL after the grace period"
        elif sig:
            note = f"stopped with {sig}"
        else:
            note = info.note
        if info.state is JobState.CRASHED and sig:
            note = f"{info.note}; {note}" if info.note else note
        info.status.updated(
            state=state,
            ended_at=info.status.ended_at or now(),
            signal=sig or info.status.signal,
            error=info.status.error or note or None,
            stop_requested_at=info.status.stop_requested_at or (now() if sig else None),
        ).write(info.dir)

    def remove(self, job_id: str) -> None:
        """Delete a finished job's folder (or a half-made one, which never ran)."""
        import shutil

        job_dir = self._find(job_id)
        try:
            info: JobInfo | None = observe(job_dir)
        except (OSError, ValueError):
            info = None  # no readable status: a folder whose making was cut short
        if info is not None and info.is_live:
            raise JobError(f"job {info.id} is {info.state.value} — stop it first")
        shutil.rmtree(job_dir)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
