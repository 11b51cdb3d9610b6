"""Border titles set from polled snapshots.

Textual repaints a widget, and so everything drawn inside it, on every assignment to its
border title or subtitle, even of the same text. A panel retitled on each poll would then
redraw its whole table every second while nothing changed: the largest part of an idle
screen's CPU. These setters assign only what differs.
"""

from __future__ import annotations

from textual.widget import Widget


def set_border_title(widget: Widget, title: str) -> None:
    if widget.border_title != title:
        widget.border_title = title


def set_border_subtitle(widget: Widget, subtitle: str) -> None:
    if widget.border_subtitle != subtitle:
        widget.border_subtitle = subtitle
