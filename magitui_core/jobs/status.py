"""A job's status.json: the states a job can be in and the file's fields."""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from dataclasses import MISSING, dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

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


# status.json's fields and the JSON types each accepts; a plain dataclass, because every
# job list reads it and a validation library's import alone would double the TUI's start-up.
_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "name": (str,),
    "kind": (str,),
    "run": (str, type(None)),
    "command": (list,),
    "cwd": (str,),
    "host": (str,),
    "state": (str,),
    "created_at": (int, float),
    "started_at": (int, float, type(None)),
    "ended_at": (int, float, type(None)),
    "pid": (int, type(None)),
    "pid_create_time": (int, float, type(None)),
    "pgid": (int, type(None)),
    "child_pid": (int, type(None)),
    "exit_code": (int, type(None)),
    "signal": (str, type(None)),
    "error": (str, type(None)),
    "stop_requested_at": (int, float, type(None)),
}


@dataclass(frozen=True)
class JobStatus:
    """What status.json holds. The command is stored with secrets masked."""

    id: str
    name: str
    command: list[str]
    cwd: str
    host: str
    created_at: float
    kind: str = "command"
    run: str | None = None
    state: JobState = JobState.STARTING
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
    # Keys this version does not know (written by a newer one): kept, and written back.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> JobStatus:
        """Check a parsed status.json; ValueError names the first bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"a job status is a JSON object, not {type(data).__name__}")
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise ValueError(f"job status lacks {', '.join(missing)}")
        known: dict[str, Any] = {}
        for name, value in data.items():
            types = _FIELDS.get(name)
            if types is None:
                continue
            # bool is an int to isinstance, never a pid or a time.
            if not isinstance(value, types) or isinstance(value, bool):
                raise ValueError(f"job status {name} = {value!r} is not a {types[0].__name__}")
            known[name] = value
        if not all(isinstance(arg, str) for arg in known["command"]):
            raise ValueError("job status command must be a list of strings")
        known["state"] = JobState(known.get("state", JobState.STARTING))
        extra = {k: v for k, v in data.items() if k not in _FIELDS}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object status.json holds."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["state"] = self.state.value
        data["command"] = list(self.command)
        return {**self.extra, **data}

    @classmethod
    def read(cls, job_dir: Path) -> JobStatus:
        return cls.from_dict(read_json(job_dir / STATUS_FILE))

    def write(self, job_dir: Path) -> None:
        data = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
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
        fields = self.to_dict()
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
        return replace(self, **changes)


# The fields a status cannot do without: those the dataclass gives no default.
_REQUIRED = tuple(
    f.name for f in fields(JobStatus) if f.default is MISSING and f.default_factory is MISSING
)


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
