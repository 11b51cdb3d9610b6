"""Evaluations as detached jobs: started the same way by `magitui eval --detach` and the Eval
screen, and followed through their events."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magitui_core.eval.engine import JOB_KIND, EvalError, EvalSettings
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.status import command_value

if TYPE_CHECKING:
    from magitui_core.jobs.manager import JobInfo, JobManager

ENTRY = "magitui_core.eval.engine"


def start_eval_job(jobs: JobManager, settings: EvalSettings, run: str | None, name: str) -> JobInfo:
    """Start the evaluation as a job; EvalError when its settings are wrong or another
    evaluation writes to the same folder (refused now, not as a job that fails at once)."""
    from magitui_core.jobs.locks import OutputLocked, ensure_free

    settings.validate()
    try:
        ensure_free(settings.out)
    except OutputLocked as exc:
        raise EvalError(str(exc)) from None
    command = [sys.executable, "-m", ENTRY, *settings.to_argv()]
    return jobs.start(command, name=name, kind=JOB_KIND, run=run)


def eval_jobs(jobs: JobManager) -> list[JobInfo]:
    return [job for job in jobs.list_jobs() if job.status.kind == JOB_KIND]


def job_out(job: JobInfo) -> Path | None:
    """The output folder an evaluation job writes (its ``--out``)."""
    out = command_value(list(job.status.command), "--out")
    return Path(out) if out is not None else None


@dataclass
class EvalFollower:
    """The latest progress, info and error of one evaluation job, read incrementally."""

    events_path: Path
    progress: dict[str, Any] | None = None
    info: str | None = None
    error: str | None = None
    _reader: EventReader | None = field(default=None, repr=False)

    def read(self) -> EvalFollower:
        if self._reader is None:
            self._reader = EventReader(self.events_path)
        for event in self._reader.read_new():
            kind = event.get("type")
            if kind == "progress":
                self.progress = event
            elif kind == "log" and "message" in event:
                self.info = str(event["message"])
            elif kind == "error" and "message" in event:
                self.error = str(event["message"])
        return self
