"""Setup step 4: the memory advisor. The model's size from its config.json (a folder or the
HF cache, never a download) or a parameter count, and the optimizer; every ZeRO/offload choice
with its per-GPU and CPU memory, the fastest that fits marked, and a key that takes it (and the
optimizer) into the answers. Offload rows say why Adafactor and 8-bit AdamW cannot use them."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from magitui.screens.setup.toggle import YesNo
from magitui_core.machine.disks import format_binary
from magitui_core.training.memory_advisor import (
    OPTIMIZERS,
    AdvisorInputError,
    ModelShape,
    Optimizer,
    Plan,
    parse_parameter_count,
)
from magitui_core.training.recipe import MAGICODER

GIB = 1024**3


def _positive(name: str, text: str, kind: type = int) -> float:
    try:
        value = kind(text.strip())
    except ValueError:
        raise AdvisorInputError(f"{name} = {text!r} — enter a positive number") from None
    if value <= 0:
        raise AdvisorInputError(f"{name} = {text!r} — must be more than 0")
    return value


@dataclass(frozen=True)
class AdvisorRequest:
    model: str  # id or folder; "" when a parameter count is given
    parameters: int | None
    seq_len: int
    micro_batch: int
    checkpointing: bool
    gpu_memory: int  # bytes per GPU
    cpu_memory: int  # bytes per machine
    optimizer: Optimizer = "adamw"


@dataclass(frozen=True)
class AdvisorResult:
    request: AdvisorRequest
    shape: ModelShape
    plans: list[Plan]
    recommended: Plan | None


class MemoryStep(Vertical):
    class EstimateRequested(Message):
        def __init__(self, request: AdvisorRequest) -> None:
            super().__init__()
            self.request = request

    class PlanChosen(Message):
        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.result: AdvisorResult | None = None
        self._status = Content("")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="mem-scroll"):
            for cid, label, value, placeholder in (
                ("mem-model", "Base model", "", "HF id or folder, e.g. bigcode/starcoder2-3b"),
                ("mem-params", "…or parameters", "", "e.g. 6.7B (when no config.json)"),
                ("mem-seq", "Sequence length", "1216", ""),
                ("mem-batch", "Per-GPU batch", str(MAGICODER.per_device_batch), ""),
                ("mem-gpu", "GPU memory (GiB)", "", "per GPU"),
                ("mem-cpu", "CPU memory (GiB)", "", "per machine"),
            ):
                with Horizontal(classes="setup-row"):
                    yield Label(label, classes="setup-label")
                    yield Input(value, placeholder=placeholder, id=cid, compact=True)
            with Horizontal(classes="setup-row"):
                yield Label("Optimizer", classes="setup-label")
                yield Select(
                    [(spec.label, key) for key, spec in OPTIMIZERS.items()],
                    value="adafactor",  # the recipe's
                    allow_blank=False,
                    id="mem-optim",
                    compact=True,
                )
            with Horizontal(classes="setup-row"):
                yield Label("Gradient checkpointing", classes="setup-label")
                yield YesNo(True, id="mem-ckpt")
            with Horizontal(classes="setup-buttons"):
                yield Button("Estimate", id="mem-estimate", compact=True, variant="primary")
                yield Button("Use recommended", id="mem-apply", compact=True, disabled=True)
            yield Static("", id="mem-status")
            yield DataTable(id="mem-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#mem-table", DataTable)
        table.add_column("Choice", width=32)
        table.add_columns("GPU each", "CPU/machine")
        # Fixed: clear() keeps widths, and "yes" must not set it for a later reason.
        table.add_column("Fits", width=16)
        table.display = False

    def set_machine(self, gpu_memory: int, cpu_memory: int) -> None:
        """Pre-fill the memory figures from this machine (kept when already typed)."""
        for cid, value in (("#mem-gpu", gpu_memory), ("#mem-cpu", cpu_memory)):
            field = self.query_one(cid, Input)
            if not field.value and value:
                field.value = f"{value / GIB:.0f}"

    def request(self) -> AdvisorRequest:
        """The inputs, checked; raises AdvisorInputError naming the first bad one."""
        value = {cid: self.query_one(f"#{cid}", Input).value.strip() for cid in (
            "mem-model", "mem-params", "mem-seq", "mem-batch", "mem-gpu", "mem-cpu"
        )}  # fmt: skip
        model, params = value["mem-model"], value["mem-params"]
        if not model and not params:
            raise AdvisorInputError(
                "base model is empty — enter an HF id or folder, or a parameter count"
            )
        if not value["mem-gpu"]:
            raise AdvisorInputError(
                "GPU memory is empty — no GPU here; enter the target GPU's memory, e.g. 80"
            )
        return AdvisorRequest(
            model=model if not params else "",
            parameters=parse_parameter_count(params) if params else None,
            seq_len=int(_positive("sequence length", value["mem-seq"])),
            micro_batch=int(_positive("per-GPU batch", value["mem-batch"])),
            checkpointing=self.query_one("#mem-ckpt", Checkbox).value,
            gpu_memory=int(_positive("GPU memory", value["mem-gpu"], float) * GIB),
            cpu_memory=int(_positive("CPU memory", value["mem-cpu"] or "0.001", float) * GIB),
            optimizer=self.query_one("#mem-optim", Select).value,  # type: ignore[arg-type]
        )

    @on(Button.Pressed, "#mem-estimate")
    @on(Input.Submitted)
    @on(Select.Changed, "#mem-optim")
    def action_estimate(self) -> None:
        try:
            request = self.request()
        except AdvisorInputError as exc:
            self.show_status(str(exc), error=True)
            return
        self.show_status("Estimating…")
        self.post_message(self.EstimateRequested(request))

    @on(Button.Pressed, "#mem-apply")
    def _apply(self) -> None:
        if self.result is not None and self.result.recommended is not None:
            # The plan carries its optimizer: the screen sets both the answers and step 5's.
            self.post_message(self.PlanChosen(self.result.recommended))

    def show_status(self, text: str, error: bool = False) -> None:
        markup = "[$error]$text[/]" if error else "$text"
        self._status = Content.from_markup(markup, text=text)
        self.query_one("#mem-status", Static).update(self._status)

    def append_status(self, warning: str) -> None:
        """A warning line under what the status says now."""
        extra = Content.from_markup("[$warning]$w[/]", w=warning)
        self._status = Content("\n").join([self._status, extra])
        self.query_one("#mem-status", Static).update(self._status)

    def show_result(self, result: AdvisorResult) -> None:
        self.result = result
        table = self.query_one("#mem-table", DataTable)
        table.clear()
        table.display = True
        for plan in result.plans:
            best = plan == result.recommended
            style = "bold $success" if best else ("" if plan.usable else "$text-muted")
            cells = (
                ("★ " if best else "  ") + plan.label,
                format_binary(plan.gpu_bytes),
                format_binary(plan.cpu_bytes),
                plan.blocked or ("yes" if plan.fits else "no"),
            )
            table.add_row(
                *(Content.from_markup(f"[{style}]$c[/]" if style else "$c", c=c) for c in cells)
            )
        optimizer = OPTIMIZERS[result.request.optimizer].label
        head = f"{result.shape.parameters / 1e9:.2f} B parameters, {optimizer}"
        if result.recommended is None:
            text = (
                f"{head}: nothing fits — more GPUs, smaller batch or sequence, or a smaller model"
            )
        else:
            text = f"{head}: ★ {result.recommended.label} is the fastest that fits"
        if any(plan.blocked for plan in result.plans):
            text += (
                f"\nNo CPU offload with {optimizer}: accelerate swaps in DeepSpeed's CPU Adam "
                "(Adafactor crashes, 8-bit AdamW turns 32-bit)."
            )
        self.show_status(text, error=result.recommended is None)
        self.query_one("#mem-apply", Button).disabled = result.recommended is None
