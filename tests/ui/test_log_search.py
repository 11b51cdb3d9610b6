"""The searchable log of the Job detail screen (the same widget as the Train screen's)."""

from __future__ import annotations

from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.home.screen import HomeScreen
from magitui.screens.job_detail import JobDetailScreen
from magitui.widgets.log_search import MatchLog
from magitui_core.context import Context


def test_job_detail_log_search_and_escape(ctx: Context) -> None:
    script = "for i in range(60): print(f'row {i}' + (' ERROR here' if i % 20 == 7 else ''))"
    job = ctx.jobs.start(["python3", "-c", script])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        log = app.screen.query_one("#job-log", MatchLog)
        await wait_until(pilot, lambda: log.line_count >= 60, "the output")
        await pilot.press("slash", *"error")
        await settle(pilot)
        # Matches on lines 7, 27 and 47; the view was following the end: the newest first.
        assert "3/3" in screen_text(app) and "row 47 ERROR here" in screen_text(app)
        await pilot.press("enter", "n")  # Enter: to the log; n: onwards, wrapping to the top
        await settle(pilot)
        assert "1/3" in screen_text(app) and "row 7 ERROR here" in screen_text(app)
        assert log.current_match == (7, 0)
        await pilot.press("escape")  # closes the search only
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        assert log.needle == "" and "1/3" not in screen_text(app)
        assert "row 59" in screen_text(app)  # following again, at the end
        await pilot.press("escape")  # now Back, as before
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

    drive(app, scenario)


def test_no_match_says_so(ctx: Context) -> None:
    job = ctx.jobs.start(["python3", "-c", "print('only this')"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#job-log", MatchLog)
        await wait_until(pilot, lambda: log.line_count >= 1, "the output")
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        assert "no match" in screen_text(app)
        await pilot.press("enter", "n", "N")  # nothing to step to: no error, nothing moves
        await settle(pilot)
        assert log.current_match is None and "no match" in screen_text(app)

    drive(app, scenario)


def test_search_starts_where_the_reader_is_and_esc_scrolls_back_left(ctx: Context) -> None:
    script = (
        "for i in range(80): print(f'row {i}' + (' ' * 150 + 'needle far right' "
        "if i % 20 == 7 else ''))"
    )
    job = ctx.jobs.start(["python3", "-c", script])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#job-log", MatchLog)
        await wait_until(pilot, lambda: log.line_count >= 80, "the output")
        log.focus()
        await pilot.press("f")  # stop following, then read from row 20 on
        log.scroll_to(y=20, animate=False, immediate=True)
        await settle(pilot)
        await pilot.press("slash", *"needle")
        await settle(pilot)
        # Matches on rows 7, 27, 47, 67: the first below where the reader was is 27.
        assert log.current_match == (27, 0)
        assert "2/4" in screen_text(app)
        assert log.scroll_offset.x > 0  # scrolled sideways to show the match
        await pilot.press("enter", "escape")
        await settle(pilot)
        assert log.scroll_offset.x == 0 and log.needle == ""

    drive(app, scenario)
