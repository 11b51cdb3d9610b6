"""A workspace with fixed contents for snapshot tests: two runs, finished jobs, fixed times."""

from __future__ import annotations

import json
from pathlib import Path

from magitui_core.jobs.status import JobState, JobStatus, this_host
from magitui_core.workspace import Workspace

T0 = 1741078800.0  # 2025-03-04 09:00:00 UTC

RUNS = {"llama-oss-1": T0 - 300, "deepseek-6.7b": T0 + 86400 + 5400}


def _job(
    parent: Path,
    job_id: str,
    *,
    name: str,
    kind: str,
    run: str | None,
    command: list[str],
    state: JobState,
    start: float,
    seconds: float,
    exit_code: int | None,
    signal: str | None = None,
    error: str | None = None,
    output: str = "",
    events: list[dict[str, object]] | None = None,
) -> None:
    job_dir = parent / job_id
    job_dir.mkdir(parents=True)
    JobStatus(
        id=job_id,
        name=name,
        kind=kind,
        run=run,
        command=command,
        cwd="/srv/magicoder",
        host=this_host(),
        state=state,
        created_at=start - 1,
        started_at=start,
        ended_at=start + seconds,
        pid=41000,
        child_pid=41001,
        pgid=41000,
        exit_code=exit_code,
        signal=signal,
        error=error,
    ).write(job_dir)
    (job_dir / "output.log").write_text(output, encoding="utf-8")
    lines = [json.dumps(event) for event in events or []]
    (job_dir / "events.jsonl").write_text("".join(line + "\n" for line in lines))


def fill_workspace(root: Path) -> Workspace:
    workspace = Workspace(root).ensure()
    for name, created in RUNS.items():
        workspace.create_run(name, created_at=created)

    llama_jobs = root / "runs" / "llama-oss-1" / "jobs"
    _job(
        llama_jobs,
        "generate-oss-instruct-0a1b2c",
        name="generate oss-instruct",
        kind="generate",
        run="llama-oss-1",
        command=["python", "-m", "magitui_core.generation.engine", "--samples", "75000"],
        state=JobState.SUCCEEDED,
        start=T0,
        seconds=4980,
        exit_code=0,
        output="loading seeds\n75000/75000 samples written\ndone\n",
        events=[
            {"type": "started", "time": T0, "pid": 41001},
            {"type": "progress", "time": T0 + 600, "done": 9000, "total": 75000},
            {"type": "done", "time": T0 + 4979, "message": "75000 samples"},
            {"type": "exited", "time": T0 + 4980, "state": "succeeded", "exit_code": 0},
        ],
    )
    _job(
        llama_jobs,
        "train-llama-3c4d5e",
        name="train llama",
        kind="train",
        run="llama-oss-1",
        command=["accelerate", "launch", "--config_file", "ds_zero3.yaml", "train.py"],
        state=JobState.FAILED,
        start=T0 + 7200,
        seconds=754,
        exit_code=1,
        output=(
            "[rank0] loading model codellama/CodeLlama-7b-Python-hf\n"
            "[rank0] step 40/3000 loss 0.913\n"
            "Traceback (most recent call last):\n"
            '  File "train.py", line 88, in <module>\n'
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
        ),
        events=[
            {"type": "started", "time": T0 + 7200, "pid": 41001},
            {"type": "metric", "time": T0 + 7500, "step": 40, "loss": 0.913},
            {"type": "error", "time": T0 + 7953, "message": "CUDA out of memory"},
            {"type": "exited", "time": T0 + 7954, "state": "failed", "exit_code": 1},
        ],
    )
    _job(
        root / "jobs",
        "sleep-9f8e7d",
        name="sleep",
        kind="command",
        run=None,
        command=["sleep", "600"],
        state=JobState.STOPPED,
        start=T0 - 3600,
        seconds=65,
        exit_code=-15,
        signal="SIGTERM",
    )
    return workspace
