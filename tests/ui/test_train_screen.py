"""The Train screen: curves and numbers rebuilt from a job's events, the cause and fix of a
failed run, and resuming from the newest checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.widgets.log_search import MatchLog
from magitui_core.context import Context
from magitui_core.jobs.status import JobState, JobStatus, this_host

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
            "magitui_core.training.sft",
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


def test_resume_asks_names_the_checkpoint_and_starts_the_same_command(ctx: Context) -> None:
    job_dir = finished_training(ctx, "train-ccc333", state=JobState.FAILED, events=[])
    for step in (40, 120, 80):
        (job_dir / "out" / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "Resume train-ccc333 from checkpoint-120" in text  # the newest, by number
        assert "writes over" in text and "final" in text
        await pilot.press("enter")  # No has the focus: nothing starts
        await settle(pilot)
        assert len(ctx.jobs.list_jobs()) == 1
        await pilot.press("r", "y")
        await wait_until(pilot, lambda: len(ctx.jobs.list_jobs()) == 2, "the resumed job")

    drive(MagituiApp(context=ctx), scenario)
    resumed = next(j for j in ctx.jobs.list_jobs() if j.id != "train-ccc333")
    assert resumed.status.kind == "train"
    assert resumed.status.command[-1] == "--resume"
    assert resumed.status.command[:3] == [sys.executable, "-m", "magitui_core.training.sft"]


def test_resume_without_a_checkpoint_starts_nothing(ctx: Context) -> None:
    finished_training(ctx, "train-ddd444", state=JobState.SUCCEEDED, events=[])

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        (shown,) = notifications(pilot.app)
        assert shown[:2] == ("warning", "Cannot resume") and "left no checkpoint" in shown[2]
        assert len(ctx.jobs.list_jobs()) == 1

    drive(MagituiApp(context=ctx), scenario)


def test_no_training_jobs_says_how_to_start_one(ctx: Context) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        assert "Press n for a new training" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)


TRAINING_OUTPUT = "".join(
    f"[rank0] step {i}: loss {6 - i * 0.1:.2f}\n" if i % 5 else f"magitui: saved checkpoint-{i}\n"
    for i in range(1, 41)
)


def current_match_text(app: MagituiApp) -> str:
    """The on-screen text drawn in the current-match style (empty if none)."""
    log = app.screen.query_one(MatchLog)
    colour = log.match_style(True).bgcolor
    strips = app.screen._compositor.render_strips()
    return "".join(
        seg.text for strip in strips for seg in strip if seg.style and seg.style.bgcolor == colour
    )


def test_log_tail_search_steps_through_matches_at_80x24(ctx: Context) -> None:
    finished_training(
        ctx,
        "train-ddd444",
        state=JobState.SUCCEEDED,
        events=[metric(1, 6.0, 1e-5), metric(2, 5.5, 2e-5)],
        output=TRAINING_OUTPUT,
    )

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        assert "Log · train-ddd444" not in screen_text(pilot.app)  # curves first at 80x24
        await pilot.press("l")
        await wait_until(
            pilot, lambda: "saved checkpoint-40" in screen_text(pilot.app), "the log tail"
        )
        assert "Log · train-ddd444" in screen_text(pilot.app)
        assert "loss  6 → 5.5" not in screen_text(pilot.app)  # the log took the curves' place
        await pilot.press("slash", *"CHECKPOINT")  # case-insensitive, found as it is typed
        await settle(pilot)
        screen = screen_text(pilot.app)
        # The first match from the top of what the reader saw: checkpoint-35 of 5 … 40.
        assert "7/8" in screen and "Enter/n next · N prev · Esc" in screen
        assert current_match_text(pilot.app) == "checkpoint"
        await pilot.press("enter", "n", "n", "n")  # Enter gives the keys to the log; n wraps
        await settle(pilot)
        screen = screen_text(pilot.app)
        assert "2/8" in screen and "saved checkpoint-10" in screen
        assert "step 32" not in screen  # scrolled up to the match
        await pilot.press("N", "N", "N")
        await settle(pilot)
        assert "7/8" in screen_text(pilot.app)
        await pilot.press("escape")  # closes the search: following resumes at the end
        await settle(pilot)
        screen = screen_text(pilot.app)
        assert "7/8" not in screen and "saved checkpoint-40" in screen
        assert current_match_text(pilot.app) == ""
        assert "Log · train-ddd444" in screen  # Escape closed the search, not the section
        await pilot.press("l")
        await settle(pilot)
        assert "loss  6 → 5.5" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)


def test_searching_pauses_following_a_running_training(ctx: Context) -> None:
    script = (
        "import sys, time\n"
        "print('needle at the start', flush=True)\n"
        "for i in range(400):\n"
        "    print(f'line {i}', flush=True)\n"
        "    time.sleep(0.05)\n"
    )
    job = ctx.jobs.start([sys.executable, "-c", script], kind="train", name="train tiny")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("slash")  # from the jobs table: shows the log and searches it
        log = app.screen.query_one(MatchLog)
        await wait_until(pilot, lambda: log.line_count > 30, "some output")
        await pilot.press(*"needle", "enter")
        await settle(pilot)
        assert "1/1" in screen_text(app) and current_match_text(app) == "needle"
        shown = log.line_count
        await wait_until(pilot, lambda: log.line_count > shown + 20, "more output")
        screen = screen_text(app)
        assert "needle at the start" in screen  # the match stayed in view
        assert "1/1" in screen
        assert not log.auto_scroll
        await pilot.press("escape")
        await settle(pilot)
        assert log.auto_scroll
        newest = log.lines[-1]
        await wait_until(pilot, lambda: newest in screen_text(app), "the newest line")
        await pilot.press("f")  # follow off by hand: the bar says so
        await settle(pilot)
        assert "follow paused · f follows" in screen_text(app)
        await pilot.press("f")
        await settle(pilot)
        assert "follow paused" not in screen_text(app)

    drive(app, scenario)


def test_the_log_follows_the_selected_job(ctx: Context) -> None:
    for job_id, text in (("train-eee555", "output of eee\n"), ("train-fff666", "output of fff\n")):
        finished_training(
            ctx, job_id, state=JobState.SUCCEEDED, events=[metric(1, 6.0, 1e-5)], output=text
        )

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: "output of" in screen_text(pilot.app), "a log")
        first = "eee" if "output of eee" in screen_text(pilot.app) else "fff"
        other = {"eee": "fff", "fff": "eee"}[first]
        await pilot.press("l", "down", "l")  # back to the table, the other job, its log
        await wait_until(pilot, lambda: f"output of {other}" in screen_text(pilot.app), "log")
        assert f"output of {first}" not in screen_text(pilot.app)
        assert f"Log · train-{other}" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)


def test_a_packed_run_says_packed_instead_of_a_pad_share(ctx: Context) -> None:
    begin = {"type": "progress", "time": T0, "phase": "train", "done": 0, "total": 3}
    finished_training(
        ctx,
        "train-ggg777",
        state=JobState.SUCCEEDED,
        events=[{**begin, "packing": True, "pad_share": 0.0}, metric(1, 6.0, 1e-5)],
    )

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await wait_until(pilot, lambda: "step 1/3" in screen_text(pilot.app), "the stats")
        assert "1,234 tok/s  packed" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)
