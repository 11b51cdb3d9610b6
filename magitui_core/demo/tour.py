"""`magitui demo`: the whole recipe on a tiny model, offline, in a workspace of its own.

One detached job (kind ``demo``, ``python -m magitui_core.demo.pipeline``) runs the stages as
real magitui jobs and writes a ``progress`` event per stage start and end, so the Demo
screen and `magitui demo --headless` are both mere viewers: closing either never breaks the
tour, and opening it again re-attaches. This module is what both viewers share.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core import paths
from magitui_core.jobs.manager import JobError, JobInfo, JobManager
from magitui_core.workspace import Workspace

JOB_KIND = "demo"
RUN_NAME = "demo"
SAMPLES = 40
TRAIN_STEPS = 60
# Far above a real fine-tune's 5e-5: in 60 CPU steps the random model must pick up enough of
# the data (fences, identifiers) that its answers are visibly text, not a run of newlines.
LEARNING_RATE = 3e-3
TOKENIZER_VOCAB = 1024
CHAT_PROMPT = "Write a Python function that adds two numbers."
# Sampled, and short: greedy decoding of a model this small repeats one token forever.
CHAT_TEMPERATURE = 0.8
CHAT_MAX_TOKENS = 96
INSTALL_FIX = 'pip install -e ".[train,serve]"'


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    explains: str  # what the stage stands for in the real recipe, one line


STAGES: tuple[Stage, ...] = (
    Stage(
        "model",
        "Build a tiny model",
        "A random 2-layer Llama; real runs start from a base code model.",
    ),
    Stage(
        "teacher",
        "Start the teacher stand-in",
        "NOT an LLM: it answers in a teacher's format. Real: GPT or vLLM.",
    ),
    Stage(
        "generate",
        "Generate (OSS-Instruct)",
        f"{SAMPLES} snippets of magitui's code → problem + solution (paper: 75k).",
    ),
    Stage(
        "preprocess",
        "Curate",
        "Dedupe, drop HumanEval look-alikes, format Magicoder pairs.",
    ),
    Stage(
        "train",
        "Fine-tune",
        f"HF Trainer, accelerate launch, {TRAIN_STEPS} CPU steps (real: epochs, DeepSpeed).",
    ),
    Stage(
        "serve",
        "Serve the result",
        "transformers serve, chat template = training prompt (real: vLLM).",
    ),
)
STAGE_KEYS = tuple(stage.key for stage in STAGES)

# Modules each extra brings; found with find_spec, so checking costs no heavy import.
NEEDED_MODULES = {
    "torch": "train",
    "transformers": "train",
    "accelerate": "train",
    "tokenizers": "train",
    "fastapi": "serve",
    "uvicorn": "serve",
}


class DemoError(RuntimeError):
    """The demo cannot start or carry on; the message says why and what to do."""


def missing_modules() -> list[str]:
    """Modules the demo needs that this Python cannot import (empty when all are there)."""
    return [name for name in NEEDED_MODULES if not _findable(name)]


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken install counts as missing
        return False


def missing_message(missing: list[str]) -> str:
    return (
        f"magitui demo needs the train and serve extras; {sys.executable} lacks "
        f"{', '.join(missing)} — install them: {INSTALL_FIX} (in a checkout) or "
        "pip install 'magitui[train,serve]'"
    )


def default_dir(workspace: Path | None = None) -> Path:
    """The demo's own workspace: ``demo`` inside the user's workspace (beside runs/ and jobs/,
    never among them), or inside the platform data dir when none is given."""
    return (workspace or paths.default_workspace()) / "demo"


@dataclass(frozen=True)
class DemoLayout:
    """Where each stage writes, inside the demo workspace's run."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / "runs" / RUN_NAME

    @property
    def base_model(self) -> Path:
        return self.run / "base-model"

    @property
    def generated(self) -> Path:
        return self.run / "data" / "generated.jsonl"

    @property
    def train_data(self) -> Path:
        return self.run / "data" / "train.jsonl"

    @property
    def report(self) -> Path:
        return self.run / "data" / "curation-report.json"

    @property
    def checkpoints(self) -> Path:
        return self.run / "checkpoints"

    @property
    def final_model(self) -> Path:
        return self.checkpoints / "final"


def demo_jobs(jobs: JobManager) -> list[JobInfo]:
    """Demo orchestrator jobs, newest first."""
    return [job for job in jobs.list_jobs() if job.status.kind == JOB_KIND]


def stop_live_jobs(jobs: JobManager, grace: float = 10.0) -> list[str]:
    """Stop every live job of the demo workspace (it holds nothing but the demo's): the demo
    job first, so it starts no further stage, then whatever is still running."""
    stopped = []
    for demo_first in (True, False):
        for job in jobs.list_jobs():  # listed again: stopping the demo job stops some
            if demo_first != (job.status.kind == JOB_KIND):
                continue
            if job.is_live and not job.note.startswith("on host"):
                jobs.stop(job.id, grace=grace)
                stopped.append(job.id)
    return stopped


def wipe(root: Path) -> None:
    """Delete a previous demo (stopping its jobs first); refuses folders that are not one."""
    if not root.exists():
        return
    if not (root / "runs" / RUN_NAME).is_dir() and any(root.iterdir()):
        raise DemoError(
            f"{root} is not a magitui demo folder (no runs/{RUN_NAME}) — refusing to delete it; "
            "give an empty or new folder with --dir"
        )
    stop_live_jobs(JobManager(Workspace(root)), grace=5.0)
    shutil.rmtree(root)


def start_or_attach(jobs: JobManager, root: Path) -> tuple[JobInfo, bool]:
    """The demo job to show, and whether it was already there: a running one, or a finished
    one whose model server still runs (the tour was closed after serving); else a new one."""
    found = demo_jobs(jobs)
    if found and (found[0].is_live or serving(jobs, found[0])):
        return found[0], True
    stop_live_jobs(jobs)  # a server left by an earlier demo would hold its port and memory
    if not (root / "runs" / RUN_NAME).is_dir():
        jobs.workspace.create_run(RUN_NAME, {"demo": True})
    command = [sys.executable, "-m", "magitui_core.demo.pipeline", str(root)]
    job = jobs.start(command, name="demo", kind=JOB_KIND, run=RUN_NAME)
    if not job.is_live and job.status.child_pid is None:
        raise DemoError(f"the demo job {job.id} failed to start: {job.status.error}")
    return job, False


def serving(jobs: JobManager, job: JobInfo) -> bool:
    """Whether a finished demo job's model server is still up."""
    from magitui_core.jobs.events import read_events

    view = DemoView().fold_all(read_events(job.events_path))
    server = (view.finished or {}).get("serve_job")
    if not isinstance(server, str):
        return False
    try:
        return jobs.get(server).is_live
    except JobError:
        return False


@dataclass
class StageState:
    stage: Stage
    state: str = "waiting"  # waiting | running | done | failed
    started_at: float | None = None
    seconds: float | None = None
    job: str | None = None
    message: str = ""
    detail: str = ""  # the latest one-line progress of the stage's own job
    reused: bool = False  # kept from an earlier demo in the same folder

    def elapsed(self, at: float | None = None) -> float | None:
        if self.seconds is not None:
            return self.seconds
        if self.started_at is None:
            return None
        return max(0.0, (at if at is not None else time.time()) - self.started_at)


@dataclass
class DemoView:
    """The demo job's events folded into one state per stage."""

    stages: dict[str, StageState] = field(
        default_factory=lambda: {stage.key: StageState(stage) for stage in STAGES}
    )
    finished: dict[str, Any] | None = None  # the `done` event: durations and the endpoint
    error: str | None = None

    def fold(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        stage = self.stages.get(str(event.get("stage")))
        if kind == "progress" and stage is not None:
            state = str(event.get("state", "running"))
            stage.state = "running" if state == "started" else state
            if state == "started":
                stage.started_at = float(event.get("time", time.time()))
                stage.seconds, stage.detail = None, ""
            else:
                stage.seconds = _float(event.get("seconds"))
            stage.reused = bool(event.get("reused"))
            stage.job = event.get("job") or stage.job
            stage.message = str(event.get("message", ""))
        elif kind == "log" and stage is not None:
            stage.detail = str(event.get("message", ""))
        elif kind == "error":
            self.error = str(event.get("message", ""))
            if stage is not None:
                stage.state = "failed"
                stage.message = self.error
        elif kind == "done":
            self.finished = event

    def fold_all(self, events: list[dict[str, Any]]) -> DemoView:
        for event in events:
            self.fold(event)
        return self

    @property
    def endpoint(self) -> dict[str, str] | None:
        found = (self.finished or {}).get("endpoint")
        return found if isinstance(found, dict) else None

    @property
    def running(self) -> StageState | None:
        return next((s for s in self.stages.values() if s.state == "running"), None)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def durations_note(durations: dict[str, float]) -> str:
    """The closing note: how long each stage took, and in all."""
    parts = [f"{key} {durations[key]:.1f}s" for key in STAGE_KEYS if key in durations]
    return f"{' · '.join(parts)} · total {sum(durations.values()):.1f}s"
