"""New training: the form behind Train's `n`.

It asks what `magitui train` asks (data, base model, output, accelerate config and the
recipe's fields, empty meaning the recipe's or the config's value), checks the launch
exactly as `magitui train --dry-run` does — the effective settings, the job's command and
every preflight finding — and starts the job only when nothing blocks it. Relative paths
are resolved against the run (or the workspace) and shown resolved. Starting where a
trained model or checkpoints already are asks first.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from magitui.screens.base import MagituiScreen
from magitui.widgets.choice import choice
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.jobs.manager import JobInfo
from magitui_core.training.recipe import MAGICODER, effective_lines
from magitui_core.training.settings import PACKINGS, PRECISIONS, SAMPLINGS
from magitui_core.workspace import WorkspaceError

NOT_CHECKED = (
    "Not checked yet: fill in the form and press ctrl+l. Empty fields take the Magicoder "
    "recipe's value (shown dimmed) or the accelerate config's."
)
DATA_NAME = "train.jsonl"  # what curation writes into a run's data/
OUT_NAME = "checkpoints"  # the run's training output folder

# (field, label, placeholder) — paths first, full width.
PATH_FIELDS = (
    ("run", "Run", "run name — empty: paths under the workspace"),
    ("data", "Data", "formatted JSONL (relative: in the run's data/)"),
    ("base_model", "Base model", "hub id (org/name) or model folder"),
    ("out", "Output", "folder (relative: in the run)"),
    ("accelerate_config", "Accel. config", "from Setup — empty: no config"),
)
# (field, label, placeholder, CLI flag, type) — the recipe's numbers; empty: the default.
NUMBER_FIELDS = (
    ("global_batch", "Global batch", f"{MAGICODER.global_batch}", "--global-batch", int),
    ("per_device_batch", "Per-device", f"{MAGICODER.per_device_batch}", "--per-device-batch", int),
    ("grad_accum", "Grad accum", "derived", "--grad-accum", int),
    ("num_processes", "Processes", "1 or config's", "--num-processes", int),
    ("epochs", "Epochs", f"{MAGICODER.epochs:g}", "--epochs", float),
    ("learning_rate", "Learning rate", f"{MAGICODER.learning_rate:g}", "--learning-rate", float),
    ("warmup_steps", "Warm-up steps", f"{MAGICODER.warmup_steps}", "--warmup-steps", int),
    ("max_seq_len", "Max seq len", f"{MAGICODER.max_len}", "--max-seq-len", int),
    ("max_steps", "Max steps", "-1: epochs", "--max-steps", int),
    ("save_steps", "Save steps", "500", "--save-steps", int),
)
# (field, label, choices, CLI flag) — the first choice is the default.
CHOICE_FIELDS = (
    ("precision", "Precision", PRECISIONS, "--precision"),
    ("packing", "Packing", PACKINGS, "--packing"),
    ("sampling", "Sampling", SAMPLINGS, "--sampling"),
    ("gradient_checkpointing", "Grad. checkpt", ("off", "on"), "--gradient-checkpointing"),
)
TEXT_FIELDS = (("optim", "Optimizer", MAGICODER.optimizer, "--optim"),)

FLAG_LABELS = {
    "--accelerate-config": "Accel. config",
    "--base-model": "Base model",
    "--data": "Data",
    "--out": "Output",
    "--optim": "Optimizer",
    "--max-grad-norm": "clipping",
    **{flag: label for _, label, _, flag, _ in NUMBER_FIELDS},
    **{flag: label for _, label, _, flag in CHOICE_FIELDS},
}
_PREPROCESS = re.compile(r"(`)?magitui preprocess\b[^`\n;]*(`)?")


def in_app_words(message: str) -> str:
    """A launch message in this form's terms: field labels for flags, the Data screen for
    the curation command."""
    message = _PREPROCESS.sub("Data screen › p (curate)", message)
    message = message.replace("drop --", "clear --")
    for flag, label in sorted(FLAG_LABELS.items(), key=lambda item: -len(item[0])):
        message = message.replace(flag, label)
    return message


@dataclass
class FormRequest:
    """What the form asks for, as a launch request plus what only the app needs."""

    request: Any  # LaunchRequest: imported in the worker, so opening the form stays instant
    run: str | None
    shell: list[str]  # the same launch from a shell


class NewTrainingScreen(MagituiScreen):
    TITLE_TEXT = "Train › New training"
    AUTO_FOCUS = "#field-base_model"
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+l", "check", "Check"),
        Binding("ctrl+r", "start", "Start"),
    ]

    DEFAULT_CSS = """
    NewTrainingScreen #paths {
        height: auto;
        padding: 0 1;
    }
    NewTrainingScreen .form-row {
        height: 1;
    }
    NewTrainingScreen .form-row Label {
        width: 14;
        color: $foreground 70%;
    }
    NewTrainingScreen Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
    }
    NewTrainingScreen Input:focus {
        border: none;
        background: $primary 25%;
    }
    NewTrainingScreen Select {
        padding-left: 1;
    }
    NewTrainingScreen #recipe-fields {
        grid-size: 4;
        grid-columns: 14 1fr 14 1fr;
        grid-rows: 1;
        grid-gutter: 0 1;
        height: auto;
        padding: 0 1;
    }
    NewTrainingScreen #recipe-fields Label {
        color: $foreground 70%;
    }
    NewTrainingScreen #form-buttons {
        height: 1;
        margin: 1 0 0 1;
    }
    NewTrainingScreen #form-buttons Button {
        margin-right: 2;
    }
    NewTrainingScreen #plan-panel {
        height: 1fr;
    }
    NewTrainingScreen #plan-result {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, on_started: Callable[[JobInfo], None]) -> None:
        super().__init__(id="new-training")
        self._on_started = on_started
        self._starting = False

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        defaults = self._defaults()
        with TabbedContent(initial="form-tab"):
            with TabPane("Form", id="form-tab"), VerticalScroll(can_focus=False):
                with Vertical(id="paths", classes="panel"):
                    for key, label, placeholder in PATH_FIELDS:
                        with Horizontal(classes="form-row"):
                            yield Label(label)
                            yield Input(
                                defaults.get(key, ""), placeholder=placeholder, id=f"field-{key}"
                            )
                with Grid(id="recipe-fields", classes="panel"):
                    for key, label, placeholder, _, _ in NUMBER_FIELDS:
                        yield Label(label)
                        yield Input(placeholder=placeholder, id=f"field-{key}")
                    for key, label, placeholder, _ in TEXT_FIELDS:
                        yield Label(label)
                        yield Input(placeholder=placeholder, id=f"field-{key}")
                    for key, label, choices, _ in CHOICE_FIELDS:
                        yield Label(label)
                        yield choice(choices, id=f"field-{key}")
                with Horizontal(id="form-buttons"):
                    yield Button("Check (ctrl+l)", id="check", compact=True)
                    yield Button("Start (ctrl+r)", id="start", variant="primary", compact=True)
            # Focusable, so the arrow keys and page keys scroll a long list of findings.
            with TabPane("Launch", id="launch-tab"), VerticalScroll(id="plan-panel"):
                yield Static(NOT_CHECKED, id="plan-result")

    def on_mount(self) -> None:
        self.query_one("#paths").border_title = "What to train"
        self.query_one("#recipe-fields").border_title = "Recipe (empty: the recipe's value)"
        hub = self._hub_cache()
        runs_dir = self.ctx.workspace.runs_dir
        self.run_worker(
            lambda: _model_choices(hub, runs_dir),
            name="list cached models",
            group="models",
            thread=True,
            exit_on_error=False,
        )

    def _hub_cache(self) -> Path:
        from magitui_core.cache.catalog import CacheLocations

        return CacheLocations.from_env().hub

    def _defaults(self) -> dict[str, str]:
        """The newest run, its curated data and checkpoints folder, the accelerate config
        Setup wrote for it (else the workspace's) and the newest training's base model."""
        from magitui_core.training.accelerate_config import ACCELERATE_FILE

        workspace = self.ctx.workspace
        runs = workspace.list_runs()
        run = max(runs, key=lambda r: r.created_at) if runs else None
        base = run.path if run is not None else workspace.root
        configs = [base / ACCELERATE_FILE, workspace.root / "accelerate" / ACCELERATE_FILE]
        config = next((c for c in configs if c.is_file()), None)
        # The base model of the newest training: the usual next step is the same model again.
        from magitui_core.jobs.status import command_value

        trainings = [job for job in self.ctx.jobs.list_jobs() if job.status.kind == "train"]
        model = command_value(trainings[0].status.command, "--base-model") if trainings else None
        return {
            "run": run.name if run is not None else "",
            "base_model": model or "",
            "data": DATA_NAME,
            "out": OUT_NAME,
            "accelerate_config": str(config) if config is not None else "",
        }

    # ---- reading the form ------------------------------------------------------------------
    def _field(self, key: str) -> str:
        return self.query_one(f"#field-{key}", Input).value.strip()

    def _choice(self, key: str) -> str:
        return str(self.query_one(f"#field-{key}", Select).value)

    def _form_request(self) -> FormRequest:
        """The launch the form describes; ValueError/WorkspaceError name the field to fix."""
        workspace = self.ctx.workspace
        run = self._field("run") or None
        if run is not None:
            base = workspace.run_path(run)  # refuses a bad name
            if not base.is_dir():
                known = ", ".join(r.name for r in workspace.list_runs()) or "none yet"
                raise WorkspaceError(
                    f"Run {run!r} does not exist (runs: {known}) — create it on Home (n), or "
                    "clear Run to give paths under the workspace"
                )
        else:
            base = workspace.root

        def path(key: str, label: str, under: Path) -> Path | None:
            text = self._field(key)
            if not text:
                return None
            value = Path(text).expanduser()
            return value if value.is_absolute() else under / value

        data = path("data", "Data", base / "data")  # where curation writes, run or not
        model = self._field("base_model")
        out = path("out", "Output", base)
        if data is None:
            raise ValueError("Data is empty — give the formatted file (e.g. train.jsonl)")
        if not model:
            raise ValueError("Base model is empty — give a hub id (org/name) or a model folder")
        if out is None:
            raise ValueError("Output is empty — give the folder the model is written to")
        # A model folder given relative to the workspace is resolved too; a hub id is kept.
        from magitui_core.model_source import looks_like_path

        if looks_like_path(model) and not Path(model).expanduser().is_absolute():
            model = str(workspace.root / model)
        config = path("accelerate_config", "Accel. config", base)

        values: dict[str, Any] = {}
        shell = ["magitui", "train", "--data", str(data), "--base-model", model, "--out", str(out)]
        if run:
            shell += ["--run", run]
        if config is not None:
            values["accelerate_config"] = config
            shell += ["--accelerate-config", str(config)]
        for key, label, _, flag, kind in NUMBER_FIELDS:
            text = self._field(key)
            if not text:
                continue
            try:
                values[key] = kind(text)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise ValueError(f"{label} {text!r} — give {what}, or clear it") from None
            shell += [flag, text]
        for key, _, _, flag in TEXT_FIELDS:
            if text := self._field(key):
                values[key] = text
                shell += [flag, text]
        for key, _, choices, flag in CHOICE_FIELDS:
            picked = self._choice(key)
            if key == "gradient_checkpointing":
                values[key] = picked == "on"
                shell += [flag] if picked == "on" else []
            elif picked != choices[0]:
                values[key] = picked
                shell += [flag, picked]
        if "precision" not in values:
            values["precision"] = None  # auto: the config's, else bf16 where the GPUs have it
        from magitui_core.training.launch import LaunchRequest

        request = LaunchRequest(data=[data], base_model=model, out=out, **values)
        return FormRequest(request, run, shell)

    # ---- actions ---------------------------------------------------------------------------
    def action_close(self) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active == "launch-tab":  # back to the form first; Esc again leaves
            tabs.active = "form-tab"
            self.query_one("#field-base_model", Input).focus()
            return
        self.dismiss()

    def action_check(self) -> None:
        self._plan(start=False)

    def action_start(self) -> None:
        self._plan(start=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "check":
            self.action_check()
        elif event.button.id == "start":
            self.action_start()

    def _plan(self, start: bool) -> None:
        if self._starting:
            return
        try:
            form = self._form_request()
        except (ValueError, WorkspaceError) as exc:
            self._show(Content.from_markup("[b $error]✗[/] $m", m=str(exc)))
            self.notify(str(exc), title="Cannot check", severity="error", timeout=8)
            return
        self._show(Content.from_markup("[$text-muted]Checking the launch…[/]"))

        def work() -> tuple[FormRequest, Any, str | None, list[str]]:
            from magitui_core.training.launch import LaunchError
            from magitui_core.training.plan import plan_launch, trained_output

            try:
                plan = plan_launch(form.request)
            except LaunchError as exc:
                return form, None, str(exc), []
            return form, plan, None, trained_output(plan.resolved.settings.out)

        self.run_worker(
            work,
            name="check the launch",
            group="start" if start else "check",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.state is not WorkerState.SUCCESS:
            return
        group = event.worker.group
        if group == "models":
            choices = cast("list[str]", event.worker.result)
            field = self.query_one("#field-base_model", Input)
            field.suggester = SuggestFromList(choices, case_sensitive=False)
            if choices:
                shown = ", ".join(choices[:4]) + (
                    f" (+{len(choices) - 4})" if len(choices) > 4 else ""
                )
                field.tooltip = f"Cached or trained here: {shown}"
                self.query_one("#paths").border_subtitle = f"{len(choices)} model(s) here"
        elif group in ("check", "start"):
            form, plan, error, existing = cast("tuple[Any, Any, Any, Any]", event.worker.result)
            self._show_plan(form, plan, error)
            if group == "start" and plan is not None and error is None:
                self._confirm_start(form, plan, existing)
        elif group == "launch":
            self._starting = False
            job = cast(JobInfo, event.worker.result)
            self.dismiss()
            self._on_started(job)

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "launch":
            self._starting = False
            from magitui_core.training.launch import LaunchError

            if isinstance(worker.error, LaunchError):
                message = in_app_words(str(worker.error))
                self._show(Content.from_markup("[b $error]✗ Not started:[/] $m", m=message))
                self.notify(message, title="Cannot start", severity="error", timeout=10)
                return
        super().worker_failed(worker)

    def _confirm_start(self, form: FormRequest, plan: Any, existing: list[str]) -> None:
        if plan.errors:
            self.notify(
                f"{plan.errors} problem(s) block this launch — see the list below the form.",
                title="Not started",
                severity="error",
                timeout=8,
            )
            return
        if not existing:
            self._launch(form, plan)
            return
        out = plan.resolved.settings.out
        question = Content.from_markup(
            "[b]$out[/] already holds $what from an earlier training. A new training writes "
            "over them. Start anyway?",
            out=str(out),
            what=" and ".join(existing),
        )
        self.app.push_screen(
            ConfirmScreen("Output already used", question, "Start"),
            lambda yes: self._launch(form, plan) if yes else None,
        )

    def _launch(self, form: FormRequest, plan: Any) -> None:
        from magitui_core.training.plan import start_training

        self._starting = True
        jobs = self.ctx.jobs
        self.run_worker(
            lambda: start_training(jobs, plan, run=form.run),
            name="start the training",
            group="launch",
            thread=True,
            exit_on_error=False,
        )

    # ---- showing the plan ------------------------------------------------------------------
    def _show(self, content: Content) -> None:
        self.query_one("#plan-result", Static).update(content)
        self.query_one(TabbedContent).active = "launch-tab"
        panel = self.query_one("#plan-panel", VerticalScroll)
        panel.scroll_home(animate=False)
        panel.focus()

    def _show_plan(self, form: FormRequest, plan: Any, error: str | None) -> None:
        if error is not None or plan is None:
            self._show(
                Content.from_markup(
                    "[b $error]✗ Not launchable:[/] $m", m=in_app_words(error or "unknown")
                )
            )
            return
        lines: list[Content] = []
        if plan.errors:
            lines.append(
                Content.from_markup(
                    "[b $error]✗ Not launchable: $n problem(s) to fix first[/]", n=str(plan.errors)
                )
            )
        else:
            lines.append(
                Content.from_markup("[b $success]✓ Launchable[/] — Start (ctrl+r) runs it")
            )
        for finding in plan.findings:
            colour = "$error" if finding.level == "error" else "$warning"
            lines.append(
                Content.from_markup(
                    f"[b {colour}]$level[/] $m",
                    level=finding.level,
                    m=in_app_words(finding.message),
                )
            )
            lines.append(Content.from_markup("  [$text-muted]→ $f[/]", f=in_app_words(finding.fix)))
        for note in plan.notes:
            lines.append(Content.from_markup("[$text-muted]note: $n[/]", n=in_app_words(note)))
        lines.append(Content(""))
        lines += [Content(line) for line in effective_lines(plan.resolved.effective)]
        settings = plan.resolved.settings
        lines.append(Content(""))
        lines.append(Content.from_markup("[b]Data[/]   $d", d=", ".join(map(str, settings.data))))
        lines.append(Content.from_markup("[b]Output[/] $o", o=str(settings.out)))
        lines.append(Content.from_markup("[b]Job command[/] $c", c=shlex.join(plan.command)))
        lines.append(Content.from_markup("[b]From a shell[/] $c", c=shlex.join(form.shell)))
        self._show(Content("\n").join(lines))


def _model_choices(hub: Path, runs_dir: Path) -> list[str]:
    from magitui_core.training.base_models import base_model_choices

    return base_model_choices(hub, runs_dir)
