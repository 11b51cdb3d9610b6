"""Data › p: the output name and the curation options, before a curation job starts.

Every field starts at Magicoder's recipe; a changed one is a named deviation (the output and
the report say so), exactly as `magitui preprocess`'s options are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from magitui.widgets.choice import choice

DEDUPES = ("exact", "minhash", "none")
METHODS = ("substring", "ngram")


@dataclass(frozen=True)
class CurateChoice:
    out: Path
    args: list[str] = field(default_factory=list)  # preprocess options beyond the recipe's


def curate_args(dedupe: str, method: str, benchmarks: str, drop_copied: bool) -> list[str]:
    """The preprocess options for these answers: none for the recipe's own."""
    args: list[str] = []
    if dedupe != DEDUPES[0]:
        args += ["--dedupe", dedupe]
    if benchmarks and benchmarks != "all":
        args += ["--decontaminate", benchmarks]
    if method != METHODS[0]:
        args += ["--decontaminate-method", method]
    if drop_copied:
        args.append("--drop-copied-solutions")
    return args


class CurateScreen(ModalScreen["CurateChoice | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    CurateScreen .dialog {
        width: 72;
    }
    CurateScreen .form-row {
        height: 1;
        margin-bottom: 1;
    }
    CurateScreen .form-row Label {
        width: 18;
        color: $foreground 70%;
    }
    CurateScreen .form-row Input, CurateScreen .form-row Select {
        width: 1fr;
    }
    CurateScreen .form-row Input:focus, CurateScreen .form-row Checkbox:focus,
    CurateScreen .form-row Select:focus > SelectCurrent {
        background: $primary 25%;
    }
    CurateScreen #curate-problem {
        color: $error;
        height: auto;
    }
    """

    def __init__(self, source: Path, out: Path) -> None:
        super().__init__(classes="dialog-screen")
        self._source = source
        self._out = out

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = f"Curate {self._source.name}"
            dialog.border_subtitle = "Enter curate · Esc cancel"
            yield Static(
                "Magicoder's recipe unless you change a field (a change is a deviation, named "
                "in the output and the report).",
                classes="dialog-message",
            )
            with Horizontal(classes="form-row"):
                yield Label("Output")
                yield Input(self._out.name, id="curate-out", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Dedupe")
                yield choice(DEDUPES, id="curate-dedupe")
            with Horizontal(classes="form-row"):
                yield Label("Decontaminate")
                yield Input("all", id="curate-benchmarks", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Method")
                yield choice(METHODS, id="curate-method")
            with Horizontal(classes="form-row"):
                yield Label("Copied solutions")
                yield Checkbox("drop them", False, compact=True, id="curate-copied")
            yield Static("", id="curate-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Curate", id="curate", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#curate-out", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "curate":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        name = self.query_one("#curate-out", Input).value.strip()
        problem = ""
        out = self._source.parent / name if name and "/" not in name else None
        if not name:
            problem = "Output is empty — give a file name, e.g. train.jsonl"
        elif out is None:
            problem = f"Output {name!r} — a file name in {self._source.parent}, without folders"
        elif not name.endswith(".jsonl"):
            problem = f"Output {name!r} — a .jsonl name, e.g. train.jsonl"
        elif out == self._source:
            problem = f"Output {name!r} is the file being curated — choose another name"
        if problem or out is None:
            self.query_one("#curate-problem", Static).update(problem)
            return
        benchmarks = self.query_one("#curate-benchmarks", Input).value.strip() or "all"
        args = curate_args(
            str(self.query_one("#curate-dedupe", Select).value),
            str(self.query_one("#curate-method", Select).value),
            benchmarks,
            self.query_one("#curate-copied", Checkbox).value,
        )
        self.dismiss(CurateChoice(out, args))
