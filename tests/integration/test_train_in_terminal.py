"""A user's first training in a real terminal at 80x24: Train › n, a base model typed into the
form, a smaller global batch, check, start — and the job runs to its end on this CPU with its
curves on the Train screen."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from magitui_core.context import open_context
from tests.conftest import magitui_cmd
from tests.tiny_model import build_tiny_model
from tests.tmux_session import TmuxSession

pytestmark = pytest.mark.slow


def test_a_tiny_training_starts_from_the_train_screen_and_finishes(isolated: Path) -> None:
    model = build_tiny_model(isolated / "tiny")
    ctx = open_context()
    run = ctx.workspace.create_run("first")
    rows = [
        {"instruction": f"Write add{i}", "response": f"def add{i}(a, b):\n    return a + b\n"}
        for i in range(16)
    ]
    (run.path / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def type_into_next_field(text: str) -> None:
        terminal.send("Tab")
        time.sleep(0.3)
        terminal.send("-l", text)
        time.sleep(0.3)

    with TmuxSession(magitui_cmd(), 80, 24) as terminal:
        terminal.wait_for("magitui › Home")
        terminal.send("t")
        terminal.wait_for("Press n for a new training")
        terminal.send("n")
        terminal.wait_for("Train › New training")
        time.sleep(1.0)  # focus settles on Base model
        terminal.send("-l", str(model))
        time.sleep(0.3)
        terminal.send("Tab", "Tab")  # Output, Accel. config
        time.sleep(0.3)
        type_into_next_field("8")  # Global batch
        type_into_next_field("2")  # Per-device
        terminal.send("C-l")
        screen = terminal.wait_for("✓ Launchable", timeout=30)
        assert "8 = 2 per device × 4 accumulation × 1 process" in screen
        terminal.send("C-r")
        terminal.wait_for("magitui › Train ", timeout=30)
        terminal.wait_for("● running", timeout=30)
        screen = terminal.wait_for("✓ succeeded", timeout=240)
        assert "Model" in screen and "final" in screen, screen  # where the model is
    (job,) = ctx.jobs.list_jobs()
    assert job.state.value == "succeeded" and job.status.run == "first"
    assert (run.path / "checkpoints" / "final" / "magitui_run.json").is_file()
