"""Setup step 5: where the config goes (a run's folder or any folder), the preflight findings
for a training launch with these answers, and the write itself.

Errors are shown, not enforced here: writing a config is always allowed; `magitui train`
runs the same preflight and refuses to launch on an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from magitui.screens.setup.toggle import YesNo
from magitui_core.training.memory_advisor import OPTIMIZERS as ADVISED_OPTIMIZERS
from magitui_core.training.preflight import Finding
from magitui_core.training.recipe import MAGICODER

OTHER = "::folder::"
# The memory advisor's optimizers, by HF Trainer's --optim names; the recipe's is marked.
OPTIMIZERS = tuple(
    (spec.label + (" (the recipe)" if spec.hf_optim == MAGICODER.optimizer else ""), spec.hf_optim)
    for key, spec in ADVISED_OPTIMIZERS.items()
)


@dataclass(frozen=True)
class ReviewInputs:
    target: Path | None
    data: Path | None
    per_device_batch: int
    optim: str
    also_default: bool
    problem: str = ""  # the first bad input, named


class ReviewStep(Vertical):
    class TargetChanged(Message):
        def __init__(self, target: Path | None) -> None:
            super().__init__()
            self.target = target

    class CheckRequested(Message):
        pass

    class WriteRequested(Message):
        pass

    def __init__(
        self,
        runs: dict[str, Path],
        initial: str,
        workspace: Path | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._runs = runs
        self._initial = initial
        # Relative paths mean "in the workspace", as everywhere in the app, not wherever the
        # app happened to be started.
        self._workspace = workspace or Path.cwd()

    def compose(self) -> ComposeResult:
        options = [(f"run {name}", name) for name in self._runs]
        options.append(("another folder…", OTHER))
        with VerticalScroll(id="review-scroll"):
            with Horizontal(classes="setup-row"):
                yield Label("Write into", classes="setup-label")
                yield Select(
                    options,
                    value=self._initial,
                    allow_blank=False,
                    id="review-target",
                    compact=True,
                )
            with Horizontal(classes="setup-row", id="review-folder-row"):
                yield Label("Folder", classes="setup-label")
                yield Input(id="review-folder", compact=True, placeholder="/path/to/folder")
            with Horizontal(classes="setup-row"):
                yield Label("Training data", classes="setup-label")
                yield Input(
                    id="review-data", compact=True, placeholder="train.jsonl (for the batch check)"
                )
            with Horizontal(classes="setup-row"):
                yield Label("Per-GPU batch", classes="setup-label")
                yield Input(str(MAGICODER.per_device_batch), id="review-batch", compact=True)
            with Horizontal(classes="setup-row"):
                yield Label("Optimizer", classes="setup-label")
                yield Select(
                    OPTIMIZERS,
                    value=MAGICODER.optimizer,
                    allow_blank=False,
                    id="review-optim",
                    compact=True,
                )
            with Horizontal(classes="setup-row"):
                yield Label("Default config", classes="setup-label")
                yield YesNo(False, id="review-default")
            yield Static(
                Content.from_markup(
                    "[$text-muted]yes: also write HF_HOME/accelerate/default_config.yaml, so a "
                    "plain [b]accelerate launch[/b] (without --config_file) uses these answers.[/]"
                ),
                id="review-default-help",
            )
            with Horizontal(classes="setup-buttons"):
                yield Button("Check", id="review-check", compact=True)
                yield Button("Write", id="review-write", compact=True, variant="primary")
            yield Static("", id="review-findings")
            yield Static("", id="review-result")

    def on_mount(self) -> None:
        self.query_one("#review-folder-row").display = self._initial == OTHER

    def target(self) -> Path | None:
        choice = self.query_one("#review-target", Select).value
        if choice == OTHER:
            return self._resolve(self.query_one("#review-folder", Input).value)
        return self._runs.get(str(choice))

    def _resolve(self, text: str) -> Path | None:
        text = text.strip()
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else (self._workspace / path).absolute()

    @on(Input.Blurred, "#review-folder, #review-data")
    def _show_resolved(self, event: Input.Blurred) -> None:
        """A relative path is shown as the absolute one it means once the field is left."""
        resolved = self._resolve(event.value)
        if resolved is not None and str(resolved) != event.value.strip():
            event.input.value = str(resolved)

    def inputs(self) -> ReviewInputs:
        data_text = self.query_one("#review-data", Input).value.strip()
        batch_text = self.query_one("#review-batch", Input).value.strip()
        problem = ""
        try:
            batch = int(batch_text)
            if batch < 1:
                raise ValueError
        except ValueError:
            batch = MAGICODER.per_device_batch
            problem = f"per-GPU batch = {batch_text!r} — enter a whole number ≥ 1, e.g. {batch}"
        data = self._resolve(data_text)
        if data is not None and not data.is_file():
            problem = (
                problem
                or f"training data = '{data}' — no such file; give a JSONL file or leave empty"
            )
            data = None
        target = self.target()
        if target is None:
            problem = problem or "folder is empty — enter where to write the config"
        return ReviewInputs(
            target=target,
            data=data,
            per_device_batch=batch,
            optim=str(self.query_one("#review-optim", Select).value),
            also_default=self.query_one("#review-default", Checkbox).value,
            problem=problem,
        )

    def set_optimizer(self, hf_optim: str) -> None:
        """Take the memory advisor's optimizer (checks run again when it changes)."""
        self.query_one("#review-optim", Select).value = hf_optim

    @on(Select.Changed, "#review-target")
    @on(Input.Changed, "#review-folder")
    def _target_changed(self) -> None:
        self.query_one("#review-folder-row").display = (
            self.query_one("#review-target", Select).value == OTHER
        )
        self.post_message(self.TargetChanged(self.target()))

    @on(Button.Pressed, "#review-check")
    @on(Input.Submitted, "#review-data, #review-batch")
    @on(Select.Changed, "#review-optim")
    def _check(self) -> None:
        self.post_message(self.CheckRequested())

    @on(Button.Pressed, "#review-write")
    def _write(self) -> None:
        self.post_message(self.WriteRequested())

    def show_findings(self, findings: list[Finding], note: str = "") -> None:
        lines: list[Content] = []
        for finding in findings:
            colour, mark = (
                ("$error", "✗ error") if finding.level == "error" else ("$warning", "⚠ warning")
            )
            lines.append(
                Content.from_markup(f"[b {colour}]$mark[/] $m", mark=mark, m=finding.message)
            )
            lines.append(Content.from_markup("  [$text-muted]fix:[/] $f", f=finding.fix))
        if not findings:
            lines.append(Content.from_markup("[$success]✓ Preflight: no problems found[/]"))
        elif any(finding.level == "error" for finding in findings):
            lines.append(
                Content.from_markup(
                    "[$text-muted]Writing is allowed; magitui train refuses to launch until "
                    "the errors are fixed.[/]"
                )
            )
        if note:
            lines.append(Content.from_markup("[$text-muted]$n[/]", n=note))
        self.query_one("#review-findings", Static).update(Content("\n").join(lines))

    def show_checking(self) -> None:
        self.query_one("#review-findings", Static).update(
            Content.from_markup("[$primary]Running preflight checks…[/]")
        )

    def show_result(self, text: str, error: bool = False) -> None:
        markup = "[$error]$t[/]" if error else "[$success]$t[/]"
        self.query_one("#review-result", Static).update(Content.from_markup(markup, t=text))
