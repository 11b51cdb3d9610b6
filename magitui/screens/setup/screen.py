"""Setup: a wizard that knows the machine. Storage (HF_HOME), credentials, the accelerate +
DeepSpeed answers with a live preview, the memory advisor, and preflight + write.

The machine is read once in a thread worker (NVML can stall, disks can be NFS); every data
source is injectable (``SetupSources``) so tests can show a fixed or faked machine. The
answers live in the form for the whole session (a mode keeps its screen), and reopening the
wizard later loads the answers saved beside the config it wrote.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static, TabbedContent, TabPane

from magitui.screens.base import MagituiScreen
from magitui.screens.setup.credentials import CredentialEntries, CredentialsStep
from magitui.screens.setup.distributed import DistributedStep
from magitui.screens.setup.memory import AdvisorRequest, AdvisorResult, MemoryStep
from magitui.screens.setup.review import OTHER, ReviewStep
from magitui.screens.setup.storage import StorageFacts, StorageStep, can_write, recommend_hf_home
from magitui_core.cache.catalog import CacheLocations
from magitui_core.config import ConfigError, set_config_value
from magitui_core.machine.disks import DiskReport, format_binary
from magitui_core.machine.gpu import GpuSnapshot
from magitui_core.training.accelerate_config import ANSWERS_FILE, AccelerateSettings, load_answers
from magitui_core.training.preflight import Finding, Machine
from magitui_core.training.recipe import recipe_accumulation

if TYPE_CHECKING:
    from magitui_core.context import Context
    from magitui_core.training.memory_advisor import ModelShape

STEPS = ("storage", "credentials", "distributed", "memory", "review")
STEP_TITLES = ("1 Storage", "2 Keys", "3 Distributed", "4 Memory", "5 Review")
SETUP_GROUP = "setup"


@dataclass
class SetupSources:
    """Where Setup gets the machine's facts. Each callable runs in a worker thread."""

    gpu: Callable[[], GpuSnapshot]
    machine: Callable[[Path], Machine]  # facts with the free disk where configs go
    disks: Callable[[], DiskReport]
    locations: Callable[[], CacheLocations]
    writable: Callable[[Path], bool]
    transformer_engine: Callable[[], list[Finding]]
    gated: Callable[[str], list[Finding]]  # is this base model gated, with no token here?
    home: Path


def default_sources(ctx: Context) -> SetupSources:
    """The real machine: NVML, psutil, the environment's HF_HOME (or the config's)."""
    from magitui_core.machine.disks import default_roles, read_disks
    from magitui_core.machine.gpu import NvmlSource
    from magitui_core.training.preflight import (
        check_gated_model,
        check_transformer_engine,
        machine_facts,
    )

    def locations() -> CacheLocations:
        env = dict(os.environ)
        configured = ctx.config.huggingface.hf_home
        if not env.get("HF_HOME") and configured:
            env["HF_HOME"] = str(configured.expanduser())  # what jobs get
        return CacheLocations.from_env(runs_dir=ctx.workspace.runs_dir, env=env)

    def gpu() -> GpuSnapshot:
        source = NvmlSource()
        try:
            return source.read()
        finally:
            source.close()

    return SetupSources(
        gpu=gpu,
        machine=machine_facts,
        disks=lambda: read_disks(default_roles(locations(), ctx.workspace.root)),
        locations=locations,
        writable=can_write,
        transformer_engine=check_transformer_engine,
        gated=check_gated_model,
        home=Path.home(),
    )


@dataclass(frozen=True)
class MachineFacts:
    gpu: GpuSnapshot
    machine: Machine
    storage: StorageFacts
    saved: AccelerateSettings | None
    saved_problem: str


def machine_defaults(machine: Machine) -> AccelerateSettings:
    """The answers this machine suggests: all its GPUs, bf16 where every GPU has it, and the
    accumulation that makes the recipe's global batch of 512 on them (so `magitui train` with
    this config and no options trains as the paper)."""
    precision = "bf16" if machine.bf16 else ("fp16" if machine.gpu_count else "no")
    accumulation = recipe_accumulation(max(1, machine.gpu_count)) or 1
    return AccelerateSettings(
        gpus=machine.gpu_count, mixed_precision=precision, grad_accum=accumulation
    )


def describe_machine(gpu: GpuSnapshot, machine: Machine) -> Content:
    if gpu.available and gpu.gpus:
        names: dict[str, int] = {}
        for info in gpu.gpus:
            cc = (
                f" cc {info.compute_capability[0]}.{info.compute_capability[1]}"
                if info.compute_capability
                else ""
            )
            label = f"{info.name} ({format_binary(info.memory_total or 0)}{cc})"
            names[label] = names.get(label, 0) + 1
        gpus = ", ".join(f"{n} × {label}" for label, n in names.items())
        bf16 = "bf16 yes" if machine.bf16 else "no bf16 (fp16 instead)"
        head = f"[b]GPUs[/] $gpus · {bf16}"
    else:
        head = "[b]GPUs[/] none — $gpus"
        gpus = gpu.message or "no NVIDIA GPU found"
    return Content.from_markup(
        head + " · [b]RAM[/] $ram", gpus=gpus, ram=format_binary(machine.cpu_memory)
    )


class SetupScreen(MagituiScreen):
    CSS_PATH = "screen.tcss"
    TITLE_TEXT = "Setup"
    BINDINGS = [
        Binding("ctrl+n,ctrl+pagedown", "step(1)", "Next step"),
        Binding("ctrl+pageup", "step(-1)", "Prev step"),
        *(Binding(str(i + 1), f"show_step('{s}')", s, show=False) for i, s in enumerate(STEPS)),
    ]

    def __init__(self, sources: SetupSources | None = None) -> None:
        super().__init__(id="setup")
        self._sources = sources
        self.machine: Machine | None = None
        self.shape: ModelShape | None = None
        self.settings: AccelerateSettings | None = None
        self._touched = False  # an answer changed before the machine was read: keep it

    @property
    def sources(self) -> SetupSources:
        if self._sources is None:
            self._sources = default_sources(self.ctx)
        return self._sources

    # ---- layout ----------------------------------------------------------------------------
    def _runs(self) -> dict[str, Path]:
        return {run.name: run.path for run in self.ctx.workspace.list_runs()}

    def _initial_target(self, runs: dict[str, Path]) -> str:
        """The run whose answers were saved last, else the first run, else a folder."""
        saved = {
            name: answers.stat().st_mtime
            for name, path in runs.items()
            if (answers := path / ANSWERS_FILE).is_file()
        }
        if saved:
            return max(saved, key=lambda name: saved[name])
        return next(iter(runs), OTHER)

    def compose_body(self) -> ComposeResult:
        runs = self._runs()
        initial = self._initial_target(runs)
        self._target = runs.get(initial) or self.ctx.workspace.root / "accelerate"
        yield Static(
            Content.from_markup("[$text-muted]Reading this machine…[/]"), id="setup-machine"
        )
        with TabbedContent(initial="storage", id="setup-tabs"):
            with TabPane(STEP_TITLES[0], id="storage"):
                yield StorageStep(id="storage-step")
            with TabPane(STEP_TITLES[1], id="credentials"):
                yield CredentialsStep(id="credentials-step")
            with TabPane(STEP_TITLES[2], id="distributed"):
                yield DistributedStep(self._target, id="distributed-step")
            with TabPane(STEP_TITLES[3], id="memory"):
                yield MemoryStep(id="memory-step")
            with TabPane(STEP_TITLES[4], id="review"):
                yield ReviewStep(runs, initial, self.ctx.workspace.root, id="review-step")

    def on_mount(self) -> None:
        _ = self.sources  # built on the UI thread, before the first worker
        if self._target == self.ctx.workspace.root / "accelerate":
            self.query_one("#review-folder").value = str(self._target)  # type: ignore[attr-defined]
        self.query_one(CredentialsStep).show_state(self.ctx.config.teacher.base_url)
        self.on_resize()
        self._read_machine(self._target)

    def on_resize(self, _event: object = None) -> None:
        # Side by side where the YAML and JSON both fit; stacked at 80 columns.
        self.set_class(self.size.width < 110, "-narrow")

    # ---- steps -----------------------------------------------------------------------------
    def action_show_step(self, step: str) -> None:
        self.query_one(TabbedContent).active = step

    def action_step(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        index = STEPS.index(tabs.active) if tabs.active in STEPS else 0
        tabs.active = STEPS[(index + delta) % len(STEPS)]

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "review":
            self._check()

    # ---- the machine -----------------------------------------------------------------------
    def _read_machine(self, target: Path) -> None:
        sources = self.sources
        workspace = self.ctx.workspace.root

        def work() -> None:
            gpu = sources.gpu()
            machine = sources.machine(target)
            report, locations = sources.disks(), sources.locations()
            recommended, reason = recommend_hf_home(
                report, locations.hf_home, sources.home, sources.writable
            )
            storage = StorageFacts(report, locations, workspace, recommended, reason)
            saved, problem = None, ""
            try:
                saved = load_answers(target)
            except (ValidationError, OSError) as exc:
                problem = (
                    f"{target}: saved answers not usable ({type(exc).__name__}); "
                    "using this machine's"
                )
            facts = MachineFacts(gpu, machine, storage, saved, problem)
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.app.call_from_thread(self._show_machine, facts)

        self.run_worker(
            work, name="read this machine", group=SETUP_GROUP, thread=True, exit_on_error=False
        )

    def _show_machine(self, facts: MachineFacts) -> None:
        self.machine = facts.machine
        self.query_one("#setup-machine", Static).update(describe_machine(facts.gpu, facts.machine))
        self.query_one(StorageStep).show(facts.storage)
        form = self.query_one(DistributedStep)
        form.machine_gpus = facts.machine.gpu_count
        if facts.saved is not None:
            form.load(facts.saved)
            self.notify(f"Answers from {self._target} loaded.", title="Resumed", timeout=4)
        elif not self._touched:
            form.load(machine_defaults(facts.machine))
        if facts.saved_problem:
            self.notify(facts.saved_problem, severity="warning")
        gpu_memory = facts.machine.gpu_memory
        self.query_one(MemoryStep).set_machine(gpu_memory, facts.machine.cpu_memory)

    # ---- storage ---------------------------------------------------------------------------
    @on(StorageStep.ApplyRequested)
    def _apply_hf_home(self, event: StorageStep.ApplyRequested) -> None:
        step = self.query_one(StorageStep)
        path = Path(event.path).expanduser().absolute()
        if not self.sources.writable(path):
            step.show_result(
                f"HF_HOME = '{path}' — cannot be created or written; choose a folder you own",
                error=True,
            )
            return
        try:
            config = set_config_value("huggingface.hf_home", str(path), path=self.ctx.loaded.path)
        except (ConfigError, OSError) as exc:
            step.show_result(str(exc), error=True)
            return
        self.ctx.loaded.config = config
        self.ctx.jobs.env_defaults["HF_HOME"] = str(path)  # jobs started from now on
        step.show_applied(path)
        if os.environ.get("HF_HOME") and Path(os.environ["HF_HOME"]).expanduser() != path:
            self.notify(
                f"HF_HOME is set in your environment ({os.environ['HF_HOME']}); it wins until "
                "you change it in your shell.",
                severity="warning",
            )

    # ---- credentials -----------------------------------------------------------------------
    @on(CredentialsStep.SaveRequested)
    def _save_credentials(self, event: CredentialsStep.SaveRequested) -> None:
        from magitui_core import credentials

        entries: CredentialEntries = event.entries
        step = self.query_one(CredentialsStep)
        lines: list[tuple[str, str]] = []
        if entries.base_url and not entries.base_url.startswith(("http://", "https://")):
            lines.append(
                ("error", f"base URL = {entries.base_url!r} — must start with http:// or https://")
            )
        elif entries.base_url != (self.ctx.config.teacher.base_url or ""):
            try:
                self.ctx.loaded.config = set_config_value(
                    "teacher.base_url", entries.base_url, path=self.ctx.loaded.path
                )
                lines.append(("ok", f"Teacher base URL saved: {entries.base_url}"))
            except (ConfigError, OSError) as exc:
                lines.append(("error", str(exc)))
        stored = False
        for name, value in (
            ("hf_token", entries.hf_token),
            ("openai_api_key", entries.openai_api_key),
        ):
            if not value:
                continue
            try:
                file = credentials.store(name, value)
            except (credentials.CredentialsError, OSError) as exc:
                lines.append(("error", f"{credentials.SECRETS[name].label}: {exc}"))
                continue
            stored = True
            lines.append(
                (
                    "ok",
                    f"{credentials.SECRETS[name].label} {credentials.mask(value)} "
                    f"stored in {file} (0600)",
                )
            )
        if entries.hf_token and not looks_like_hf_token(entries.hf_token):
            lines.append(
                (
                    "warning",
                    "Hugging Face token: does not look like one (they start with hf_ and are "
                    "about 37 characters) — was another key pasted here?",
                )
            )
        if entries.hf_token:
            lines.append(("warning", "Hugging Face token: checking with huggingface.co…"))
            self._verify_token(entries.hf_token, lines)
        if stored:
            step.clear_secrets()
        if not lines:
            lines.append(("warning", "Nothing to save — type a token, a key or a URL"))
        step.show_result(lines)
        step.show_state(self.ctx.config.teacher.base_url)

    def _verify_token(self, token: str, lines: list[tuple[str, str]]) -> None:
        def work() -> None:
            verdict = verify_hf_token(token)
            done = [*lines[:-1], verdict]
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self.query_one(CredentialsStep).show_result, done)

        self.run_worker(
            work,
            name="check the Hugging Face token",
            group="setup-token",
            thread=True,
            exit_on_error=False,
        )

    # ---- distributed -----------------------------------------------------------------------
    @on(DistributedStep.AnswersChanged)
    def _answers_changed(self, event: DistributedStep.AnswersChanged) -> None:
        self.settings = event.settings
        if (
            self.machine is None
            and event.settings is not None
            and event.settings != AccelerateSettings()
        ):
            self._touched = True

    # ---- memory advisor --------------------------------------------------------------------
    @on(MemoryStep.EstimateRequested)
    def _estimate(self, event: MemoryStep.EstimateRequested) -> None:
        request = event.request
        settings = self.settings or AccelerateSettings()

        def work() -> None:
            try:
                result = estimate(request, settings)
            except ValueError as exc:  # ModelShapeError: says where it looked
                message = str(exc)
                with contextlib.suppress(RuntimeError):
                    self.app.call_from_thread(self.query_one(MemoryStep).show_status, message, True)
                return
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self._show_estimate, result)

        self.run_worker(
            work,
            name="estimate memory",
            group="setup-advisor",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _show_estimate(self, result: AdvisorResult) -> None:
        self.shape = result.shape
        memory = self.query_one(MemoryStep)
        memory.show_result(result)
        # Figures for answers the form refuses, or for more GPUs than are here, would
        # mislead without saying so.
        form = self.query_one(DistributedStep)
        if self.settings is None:
            memory.show_status(
                "These figures assume the default answers (1 GPU), not yours: the "
                f"distributed answers are not valid — {self._first_problem()} (step 3)",
                error=True,
            )
        elif form.warnings:
            memory.append_status(
                f"Figures for {self.settings.gpus} GPUs; this machine has {form.machine_gpus}."
            )

    @on(MemoryStep.PlanChosen)
    def _use_plan(self, event: MemoryStep.PlanChosen) -> None:
        from magitui_core.training.memory_advisor import OPTIMIZERS

        plan = event.plan
        self.query_one(DistributedStep).set_answers(
            use_deepspeed=True,
            zero_stage=plan.stage,
            offload_optimizer=plan.offload_optimizer,
            offload_params=plan.offload_params,
        )
        spec = OPTIMIZERS[plan.optimizer]
        self.query_one(ReviewStep).set_optimizer(spec.hf_optim)
        self.notify(
            f"{plan.label} set in the distributed answers, {spec.label} in step 5.",
            title="Applied",
            timeout=4,
        )

    # ---- review ----------------------------------------------------------------------------
    def _first_problem(self) -> str:
        problems = self.query_one(DistributedStep).problems
        return problems[0].message if problems else "the answers are incomplete"

    @on(ReviewStep.TargetChanged)
    def _target_changed(self, event: ReviewStep.TargetChanged) -> None:
        if event.target is not None:
            self._target = event.target
            self.query_one(DistributedStep).set_out_dir(event.target)

    @on(ReviewStep.CheckRequested)
    def _check(self) -> None:
        review = self.query_one(ReviewStep)
        inputs = review.inputs()
        settings = self.settings
        if settings is None:
            review.show_result(
                f"Fix the distributed answers first (step 3): {self._first_problem()}", error=True
            )
            return
        if inputs.problem:
            review.show_result(inputs.problem, error=True)
            return
        review.show_result("")
        review.show_checking()
        sources, shape, base = self.sources, self.shape, self.query_one("#mem-model").value  # type: ignore[attr-defined]

        def work() -> None:
            findings, note = run_preflight(
                sources,
                settings,
                inputs.target,
                inputs.data,
                inputs.per_device_batch,
                inputs.optim,
                shape,
                base,
            )
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(review.show_findings, findings, note)

        self.run_worker(
            work,
            name="run the preflight checks",
            group="setup-check",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    @on(ReviewStep.WriteRequested)
    def _write(self) -> None:
        review = self.query_one(ReviewStep)
        inputs = review.inputs()
        settings = self.settings
        if settings is None:
            review.show_result(
                f"Nothing written — fix step 3 first: {self._first_problem()}", error=True
            )
            return
        if inputs.target is None:
            review.show_result(inputs.problem, error=True)
            return
        target, default = inputs.target, None
        if inputs.also_default:
            default = self.sources.locations().hf_home / "accelerate" / "default_config.yaml"

        def work() -> None:
            written = write_all(settings, target, default)
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self._written, written)

        self.run_worker(
            work,
            name="write the accelerate config",
            group="setup-write",
            thread=True,
            exit_on_error=False,
        )

    def _written(self, written: list[Path]) -> None:
        names = ", ".join(str(p) for p in written)
        self.query_one(ReviewStep).show_result(
            f"Wrote {names}\nTrain with: magitui train --accelerate-config {written[0]} …"
        )
        self.notify(f"Config written to {written[0].parent}.", title="Written", timeout=4)


# ---- work done in threads ------------------------------------------------------------------
def looks_like_hf_token(token: str) -> bool:
    """The shape of a Hugging Face user access token (hf_ and 34 letters and digits)."""
    return token.startswith("hf_") and len(token) >= 30 and token[3:].isalnum()


def verify_hf_token(token: str) -> tuple[str, str]:
    """Ask the Hub (HF_ENDPOINT, read now) who the token belongs to; being offline is said
    plainly, never reported as an error."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    if offline:
        return ("warning", "Hugging Face token: could not verify offline (HF_HUB_OFFLINE is set)")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        info = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None).whoami(token=token)
    except HfHubHTTPError as exc:
        if getattr(exc.response, "status_code", None) == 401:
            return (
                "error",
                "Hugging Face token rejected (401) — copy it again from "
                "huggingface.co/settings/tokens",
            )
        return ("warning", f"Hugging Face token: could not verify ({exc})"[:200])
    except Exception as exc:  # httpx connection errors and the like: no network here
        return ("warning", f"Hugging Face token: could not verify offline ({type(exc).__name__})")
    return ("ok", f"Hugging Face token verified: it belongs to {info.get('name', '?')}")


def estimate(request: AdvisorRequest, settings: AccelerateSettings) -> AdvisorResult:
    from magitui_core.training.memory_advisor import ModelShape, plans, read_model_config, recommend

    if request.parameters is not None:
        shape = ModelShape.from_parameter_count(request.parameters)
    else:
        shape = ModelShape.from_config(read_model_config(request.model))
    all_plans = plans(
        shape,
        request.gpu_memory,
        request.cpu_memory,
        gpus_per_node=max(1, settings.gpus),
        nodes=settings.num_machines,
        micro_batch=request.micro_batch,
        seq_len=request.seq_len,
        checkpointing=request.checkpointing,
        optimizer=request.optimizer,
    )
    return AdvisorResult(request, shape, all_plans, recommend(all_plans))


def run_preflight(
    sources: SetupSources,
    settings: AccelerateSettings,
    target: Path | None,
    data: Path | None,
    per_device_batch: int,
    optim: str,
    shape: ModelShape | None,
    base_model: str,
) -> tuple[list[Finding], str]:
    from magitui_core.training.preflight import (
        check_hardware,
        check_optimizer,
        count_rows,
        preflight,
    )
    from magitui_core.training.settings import TrainSettings

    out = target or Path.cwd()
    train = TrainSettings(
        data=[data] if data else [],
        base_model=base_model or "(not chosen)",
        out=out,
        per_device_batch=per_device_batch,
        grad_accum=settings.grad_accum,
        optim=optim,
        max_grad_norm=settings.grad_clip,
    )
    machine = sources.machine(out)
    notes = []
    if data is not None:
        findings = preflight(train, settings, machine, count_rows([data]), shape)
    else:
        # Without data the batch check has nothing to count: leave it out rather than guess.
        findings = [
            *check_optimizer(train, settings),
            *check_hardware(train, settings, machine, shape),
        ]
        notes.append("give the training data to check the batch size against its rows")
    if shape is None:
        notes.append("estimate a model in step 4 to check memory and disk")
    probes = [*sources.transformer_engine(), *(sources.gated(base_model) if base_model else [])]
    findings = sorted([*findings, *probes], key=lambda f: f.level != "error")
    return findings, "; ".join(notes)


def write_all(settings: AccelerateSettings, target: Path, default: Path | None) -> list[Path]:
    from magitui_core.atomic import write_text_atomic
    from magitui_core.training.accelerate_config import render, write_configs

    yaml_path, json_path = write_configs(settings, target)
    written = [yaml_path, *([json_path] if settings.use_deepspeed else []), target / ANSWERS_FILE]
    if default is not None:
        # The same YAML; its deepspeed_config_file points into ``target`` by absolute path.
        write_text_atomic(default, render(settings, target)[0])
        written.append(default)
    return written
