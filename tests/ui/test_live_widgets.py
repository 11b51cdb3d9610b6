"""Widgets fed from polls repaint what changed and nothing else: an idle screen whose only
change is a ticking duration must not redraw whole tables and relayout the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from magitui.widgets.border_text import set_border_title
from magitui.widgets.footer import KeyFooter
from magitui.widgets.keyed_table import Column, KeyedTable
from magitui.widgets.live_static import LiveStatic
from tests.ui.pilot_helpers import screen_text


class Jobs(KeyedTable):
    COLUMNS = (Column("id", "ID"), Column("took", "Duration"))

    def __init__(self) -> None:
        super().__init__(id="jobs")
        self.painted: list[int] = []

    def render_line(self, y: int) -> Strip:
        self.painted.append(y)
        return super().render_line(y)


class Probe(App[None]):
    CSS = "#panel { border: round white; height: auto; max-height: 8; }"

    def compose(self) -> ComposeResult:
        with Vertical(id="panel"):
            yield Jobs()
        yield LiveStatic(id="figures")
        yield Static("below", id="below")


def rows(durations: dict[str, str]) -> list[tuple[str, dict[str, Text]]]:
    return [(key, {"id": Text(key), "took": Text(took)}) for key, took in durations.items()]


def run(scenario: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Probe().run_test(size=(60, 16)) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


def test_a_cell_that_fits_repaints_its_row_only() -> None:
    async def scenario(pilot: Any) -> None:
        table = pilot.app.query_one(Jobs)
        table.apply_rows(rows({"alpha": "10s", "beta": "3s", "gamma": "1m 02s"}))
        await pilot.pause()
        assert "beta" in screen_text(pilot.app)
        table.painted.clear()
        assert table.apply_rows(rows({"alpha": "10s", "beta": "4s", "gamma": "1m 02s"}))
        await pilot.pause()
        assert table.painted and set(table.painted) == {2}  # the header is line 0
        text = screen_text(pilot.app)
        assert "beta" in text and "4s" in text and "3s" not in text
        # Nothing changed: nothing repainted.
        table.painted.clear()
        assert not table.apply_rows(rows({"alpha": "10s", "beta": "4s", "gamma": "1m 02s"}))
        await pilot.pause()
        assert table.painted == []
        # Wider than its column: the column grows and the whole text shows.
        assert table.apply_rows(rows({"alpha": "10s", "beta": "4s", "gamma": "2h 03m 11s"}))
        await pilot.pause()
        assert "2h 03m 11s" in screen_text(pilot.app)
        # The cursor follows its row through a reorder.
        table.move_cursor(row=1)
        table.apply_rows(rows({"gamma": "2h", "beta": "5s", "alpha": "11s"}))
        await pilot.pause()
        assert table.selected_key == "beta" and table.cursor_row == 1

    run(scenario)


def layout_requests(widget: Any) -> list[bool]:
    """Record each refresh of ``widget`` and whether it asked for layout."""
    seen: list[bool] = []
    original = widget.refresh

    def refresh(*regions: Any, **kwargs: Any) -> Any:
        seen.append(bool(kwargs.get("layout")))
        return original(*regions, **kwargs)

    widget.refresh = refresh
    return seen


def test_live_static_repaints_on_change_and_relayouts_only_on_a_new_height() -> None:
    async def scenario(pilot: Any) -> None:
        figures = pilot.app.query_one(LiveStatic)
        seen = layout_requests(figures)

        def show(content: Content) -> list[bool]:
            """The refreshes one show_content makes: [] when none, True where layout."""
            before = len(seen)
            figures.show_content(content)
            return seen[before:]

        assert True in show(Content.from_markup("CPU [b]12%[/]\nRAM 1.0GiB"))
        await pilot.pause()
        assert "CPU 12%" in screen_text(pilot.app)
        assert show(Content.from_markup("CPU [b]12%[/]\nRAM 1.0GiB")) == []  # same: no work
        restyled = show(Content.from_markup("CPU [i]12%[/]\nRAM 1.0GiB"))
        assert restyled and True not in restyled  # a style changed: repainted in place
        changed = show(Content.from_markup("CPU [i]97%[/]\nRAM 11.0GiB"))
        await pilot.pause()
        assert changed and True not in changed and "CPU 97%" in screen_text(pilot.app)
        assert True in show(Content("CPU 97%\nRAM 11.0GiB\nswap none"))  # one line more
        await pilot.pause()
        assert "swap none" in screen_text(pilot.app)
        long = "x" * (figures.content_size.width + 5)
        assert True in show(Content(f"CPU 97%\nRAM 11.0GiB\n{long}"))  # a line that wraps
        # Shown another way, then the earlier text again: shown, not skipped.
        figures.update("stalled")
        assert show(Content(f"CPU 97%\nRAM 11.0GiB\n{long}"))
        await pilot.pause()
        assert "stalled" not in screen_text(pilot.app)

    run(scenario)


def test_a_border_title_set_to_what_it_is_does_not_repaint() -> None:
    async def scenario(pilot: Any) -> None:
        panel = pilot.app.query_one("#panel")
        seen = layout_requests(panel)
        set_border_title(panel, "Jobs · 3")
        assert seen
        first = len(seen)
        set_border_title(panel, "Jobs · 3")
        assert len(seen) == first
        set_border_title(panel, "Jobs · 3 · 1 live")
        await pilot.pause()
        assert len(seen) > first and "Jobs · 3 · 1 live" in screen_text(pilot.app)

    run(scenario)


class Switchable(App[None]):
    BINDINGS = [("x", "act", "Act")]
    armed = False

    def compose(self) -> ComposeResult:
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            return True if self.armed else None  # None: shown dimmed
        return True


def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    async def main() -> None:
        app = Switchable()
        async with app.run_test(size=(60, 8)) as pilot:
            await pilot.pause()
            footer = app.query_one(KeyFooter)
            rebuilds: list[int] = []
            original = footer.recompose

            async def recompose() -> None:
                rebuilds.append(1)
                await original()

            footer.recompose = recompose  # type: ignore[method-assign]
            for _ in range(3):  # focus moves, polls: refreshes that change nothing
                app.screen.refresh_bindings()
                await pilot.pause()
            assert rebuilds == []

            def act_key() -> FooterKey:
                return next(k for k in footer.query(FooterKey) if k.key == "x")

            assert act_key().has_class("-disabled")
            app.armed = True
            app.screen.refresh_bindings()
            await pilot.pause()
            await pilot.pause()
            assert rebuilds == [1]
            assert not act_key().has_class("-disabled")  # the new state is shown

    asyncio.run(main())


def test_rows_painted_before_they_are_measured_are_repainted_at_their_widths() -> None:
    """DataTable measures new rows when idle; a frame painted before that (a busy machine)
    must not stay on screen with the columns at their headers' widths."""

    async def scenario(pilot: Any) -> None:
        table = pilot.app.query_one(Jobs)
        table.apply_rows(rows({"a": "1s"}))
        await pilot.pause()
        table.apply_rows(rows({"python3-5f2c1a": "0s", "a": "1s"}))  # a new order: rebuilt
        for y in range(3):  # painted now, before the table has measured the new row
            table.render_line(y)
        await pilot.pause()
        await pilot.pause()
        assert "python3-5f2c1a" in screen_text(pilot.app)

    run(scenario)


class Keyed(Screen[None]):
    BINDINGS = [("x", "act", "Act")]

    def compose(self) -> ComposeResult:
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            return True if getattr(self.app, "armed", False) else None
        return True


class TwoScreens(App[None]):
    MODES = {"a": Keyed, "b": Keyed}
    armed = False

    def on_mount(self) -> None:
        self.switch_mode("a")


def test_keys_changed_while_a_screen_was_hidden_show_when_it_returns() -> None:
    async def main() -> None:
        app = TwoScreens()
        async with app.run_test(size=(60, 8)) as pilot:
            await pilot.pause()
            first = app.screen

            def act_key(screen: Screen[None]) -> FooterKey:
                footer = screen.query_one(KeyFooter)
                return next(k for k in footer.query(FooterKey) if k.key == "x")

            assert act_key(first).has_class("-disabled")
            await app.switch_mode("b")
            await pilot.pause()
            app.armed = True
            first.refresh_bindings()  # its state changed while hidden
            await pilot.pause()
            await app.switch_mode("a")
            await pilot.pause()
            await pilot.pause()
            assert not act_key(first).has_class("-disabled")

    asyncio.run(main())
