"""The Generate screen, driven by Pilot against a real loopback teacher and real jobs."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static, TabbedContent

from magitui.app import MagituiApp
from magitui.screens.generate import GenerateScreen
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.job_table import JobsTable
from magitui_core.context import Context, open_context
from magitui_core.generation.engine import PAUSE_MARKER, GenerationSettings
from magitui_core.generation.jobs import generation_jobs, start_generation_job
from tests.generation.conftest import read_jsonl, write_seed_lines
from tests.generation.teacher_server import TeacherServer
from tests.ui.pilot_helpers import drive, notifications, screen_text, settle, wait_until

FILLED = ("base_url", "model", "seeds", "count", "concurrency")


@pytest.fixture
def ctx(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)  # steady rendering
    context = open_context()
    yield context
    for job in context.jobs.list_jobs():
        if job.is_live or job.state.value == "crashed":
            context.jobs.stop(job.id, grace=1)


async def open_generate(pilot: Pilot[None]) -> GenerateScreen:
    await pilot.press("g")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GenerateScreen)
    return screen


async def fill(pilot: Pilot[None], screen: GenerateScreen, **values: str) -> None:
    for key, value in values.items():
        screen.query_one(f"#field-{key}", Input).value = value
    await pilot.pause()


def test_endpoint_test_shows_models_latency_and_system_role(
    ctx: Context, teacher: Callable[..., TeacherServer]
) -> None:
    server = teacher(reject_system=True)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await fill(pilot, screen, base_url=server.base_url, model="")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: "one chat in" in screen_text(app), "the probe result")
        text = screen_text(app)
        assert "1 model(s) in" in text and "teacher-model" in text
        assert "system role rejected" in text
        # The model field is filled from the endpoint's list.
        assert screen.query_one("#field-model", Input).value == "teacher-model"

    drive(app, scenario, size=(100, 30))


def test_start_watch_pause_and_stop_a_generation(
    ctx: Context, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(latency=0.2, capacity=2)
    seeds = write_seed_lines(
        tmp_path / "seeds.jsonl",
        [f"MALFORMED {i}" if i % 10 == 0 else f"y = {i}" for i in range(400)],
    )
    out = tmp_path / "out" / "gen.jsonl"
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await fill(
            pilot,
            screen,
            base_url=server.base_url,
            model="teacher-model",
            seeds=str(seeds),
            count="400",
            concurrency="4",
            out=str(out),
        )
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: generation_jobs(ctx.jobs), "the job to start")
        (job,) = generation_jobs(ctx.jobs)
        assert job.status.kind == "generate"
        await wait_until(
            pilot, lambda: screen.query_one(TabbedContent).active == "live-tab", "the Live tab"
        )
        await wait_until(pilot, lambda: "accepted" in screen_text(app), "live stats", 30)
        await wait_until(
            pilot, lambda: "Write code inspired by" in screen_text(app), "a sample", 30
        )
        await wait_until(pilot, lambda: "unparseable" in screen_text(app), "a rejection", 30)
        text = screen_text(app)
        assert "/400 done" in text and "req/s" in text and job.id in text
        await pilot.press("p")
        await settle(pilot)
        assert (job.dir / PAUSE_MARKER).exists()
        await wait_until(pilot, lambda: "paused" in screen_text(app), "paused state")
        await pilot.press("p")
        await settle(pilot)
        assert not (job.dir / PAUSE_MARKER).exists()
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not ctx.jobs.get(job.id).is_live, "the job to stop", 30)
        await wait_until(pilot, lambda: "stopped" in screen_text(app), "stopped shown", 30)

    drive(app, scenario, size=(100, 34))
    # Stopped mid-run: what was written is whole and each index is there at most once.
    records = read_jsonl(out) + read_jsonl(out.with_name("gen.rejected.jsonl"))
    indices = [r["index"] for r in records]
    assert indices and len(indices) == len(set(indices)) and len(indices) < 400


def test_reopened_app_reattaches_to_the_running_generation(
    ctx: Context, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(latency=0.2, capacity=2, reject_system=True)
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"z = {i}" for i in range(10)])
    job = start_generation_job(
        ctx.jobs,
        GenerationSettings(
            base_url=server.base_url,
            model="teacher-model",
            seeds=str(seeds),
            count=500,
            out=tmp_path / "gen.jsonl",
            concurrency=2,
        ),
    )
    assert job.is_live
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await wait_until(pilot, lambda: job.id in screen_text(app), "the attached job")
        assert screen.query_one(TabbedContent).active == "live-tab"
        warnings = screen.query_one("#warnings-text", Static)
        await wait_until(
            pilot, lambda: "rejects the system role" in str(warnings.content), "the warning", 30
        )
        assert not [n for n in notifications(app) if n[0] == "error"]
        # The form is refilled from the job, so a rerun or a resume needs no retyping.
        values = {key: screen.query_one(f"#field-{key}", Input).value for key in FILLED}
        assert values == {
            "base_url": server.base_url,
            "model": "teacher-model",
            "seeds": str(seeds),
            "count": "500",
            "concurrency": "2",
        }

    drive(app, scenario, size=(100, 34))
    assert ctx.jobs.get(job.id).is_live  # closing the app left the job running


def test_bad_form_input_is_one_clear_line(ctx: Context, tmp_path: Path) -> None:
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await fill(pilot, screen, base_url="http://127.0.0.1:9/v1", model="m", seeds="x.jsonl")
        await fill(pilot, screen, count="lots")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert ("error", "Cannot start", "Count 'lots' — give a whole number") in notifications(app)
        await fill(pilot, screen, count="5", seeds="")
        await pilot.press("ctrl+r")
        await settle(pilot)
        messages = [n[2] for n in notifications(app)]
        assert any(m.startswith("Seeds is empty") for m in messages)
        await fill(pilot, screen, seeds="x.jsonl", base_url="htp:/oops")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert (
            "error",
            "Cannot start",
            "Endpoint 'htp:/oops' — must start with http:// or https://",
        ) in notifications(app)
        await pilot.press("ctrl+l")  # no request is sent to a URL that cannot work
        await settle(pilot)
        assert (
            "error",
            "Cannot test",
            "Endpoint 'htp:/oops' — must start with http:// or https://",
        ) in notifications(app)
        await fill(pilot, screen, base_url="http://127.0.0.1:9/v1", out="o.txt")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any(
            n[2].startswith("Output ") and "must end in .jsonl" in n[2] for n in notifications(app)
        )
        await fill(pilot, screen, out="o.jsonl")
        # A local source that is not there, or has no code: refused at once, not as a job.
        empty = tmp_path / "empty-folder"
        empty.mkdir()
        for seeds, expected in (
            (tmp_path / "missing", f"seed source '{tmp_path / 'missing'}' is neither a folder"),
            (tmp_path / "missing.jsonl", "does not exist — give a .jsonl file of code"),
            (empty, f"seed folder {empty} has no usable source files"),
        ):
            await fill(pilot, screen, seeds=str(seeds))
            await pilot.press("ctrl+r")
            await wait_until(
                pilot,
                lambda expected=expected: any(expected in n[2] for n in notifications(app)),
                expected,
            )
        assert generation_jobs(ctx.jobs) == []

    drive(app, scenario)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_serve_locally_without_vllm_uses_transformers_serve(ctx: Context) -> None:
    """As `magitui serve` does: vLLM where installed, else transformers serve — the screen has
    no engine choice to point at."""
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await fill(pilot, screen, model="mistralai/Mistral-7B-Instruct-v0.2")
        screen.query_one("#serve-local", Button).press()
        await wait_until(pilot, lambda: ctx.jobs.list_jobs(), "the server job")
        assert "Starting transformers serve mistralai/Mistral-7B-Instruct-v0.2" in screen_text(app)
        (job,) = ctx.jobs.list_jobs()
        assert job.status.command[:2] == ["transformers", "serve"] or "serve" in job.status.command
        assert not [n for n in notifications(app) if "--engine" in n[2]]
        # Stopped once it runs (a job still starting has no process group to signal yet).
        await wait_until(pilot, lambda: ctx.jobs.get(job.id).status.pgid, "the server to run")
        ctx.jobs.stop(job.id, grace=1)

    drive(app, scenario, size=(100, 30))


def test_jobs_tab_attaches_and_openai_models_show_a_cost(
    ctx: Context, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(model="gpt-4o-mini")
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"w = {i}" for i in range(5)])
    finished = []
    for name in ("first", "second"):
        job = start_generation_job(
            ctx.jobs,
            GenerationSettings(
                base_url=server.base_url,
                model="gpt-4o-mini",
                seeds=str(seeds),
                count=5,
                out=tmp_path / f"{name}.jsonl",
            ),
        )
        while ctx.jobs.get(job.id).is_live:
            time.sleep(0.05)
        finished.append(job.id)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        screen.query_one(TabbedContent).active = "live-tab"
        await wait_until(pilot, lambda: "cost $0.0" in screen_text(app), "the cost estimate")
        assert finished[1] in screen_text(app)  # the newest job is attached
        screen.query_one(TabbedContent).active = "jobs-tab"
        table = screen.query_one(JobsTable)
        table.focus()
        await settle(pilot)
        table.move_cursor(row=table.get_row_index(finished[0]))
        await pilot.press("enter")
        await wait_until(pilot, lambda: finished[0] in screen_text(app), "the first job")
        assert screen.query_one(TabbedContent).active == "live-tab"
        assert "completed" in screen_text(app)

    drive(app, scenario, size=(100, 30))


def test_section_keys_still_work_on_arrival(ctx: Context) -> None:
    """Focus starts on the tabs, not in a field, so `h` leaves instead of being typed."""
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert app.current_mode == "home"
        assert screen.query_one("#field-base_url", Input).value == ""

    drive(app, scenario)


def test_output_lands_in_the_newest_run_where_data_finds_it(
    ctx: Context, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    """A new user makes a run on Home, then generates: the file must land in that run's
    data/ (where Data and `preprocess --run` look), and the job must belong to the run."""
    server = teacher()
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"v = {i}" for i in range(5)])
    ctx.workspace.create_run("old", created_at=1.0)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        run_field = screen.query_one("#field-run", Input)
        await wait_until(pilot, lambda: run_field.value == "old", "the only run")
        ctx.workspace.create_run("r1")  # made on Home while Generate was already open
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("g")
        await wait_until(pilot, lambda: run_field.value == "r1", "the newest run")
        # A run that does not exist: one line naming it and the fix; no job.
        await fill(pilot, screen, base_url=server.base_url, model="teacher-model")
        await fill(pilot, screen, seeds=str(seeds), count="3", run="nope")
        await pilot.press("ctrl+r")
        await settle(pilot)
        (problem,) = [n[2] for n in notifications(app) if n[1] == "Cannot start"]
        assert "Run 'nope' does not exist" in problem and "create it on Home (n)" in problem
        assert "old, r1" in problem and "\n" not in problem
        assert generation_jobs(ctx.jobs) == []
        # Typed by the user: polls must not put the newest run back.
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert run_field.value == "nope"
        await fill(pilot, screen, run="r1")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: generation_jobs(ctx.jobs), "the job to start")
        (job,) = generation_jobs(ctx.jobs)
        await wait_until(pilot, lambda: not ctx.jobs.get(job.id).is_live, "the job to end", 30)
        assert job.status.run == "r1" and job.status.name == "generate-r1"
        await wait_until(pilot, lambda: "→ r1/generated.jsonl" in screen_text(app), "where")

    drive(app, scenario, size=(80, 24))
    out = ctx.workspace.get_run("r1").path / "data" / "generated.jsonl"
    assert sorted(r["index"] for r in read_jsonl(out)) == [0, 1, 2]
    assert not (ctx.workspace.root / "data").exists()


def test_tab_reaches_the_fields_and_brackets_switch_tabs(ctx: Context) -> None:
    """Tab goes tabs → endpoint → model → seeds (not via the form's scroll area), and
    `[` / `]` switch tabs from Live, where Left/Right do not reach the tabs."""
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_generate(pilot)
        tabbed = screen.query_one(TabbedContent)
        for field in ("base_url", "model", "seeds", "count"):
            await pilot.press("tab")
            assert app.focused is screen.query_one(f"#field-{field}", Input)
        await pilot.press("[")  # typed into a field, not a tab switch
        assert screen.query_one("#field-count", Input).value.endswith("[")
        assert tabbed.active == "setup-tab"
        screen.query_one("#sample-panel").focus()  # where Live puts focus
        tabbed.active = "live-tab"
        await pilot.pause()
        await pilot.press("[")
        await pilot.pause()
        assert tabbed.active == "setup-tab"
        await pilot.press("]")
        await pilot.pause()
        assert tabbed.active == "live-tab"
        await pilot.press("]", "]")  # past Jobs, round to Setup
        await pilot.pause()
        assert tabbed.active == "setup-tab"
        assert app.focused is screen.query_one("ContentTabs")  # not a hidden pane's widget
        await pilot.press("question_mark")
        await pilot.pause()
        assert "[ / ]  Previous / next tab" in screen_text(app)  # the help lists them

    drive(app, scenario, size=(80, 24))
