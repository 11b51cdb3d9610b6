"""Train › New training: the form fills itself from the newest run, checks the launch as
`magitui train --dry-run` does (in the app's words), starts the job only when nothing blocks
it, and asks before writing over an earlier training's output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from magitui.app import MagituiApp
from magitui.screens.train.new_training import NewTrainingScreen, in_app_words
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.context import Context
from magitui_core.training.launch import LaunchRequest
from magitui_core.training.plan import plan_launch

ROWS = [
    {"instruction": f"Write add{i}", "response": f"def add{i}(a, b):\n    return a + b\n"}
    for i in range(24)
]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def fake_model(folder: Path) -> Path:
    """A model folder as far as the launch checks go (config.json); training it would fail."""
    folder.mkdir(parents=True)
    config = {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 512,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def form(pilot: Pilot[None]) -> NewTrainingScreen:
    screen = pilot.app.screen
    assert isinstance(screen, NewTrainingScreen), type(screen)
    return screen


def field(pilot: Pilot[None], key: str) -> Input:
    return pilot.app.screen.query_one(f"#field-{key}", Input)


def result_text(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#plan-result", Static).render())


async def open_form(pilot: Pilot[None]) -> None:
    await pilot.press("t")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    form(pilot)


def test_the_form_starts_from_the_newest_run(ctx: Context) -> None:
    ctx.workspace.create_run("older", created_at=1.0)
    newest = ctx.workspace.create_run("newest", created_at=2.0)
    (newest.path / "accelerate.yaml").write_text("compute_environment: LOCAL_MACHINE\n")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        assert field(pilot, "run").value == "newest"
        assert field(pilot, "data").value == "train.jsonl"
        assert field(pilot, "out").value == "checkpoints"
        assert field(pilot, "accelerate_config").value == str(newest.path / "accelerate.yaml")
        # The recipe's values are the placeholders: an empty field means "the recipe's".
        assert field(pilot, "global_batch").value == ""
        assert field(pilot, "global_batch").placeholder == "512"
        assert pilot.app.focused is field(pilot, "base_model")
        await pilot.press("escape")
        await settle(pilot)
        assert "Training jobs" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)


def test_check_lists_every_problem_in_the_forms_words(ctx: Context) -> None:
    run = ctx.workspace.create_run("r1")
    # Raw generation output: not launchable, and the fix is the Data screen's curate.
    write_rows(run.path / "data" / "train.jsonl", [{"problem": "p", "solution": "s"}] * 3)
    model = fake_model(ctx.workspace.root / "models" / "tiny")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        field(pilot, "base_model").value = str(model)
        field(pilot, "global_batch").value = "8"
        field(pilot, "per_device_batch").value = "2"
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = result_text(pilot)
        assert "Not launchable" in text
        assert "is not formatted" in text and "Data screen › p (curate)" in text
        # Every resolved path is shown absolute.
        assert f"Data   {run.path / 'data' / 'train.jsonl'}" in text
        assert f"Output {run.path / 'checkpoints'}" in text
        before_commands = text.split("Job command")[0]
        assert "--" not in before_commands.replace("-- ", ""), before_commands
        # Start with a blocking problem starts nothing.
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any(n[1] == "Not started" for n in notifications(pilot.app))
        assert ctx.jobs.list_jobs() == []

    drive(MagituiApp(context=ctx), scenario, size=(100, 40))


def test_a_bad_number_and_a_missing_model_name_their_field(ctx: Context) -> None:
    ctx.workspace.create_run("r1")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        field(pilot, "base_model").value = "/no/such/model"
        field(pilot, "epochs").value = "two"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert "Epochs 'two' — give a number, or clear it" in result_text(pilot)
        field(pilot, "epochs").value = ""
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = result_text(pilot)
        assert "Not launchable" in text and "/no/such/model" in text
        assert "--base-model" not in text and "Base model" in text
        # A conflict with the accelerate config names the form's field, not a flag.
        assert in_app_words("--grad-accum 4 conflicts; drop --grad-accum") == (
            "Grad accum 4 conflicts; clear Grad accum"
        )

    drive(MagituiApp(context=ctx), scenario)


def test_the_form_shows_what_the_dry_run_resolves(ctx: Context) -> None:
    run = ctx.workspace.create_run("r1")
    data = write_rows(run.path / "data" / "train.jsonl", ROWS)
    model = fake_model(ctx.workspace.root / "models" / "tiny")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        field(pilot, "base_model").value = str(model)
        field(pilot, "global_batch").value = "8"
        field(pilot, "learning_rate").value = "2e-5"
        pilot.app.screen.query_one("#field-sampling", Select).value = "group_by_length"
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = result_text(pilot)
        plan = plan_launch(
            LaunchRequest(
                data=[data],
                base_model=str(model),
                out=run.path / "checkpoints",
                global_batch=8,
                learning_rate=2e-5,
                sampling="group_by_length",
            )
        )
        import shlex

        assert "✓ Launchable" in text
        assert shlex.join(plan.command) in " ".join(text.split("Job command ")[1].split("\n"))
        assert "group_by_length batches" in text and "2e-05" in text
        assert (
            f"From a shell magitui train --data {data} --base-model {model} --out "
            f"{run.path / 'checkpoints'} --run r1 --global-batch 8 --learning-rate 2e-5 "
            "--sampling group_by_length"
        ) in " ".join(text.split("\n"))

    drive(MagituiApp(context=ctx), scenario, size=(200, 50))


def test_start_asks_before_writing_over_a_trained_model(ctx: Context) -> None:
    run = ctx.workspace.create_run("r1")
    write_rows(run.path / "data" / "train.jsonl", ROWS)
    model = fake_model(ctx.workspace.root / "models" / "tiny")
    final = run.path / "checkpoints" / "final"
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        field(pilot, "base_model").value = str(model)
        field(pilot, "global_batch").value = "8"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        assert "already holds final" in screen_text(pilot.app)
        await pilot.press("enter")  # No has the focus
        await settle(pilot)
        assert ctx.jobs.list_jobs() == []
        form(pilot)  # still on the form, nothing lost
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: ctx.jobs.list_jobs(), "the training job")
        await settle(pilot)
        assert "Training jobs · 1" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)
    (job,) = ctx.jobs.list_jobs()
    assert job.status.kind == "train" and job.status.run == "r1"
    assert job.status.command[:3] == [sys.executable, "-m", "magitui_core.training.sft"]
    assert job.status.name == "train tiny"
    # The form's relative paths reached the job resolved.
    command = job.status.command
    assert command[command.index("--out") + 1] == str(run.path / "checkpoints")


def test_the_base_model_field_offers_cached_and_trained_models(ctx: Context) -> None:
    import os

    hub = Path(os.environ["HF_HOME"]) / "hub"
    snapshot = hub / "models--org--coder-1b" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (hub / "models--org--half-downloaded" / "snapshots" / "abc").mkdir(parents=True)
    (hub / "datasets--org--data" / "snapshots" / "abc").mkdir(parents=True)
    run = ctx.workspace.create_run("r1")
    trained = run.path / "checkpoints" / "final"
    trained.mkdir(parents=True)
    (trained / "config.json").write_text("{}")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_form(pilot)
        base = field(pilot, "base_model")
        await pilot.press("o", "r", "g")
        await settle(pilot)
        assert base._suggestion == "org/coder-1b"
        await pilot.press("right")  # takes the suggestion
        assert base.value == "org/coder-1b"
        assert "2 model(s) here" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario)
