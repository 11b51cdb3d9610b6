"""One record in full: the problem as markdown, the solution with highlighted code, the seed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from magitui_core.curation.data_rows import DataRow

# Seed languages as the original names them, mapped to Pygments lexers.
LEXERS = {"cpp": "cpp", "csharp": "csharp", "shell": "bash", "typescript": "typescript"}


def seed_syntax(row: DataRow) -> Syntax | Content:
    seed = row.record.seed if row.record is not None else str(row.raw.get("seed") or "")
    if not seed:
        return Content.from_markup("[$text-muted]no seed snippet in this record[/]")
    lang = row.raw.get("lang")
    if isinstance(lang, str) and lang:
        lexer = LEXERS.get(lang, lang)
    else:
        # Generated records name their seed's file; its extension picks the lexer.
        origin = row.raw.get("seed_source")
        lexer = Syntax.guess_lexer(origin if isinstance(origin, str) else "seed.py", seed)
    return Syntax(seed, lexer, theme="ansi_dark", word_wrap=True)


def heading(row: DataRow, number: int) -> Content:
    status = row.status + (f": {row.reason}" if row.reason else "")
    detail = f" ({row.detail})" if row.detail else ""
    return Content.from_markup(
        "[b]#$number[/] $source · [b]$status[/]$detail · ~$tokens tokens",
        number=str(number),
        source=Path(row.source).name,
        status=status,
        detail=detail,
        tokens=f"{row.tokens:,}",
    )


class RecordScreen(ModalScreen[None]):
    """Shows ``rows[order[position]]``; n/p step through the filtered rows."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("n", "step(1)", "Next"),
        Binding("p", "step(-1)", "Previous"),
    ]

    def __init__(self, rows: Sequence[DataRow], order: list[int], position: int) -> None:
        super().__init__(classes="dialog-screen record-screen")
        self.rows, self.order, self.position = rows, order, position

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog record-dialog") as dialog:
            dialog.border_subtitle = "n next · p previous · Esc close"
            yield Static(id="record-heading")
            with Horizontal(id="record-body"):
                with VerticalScroll(id="record-text"):
                    yield Static("Problem", classes="record-label")
                    yield Markdown(id="record-problem")
                    yield Static("Solution", classes="record-label")
                    yield Markdown(id="record-solution")
                with VerticalScroll(id="record-seed-pane"):
                    yield Static("Seed", classes="record-label")
                    yield Static(id="record-seed")

    def on_mount(self) -> None:
        self._show()

    @property
    def row(self) -> DataRow:
        return self.rows[self.order[self.position]]

    def _show(self) -> None:
        row = self.row
        self.query_one(
            ".record-dialog"
        ).border_title = f"Record {self.position + 1:,} of {len(self.order):,}"
        self.query_one("#record-heading", Static).update(
            heading(row, self.order[self.position] + 1)
        )
        if row.record is not None:
            problem, solution = row.record.problem, row.record.solution
        else:  # a generator reject: only its raw answer exists
            problem = "*rejected by the generator — raw answer:*"
            solution = "```\n" + str(row.raw.get("raw") or row.raw.get("text") or row.raw) + "\n```"
        self.query_one("#record-problem", Markdown).update(problem)
        self.query_one("#record-solution", Markdown).update(solution)
        self.query_one("#record-seed", Static).update(seed_syntax(row))
        self.query_one("#record-text", VerticalScroll).scroll_home(animate=False)

    def action_step(self, delta: int) -> None:
        position = max(0, min(len(self.order) - 1, self.position + delta))
        if position != self.position:
            self.position = position
            self._show()

    def action_close(self) -> None:
        self.dismiss(None)
