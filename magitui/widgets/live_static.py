"""A Static fed from a snapshot on every poll.

``Static.update`` repaints the widget and lays the whole screen out again, even when the
text is what it already showed. A panel of figures refreshed every second mostly shows
the same text (no GPU, the same disks, a load that has not moved), and when it changes,
its height seldom does. This one repaints only on a change, and asks for layout only when
its height may change: another line count, or a change in a line long enough to wrap.
It is meant for widgets whose width is set by their container, not by their text.
"""

from __future__ import annotations

from textual.content import Content, Span
from textual.visual import VisualType
from textual.widgets import Static


def _shape(content: Content, width: int) -> tuple[int, int, tuple[int, ...]]:
    """What the widget's height depends on, for a widget as wide as its container: the
    number of lines, and the length of each line long enough to wrap."""
    lengths = [Content(line).cell_length for line in content.plain.split("\n")]
    return width, len(lengths), tuple(n if n > width else 0 for n in lengths)


class LiveStatic(Static):
    _shown: tuple[str, list[Span]] | None = None
    _shown_shape: tuple[int, int, tuple[int, ...]] | None = None

    def show_content(self, content: Content) -> None:
        # Content's own == compares the plain text only; a colour change must repaint too.
        key = (content.plain, list(content.spans))
        if key == self._shown:
            return
        shape = _shape(content, self.content_size.width)
        super().update(content, layout=shape != self._shown_shape)
        self._shown, self._shown_shape = key, shape

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Anything shown another way is not what ``show_content`` last showed."""
        self._shown = self._shown_shape = None
        super().update(content, layout=layout)
