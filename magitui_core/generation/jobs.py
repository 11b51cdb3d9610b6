"""Generation as a managed job: start it, find it again, pause and resume it.

The CLI's ``--detach`` and the Generate screen both start the engine this way,
so a generation outlives the terminal and anything can re-attach to it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from magitui_core.generation.output import OutputError
from magitui_core.generation.seeds import open_seed_source
from magitui_core.generation.settings import PAUSE_MARKER, GenerationSettings
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.locks import OutputLocked, ensure_free
from magitui_core.jobs.manager import JobInfo, JobManager
from magitui_core.workspace import GENERATED_NAME

JOB_KIND = "generate"


def job_name(settings: GenerationSettings, run: str | None) -> str:
    """`generate-RUN`, plus the file's stem unless it is the usual generated.jsonl:
    job lists then say which run each generation fills ("generate-generated" said nothing)."""
    parts = [run, None if settings.out.name == GENERATED_NAME else settings.out.stem]
    return "-".join(["generate", *(part for part in parts if part)])


def start_generation_job(
    jobs: JobManager, settings: GenerationSettings, run: str | None = None
) -> JobInfo:
    """Start ``python -m magitui_core.generation.engine ...``; the API key reaches it through the
    environment it inherits (or the stored credential), never through its arguments."""
    settings.validate()
    try:
        ensure_free(settings.out)  # a second writer would duplicate every index
    except OutputLocked as exc:
        raise OutputError(str(exc)) from None
    if not settings.seeds.startswith("hf:"):
        # A missing or empty local source is refused here, in one line, rather than as a
        # job that fails at once (a hub source is checked by the job: it needs the network).
        open_seed_source(
            settings.seeds,
            settings.seed,
            settings.text_column,
            settings.languages,
            settings.extensions,
        )
    return jobs.start(
        [sys.executable, "-m", "magitui_core.generation.engine", *settings.to_argv()],
        name=job_name(settings, run),
        kind=JOB_KIND,
        run=run,
    )


def generation_jobs(jobs: JobManager) -> list[JobInfo]:
    """Generation jobs, newest first."""
    return [job for job in jobs.list_jobs() if job.status.kind == JOB_KIND]


FORM_OPTIONS = {
    "--base-url": "base_url",
    "--model": "model",
    "--seeds": "seeds",
    "--count": "count",
    "--concurrency": "concurrency",
    "--out": "out",
}


def form_values(job: JobInfo) -> dict[str, str]:
    """The endpoint, model, seeds, count, concurrency and output a generation job was started with,
    read back from its (secret-free) command line so a reopened form need not be retyped."""
    values: dict[str, str] = {}
    command = job.status.command
    for option, value in pairwise(command):
        key = FORM_OPTIONS.get(option)
        if key == "base_url" and "base_url" in values:  # several servers: space-separated
            values[key] += f" {value}"
        elif key is not None:
            values[key] = value
    return values


def writing_job(jobs: JobManager, path: Path) -> JobInfo | None:
    """The live generation job still appending to ``path``, if any: curating the file now
    would miss what it writes next."""
    target = path.resolve()
    for job in generation_jobs(jobs):
        out = form_values(job).get("out")
        if job.is_live and out and Path(out).resolve() == target:
            return job
    return None


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
