"""A job's status.json: the states a job can be in and the file's fields."""

from __future__ import annotations

import socket
import time
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from magitui_core.atomic import read_json, write_json_atomic

STATUS_FILE = "status.json"
EVENTS_FILE = "events.jsonl"
OUTPUT_FILE = "output.log"
STOP_MARKER = "stop-requested"


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
        write_json_atomic(job_dir / STATUS_FILE, self.model_dump(mode="json"))

    def updated(self, **changes: Any) -> JobStatus:
        return self.model_copy(update=changes)


def this_host() -> str:
    return socket.gethostname()


def now() -> float:
    return time.time()
