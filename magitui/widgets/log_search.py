"""A followed log with search: `/` opens a search line that finds as you type; Enter hands
the keys back to the log, where Enter / n / N step through the matches (the current one
highlighted, "3/17" beside the query) and Escape closes the search; `f` toggles following
the end. Searching pauses following, so the match stays put while lines arrive;
closing the search puts following back as it was.

Matches are plain, case-insensitive substrings, looked up in the lines the Log holds (the tail
it keeps, up to its max_lines), and kept up to date as lines arrive or are pruned.
"""

from __future__ import annotations

from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widgets import Input, Label, Log


class _MatchHighlighter(Highlighter):
    """Styles every match in the line being rendered; the current one differently."""

    def __init__(self, log: MatchLog) -> None:
        self.log = log

    def highlight(self, text: Text) -> None:
        log = self.log
        if not log.needle:
            return
        plain, needle, size = text.plain.casefold(), log.needle.casefold(), len(log.needle)
        current = log.current_match
        start, occurrence = plain.find(needle), 0
        while start >= 0:
            is_current = current == (log.rendering_line, occurrence)
            text.stylize(log.match_style(is_current), start, start + size)
            start, occurrence = plain.find(needle, start + size), occurrence + 1


class MatchLog(Log):
    """A Log that highlights the matches of a search and can scroll to each in turn."""

    COMPONENT_CLASSES = {"match-log--match", "match-log--current"}
    DEFAULT_CSS = """
    MatchLog > .match-log--match {
        background: $warning 35%;
    }
    MatchLog > .match-log--current {
        background: $accent;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, *, max_lines: int | None = None, id: str | None = None) -> None:
        # highlight=True makes Log pass each rendered line through self.highlighter.
        super().__init__(highlight=True, max_lines=max_lines, id=id)
        self.highlighter = _MatchHighlighter(self)
        self.needle = ""
        self.matches: list[tuple[int, int]] = []  # (line, occurrence within the line)
        self.current = -1
        self.rendering_line = -1
        self._anchor = 0

    @property
    def current_match(self) -> tuple[int, int] | None:
        return self.matches[self.current] if 0 <= self.current < len(self.matches) else None

    def match_style(self, current: bool) -> Any:
        return self.get_component_rich_style(
            "match-log--current" if current else "match-log--match"
        )

    def render_line(self, y: int) -> Strip:
        # The highlighter sees only the text; tell it which line it is.
        self.rendering_line = self.scroll_offset.y + y
        return super().render_line(y)

    # ---- searching -------------------------------------------------------------------------
    def search(self, query: str) -> None:
        """Find ``query``. The current match is the first at or below the top of the view as
        it was when the search began (searching forward from where the reader is), else the
        nearest above it."""
        if not self.needle:
            self._anchor = self.scroll_offset.y  # typing on must not creep down the log
        self.needle = query
        self._find()
        # Nothing below: the nearest above (for a reader following the end, the newest).
        self.current = next(
            (i for i, (line, _) in enumerate(self.matches) if line >= self._anchor),
            len(self.matches) - 1,
        )
        self._show_current()

    def on_resize(self) -> None:
        # Sideways scrolling is for reaching a match; a resize puts the log back at column 0.
        if not self.needle:
            self.scroll_to(x=0, animate=False, immediate=True)

    def step(self, by: int) -> None:
        """Move to the next (1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        self.current = (self.current + by) % len(self.matches)
        self._show_current()

    def _find(self) -> None:
        needle = self.needle.casefold()
        self.matches = []
        if needle:
            for number, line in enumerate(self.lines):
                count = line.casefold().count(needle)
                self.matches.extend((number, k) for k in range(count))
        self._render_line_cache.clear()
        self.refresh()

    def _show_current(self) -> None:
        match = self.current_match
        if match is None:
            self.refresh()
            return
        line, occurrence = match
        column = _nth_find(self.lines[line].casefold(), self.needle.casefold(), occurrence)
        width, height = self.scrollable_content_region.size
        x = self.scroll_offset.x
        if not x <= column <= x + width - len(self.needle):
            x = max(0, column - width // 3)
        self.scroll_to(x=x, y=max(0, line - height // 2), animate=False, immediate=True)
        self.refresh()

    # ---- keeping matches right as lines arrive ---------------------------------------------
    def write_lines(self, lines: Any, scroll_end: bool | None = None) -> MatchLog:
        if not self.needle:
            super().write_lines(lines, scroll_end)
            return self
        lines = list(lines)
        added = sum(len(line.splitlines()) for line in lines)
        before, current = self.line_count, self.current_match
        super().write_lines(lines, scroll_end)
        pruned = before + added - self.line_count  # max_lines dropped these from the top
        self._find()
        if current is not None:
            moved = (current[0] - pruned, current[1])
            self.current = self.matches.index(moved) if moved in self.matches else 0
            if pruned:
                self._show_current()  # the same match sits higher now
        else:
            self.current = 0 if self.matches else -1
        return self

    def clear(self) -> MatchLog:
        super().clear()
        self.matches, self.current = [], -1
        return self


def _nth_find(text: str, needle: str, n: int) -> int:
    start = text.find(needle)
    for _ in range(n):
        start = text.find(needle, start + len(needle))
    return max(start, 0)


class SearchableLog(Vertical):
    """A MatchLog with its search line; the line also says when following is paused."""

    HELP_TITLE = "Log"  # the help's heading for these keys

    DEFAULT_CSS = """
    SearchableLog {
        height: 1fr;
    }
    SearchableLog > MatchLog {
        height: 1fr;
        /* Log scrolls both ways always; a sideways bar only when a line is too long. */
        overflow-x: auto;
    }
    SearchableLog > .log-search-bar {
        height: 1;
        display: none;
        background: $panel;
    }
    SearchableLog.-searching > .log-search-bar, SearchableLog.-paused > .log-search-bar {
        display: block;
    }
    SearchableLog .log-search-input {
        display: none;
        width: 1fr;
    }
    SearchableLog.-searching .log-search-input {
        display: block;
    }
    SearchableLog .log-search-count {
        width: auto;
        padding: 0 1;
        color: $text-muted;
    }
    SearchableLog .log-follow-state {
        width: 1fr;
        padding: 0 1;
        color: $warning;
        text-align: right;
    }
    SearchableLog.-searching .log-follow-state {
        width: auto;
    }
    """
    BINDINGS = [
        Binding("slash", "start_search", "Search"),
        Binding("enter", "step_match(1)", "Next", show=False),
        Binding("n", "step_match(1)", "Next", show=False),
        Binding("N", "step_match(-1)", "Previous", show=False),
        Binding("f", "toggle_follow", "Follow"),
        Binding("escape", "close_search", "Close search"),
    ]

    def __init__(
        self, *, log_id: str | None = None, max_lines: int | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._log = MatchLog(max_lines=max_lines, id=log_id)
        self._follow_before_search = True

    def compose(self) -> ComposeResult:
        yield self._log
        with Horizontal(classes="log-search-bar"):
            yield Input(placeholder="search the log", classes="log-search-input", compact=True)
            yield Label("", classes="log-search-count")
            yield Label("", classes="log-follow-state")

    @property
    def match_log(self) -> MatchLog:
        # Not ``log``: that name is Textual's logger on every widget.
        return self._log

    @property
    def searching(self) -> bool:
        return self.has_class("-searching")

    @property
    def following(self) -> bool:
        return self._log.auto_scroll

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_search":
            return self.searching  # otherwise Escape goes on to the screen (Back)
        if action == "step_match":
            return self.searching and bool(self._log.needle)
        return True

    # ---- actions ---------------------------------------------------------------------------
    def action_start_search(self) -> None:
        if not self.searching:
            self._follow_before_search = self._log.auto_scroll
            self._log.auto_scroll = False  # the match must not scroll away
            self.add_class("-searching")
        search_input = self.query_one(".log-search-input", Input)
        search_input.focus()
        self._show_state()

    def action_close_search(self) -> None:
        if not self.searching:
            return
        self.remove_class("-searching")
        self.query_one(".log-search-input", Input).value = ""
        self._log.search("")
        self._log.scroll_to(x=0, animate=False, immediate=True)  # never left scrolled sideways
        self._set_follow(self._follow_before_search)
        self._log.focus()

    def action_step_match(self, by: int) -> None:
        self._log.step(by)
        self._show_state()

    def action_toggle_follow(self) -> None:
        self._set_follow(not self._log.auto_scroll)

    def _set_follow(self, follow: bool) -> None:
        self._log.auto_scroll = follow
        if follow:
            self._log.scroll_end(animate=False, immediate=True, x_axis=False)
        self._show_state()

    # ---- the search line -------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._log.search(event.value)
        self._show_state()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # The incremental search has already jumped; Enter hands the keys to the log, where
        # Enter and n step forward and N back (as in less and vim).
        event.stop()
        self._log.focus()
        self._show_state()

    def refresh_count(self) -> None:
        """Call after writing lines, so the count follows new matches."""
        if self.searching:
            self._show_state()

    def _show_state(self) -> None:
        log = self._log
        count = ""
        if self.searching and log.needle:
            total = len(log.matches)
            count = f"{log.current + 1}/{total}" if total else "no match"
        self.query_one(".log-search-count", Label).update(count)
        paused = not log.auto_scroll and not self.searching
        self.set_class(paused, "-paused")
        state = "follow paused · f follows" if paused else ""
        if self.searching:
            state = "Enter/n next · N prev · Esc"
        self.query_one(".log-follow-state", Label).update(state)
        self.refresh_bindings()  # the footer shows Close search only while searching
