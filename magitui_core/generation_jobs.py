"""Generation as a managed job: start it, find it again, pause and resume it.

The CLI's ``--detach`` and the Generate screen both start the engine this way,
so a generation outlives the terminal and anything can re-attach to it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.events import EventReader
from magitui_core.generation_settings import PAUSE_MARKER, GenerationSettings
from magitui_core.jobs import JobInfo, JobManager

JOB_KIND = "generate"


def start_generation_job(
    jobs: JobManager, settings: GenerationSettings, run: str | None = None
) -> JobInfo:
    """Start ``python -m magitui_core.generate ...``; the API key reaches it through the
    environment it inherits (or the stored credential), never through its arguments."""
    settings.validate()
    return jobs.start(
        [sys.executable, "-m", "magitui_core.generate", *settings.to_argv()],
        name=f"generate-{settings.out.stem}",
        kind=JOB_KIND,
        run=run,
    )


def generation_jobs(jobs: JobManager) -> list[JobInfo]:
    """Generation jobs, newest first."""
    return [job for job in jobs.list_jobs() if job.status.kind == JOB_KIND]


def is_paused(job: JobInfo) -> bool:
    return (job.dir / PAUSE_MARKER).exists()


def set_paused(job: JobInfo, paused: bool) -> None:
    """The job stops sending new requests while the marker exists (in-flight ones finish)."""
    marker = job.dir / PAUSE_MARKER
    if paused:
        marker.write_text("paused from magitui\n", encoding="utf-8")
    else:
        marker.unlink(missing_ok=True)


@dataclass
class GenerationView:
    """What a generation job has reported so far, folded from its events."""

    progress: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    log: list[str] = field(default_factory=list)


class GenerationFollower:
    """Reads a generation job's events.jsonl incrementally (the whole file once on attach:
    warnings come early in a long run and must still show)."""

    def __init__(self, events_path: Path) -> None:
        self.reader = EventReader(events_path)

    def read(self) -> GenerationView:
        """Only what is new since the last call."""
        view = GenerationView()
        while True:
            events = self.reader.read_new()
            if not events:
                return view
            for event in events:
                fold(view, event)


def fold(view: GenerationView, event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind == "progress":
        view.progress = event
    elif kind == "sample" and isinstance(event.get("record"), dict):
        view.sample = event["record"]
    elif kind == "warning":
        view.warnings.append(str(event.get("message", "")))
    elif kind == "error":
        view.errors.append(str(event.get("message", "")))
    elif kind == "done":
        view.summary = event
    elif kind == "log":
        view.log.append(str(event.get("message", "")))
