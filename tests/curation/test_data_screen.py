"""The Data screen, driven with Pilot on real files: 100 000 rows, filters, record view, job."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Markdown, Select, Static

from magitui.app import MagituiApp
from magitui.screens.data.record_table import RecordTable
from magitui.screens.data.record_view import RecordScreen
from magitui.screens.data.screen import DataScreen
from magitui.screens.data.stats import DataStatsScreen
from magitui_core.context import Context, open_context
from magitui_core.generation.jobs import generation_jobs, start_generation_job
from magitui_core.generation.settings import GenerationSettings
from tests.conftest import magitui_cmd
from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl
from tests.generation.teacher_server import Script, TeacherServer

Scenario = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def ctx(isolated: Path) -> Context:
    return open_context()


def drive(app: MagituiApp, scenario: Scenario, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


def screen_text(app: MagituiApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def open_data_screen(pilot: Pilot[None]) -> DataScreen:
    await pilot.press("d")
    screen = pilot.app.screen
    assert isinstance(screen, DataScreen)
    await wait_until(
        pilot,
        lambda: screen.data is not None and screen.data.checked and not screen.progress_text,
        "the file to be read and checked",
    )
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def wait_opened(pilot: Pilot[None], screen: DataScreen, path: Path) -> None:
    """Until ``path`` is the open file and its loading workers are done."""
    await wait_until(
        pilot, lambda: screen.data is not None and screen.data.path == path, f"{path.name} open"
    )
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def small_run(ctx: Context) -> Path:
    """A generated file with duplicates, a HumanEval row, a bad line and generator rejects."""
    data = ctx.workspace.create_run("demo").path / "data"
    rows = synthetic_records(30, seed=9, duplicate_every=10)  # rows 11 and 21 repeat a problem
    he = humaneval_problems()["HumanEval/4"]
    rows.append({"seed": "s", "problem": he["prompt"], "solution": he["canonical_solution"]})
    path = write_jsonl(data / "generated.jsonl", rows)
    with path.open("a") as handle:
        handle.write("{broken\n")
    write_jsonl(
        data / "generated.rejected.jsonl",
        [{"index": 40, "reason": "unparseable", "raw": "Sure! Here is a function."}],
    )
    return path


def test_filters_record_view_and_stats_on_a_generated_file(ctx: Context) -> None:
    path = small_run(ctx)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        table = screen.query_one(RecordTable)
        assert len(table.order) == 32  # 31 records + 1 generator reject
        summary = str(screen.query_one("#data-summary", Static).render())
        assert "kept 28" in summary and "removed 3" in summary and "rejected 1" in summary
        assert "bad lines 1" in summary
        # Filter by a removal reason.
        status = screen.query_one("#data-status", Select)
        status.value = "contaminated: human_eval_docstrings"
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        [only] = [table.rows[i] for i in table.order]
        assert only.detail == "HumanEval/4" and only.source == f"{path}:31"
        assert "contaminated: human_eval…" in screen_text(pilot.app)  # the column cuts it
        status.value = "rejected"
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert [table.rows[i].reason for i in table.order] == ["unparseable"]
        status.value = "removed"
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert sorted(table.rows[i].reason for i in table.order) == [
            "contaminated: human_eval_docstrings",
            "duplicate problem",
            "duplicate problem",
        ]
        # Open the first removed record: problem as markdown, seed beside it.
        table.focus()
        await pilot.press("home", "enter")
        await pilot.pause()
        record = pilot.app.screen
        assert isinstance(record, RecordScreen)
        problem = record.query_one("#record-problem", Markdown)
        assert problem.source == table.rows[table.order[0]].record.problem  # type: ignore[union-attr]
        assert "Seed" in screen_text(pilot.app) and "def seed_" in screen_text(pilot.app)
        await pilot.press("n")
        await pilot.pause()
        assert record.position == 1
        await pilot.press("escape")
        await pilot.pause()
        # Stats of what is shown: token histogram and the rows over the limit.
        status.value = ""
        await pilot.app.workers.wait_for_complete()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DataStatsScreen)
        text = screen_text(pilot.app)
        assert "exceed max_training_seq_length 1216" in text
        assert "rows by training tokens" in text
        await pilot.press("escape")

    drive(app, scenario, size=(100, 30))


def test_text_search_and_curation_job_from_the_screen(ctx: Context) -> None:
    path = small_run(ctx)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        table = screen.query_one(RecordTable)
        wanted = table.rows[5].record.problem.split("`")[1]  # type: ignore[union-attr]
        await pilot.press("slash", *wanted, "enter")
        await wait_until(pilot, lambda: len(table.order) == 1, "the search to narrow the rows")
        assert table.rows[table.order[0]].title.startswith("You are building")
        await pilot.press("p")  # the form: the recipe's choices and train.jsonl
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "curated: kept 28 of 31" in screen.job_text, "the job", 60)
        out = path.parent / "train.jsonl"
        assert len(out.read_text().splitlines()) == 28
        assert (path.parent / "curation-report.json").is_file()
        [job] = ctx.jobs.list_jobs()
        assert job.status.kind == "preprocess" and job.status.run == "demo"
        # The new training file is offered under Open, and opens as formatted data.
        select = screen.query_one("#data-file", Select)
        await wait_until(pilot, lambda: str(out) in [v for _, v in select._options], "the output")
        select.value = str(out)
        await wait_until(
            pilot,
            lambda: screen.data is not None and screen.data.path == out and screen.data.checked,
            "the output file to open",
        )
        assert screen.data is not None and screen.data.format == "instruction-response"
        screen.query_one("#data-search", Input).value = ""
        await wait_until(pilot, lambda: len(table.order) == 28, "all formatted rows")

    drive(app, scenario)


@pytest.mark.slow
def test_a_100k_row_file_scrolls_and_filters(ctx: Context) -> None:
    data = ctx.workspace.create_run("big").path / "data"
    write_jsonl(data / "generated.jsonl", synthetic_records(100_000, seed=1, duplicate_every=50))
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        table = screen.query_one(RecordTable)
        assert len(table.order) == 100_000
        table.focus()
        for _ in range(50):
            await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor > 50 * 10
        top = int(table.scroll_offset.y)
        assert top <= table.cursor < top + table.size.height
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor == 99_999
        assert "100000" in screen_text(pilot.app)
        await pilot.press("home")
        await pilot.pause()
        assert "     1 " in screen_text(pilot.app)
        screen.query_one("#data-status", Select).value = "duplicate problem"
        await wait_until(pilot, lambda: len(table.order) == 1_999, "the duplicate filter")
        assert all(table.rows[i].reason == "duplicate problem" for i in table.order)
        await pilot.press("slash", *"seed_99998", "enter")
        await wait_until(pilot, lambda: len(table.order) <= 1, "the text filter")
        screen.query_one("#data-status", Select).value = ""
        await wait_until(pilot, lambda: len(table.order) == 1, "the text filter alone")
        assert table.rows[table.order[0]].source.endswith(":99999")

    drive(app, scenario)


def test_a_file_of_the_wrong_shape_is_explained_not_fatal(ctx: Context) -> None:
    data = ctx.workspace.create_run("odd").path / "data"
    write_jsonl(data / "chat.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        screen = pilot.app.screen
        assert isinstance(screen, DataScreen)
        await wait_until(pilot, lambda: "cannot open" in screen.progress_text, "the error")
        assert "records have fields messages" in screen.progress_text
        assert "problem+solution (src-instruct)" in screen.progress_text
        messages = [n.message for n in pilot.app._notifications]
        assert sum("records have fields messages" in m for m in messages) == 1  # said once
        assert screen.data is None

    drive(app, scenario)


def test_files_made_while_away_are_listed_on_return_and_o_opens_the_list(
    ctx: Context,
) -> None:
    """A new user opens Data before generating: nothing there. A file then written in the
    workspace's own data/ (Generate with no run) appears on return, opens, and choosing a
    file from the list hands focus back to the rows so Enter opens a record."""
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        screen = pilot.app.screen
        assert isinstance(screen, DataScreen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "No data file yet" in screen_text(pilot.app)
        await pilot.press("o")  # nothing to open: say where files are looked for
        await pilot.pause()
        assert any("generate some on Generate" in n.message for n in pilot.app._notifications)
        await pilot.press("escape", "h")  # away to Home while a file is generated
        await pilot.pause()
        (ctx.workspace.root / "data").mkdir()
        loose = write_jsonl(ctx.workspace.root / "data" / "generated.jsonl", synthetic_records(5))
        run_file = write_jsonl(
            ctx.workspace.create_run("r1").path / "data" / "older.jsonl", synthetic_records(3)
        )
        os.utime(run_file, (1, 1))  # older, so the loose file is the one opened
        await pilot.press("d")
        await wait_opened(pilot, screen, loose)
        select = screen.query_one("#data-file", Select)
        await pilot.press("o")
        await pilot.pause()
        assert select.expanded
        await pilot.press("escape")
        await pilot.pause()
        select.value = str(run_file)  # what choosing from the list does
        await wait_opened(pilot, screen, run_file)
        assert isinstance(pilot.app.focused, RecordTable)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, RecordScreen)

    drive(app, scenario)


def test_curating_a_rejects_file_is_refused_with_the_file_to_use(ctx: Context) -> None:
    data = ctx.workspace.create_run("r1").path / "data"
    rejects = write_jsonl(
        data / "generated.rejected.jsonl",
        [{"index": 3, "reason": "unparseable", "raw": "Sure! Here you go."}],
    )
    os.utime(rejects, (1, 1))
    write_jsonl(data / "generated.jsonl", synthetic_records(4))
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        screen.query_one("#data-file", Select).value = str(rejects)
        await wait_opened(pilot, screen, rejects)
        await pilot.press("p")
        await pilot.pause()
        (notice,) = [n for n in pilot.app._notifications if n.title == "Nothing to curate"]
        assert "open generated.jsonl (o)" in notice.message
        assert ctx.jobs.list_jobs() == []

    drive(app, scenario)


def test_a_file_still_being_generated_is_not_curated(ctx: Context) -> None:
    data = ctx.workspace.create_run("r1").path / "data"
    seeds = write_jsonl(data.parent / "seeds.jsonl", [{"content": f"x = {i}"} for i in range(5)])
    out = data / "generated.jsonl"
    server = TeacherServer(Script(latency=0.3, capacity=1)).start()
    try:
        settings = GenerationSettings(
            base_url=server.base_url,
            model="teacher-model",
            seeds=str(seeds),
            count=500,
            out=out,
            concurrency=1,
        )
        job = start_generation_job(ctx.jobs, settings, run="r1")
        deadline = time.monotonic() + 30
        while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        app = MagituiApp(context=ctx)

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_data_screen(pilot)
            assert screen.data is not None and screen.data.path == out
            await pilot.press("p")
            await pilot.pause()
            (notice,) = [n for n in pilot.app._notifications if n.title == "Not yet"]
            assert f"{job.id} is still writing generated.jsonl" in notice.message
            assert [j.status.kind for j in ctx.jobs.list_jobs()] == ["generate"]

        drive(app, scenario)
        # The headless twin curates anyway (a script may want a partial look) but says so.
        result = subprocess.run(
            [*magitui_cmd(), "preprocess", "--run", "r1"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert f"generation job {job.id} is still writing {out}" in result.stderr
    finally:
        for live in generation_jobs(ctx.jobs):
            ctx.jobs.stop(live.id, grace=1)
        server.close()


def test_curation_asks_before_replacing_the_training_file(ctx: Context) -> None:
    path = small_run(ctx)
    out = path.parent / "train.jsonl"
    out.write_text('{"instruction": "kept", "response": "until asked"}\n')
    os.utime(out, (1, 1))  # older: the screen still opens the generated file first
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        await wait_opened(pilot, screen, path)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("enter")  # the form, as it comes
        await pilot.pause()
        assert "train.jsonl exists" in screen_text(pilot.app)
        await pilot.press("enter")  # No has the focus
        await pilot.pause()
        assert ctx.jobs.list_jobs() == []
        assert out.read_text() == '{"instruction": "kept", "response": "until asked"}\n'
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("enter", "y")
        await wait_until(pilot, lambda: "curated: kept" in screen.job_text, "the job", 60)
        assert "until asked" not in out.read_text()

    drive(app, scenario, size=(100, 30))


def test_the_curate_form_names_the_output_and_the_deviations(ctx: Context) -> None:
    path = small_run(ctx)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_data_screen(pilot)
        await wait_opened(pilot, screen, path)
        await pilot.press("p")
        await pilot.pause()
        form = pilot.app.screen
        out = form.query_one("#curate-out", Input)
        assert out.value == "train.jsonl"
        out.value = "../escape.jsonl"
        await pilot.press("enter")
        await pilot.pause()
        assert "without folders" in screen_text(pilot.app)  # refused, the form stays
        out.value = "train-ngram.jsonl"
        form.query_one("#curate-method", Select).value = "ngram"
        form.query_one("#curate-copied", Checkbox).value = True
        form.query_one("#curate-out", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "curated: kept" in screen.job_text, "the job", 60)
        [job] = ctx.jobs.list_jobs()
        command = job.status.command
        assert command[command.index("--out") + 1] == str(path.parent / "train-ngram.jsonl")
        assert "--decontaminate-method" in command and "--drop-copied-solutions" in command
        assert "--dedupe" not in command  # the recipe's, so not said
        assert (path.parent / "train-ngram.jsonl").is_file()

    drive(app, scenario, size=(100, 30))
