"""Typed job events: one JSON object per line in a job's events.jsonl.

Writers append whole lines with a single O_APPEND write, so the supervisor and
the job can share a file; readers tolerate a torn last line (a writer caught
mid-line) and skip lines that are not JSON, counting them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from magitui_core.jobs.tail import FileFollower

EventType = Literal[
    "started",  # the job's command is running
    "progress",  # done/total of a long step
    "metric",  # numbers worth plotting (loss, tokens/s…)
    "sample",  # an example worth showing (a generated record…)
    "warning",
    "error",
    "log",  # a human-readable line that is not an error
    "done",  # the job's own notion of success, with a summary
    "exited",  # written by the supervisor: the process ended
]

EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

JOB_DIR_ENV = "MAGITUI_JOB_DIR"


def make_event(type: str, **fields: Any) -> dict[str, Any]:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r} — one of: {', '.join(EVENT_TYPES)}")
    return {"type": type, "time": time.time(), **fields}


class EventWriter:
    """Appends events to a file; each event is flushed to the OS immediately."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)

    @classmethod
    def for_current_job(cls) -> EventWriter | None:
        """The writer of the job this process runs in, if it runs in one."""
        job_dir = os.environ.get(JOB_DIR_ENV)
        return cls(Path(job_dir) / "events.jsonl") if job_dir else None

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = make_event(type, **fields)
        line = json.dumps(event, default=str, separators=(",", ":")) + "\n"
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            line = "\n" + line  # after a line torn by a killed writer: start a line of our own
        os.write(self._fd, line.encode("utf-8"))
        return event

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventReader:
    """Follows an events file: each call returns the complete events added since."""

    def __init__(self, path: Path, from_end: int | None = None) -> None:
        """Read from the start, or only the last ``from_end`` bytes' worth of events."""
        self._follower = FileFollower(path, from_end=from_end)
        self._partial = b""
        # Starting mid-file lands mid-line: that first fragment is not an event.
        self._drop_first_line = self._follower.offset > 0
        self.skipped = 0  # complete lines that were not valid events

    def read_new(self) -> list[dict[str, Any]]:
        chunk = self._follower.read_new()
        if self._follower.was_reset:
            self._partial = b""
            self._drop_first_line = False
        if not chunk:
            return []
        data = self._partial + chunk
        if self._drop_first_line:
            if b"\n" not in data:
                self._partial = data
                return []
            data = data.split(b"\n", 1)[1]
            self._drop_first_line = False
        lines = data.split(b"\n")
        self._partial = lines.pop()  # a torn last line waits for the rest of it
        events: list[dict[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                events.append(event)
            else:
                self.skipped += 1
        return events


def read_events(path: Path) -> list[dict[str, Any]]:
    """All complete events in a file (empty if it does not exist yet)."""
    return EventReader(path).read_new()


def last_error_message(path: Path, max_bytes: int = 16 * 1024) -> str:
    """The message of the newest ``error`` event near the end of ``path``, or "".

    Why a job failed, for job lists: read from the tail only, so it stays cheap.
    """
    from magitui_core.jobs.tail import last_lines

    for line in reversed(last_lines(path, 40, max_bytes=max_bytes)):
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if isinstance(event, dict) and event.get("type") == "error":
            return str(event.get("message", ""))
    return ""
