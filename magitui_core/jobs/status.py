"""A job's status.json: the states a job can be in and the file's fields."""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from magitui_core.atomic import read_json, write_text_atomic

STATUS_FILE = "status.json"
EVENTS_FILE = "events.jsonl"
OUTPUT_FILE = "output.log"
STOP_MARKER = "stop-requested"


STATUS_RESERVE = 4096  # bytes status.json always occupies (see JobStatus.write)


class JobState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    CRASHED = "crashed"  # the supervisor vanished without writing a final state

    @property
    def is_final(self) -> bool:
        return self not in (JobState.STARTING, JobState.RUNNING)


class JobStatus(BaseModel):
    """What status.json holds. The command is stored with secrets masked."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    kind: str = "command"
    run: str | None = None
    command: list[str]
    cwd: str
    host: str
    state: JobState = JobState.STARTING
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    pid: int | None = None  # the supervisor, which owns the process group
    pid_create_time: float | None = None  # guards against PID reuse
    pgid: int | None = None
    child_pid: int | None = None
    exit_code: int | None = None
    signal: str | None = None
    error: str | None = None
    stop_requested_at: float | None = None

    @classmethod
    def read(cls, job_dir: Path) -> JobStatus:
        return cls.model_validate(read_json(job_dir / STATUS_FILE))

    def write(self, job_dir: Path) -> None:
        data = json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        try:
            # Padded with blanks (which JSON ignores) to a fixed size: the file then always
            # owns the blocks a later status needs, even on a disk that has filled meanwhile.
            write_text_atomic(job_dir / STATUS_FILE, data.ljust(STATUS_RESERVE))
        except OSError:
            if not (job_dir / STATUS_FILE).exists():
                raise  # a new job: nothing to rewrite, and its making fails as a whole
            # A full disk has no room for the temporary copy: rewrite the file in place, so
            # the job still records how it ended rather than looking crashed.
            self._write_in_place(job_dir / STATUS_FILE)

    def _write_in_place(self, path: Path) -> None:
        fields = self.model_dump(mode="json")
        with path.open("r+b") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = json.dumps(fields, separators=(",", ":")).encode()
            while len(data) > size and fields.get("error"):  # the reason, shortened, fits
                fields["error"] = fields["error"][: -max(1, len(data) - size)]
                data = json.dumps(fields, separators=(",", ":")).encode()
            if len(data) > size:
                raise OSError(errno.ENOSPC, f"no room to record the job's status in {path}")
            handle.write(data + b" " * (size - len(data)))
            handle.flush()
            os.fsync(handle.fileno())

    def updated(self, **changes: Any) -> JobStatus:
        return self.model_copy(update=changes)


def this_host() -> str:
    return socket.gethostname()


def now() -> float:
    return time.time()


def command_value(command: list[str], flag: str) -> str | None:
    """The value a job's command line gives ``flag`` (``--flag VALUE`` or ``--flag=VALUE``;
    the first one), or None."""
    for index, arg in enumerate(command):
        if arg == flag and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None
