"""Data: rows are counted with the base model's own tokenizer when the run's training names a
model whose tokenizer.json is on disk, and checked against that training's max_len; without
one the counts are estimates and say so."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.data.screen import DataScreen
from magitui.screens.data.stats import DataStatsScreen
from magitui_core.context import Context
from magitui_core.jobs.status import JobState, JobStatus, this_host
from magitui_core.prompts import training_text
from magitui_core.training.token_counts import count_tokens, run_training, tokenizer_file
from tests.tiny_model import build_tiny_model

ROWS = [
    {"instruction": f"Write add{i}", "response": "def add(a, b):\n    return a + b\n" * (i + 1)}
    for i in range(6)
]


def training_job(ctx: Context, run: str, model: Path, max_len: int) -> None:
    """A finished training of ``run``, as `magitui train` records one."""
    job_dir = ctx.workspace.run_path(run) / "jobs" / "train-aaa111"
    job_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "magitui_core.training.sft", "--data", "x.jsonl"]
    command += ["--base-model", str(model), "--out", "out", "--max-seq-len", str(max_len)]
    now = time.time()
    JobStatus(
        id="train-aaa111",
        name="train tiny",
        kind="train",
        run=run,
        command=command,
        cwd=str(job_dir),
        host=this_host(),
        state=JobState.SUCCEEDED,
        created_at=now,
        started_at=now,
        ended_at=now,
        exit_code=0,
    ).write(job_dir)


def test_rows_are_counted_with_the_runs_base_tokenizer(ctx: Context, tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    run = ctx.workspace.create_run("r1")
    data = run.path / "data" / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    tokenizer = tokenizer_file(str(model))
    assert tokenizer is not None
    texts = [training_text(r["instruction"], r["response"]) for r in ROWS]
    expected = count_tokens(tokenizer, texts)
    limit = sorted(expected)[len(expected) // 2]  # the limit splits the rows
    over = sum(1 for count in expected if count > limit)
    assert 0 < over < len(ROWS)
    training_job(ctx, "r1", model, max_len=limit)
    assert run_training(ctx.jobs, "r1").max_len == limit
    label = f"over {limit} tok (the run's training)"

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        screen = pilot.app.screen
        assert isinstance(screen, DataScreen)
        await wait_until(pilot, lambda: label in screen_text(pilot.app), "the counts")
        assert f"{label} {over}" in screen_text(pilot.app)
        assert sorted(row.tokens for row in screen.data.rows) == sorted(expected)  # type: ignore[union-attr]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DataStatsScreen)
        assert "(tiny's tokenizer)" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario, size=(120, 40))


def test_without_a_training_the_counts_are_labelled_estimates(ctx: Context) -> None:
    run = ctx.workspace.create_run("r1")
    (run.path / "data" / "train.jsonl").write_text(json.dumps(ROWS[0]) + "\n")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await wait_until(
            pilot, lambda: "over 1216 tok (the recipe's)" in screen_text(pilot.app), "the file"
        )
        await pilot.press("a")
        await settle(pilot)
        assert "(estimated: characters / 3.5)" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario, size=(120, 40))
