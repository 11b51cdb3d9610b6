"""Eval: two served models (real server jobs answering HumanEval with scripted answers) are
found and put in their slots, one keypress evaluates both as jobs, and the screen shows the
exact pass@1 of each, the delta, the problems fixed and broken, and one problem whole. The
score then shows on Home."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Select

from magitui.app import MagituiApp
from magitui.screens.eval.problem_view import ProblemScreen
from magitui.screens.eval.screen import EvalScreen
from magitui.screens.eval.tables import ProblemsTable, ResultsTable
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.context import Context
from magitui_core.generation.local_teacher import is_ready
from magitui_core.jobs.manager import JobInfo

REPO = Path(__file__).resolve().parents[2]
LIMIT = 12
BASE_WRONG = "0,1,2,3,5,8"  # 6 of 12 wrong: 50.0 %
TUNED_WRONG = "1,4,9"  # 3 of 12 wrong: 75.0 %; fixes 0 2 3 5 8, breaks 4 9
TUNED_MODEL = "runs/r1/checkpoints/final"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_scripted(ctx: Context, model: str, wrong: str, name: str) -> JobInfo:
    """A server job as `magitui serve` starts one: Eval finds it by --port and --model."""
    port = free_port()
    job = ctx.jobs.start(
        [
            *(sys.executable, "-m", "tests.eval.serve_scripted"),
            *("--port", str(port), "--model", model, "--wrong", wrong),
        ],
        name=name,
        kind="serve",
        cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while not is_ready(f"http://127.0.0.1:{port}/v1"):
        assert time.monotonic() < deadline, ctx.jobs.get(job.id).tail(20)
        time.sleep(0.1)
    return job


@pytest.fixture
def two_servers(ctx: Context) -> tuple[str, str]:
    tuned = str(ctx.workspace.root / TUNED_MODEL)
    serve_scripted(ctx, "org/base-coder", BASE_WRONG, "base")
    serve_scripted(ctx, tuned, TUNED_WRONG, "tuned")
    return "org/base-coder", tuned


def slot_value(pilot: Pilot[None], slot: str) -> str:
    return str(pilot.app.screen.query_one(f"#eval-{slot}", Select).value)


async def open_eval(pilot: Pilot[None]) -> EvalScreen:
    await pilot.press("e")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, EvalScreen)
    return screen


def test_base_vs_fine_tuned_in_one_keypress(ctx: Context, two_servers: tuple[str, str]) -> None:
    base_model, tuned_model = two_servers
    ctx.workspace.create_run("r1")

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_eval(pilot)
        await wait_until(pilot, lambda: slot_value(pilot, "tuned") != "none", "the slots")
        # The run's trained model is the fine-tuned one; the other server the base.
        assert slot_value(pilot, "base").endswith(f"|{base_model}")
        assert slot_value(pilot, "tuned").endswith(f"|{tuned_model}")
        screen.query_one("#eval-limit", Input).value = str(LIMIT)
        await pilot.press("ctrl+r")
        await settle(pilot)
        results = screen.query_one(ResultsTable)
        await wait_until(
            pilot,
            lambda: "75.0 %" in screen_text(pilot.app) and "50.0 %" in screen_text(pilot.app),
            "both results",
            timeout=60,
        )
        text = screen_text(pilot.app)
        assert "+25.0" in text
        assert results.row_count == 2
        await settle(pilot)
        # The newest result (whichever slot finished last) is compared with the base.
        title = str(screen.query_one("#eval-problems-panel").border_title)
        assert "tuned vs base · 5 fixed, 2 broken" in title, title
        problems = screen.query_one(ProblemsTable)
        assert problems.row_count == LIMIT
        for _ in range(3):  # all → failed → passed → changed
            await pilot.press("f")
        await settle(pilot)
        changed = [problems.get_row_at(i)[0].plain for i in range(problems.row_count)]
        assert changed == [f"HumanEval/{n}" for n in (0, 2, 3, 4, 5, 8, 9)]
        problems.focus()
        problems.move_cursor(row=3)  # HumanEval/4: broken
        await pilot.press("enter")
        await settle(pilot)
        view = pilot.app.screen
        assert isinstance(view, ProblemScreen)
        view_text = screen_text(pilot.app)
        assert "HumanEval/4 · broken" in view_text
        assert "def mean_absolute_deviation" in view_text  # the prompt, loaded
        assert "tuned · " in view_text or "base · " in view_text
        await pilot.press("escape")
        await settle(pilot)
        # Evaluating again would replace both results: asked first, No keeps them.
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        assert "Base 50.0 %" in screen_text(pilot.app)
        await pilot.press("enter")
        await settle(pilot)
        assert len([j for j in ctx.jobs.list_jobs() if j.status.kind == "eval"]) == 2
        await pilot.press("h")
        await settle(pilot)
        await wait_until(pilot, lambda: "75.0 % (+25.0)" in screen_text(pilot.app), "Home")

    drive(MagituiApp(context=ctx), scenario, size=(100, 40))


def test_without_a_run_or_endpoint_it_says_what_to_do(ctx: Context) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_eval(pilot)
        assert "create one on Home (n)" in screen_text(pilot.app)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any("No run" in n[2] for n in notifications(pilot.app))
        ctx.workspace.create_run("r1")
        screen.poll_now()
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any("Choose an endpoint" in n[2] for n in notifications(pilot.app))
        assert ctx.jobs.list_jobs() == []

    drive(MagituiApp(context=ctx), scenario)


def test_v_serves_the_runs_trained_model_from_eval(ctx: Context) -> None:
    """No server runs the fine-tuned model yet: v opens the serve dialog with it filled in."""
    from textual.widgets import Input

    from magitui.widgets.serve_dialog import ServeModelScreen

    run = ctx.workspace.create_run("r1")
    final = run.path / "checkpoints" / "final"
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_eval(pilot)
        await pilot.press("v")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ServeModelScreen)
        fields = [w.value for w in dialog.query(Input)]
        assert str(final) in fields
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, EvalScreen) and ctx.jobs.list_jobs() == []

    drive(MagituiApp(context=ctx), scenario)


def test_a_plus_benchmark_without_its_file_says_where_to_get_it(
    ctx: Context, two_servers: tuple[str, str]
) -> None:
    ctx.workspace.create_run("r1")

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_eval(pilot)
        await wait_until(pilot, lambda: slot_value(pilot, "tuned") != "none", "the slots")
        screen.query_one("#eval-benchmark", Select).value = "humaneval+"
        await pilot.press("ctrl+r")
        await settle(pilot)
        shown = " ".join(n[2] for n in notifications(pilot.app))
        assert "HumanEvalPlus.jsonl.gz" in shown and "File" in shown
        screen.query_one("#eval-file", Input).value = "nowhere.jsonl"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any("does not exist" in n[2] for n in notifications(pilot.app))
        assert not [j for j in ctx.jobs.list_jobs() if j.status.kind == "eval"]

    drive(MagituiApp(context=ctx), scenario, size=(100, 40))
