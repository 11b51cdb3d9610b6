"""The demo job: ``python -m magitui_core.demo.pipeline DEMO_DIR``.

Runs each stage of the recipe as the real magitui job a user would start (teacher server,
generation, curation, training under accelerate launch, serving), waits for it, and writes a
``progress`` event when a stage starts and when it ends (with its duration), a throttled ``log``
line of the stage job's own progress meanwhile, and a ``done`` event holding the durations
and the served endpoint. The server is left running for the chat; every other job it started
is stopped when it fails or is stopped itself, so no process is left behind.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import magitui_core
from magitui_core.atomic import write_json_atomic
from magitui_core.context import open_context
from magitui_core.demo.stand_in_teacher import STAND_IN_MODEL
from magitui_core.demo.tour import (
    LEARNING_RATE,
    RUN_NAME,
    SAMPLES,
    STAGE_KEYS,
    TOKENIZER_VOCAB,
    TRAIN_STEPS,
    DemoError,
    DemoLayout,
)
from magitui_core.generation.jobs import start_generation_job
from magitui_core.generation.local_teacher import (
    ENDPOINT_FILE,
    SERVE_KIND,
    LocalTeacher,
    free_port,
    start_local_teacher,
    wait_until_ready,
)
from magitui_core.generation.local_teacher import JOB_KIND as TEACHER_KIND
from magitui_core.generation.settings import GenerationSettings
from magitui_core.jobs.events import EventReader, EventWriter
from magitui_core.jobs.manager import JobInfo, JobManager
from magitui_core.training.launch import validate_train_args

DETAIL_EVERY = 1.0  # seconds between relayed progress lines of a stage's job
# The stand-in answers at once; a second per answer, 4 at a time, makes generation last
# ~10 s, long enough to watch it on the Generate screen (real teachers take longer still).
TEACHER_LATENCY = 1.0
TEACHER_CONCURRENCY = 4
READY_TIMEOUT = 300.0


class Stopped(Exception):
    """SIGTERM reached the demo job: stop what it started and end."""


class DemoPipeline:
    def __init__(self, root: Path, events: EventWriter) -> None:
        self.layout = DemoLayout(root)
        self.jobs: JobManager = open_context(root).jobs
        self.events = events
        self.started: list[str] = []  # ids of the jobs this pass started
        self.durations: dict[str, float] = {}
        self.teacher: LocalTeacher | None = None
        self.server: LocalTeacher | None = None

    # ---- the stages ------------------------------------------------------------------------
    def finish(self) -> None:
        """The closing event: how long each stage took, and where the model is served."""
        assert self.server is not None
        self.events.emit(
            "done",
            message="the tiny model is served; chat with it",
            durations=self.durations,
            endpoint={"base_url": self.server.base_url, "model": self.server.model},
            serve_job=self.server.job.id,
        )

    def stage_model(self, key: str) -> None:
        folder = self.layout.base_model
        if (folder / "tokenizer.json").is_file():  # written last: the build finished
            self._skip(key, f"kept the model built earlier in {folder}")
            return
        with self._stage(key, f"building a random 2-layer Llama in {folder}") as stage:
            from magitui_core.demo.tiny_model import build_tiny_model

            seeds = sorted(Path(magitui_core.__file__).parent.rglob("*.py"))
            corpus = [path.read_text(encoding="utf-8", errors="replace") for path in seeds]
            build_tiny_model(folder, vocab_size=TOKENIZER_VOCAB, corpus=corpus)
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            stage["message"] = f"{size / 1e6:.1f} MB in {folder}"

    def stage_teacher(self, key: str) -> None:
        port = free_port()
        command = [sys.executable, "-m", "magitui_core.demo.stand_in_teacher", "--port", str(port)]
        command += ["--model", STAND_IN_MODEL, "--latency", str(TEACHER_LATENCY)]
        with self._stage(key, "starting the teacher stand-in (not an LLM)") as stage:
            job = self._start(command, name="teacher-stand-in", kind=TEACHER_KIND)
            stage["job"] = job.id
            teacher = LocalTeacher(job, f"http://127.0.0.1:{port}/v1", STAND_IN_MODEL)
            # The endpoint file, as for any server job, lets Chat and Generate find it.
            write_json_atomic(
                job.dir / ENDPOINT_FILE,
                {"base_url": teacher.base_url, "model": STAND_IN_MODEL, "engine": "stand-in"},
            )
            self.teacher = wait_until_ready(self.jobs, teacher, READY_TIMEOUT)
            stage["message"] = f"{STAND_IN_MODEL!r} at {teacher.base_url}"

    def stage_generate(self, key: str) -> None:
        teacher = self.teacher
        if teacher is None:
            raise DemoError("the teacher stand-in is not running")
        settings = GenerationSettings(
            base_url=teacher.base_url,
            model=STAND_IN_MODEL,
            seeds=str(Path(magitui_core.__file__).parent),  # installed code is code too
            count=SAMPLES,
            out=self.layout.generated,
            concurrency=TEACHER_CONCURRENCY,
            max_tokens=1024,
            timeout=30.0,
            attempts=2,
            languages=["python"],
            force=True,  # a rerun continues the earlier demo's file even if magitui changed
        )
        try:
            with self._stage(key, f"{SAMPLES} samples from the teacher stand-in") as stage:
                job = start_generation_job(self.jobs, settings, RUN_NAME)
                self._track(job)
                stage["job"] = job.id
                done = self._wait(key, job, _generation_detail)
                stage["message"] = str(done.get("message") or _generation_summary(done))
        finally:
            # The stand-in is for generation only; the chat must find the trained model.
            self.jobs.stop(teacher.job.id, grace=5.0)

    def stage_preprocess(self, key: str) -> None:
        layout = self.layout
        command = [sys.executable, "-m", "magitui_core.curation.preprocess", str(layout.generated)]
        command += ["--out", str(layout.train_data), "--report", str(layout.report)]
        with self._stage(key, "dedupe, decontaminate (HumanEval), format") as stage:
            job = self._start(command, name="curate generated.jsonl", kind="preprocess")
            stage["job"] = job.id
            done = self._wait(key, job, _curation_detail)
            stage["message"] = str(done.get("message", ""))

    def stage_train(self, key: str) -> None:
        layout = self.layout
        if (layout.final_model / "model.safetensors").is_file():
            self._skip(key, f"kept the model trained earlier in {layout.final_model}")
            return
        train_argv = ["--data", str(layout.train_data), "--base-model", str(layout.base_model)]
        train_argv += ["--out", str(layout.checkpoints), "--max-steps", str(TRAIN_STEPS)]
        train_argv += ["--lr", str(LEARNING_RATE)]
        train_argv += ["--per-device-batch", "4", "--max-seq-len", "512", "--save-steps", "1000"]
        # A CPU tour on 40 rows, not the recipe: 4 rows per step (the recipe's 512 would be
        # one step per epoch), and the AdamW and length-grouped batches LEARNING_RATE suits.
        train_argv += ["--global-batch", "4", "--optim", "adamw_torch"]
        train_argv += ["--sampling", "group_by_length"]
        validate_train_args(train_argv)
        # accelerate launch, as the recipe runs it; one process, so any machine can follow.
        command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1"]
        command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
        command += ["-m", "magitui_core.training.sft", *train_argv]
        with self._stage(key, f"{TRAIN_STEPS} steps under accelerate launch") as stage:
            job = self._start(command, name="train base-model", kind="train")
            stage["job"] = job.id
            done = self._wait(key, job, _train_detail)
            stage["message"] = str(done.get("message", ""))

    def stage_serve(self, key: str) -> None:
        with self._stage(key, "transformers serve on 127.0.0.1") as stage:
            server = start_local_teacher(
                self.jobs,
                str(self.layout.final_model),
                "transformers",
                run=RUN_NAME,
                kind=SERVE_KIND,
            )
            self._track(server.job)
            stage["job"] = server.job.id
            self.server = wait_until_ready(self.jobs, server, READY_TIMEOUT)
            stage["message"] = f"ready at {server.base_url}"

    # ---- plumbing --------------------------------------------------------------------------
    def _start(self, command: list[str], *, name: str, kind: str) -> JobInfo:
        job = self.jobs.start(command, name=name, kind=kind, run=RUN_NAME)
        self._track(job)
        if not job.is_live and job.status.child_pid is None:
            raise DemoError(f"job {job.id} failed to start: {job.status.error}")
        return job

    def _track(self, job: JobInfo) -> None:
        self.started.append(job.id)

    def _stage(self, key: str, message: str) -> _StageTimer:
        return _StageTimer(self, key, message)

    def _skip(self, key: str, message: str) -> None:
        number = STAGE_KEYS.index(key)
        self.events.emit("progress", stage=key, state="started", done=number, total=len(STAGE_KEYS))
        self.events.emit(
            "progress",
            stage=key,
            state="done",
            seconds=0.0,
            reused=True,
            message=message,
            done=number + 1,
            total=len(STAGE_KEYS),
        )
        self.durations[key] = 0.0
        print(f"{key}: {message}", flush=True)

    def _wait(
        self, key: str, job: JobInfo, describe: Callable[[dict[str, Any]], str | None]
    ) -> dict[str, Any]:
        """Follow a stage's job until it ends, relaying its progress; its `done` event."""
        reader = EventReader(job.events_path)
        done: dict[str, Any] = {}
        last_detail, last_sent = "", 0.0
        while True:
            for event in reader.read_new():
                if event.get("type") == "done":
                    done = event
                text = describe(event)
                if text:
                    last_detail = text
            now = time.monotonic()
            if last_detail and now - last_sent >= DETAIL_EVERY:
                self.events.emit("log", stage=key, message=last_detail)
                last_sent, last_detail = now, ""
            current = self.jobs.get(job.id)
            if not current.is_live:
                for event in reader.read_new():
                    done = event if event.get("type") == "done" else done
                if current.state.value != "succeeded":
                    tail = " | ".join(line for line in current.tail(4) if line.strip())
                    raise DemoError(
                        f"the {key} job {job.id} {current.state.value} "
                        f"(exit {current.status.exit_code}): {tail[-300:] or 'no output'} — "
                        f"full log: magitui -w {self.layout.root} jobs logs {job.id}"
                    )
                return done
            time.sleep(0.25)

    def stop_started(self, keep: str | None = None) -> None:
        for job_id in self.started:
            if job_id != keep and self.jobs.get(job_id).is_live:
                self.jobs.stop(job_id, grace=5.0)


class _StageTimer:
    """Emits a stage's `started` event, then `done` with its duration (or lets errors by)."""

    def __init__(self, pipeline: DemoPipeline, key: str, message: str) -> None:
        self.pipeline, self.key, self.message = pipeline, key, message
        self.fields: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        self.number = STAGE_KEYS.index(self.key)
        self.began = time.monotonic()
        self.pipeline.events.emit(
            "progress",
            stage=self.key,
            state="started",
            message=self.message,
            done=self.number,
            total=len(STAGE_KEYS),
        )
        print(f"{self.key}: {self.message}…", flush=True)
        return self.fields

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        seconds = round(time.monotonic() - self.began, 2)
        if kind is not None:
            self.pipeline.durations[self.key] = seconds
            return  # main() reports the error with the stage's name
        self.pipeline.durations[self.key] = seconds
        message = str(self.fields.pop("message", self.message))
        self.pipeline.events.emit(
            "progress",
            stage=self.key,
            state="done",
            seconds=seconds,
            message=message,
            done=self.number + 1,
            total=len(STAGE_KEYS),
            **self.fields,
        )
        print(f"{self.key}: done in {seconds:.1f}s — {message}", flush=True)


def _generation_detail(event: dict[str, Any]) -> str | None:
    if event.get("type") != "progress" or "total" not in event:
        return None
    rejected = event.get("rejected")
    rejected_count = sum(rejected.values()) if isinstance(rejected, dict) else rejected or 0
    return (
        f"{event.get('done', 0)}/{event['total']} answered · {event.get('accepted', 0)} kept · "
        f"{rejected_count} rejected"
    )


def _generation_summary(done: dict[str, Any]) -> str:
    return f"{done.get('accepted', '?')} samples kept of {done.get('total', SAMPLES)}"


def _curation_detail(event: dict[str, Any]) -> str | None:
    if event.get("type") != "progress":
        return None
    return f"{event.get('message', '')} {event.get('done', 0)}/{event.get('total', 0)}"


def _train_detail(event: dict[str, Any]) -> str | None:
    if event.get("type") == "metric":
        return f"step {event.get('step')}/{event.get('total')} · loss {event.get('loss', 0):.3f}"
    if event.get("type") == "progress":
        return f"step {event.get('done', 0)}/{event.get('total', '?')} · starting"
    return None


def _on_sigterm(signum: int, frame: object) -> None:
    raise Stopped


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m magitui_core.demo.pipeline DEMO_DIR", file=sys.stderr)
        return 2
    events = EventWriter.for_current_job() or EventWriter(Path(args[0]) / "demo-events.jsonl")
    pipeline = DemoPipeline(Path(args[0]), events)
    signal.signal(signal.SIGTERM, _on_sigterm)
    current = ""
    try:
        for key in STAGE_KEYS:
            current = key
            getattr(pipeline, f"stage_{key}")(key)
        current = ""
        pipeline.finish()
    except Stopped:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
        events.emit("error", stage=current or None, message="the demo was stopped")
        pipeline.stop_started()
        return 143
    except Exception as exc:
        message = str(exc) if isinstance(exc, DemoError) else f"{type(exc).__name__}: {exc}"
        events.emit("error", stage=current or None, message=message)
        print(f"error in {current or 'the demo'}: {message}", file=sys.stderr, flush=True)
        pipeline.stop_started()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
