"""The chat's scrolling log, which stays as fast at the hundredth turn as at the first.

Textual lays out every widget of a screen each time one changes size, and a streamed answer
changes size with every line: each finished exchange (about 20 widgets, most of them the
blocks of its markdown) made every frame of the next answer slower, 40 turns adding some 20 ms
to each. So exchanges that lie well above the view are folded: hidden (``display: none``,
which layout skips), with one spacer as tall as they were in their place. Nothing on screen
moves, the scrollbar keeps its size, and scrolling up unfolds them before they come into view
(a fold always stays ``UNFOLD_WITHIN`` screens above what is shown). For the same reason the
log's focus restyles the log alone, not every widget in it.
"""

from __future__ import annotations

import itertools

from textual.containers import VerticalScroll
from textual.events import Resize
from textual.widget import Widget

# What can be folded: exchanges and the error lines between them (not the hint, nor the spare
# exchange, which is hidden until its turn).
FOLDABLE = ("chat-exchange", "chat-error")
FOLD_ABOVE = 3  # screens: a widget ending this far above the view is folded
UNFOLD_WITHIN = 2  # screens: the fold is opened where it reaches this close to the view


class ChatLog(VerticalScroll):
    DEFAULT_CSS = """
    ChatLog > .chat-fold {
        height: 0;
        margin: 0;
        padding: 0;
    }
    """

    def __init__(self, *children: Widget, id: str | None = None) -> None:
        super().__init__(*children, id=id)
        self._spacer = Widget(classes="chat-fold")
        # The folded widgets, top first, each with the rows it took (its margins included).
        self._folded: list[tuple[Widget, int]] = []
        self._folded_rows = 0
        self._width = 0
        self._fold_pending = False

    def on_mount(self) -> None:
        self.mount(self._spacer, before=0)

    def watch_has_focus(self, _has_focus: bool) -> None:
        # Textual restyles a widget that gains or loses focus together with every widget in
        # it, for rules such as `ChatLog:focus Markdown`. None exists, and in a long chat that
        # was thousands of widgets each time Escape or Enter moved the focus (0.45 s at 40
        # turns). The log's own look (and its scrollbar's) is all that its focus changes.
        self.app.stylesheet.update_nodes([self], animate=True)

    @property
    def folded(self) -> list[Widget]:
        """The widgets folded away, top first."""
        return [widget for widget, _ in self._folded]

    # ---- when to look again --------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Opened at once, in the frame that scrolls toward them; folding waits for the layout.
        self._unfold_near(new_value)
        self._schedule_fold()

    def watch_virtual_size(self) -> None:
        # The log grew (an answer streaming, turns mounted): while it follows the end, Textual
        # moves the view without calling watch_scroll_y, so growth is a reason of its own.
        self._schedule_fold()

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            # Wrapping changes with the width, and with it every folded height: open them all,
            # let the layout measure them, fold again.
            self._width = event.size.width
            self.unfold_all()
        self._schedule_fold()

    def _schedule_fold(self) -> None:
        if not self._fold_pending:
            self._fold_pending = True
            self.call_after_refresh(self._fold_far)

    # ---- folding -------------------------------------------------------------------------
    def unfold_all(self) -> None:
        """Show every folded widget again (before removing them, or when widths change)."""
        while self._folded:
            self._open_last()
        self._set_spacer()

    def forget_folds(self) -> None:
        """The log's exchanges were removed: nothing stays folded."""
        self._folded.clear()
        self._folded_rows = 0
        self._set_spacer()

    def _unfold_near(self, scroll_y: float) -> None:
        reach = scroll_y - UNFOLD_WITHIN * self._view_rows()
        opened = False
        while self._folded and self._folded_rows > reach:
            self._open_last()
            opened = True
        if opened:
            self._set_spacer()

    def _fold_far(self) -> None:
        self._fold_pending = False
        if not self.is_mounted or not self._spacer.is_mounted:
            return
        limit = self.scroll_y - FOLD_ABOVE * self._view_rows()
        shown = [child for child in self.children if child.display and child is not self._spacer]
        if not shown:
            return
        # Where each shown widget sits, worked out from the sizes the last layout gave them
        # (a widget's region would ask the compositor for a map of every widget): the spacer
        # has no margins, and of two touching margins the layout keeps the larger.
        top = self._folded_rows + shown[0].styles.margin.top
        folded_now = False
        # Never the last one shown: its place is what the ones before it are measured by.
        for widget, after in itertools.pairwise(shown):
            height = widget.outer_size.height
            if not any(widget.has_class(name) for name in FOLDABLE):
                break  # the fold covers the top of the log only, in one piece
            if not height or top + height >= limit:
                break  # not laid out yet, or not far enough above the view
            gap = max(widget.styles.margin.bottom, after.styles.margin.top)
            next_top = top + height + gap
            # The spacer stands for the rows down to where the next widget's margin starts.
            rows = next_top - after.styles.margin.top - (top - widget.styles.margin.top)
            widget.display = False
            self._folded.append((widget, rows))
            self._folded_rows += rows
            top = next_top
            folded_now = True
        if folded_now:
            self._set_spacer()

    def _open_last(self) -> None:
        widget, rows = self._folded.pop()
        self._folded_rows -= rows
        if widget.is_attached:
            widget.display = True

    def _set_spacer(self) -> None:
        self._spacer.styles.height = self._folded_rows
        self._spacer.display = self._folded_rows > 0

    def _view_rows(self) -> int:
        return max(self.scrollable_content_region.height, 1)
