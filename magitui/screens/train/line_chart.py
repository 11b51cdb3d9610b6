"""A titled sparkline of a series: first, last and lowest value above, the curve below.

Textual's Sparkline buckets any number of points into the width it has and takes its colours
from the theme, so a 10 000-step curve costs no more than a 10-step one.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static


class LineChart(Vertical):
    DEFAULT_CLASSES = "line-chart"

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_title = title
        self._shown: tuple[int, float | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"{self.chart_title}: no data yet", classes="chart-title")
        yield Sparkline([], summary_function=max)

    def set_data(self, ys: list[float]) -> None:
        key = (len(ys), ys[-1] if ys else None)
        if key == self._shown:
            return  # nothing new: no repaint
        self._shown = key
        title = self.query_one(".chart-title", Static)
        if not ys:
            title.update(f"{self.chart_title}: no data yet")
        else:
            title.update(f"{self.chart_title}  {_num(ys[0])} → {_num(ys[-1])}  min {_num(min(ys))}")
        sparkline = self.query_one(Sparkline)
        # One point draws a solid block that reads as a curve: wait for a second one.
        sparkline.display = len(ys) >= 2
        sparkline.data = list(ys)


def _num(value: float) -> str:
    return f"{value:.2e}" if value and (abs(value) < 1e-2 or abs(value) >= 1e4) else f"{value:.4g}"
