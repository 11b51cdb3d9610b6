"""A titled sparkline of a series with axes: first, last and lowest value above, the curve
with its highest and lowest value on the left, its first and last step below.

Textual's Sparkline buckets any number of points into the width it has and takes its colours
from the theme, so a 10 000-step curve costs no more than a 10-step one.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

AXIS_WIDTH = 11  # "-1.23e-05", a space and the axis line


class LineChart(Vertical):
    DEFAULT_CLASSES = "line-chart"

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_title = title
        self._shown: tuple[int, float | None] | None = None
        self._ys: list[float] = []
        self._steps: list[int] = []

    DEFAULT_CSS = f"""
    LineChart .chart-body {{
        height: 1fr;
    }}
    LineChart .y-axis {{
        width: {AXIS_WIDTH};
        height: 100%;
        border-right: solid $foreground 30%;
        color: $text-muted;
        text-align: right;
        padding-right: 1;
    }}
    LineChart .x-axis {{
        height: 1;
        color: $text-muted;
        padding-left: {AXIS_WIDTH};
    }}
    LineChart .x-axis Static {{
        width: 1fr;
    }}
    LineChart .x-axis .x-last {{
        text-align: right;
    }}
    """

    def compose(self) -> ComposeResult:
        yield Static(f"{self.chart_title}: no data yet", classes="chart-title")
        with Horizontal(classes="chart-body"):
            yield Static("", classes="y-axis")
            yield Sparkline([], summary_function=max)
        with Horizontal(classes="x-axis"):
            yield Static("", classes="x-first")
            yield Static("", classes="x-last")

    def on_resize(self) -> None:
        self._shown = None  # the axis labels sit at the top and bottom of the new height
        self.set_data(self._ys, self._steps)

    def set_data(self, ys: list[float], steps: list[int] | None = None) -> None:
        self._ys, self._steps = ys, steps or []
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
        drawn = len(ys) >= 2
        sparkline.display = drawn
        sparkline.data = list(ys)
        y_axis = self.query_one(".y-axis", Static)
        x_first = self.query_one(".x-first", Static)
        x_last = self.query_one(".x-last", Static)
        if not drawn:
            for axis in (y_axis, x_first, x_last):
                axis.update("")
            return
        rows = max(1, self.query_one(".chart-body").size.height)
        gap = "\n" * max(0, rows - 2)
        y_axis.update(f"{_num(max(ys))}\n{gap}{_num(min(ys))}" if rows > 1 else _num(max(ys)))
        if self._steps:
            x_first.update(f"step {self._steps[0]}")
            x_last.update(str(self._steps[-1]))


def _num(value: float) -> str:
    return f"{value:.2e}" if value and (abs(value) < 1e-2 or abs(value) >= 1e4) else f"{value:.4g}"
