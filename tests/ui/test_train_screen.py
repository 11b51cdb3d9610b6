"""The Train screen: curves and numbers rebuilt from a job's events, the cause and fix of a
failed run, and resuming from the newest checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui_core.context import Context
from magitui_core.job_status import JobState, JobStatus, this_host

T0 = 1_700_000_000.0


def finished_training(
    ctx: Context, job_id: str, *, state: JobState, events: list[dict], output: str = ""
) -> Path:
    job_dir = ctx.workspace.jobs_dir / job_id
    job_dir.mkdir(parents=True)
    JobStatus(
        id=job_id,
        name="train tiny",
        kind="train",
        run=None,
        command=[
            sys.executable,
            "-m",
            "magitui_core.train",
            "--data",
            "missing.jsonl",
            "--base-model",
            "missing-model",
            "--out",
            str(job_dir / "out"),
        ],
        cwd=str(job_dir),
        host=this_host(),
        state=state,
        created_at=T0,
        started_at=T0,
        ended_at=T0 + 60,
        exit_code=0 if state is JobState.SUCCEEDED else 1,
    ).write(job_dir)
    (job_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (job_dir / "output.log").write_text(output)
    return job_dir


def metric(step: int, loss: float, lr: float) -> dict:
    return {
        "type": "metric",
        "time": T0 + step,
        "step": step,
        "total": 3,
        "epoch": step / 3,
        "loss": loss,
        "lr": lr,
        "tokens_per_s": 1234.0,
        "pad_share": 0.02,
        "eta_s": 0,
    }


def test_curves_and_numbers_come_from_the_events(ctx: Context) -> None:
    job_dir = finished_training(
        ctx,
        "train-aaa111",
        state=JobState.SUCCEEDED,
        events=[
            {"type": "log", "time": T0, "message": "40 rows", "rows": 40, "truncated": 2},
            {
                "type": "progress",
                "time": T0,
                "phase": "train",
                "done": 0,
                "total": 3,
                "world_size": 1,
            },
            metric(1, 6.0, 1e-5),
            metric(2, 5.5, 2e-5),
            metric(3, 5.25, 3e-5),
            {
                "type": "log",
                "time": T0 + 3,
                "message": "saved checkpoint-3",
                "checkpoint": "CHECKPOINT",
                "step": 3,
            },
            {"type": "done", "time": T0 + 4, "final": "/models/final", "steps": 3},
        ],
    )
    checkpoint = job_dir / "out" / "checkpoints" / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    text = (job_dir / "events.jsonl").read_text().replace("CHECKPOINT", str(checkpoint))
    (job_dir / "events.jsonl").write_text(text)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await wait_until(pilot, lambda: "step 3/3" in screen_text(pilot.app), "the stats")
        screen = screen_text(pilot.app)
        assert "✓ succeeded  train-aaa111  step 3/3 (100%)  epoch 1.00" in screen
        assert "loss 5.2500  lr 3.00e-05  1,234 tok/s  pad 2.0%" in screen
        assert "loss  6 → 5.25  min 5.25" in screen
        assert "Model /models/final" in screen
        assert "Checkpoints checkpoint-3" in screen
        assert "40 rows, 2 truncated" in screen

    drive(MagituiApp(context=ctx), scenario)


def test_a_failed_run_shows_cause_and_fix(ctx: Context) -> None:
    finished_training(
        ctx,
        "train-bbb222",
        state=JobState.FAILED,
        events=[metric(1, 6.0, 0.0)],
        output="Traceback (most recent call last):\n"
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n",
    )

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await wait_until(pilot, lambda: "Cause" in screen_text(pilot.app), "the diagnosis")
        screen = screen_text(pilot.app)
        assert "Cause the GPU ran out of memory" in screen
        assert "Fix   lower --per-device-batch" in screen

    drive(MagituiApp(context=ctx), scenario)


def test_resume_starts_the_same_command_with_resume(ctx: Context) -> None:
    finished_training(ctx, "train-ccc333", state=JobState.FAILED, events=[])

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: len(ctx.jobs.list_jobs()) == 2, "the resumed job")

    drive(MagituiApp(context=ctx), scenario)
    resumed = next(j for j in ctx.jobs.list_jobs() if j.id != "train-ccc333")
    assert resumed.status.kind == "train"
    assert resumed.status.command[-1] == "--resume"
    assert resumed.status.command[:3] == [sys.executable, "-m", "magitui_core.train"]


def test_no_training_jobs_says_how_to_start_one(ctx: Context) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        assert "magitui train --data train.jsonl --base-model MODEL" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)
