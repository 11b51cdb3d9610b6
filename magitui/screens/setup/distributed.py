"""Setup step 3: every `accelerate config` question for fine-tuning as one form, checked
with AccelerateSettings on each change, with the YAML and JSON it would write beside it.

A bad answer marks its control and is named (field, value, fix) on a problems line docked at
the bottom of the step, so it stays in view however far the form scrolls; the other answers
stay as typed, and the preview keeps the last answers that were valid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from magitui.screens.setup.toggle import YesNo
from magitui_core.training.accelerate_config import MULTINODE_LAUNCHERS, AccelerateSettings, render
from magitui_core.training.recipe import recipe_accumulation

OFFLOAD = [("none", "none"), ("CPU RAM", "cpu"), ("NVMe disk", "nvme")]
LAUNCHER_NOTES = {
    "pdsh": "pdsh (from here over SSH)",
    "standard": "standard (run on each machine)",
    "nossh": "nossh (no SSH, each machine)",
}
LAUNCHERS = tuple((LAUNCHER_NOTES.get(name, name), name) for name in MULTINODE_LAUNCHERS)


@dataclass(frozen=True)
class Field:
    name: str  # the AccelerateSettings field
    label: str
    kind: str  # "int", "float?", "text?", "path?", "bool", "select"
    help: str
    options: tuple[tuple[str, Any], ...] = ()
    shown_when: str = ""  # "multi", "multi_ds", "ds", "nvme", "zero3": hidden (kept) otherwise


FIELDS: tuple[Field, ...] = (
    Field("num_machines", "Machines", "int", "1: this machine only; more: multi-node training."),
    Field(
        "machine_rank",
        "This machine's rank",
        "int",
        "0 on the main machine, 1, 2… on the others.",
        shown_when="multi",
    ),
    Field(
        "main_process_ip",
        "Main machine IP",
        "text?",
        "IP address of the rank-0 machine, e.g. 10.0.0.2.",
        shown_when="multi",
    ),
    Field(
        "main_process_port",
        "Main machine port",
        "int",
        "A free TCP port on the main machine (1024–65535).",
        shown_when="multi",
    ),
    Field(
        "same_network",
        "Same local network",
        "bool",
        "Untick when the machines talk over the internet.",
        shown_when="multi",
    ),
    Field(
        "rdzv_backend",
        "Rendezvous backend",
        "select",
        "static: fixed ranks (usual); c10d: elastic.",
        (("static", "static"), ("c10d", "c10d")),
        shown_when="multi",
    ),
    Field(
        "multinode_launcher",
        "Multi-node launcher",
        "select",
        "How DeepSpeed starts the other machines: standard = this command run on each one; "
        "pdsh/MPI start them from here (passwordless SSH).",
        LAUNCHERS,
        shown_when="multi_ds",
    ),
    Field(
        "gpus", "GPUs to use here", "int", "GPUs on this machine, one process each (0: CPU only)."
    ),
    Field(
        "mixed_precision",
        "Mixed precision",
        "select",
        "bf16 needs compute capability 8.0+ (A100, H100…); else fp16.",
        (("bf16", "bf16"), ("fp16", "fp16"), ("no (fp32)", "no")),
    ),
    Field(
        "use_deepspeed",
        "DeepSpeed",
        "bool",
        "Shards training memory across GPUs; needed for big models.",
    ),
    Field(
        "zero_stage",
        "ZeRO stage",
        "select",
        "2 shards optimizer+gradients; 3 also the weights (least GPU memory).",
        tuple((str(s), s) for s in range(4)),
        shown_when="ds",
    ),
    Field(
        "offload_optimizer",
        "Offload optimizer to",
        "select",
        "Optimizer states in CPU RAM or on NVMe: less GPU memory, slower.",
        tuple(OFFLOAD),
        shown_when="ds",
    ),
    Field(
        "offload_params",
        "Offload parameters to",
        "select",
        "Weights off the GPU between uses (ZeRO-3 only).",
        tuple(OFFLOAD),
        shown_when="ds",
    ),
    Field(
        "nvme_path",
        "NVMe folder",
        "path?",
        "A folder on a fast local disk for NVMe offload.",
        shown_when="nvme",
    ),
    Field("grad_accum", "Gradient accumulation", "int", "Micro-batches summed per optimizer step."),
    Field(
        "grad_clip",
        "Gradient clipping",
        "float?",
        "Max gradient norm; empty: no clipping (the recipe's).",
    ),
    Field(
        "zero3_save_16bit",
        "ZeRO-3: save 16-bit model",
        "bool",
        "Keep on: without it ZeRO-3 saves no usable model.",
        shown_when="zero3",
    ),
    Field(
        "zero3_init",
        "ZeRO-3: init sharded",
        "bool",
        "Build the model already sharded (zero3_init_flag).",
        shown_when="zero3",
    ),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
# Validator messages that do not start with a field's name, mapped to the field they are about.
MESSAGE_FIELDS = (
    ("offloading parameters", "offload_params"),
    ("offloading the optimizer", "offload_optimizer"),
    ("NVMe offload", "nvme_path"),
)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str  # "name = value — fix", or the validator's sentence

    @property
    def line(self) -> str:
        """The message as the form words it: by the question's label."""
        field = FIELDS_BY_NAME.get(self.field)
        if field is None:
            return self.message
        return f"{field.label}: {self.message.removeprefix(f'{self.field} = ')}"


def control_id(name: str) -> str:
    return f"ans-{name.replace('_', '-')}"


def parse_answers(raw: dict[str, Any]) -> tuple[AccelerateSettings | None, list[Problem]]:
    """Typed answers from the controls' raw values; every problem named, none fatal."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in raw.items():
        kind = FIELDS_BY_NAME[name].kind
        if kind in ("int", "float?", "text?", "path?"):
            text = str(value).strip()
            if kind.endswith("?") and not text:
                values[name] = None
                continue
            if kind == "int":
                try:
                    values[name] = int(text)
                except ValueError:
                    problems.append(
                        Problem(name, f"{name} = {text!r} — enter a whole number, e.g. 2")
                    )
                continue
            if kind == "float?":
                try:
                    values[name] = float(text)
                except ValueError:
                    problems.append(
                        Problem(
                            name, f"{name} = {text!r} — enter a number, e.g. 1.0, or leave empty"
                        )
                    )
                continue
            values[name] = Path(text).expanduser() if kind == "path?" else text
        else:
            values[name] = value
    nvme = values.get("nvme_path")
    if isinstance(nvme, Path) and "nvme" in (
        values.get("offload_optimizer"),
        values.get("offload_params"),
    ):
        if not nvme.is_dir():
            problems.append(
                Problem(
                    "nvme_path",
                    f"nvme_path = '{nvme}' — no such folder; create it or choose another",
                )
            )
        elif not os.access(nvme, os.W_OK):
            problems.append(
                Problem(
                    "nvme_path", f"nvme_path = '{nvme}' — not writable; choose a folder you own"
                )
            )
    if problems:
        return None, problems
    try:
        return AccelerateSettings(**values), []
    except ValidationError as exc:
        return None, [_problem(err) for err in exc.errors()]


def _problem(err: Any) -> Problem:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["loc"]:
        name = str(err["loc"][0])
        bounds = _bounds(name)
        if err["type"] in ("greater_than_equal", "less_than_equal") and len(bounds) == 2:
            low, high = bounds
            return Problem(name, f"{name} = {err.get('input')!r} — out of range, use {low}–{high}")
        shown = message.removeprefix("Input should be ")
        prefix = "must be " if shown != message else ""
        return Problem(name, f"{name} = {err.get('input')!r} — {prefix}{shown}")
    field = next((n for n in FIELDS_BY_NAME if message.startswith(n)), None)
    if field is None:
        field = next((f for start, f in MESSAGE_FIELDS if message.startswith(start)), "")
    return Problem(field, message)


def _bounds(name: str) -> tuple[object, ...]:
    """A field's (ge, le) when it has both, e.g. the port's (1024, 65535)."""
    field = AccelerateSettings.model_fields.get(name)
    metadata = field.metadata if field is not None else []
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    return (low, high) if low is not None and high is not None else ()


class DistributedStep(Vertical):
    """The form, its problems and the live preview of the files."""

    DEFAULT_CSS = """
    DistributedStep #dist-problem-line {
        dock: bottom;
        height: auto;
        max-height: 6;  /* every problem, a line each; a long NVMe path wraps */
        padding: 0 1;
        background: $surface;
    }
    """

    class AnswersChanged(Message):
        def __init__(self, settings: AccelerateSettings | None) -> None:
            super().__init__()
            self.settings = settings

    def __init__(self, out_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.out_dir = out_dir
        self.settings: AccelerateSettings | None = AccelerateSettings()
        self.problems: list[Problem] = []
        self.machine_gpus: int | None = None  # this machine's, once read
        self.warnings: list[Problem] = []
        # The accumulation the recipe's global batch gives, while the answer still is that
        # (it then follows the GPU and machine counts); None once the user chose another.
        self._auto_accum: int | None = None

    def compose(self) -> ComposeResult:
        defaults = AccelerateSettings()
        with VerticalScroll(id="dist-scroll"):
            with Vertical(id="dist-form"):
                for field in FIELDS:
                    with Horizontal(classes="setup-row", id=f"row-{control_id(field.name)}"):
                        yield Label(field.label, classes="setup-label")
                        yield self._control(field, getattr(defaults, field.name))
            yield Static(
                Content.from_markup(
                    "[$text-muted]Tab moves between answers; each one's help shows here.[/]"
                ),
                id="dist-help",
            )
            with Container(id="dist-preview"):
                with Vertical(classes="preview-pane"):
                    yield Label("accelerate.yaml", classes="preview-title")
                    yield Static("", id="preview-yaml", classes="preview-text")
                with Vertical(classes="preview-pane"):
                    yield Label("deepspeed.json", classes="preview-title")
                    yield Static("", id="preview-json", classes="preview-text")
        yield Static("", id="dist-problem-line")

    def _control(self, field: Field, value: Any) -> Widget:
        cid = control_id(field.name)
        if field.kind == "bool":
            return YesNo(bool(value), id=cid, classes="setup-control")
        if field.kind == "select":
            return Select(
                field.options,
                value=value,
                allow_blank=False,
                id=cid,
                compact=True,
                classes="setup-control",
            )
        text = "" if value is None else str(value)
        return Input(text, id=cid, compact=True, classes="setup-control")

    def on_mount(self) -> None:
        self.refresh_answers()

    # ---- reading and writing the controls ----------------------------------------------------
    def raw_answers(self) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for field in FIELDS:
            control = self.query_one(f"#{control_id(field.name)}")
            if isinstance(control, (Input, Checkbox, Select)):
                raw[field.name] = control.value
        return raw

    def load(self, settings: AccelerateSettings) -> None:
        """Fill every control from ``settings`` (saved answers or the machine's defaults)."""
        recipe = recipe_accumulation(max(1, settings.gpus) * settings.num_machines)
        self._auto_accum = settings.grad_accum if settings.grad_accum == recipe else None
        for field in FIELDS:
            value = getattr(settings, field.name)
            control = self.query_one(f"#{control_id(field.name)}")
            if isinstance(control, Input):
                control.value = "" if value is None else str(value)
            elif isinstance(control, (Checkbox, Select)):
                control.value = value
        self.refresh_answers()

    def set_answers(self, **answers: Any) -> None:
        """Change some answers (e.g. the memory advisor's choice), keeping the rest."""
        for name, value in answers.items():
            control = self.query_one(f"#{control_id(name)}")
            if isinstance(control, Input):
                control.value = str(value)
            elif isinstance(control, (Checkbox, Select)):
                control.value = value
        self.refresh_answers()

    def set_out_dir(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.refresh_answers()

    # ---- validation and preview --------------------------------------------------------------
    @on(Input.Changed, ".setup-control")
    @on(Select.Changed, ".setup-control")
    @on(Checkbox.Changed, ".setup-control")
    def _changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        changed = event.control.id or ""
        if changed in (control_id("gpus"), control_id("num_machines")):
            self._follow_recipe_accumulation()
        elif changed == control_id("grad_accum"):
            accum = str(event.control.value).strip()
            if self._auto_accum is not None and accum != str(self._auto_accum):
                self._auto_accum = None  # the user's own choice: left alone from now on
        self.refresh_answers()

    def _follow_recipe_accumulation(self) -> None:
        raw = self.raw_answers()
        try:
            processes = max(1, int(str(raw["gpus"]).strip())) * int(str(raw["num_machines"]))
        except ValueError:
            return  # a count still being typed
        accum = recipe_accumulation(processes)
        if self._auto_accum is None or accum is None:
            return
        self._auto_accum = accum
        control = self.query_one(f"#{control_id('grad_accum')}", Input)
        with control.prevent(Input.Changed):
            control.value = str(accum)

    def refresh_answers(self) -> None:
        raw = self.raw_answers()
        settings, problems = parse_answers(raw)
        # Not a problem: the answers may plan for a bigger box (the memory figures follow
        # them), but flagged here, where the count is typed.
        self.warnings = machine_problems(settings, self.machine_gpus) if settings else []
        self.problems = problems
        bad = {problem.field for problem in [*problems, *self.warnings]}
        for field in FIELDS:
            self.query_one(f"#{control_id(field.name)}").set_class(field.name in bad, "-invalid")
        self._show_rows(raw, settings)
        self.query_one("#dist-problem-line", Static).update(problem_line(problems, self.warnings))
        if settings is not None:
            self.settings = settings
            yaml_text, json_text = render(settings, self.out_dir)
            self.query_one("#preview-yaml", Static).update(Content(yaml_text.rstrip()))
            self.query_one("#preview-json", Static).update(
                Content(
                    json_text.rstrip() if settings.use_deepspeed else "(DeepSpeed off: not written)"
                )
            )
        else:
            self.settings = None
        self.post_message(self.AnswersChanged(settings))

    def _show_rows(self, raw: dict[str, Any], settings: AccelerateSettings | None) -> None:
        try:
            multi = int(str(raw["num_machines"]).strip()) > 1
        except ValueError:
            multi = True  # show the multi-node questions while the count is being typed
        ds = bool(raw["use_deepspeed"])
        shown = {
            "": True,
            "multi": multi,
            "multi_ds": multi and ds,
            "ds": ds,
            "nvme": ds and "nvme" in (raw["offload_optimizer"], raw["offload_params"]),
            "zero3": ds and raw["zero_stage"] == 3,
        }
        for field in FIELDS:
            self.query_one(f"#row-{control_id(field.name)}").display = shown[field.shown_when]

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        cid = event.widget.id or ""
        field = next((f for f in FIELDS if control_id(f.name) == cid), None)
        if field is not None:
            self.query_one("#dist-help", Static).update(
                Content.from_markup(
                    "[$text-muted]$name:[/] $help", name=field.name, help=field.help
                )
            )


def problem_line(problems: list[Problem], warnings: list[Problem] | None = None) -> Content:
    """Every problem and warning, one a line (each is also marked on its control), or that
    the answers are valid."""
    lines = [Content.from_markup("[$error]✗ $text[/]", text=p.line) for p in problems]
    lines += [Content.from_markup("[$warning]! $text[/]", text=w.line) for w in warnings or []]
    if not problems:
        lines.insert(
            0,
            Content.from_markup(
                "[$success]✓[/] [$text-muted]Answers valid: the preview is what Write saves.[/]"
            ),
        )
    return Content("\n").join(lines)


def machine_problems(settings: AccelerateSettings, machine_gpus: int | None) -> list[Problem]:
    """What the answers ask of this machine's GPUs that it does not have. Where none could be
    read (None, or no driver here) the answers may be for another box: Review still says so."""
    if not machine_gpus or settings.gpus <= machine_gpus:
        return []
    return [
        Problem(
            "gpus",
            f"gpus = {settings.gpus} — this machine has {machine_gpus}: fine to plan a bigger "
            f"box, but training here needs {machine_gpus} or fewer",
        )
    ]
