"""Summary of a data file: counts by status and reason, and a token-length histogram."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from magitui.formatting import counted
from magitui_core.curation.data_rows import DataRow, TokenStats, token_stats


def histogram(lengths: Sequence[int], limit: int, width: int, height: int) -> Text:
    """A plotext bar chart of token lengths; bins past the training limit get a second colour."""
    import plotext as plt  # only when the stats are opened

    bins = max(10, min(60, width // 2 - 6))
    low, high = min(lengths), max(lengths)
    step = max(1.0, (high - low) / bins)
    counts = [0] * bins
    for length in lengths:
        counts[min(bins - 1, int((length - low) / step))] += 1
    centres = [low + step * (i + 0.5) for i in range(bins)]
    figure = plt.figure
    figure.clear()
    plt.terminal.limit(False, False)  # size from plot_size, not from the real terminal
    figure.plot_size(width, height)
    figure.theme("clear")
    for keep in (True, False):
        part = [(c, n) for c, n in zip(centres, counts, strict=True) if (c <= limit) == keep]
        if part:
            figure.draw(figure.bar([c for c, _ in part], [n for _, n in part], width=0.8))
    figure.title(f"rows by training tokens · past {limit} in the second colour")
    return Text.from_ansi(figure.build().string())


def summary_text(
    rows: Sequence[DataRow],
    stats: TokenStats,
    bad_lines: int,
    counted_by: str = "estimated: characters / 3.5",
) -> Text:
    text = Text()
    text.append("Rows ", style="bold").append(f"{len(rows):,}")
    text.append(f"   bad lines skipped {bad_lines:,}\n")
    for status, count in Counter(row.status for row in rows).most_common():
        text.append(f"  {status:<10}", style="bold").append(f"{count:>9,}\n")
    for reason, count in Counter(row.reason for row in rows if row.reason).most_common():
        text.append(f"    {reason:<32}").append(f"{count:>9,}\n")
    text.append("Tokens ", style="bold")
    text.append(
        f"min {stats.minimum:,} · median {stats.median:,.0f} · p95 {stats.p95:,} · "
        f"max {stats.maximum:,} ({counted_by})\n"
    )
    over_style = "bold red" if stats.over_limit else "bold green"
    text.append(
        f"{counted(stats.over_limit, 'row')} "
        f"{'exceeds' if stats.over_limit == 1 else 'exceed'} max_training_seq_length {stats.limit}",
        style=over_style,
    )
    if stats.over_limit:
        text.append(" — training truncates " + ("it" if stats.over_limit == 1 else "them"))
    return text


class DataStatsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,a", "close", "Close")]

    def __init__(
        self,
        title: str,
        rows: Sequence[DataRow],
        limit: int,
        bad_lines: int,
        counted_by: str = "estimated: characters / 3.5",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title, self.rows, self.limit, self.bad_lines = title, rows, limit, bad_lines
        self.counted_by = counted_by

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog data-stats-dialog") as dialog:
            dialog.border_title = self._title
            dialog.border_subtitle = "Esc close"
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(id="data-stats-summary")
                yield Static(id="data-stats-histogram")

    def on_mount(self) -> None:
        stats = token_stats(self.rows, self.limit)
        self.query_one("#data-stats-summary", Static).update(
            summary_text(self.rows, stats, self.bad_lines, self.counted_by)
        )
        if self.rows:
            width = max(40, min(self.app.size.width - 8, 110))
            height = max(10, min(self.app.size.height - 16, 20))
            chart = histogram([row.tokens for row in self.rows], self.limit, width, height)
            self.query_one("#data-stats-histogram", Static).update(chart)

    def action_close(self) -> None:
        self.dismiss(None)
