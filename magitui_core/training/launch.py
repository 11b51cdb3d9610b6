"""From what the user asked to the command a training job runs.

`resolve_launch` takes the options given on the command line (None where not given), the
accelerate config's answers and this machine, and settles every training choice: the
recipe's value unless an option or the config says otherwise, the batch arithmetic checked,
conflicts between a flag and the config refused by name, and what cannot run here replaced by
the nearest choice that can — with a finding that says so. The result carries the explicit
entry-point arguments (so the config's answers really reach the Trainer), the launch command
and the `effective` record that `--dry-run --json` prints and the run card keeps.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from magitui_core.jobs.status import command_value
from magitui_core.model_source import ModelSourceError, model_source
from magitui_core.training.accelerate_config import (
    AccelerateSettings,
    LaunchConfig,
    LaunchConfigError,
    read_launch_config,
)
from magitui_core.training.memory_advisor import optimizer_kind
from magitui_core.training.preflight import Finding, Machine
from magitui_core.training.recipe import (
    FLASH_ATTENTION,
    MAGICODER,
    OFFLOAD_OPTIMIZER,
    BatchError,
    BatchPlan,
    resolve_batch,
)
from magitui_core.training.settings import TrainSettings, argument_parser, effective_of


class LaunchError(ValueError):
    """A training launch refused before starting; the message says what to fix."""


def validate_train_args(train_argv: list[str], check_data: bool = True) -> TrainSettings:
    """Parse and check the entry point's arguments here, before any process is started.

    ``check_data`` False leaves the data files to preflight, which reports them as findings
    (with the command that formats an unformatted file)."""
    parser = argument_parser()
    try:
        namespace = parser.parse_args(train_argv)
    except SystemExit:
        raise LaunchError(f"invalid training arguments: {' '.join(train_argv)}") from None
    try:
        settings = TrainSettings(**vars(namespace))
    except ValidationError as exc:
        err = exc.errors()[0]
        field_name = ".".join(map(str, err["loc"]))
        raise LaunchError(
            f"--{field_name.replace('_', '-')} = {err.get('input')!r}: {err['msg']}"
        ) from None
    for path in settings.data if check_data else []:
        if not path.is_file():
            raise LaunchError(
                f"training data {path} does not exist — give the formatted file from "
                "`magitui preprocess` (instruction/response JSONL)"
            )
    local = Path(settings.base_model).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise LaunchError(f"base model folder {local} has no config.json — is it a model folder?")
    # Checked, not created: a refused or dry-run launch leaves nothing behind.
    existing = settings.out.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise LaunchError(
            f"cannot create output folder {settings.out}: {existing} is not a writable folder — "
            "choose --out under a folder you can write"
        )
    return settings


def launch_command(
    train_argv: list[str], accelerate_config: Path | None = None, num_processes: int = 1
) -> list[str]:
    """The job's command line for these training arguments."""
    entry = ["-m", "magitui_core.training.sft", *train_argv]
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config is not None:
        if not accelerate_config.is_file():
            raise LaunchError(
                f"accelerate config {accelerate_config} does not exist — write one with "
                "`magitui accelerate-config` or the Setup screen"
            )
        return [*launcher, "--config_file", str(accelerate_config), *entry]
    if num_processes > 1:
        return [
            *launcher,
            # --cpu would silently run one process; --multi_gpu is real DDP (gloo on a CPU).
            "--multi_gpu",
            "--num_processes",
            str(num_processes),
            "--num_machines",
            "1",
            "--dynamo_backend",
            "no",
            *entry,
        ]
    return [sys.executable, *entry]


@dataclass(frozen=True)
class LaunchRequest:
    """`magitui train`'s options; None where the user gave none (the config's value, else
    the recipe's, applies)."""

    data: list[Path]
    base_model: str
    out: Path
    accelerate_config: Path | None = None
    num_processes: int | None = None
    global_batch: int | None = None
    per_device_batch: int | None = None
    grad_accum: int | None = None
    precision: str | None = None
    max_grad_norm: float | None = None  # ≤ 0: off, said explicitly
    optim: str | None = None
    attention: str = "auto"
    packing: str = "auto"
    sampling: str = MAGICODER.sampling
    epochs: float = MAGICODER.epochs
    learning_rate: float = MAGICODER.learning_rate
    lr_scheduler: str = MAGICODER.scheduler
    warmup_steps: int = MAGICODER.warmup_steps
    max_seq_len: int = MAGICODER.max_len
    save_steps: int = 500
    max_steps: int = -1
    seed: int = 42
    gradient_checkpointing: bool = False
    resume: bool = False


@dataclass
class ResolvedLaunch:
    settings: TrainSettings
    train_argv: list[str]
    command: list[str]
    plan: BatchPlan
    accel: AccelerateSettings  # what preflight judges the launch with
    config: LaunchConfig | None
    effective: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)


# accelerate's mixed_precision → the entry point's --precision, and the values it accepts.
CONFIG_PRECISION = {"bf16": "bf16", "fp16": "fp16", "no": "fp32"}
COMPATIBLE_PRECISION = {"bf16": {"bf16", "bf16-mixed"}, "fp16": {"fp16"}, "no": {"fp32"}}


def flash_attention_installed() -> bool:
    """flash-attn importable here, found without importing it (nor torch)."""
    return importlib.util.find_spec("flash_attn") is not None


def _conflict(flag: str, value: object, config: LaunchConfig, key: str, shown: object) -> None:
    raise LaunchError(
        f"{flag} {value} conflicts with {shown} in the accelerate config "
        f"({config.sources.get(key, config.yaml_path)}) — drop {flag} to use the config's, "
        "or change the config (Setup screen or `magitui accelerate-config`)"
    )


def _clip_text(value: float | None) -> str:
    return "no clipping" if value is None else f"gradient clipping {value:g}"


def resolve_launch(
    request: LaunchRequest, machine: Machine, flash_installed: bool | None = None
) -> ResolvedLaunch:
    """Every training choice settled; raises LaunchError naming what conflicts or is wrong."""
    try:
        model_source(request.base_model, "--base-model")  # a mistyped folder: one line, now
    except ModelSourceError as exc:
        raise LaunchError(str(exc)) from None
    for flag, value in (
        ("--num-processes", request.num_processes),
        ("--global-batch", request.global_batch),
        ("--per-device-batch", request.per_device_batch),
        ("--grad-accum", request.grad_accum),
    ):
        if value is not None and value < 1:
            raise LaunchError(f"{flag} = {value}: must be at least 1")
    config: LaunchConfig | None = None
    if request.accelerate_config is not None:
        try:
            config = read_launch_config(request.accelerate_config)
        except LaunchConfigError as exc:
            raise LaunchError(str(exc)) from None
    findings: list[Finding] = []
    notes: list[str] = []
    sources: dict[str, str] = {}

    # Processes: the config's, or --num-processes, or one.
    processes = request.num_processes or 1
    sources["processes"] = "--num-processes" if request.num_processes else "default"
    if config is not None:
        if request.num_processes is not None and request.num_processes != config.processes:
            _conflict(
                "--num-processes",
                request.num_processes,
                config,
                "processes",
                f"num_processes {config.processes}",
            )
        processes, sources["processes"] = config.processes, f"from {config.yaml_path}"

    # Gradient accumulation: the config pins it when it says a number.
    grad_accum = request.grad_accum
    sources["grad_accum"] = "--grad-accum"
    if config is not None and config.grad_accum is not None:
        if grad_accum is not None and grad_accum != config.grad_accum:
            _conflict(
                "--grad-accum",
                grad_accum,
                config,
                "grad_accum",
                f"gradient accumulation {config.grad_accum}",
            )
        grad_accum = config.grad_accum
        sources["grad_accum"] = f"from {config.sources.get('grad_accum', config.yaml_path)}"
    global_batch = request.global_batch or MAGICODER.global_batch
    sources["global_batch"] = "--global-batch" if request.global_batch else "the recipe's"
    per_device = request.per_device_batch or MAGICODER.per_device_batch
    sources["per_device_batch"] = "--per-device-batch" if request.per_device_batch else "default"
    try:
        plan = resolve_batch(global_batch, per_device, processes, grad_accum, sources)
    except BatchError as exc:
        raise LaunchError(str(exc)) from None

    # Precision: the config's mixed precision, or --precision, or bf16 where the GPUs have it.
    precision = request.precision if request.precision not in (None, "auto") else None
    if config is not None and config.mixed_precision in CONFIG_PRECISION:
        if precision is not None and precision not in COMPATIBLE_PRECISION[config.mixed_precision]:
            _conflict(
                "--precision",
                precision,
                config,
                "mixed_precision",
                f"mixed_precision {config.mixed_precision}",
            )
        precision = precision or CONFIG_PRECISION[config.mixed_precision]
    if precision is None:
        precision = "bf16" if machine.gpu_count and machine.bf16 else "fp32"
        if machine.gpu_count and not machine.bf16:
            findings.append(
                Finding(
                    "warning",
                    "these GPUs have no bfloat16 (compute capability < 8.0): training in fp32, "
                    "not the recipe's bf16",
                    "accept it, or use --precision fp16 (faster, needs loss scaling)",
                )
            )

    # Clipping: the config's, or --max-grad-norm, or none (the recipe's -1).
    clip = request.max_grad_norm if request.max_grad_norm and request.max_grad_norm > 0 else None
    if config is not None and config.clipping_known:
        if request.max_grad_norm is not None and clip != config.grad_clip:
            _conflict(
                "--max-grad-norm",
                request.max_grad_norm,
                config,
                "grad_clip",
                _clip_text(config.grad_clip),
            )
        clip = config.grad_clip

    # Optimizer: ZeRO optimizer offload makes accelerate swap in DeepSpeed's CPU Adam, which
    # crashes on Adafactor's settings. The recipe's Adafactor gives way to the nearest choice
    # that runs; an --optim given explicitly is left for preflight to refuse.
    optim = request.optim or MAGICODER.optimizer
    offloaded = config is not None and config.use_deepspeed and config.offload_optimizer != "none"
    if request.optim is None and offloaded and optimizer_kind(optim) != "adamw":
        assert config is not None
        reason = (
            f"optimizer {OFFLOAD_OPTIMIZER} instead of the recipe's {optim}: ZeRO optimizer "
            f"offload ({config.offload_optimizer}) makes DeepSpeed run its CPU Adam, which "
            f"crashes on {optim} (adam_update(): incompatible function arguments)"
        )
        findings.append(
            Finding(
                "warning",
                reason,
                f"to keep {optim}, turn optimizer offload off (Setup step 3) if memory allows; "
                f"--optim {OFFLOAD_OPTIMIZER} says this choice explicitly",
            )
        )
        notes.append(reason)
        optim = OFFLOAD_OPTIMIZER

    # Attention and packing as the entry point will choose them here.
    installed = flash_attention_installed() if flash_installed is None else flash_installed
    half = precision in ("bf16", "bf16-mixed", "fp16")
    attention = request.attention
    if attention == "auto":
        if installed and machine.gpu_count and half:
            attention = MAGICODER.attention
        else:
            attention = "sdpa"
            if machine.gpu_count:
                findings.append(
                    Finding(
                        "warning",
                        "flash-attn is not installed: attention sdpa instead of the recipe's "
                        "flash_attention_2, and batches are padded rather than packed"
                        if not installed
                        else f"flash attention needs bf16 or fp16; precision is {precision}",
                        "pip install flash-attn --no-build-isolation (packing then comes "
                        "on by itself)"
                        if not installed
                        else "use bf16 (the recipe's)",
                    )
                )
    # auto packs exactly where the entry point will: with a flash-attention kernel.
    auto = request.packing == "auto"
    packing = attention in FLASH_ATTENTION if auto else request.packing == "on"

    settings_values: dict[str, Any] = {
        "data": request.data,
        "base_model": request.base_model,
        "out": request.out,
        "epochs": request.epochs,
        "learning_rate": request.learning_rate,
        "lr_scheduler": request.lr_scheduler,
        "warmup_steps": request.warmup_steps,
        "max_grad_norm": clip,
        "max_seq_len": request.max_seq_len,
        "global_batch": plan.global_batch,
        "per_device_batch": plan.per_device_batch,
        "grad_accum": plan.grad_accum,
        "precision": precision,
        "attention": request.attention,
        "sampling": request.sampling,
        "gradient_checkpointing": request.gradient_checkpointing,
        "packing": request.packing,
        "optim": optim,
        "save_steps": request.save_steps,
        "max_steps": request.max_steps,
        "seed": request.seed,
        "resume": request.resume,
        "notes": notes,
    }
    train_argv = entry_arguments(settings_values)
    settings = validate_train_args(train_argv, check_data=False)
    yaml_path = config.yaml_path if config is not None else None
    command = launch_command(train_argv, yaml_path, plan.processes)
    if config is not None:
        accel = config.accelerate_settings()
    else:
        # A plain run: as many GPUs as processes where there are GPUs, else CPU processes.
        gpus = min(machine.gpu_count, plan.processes) if machine.gpu_count else 0
        accel = AccelerateSettings(
            gpus=gpus,
            use_deepspeed=False,
            mixed_precision="bf16" if precision.startswith("bf16") else "no",
        )
    record = effective_of(settings, plan, precision=precision, packing=packing, attention=attention)
    return ResolvedLaunch(settings, train_argv, command, plan, accel, config, record, findings)


def entry_arguments(values: dict[str, Any]) -> list[str]:
    """The entry point's command line for resolved settings: every choice explicit, so the
    job's command says what it trains with and a resumed job trains the same."""
    argv = ["--data", *map(str, values["data"]), "--base-model", values["base_model"]]
    argv += ["--out", str(values["out"])]
    for name in (
        "epochs",
        "learning_rate",
        "lr_scheduler",
        "warmup_steps",
        "max_seq_len",
        "global_batch",
        "per_device_batch",
        "grad_accum",
        "precision",
        "attention",
        "sampling",
        "packing",
        "optim",
        "save_steps",
        "max_steps",
        "seed",
    ):
        argv += [f"--{name.replace('_', '-')}", str(values[name])]
    if values["max_grad_norm"] is not None:
        argv += ["--max-grad-norm", str(values["max_grad_norm"])]
    if values["gradient_checkpointing"]:
        argv.append("--gradient-checkpointing")
    if values["resume"]:
        argv.append("--resume")
    for note in values["notes"]:
        argv += ["--note", note]
    return argv


def launch_findings(resolved: ResolvedLaunch, machine: Machine) -> tuple[list[Finding], list[str]]:
    """Every preflight finding for a resolved launch, errors first, and notes on what could
    not be checked. The data files are checked here too: a missing or unformatted file makes
    the launch not launchable, with the command that formats it."""
    from magitui_core.training.memory_advisor import ModelShape, ModelShapeError, read_model_config
    from magitui_core.training.preflight import (
        check_data,
        check_gated_model,
        check_transformer_engine,
        count_rows,
        preflight,
    )

    settings = resolved.settings
    notes: list[str] = []
    try:
        shape: ModelShape | None = ModelShape.from_config(read_model_config(settings.base_model))
    except ModelShapeError as exc:
        shape = None
        notes.append(f"memory checks skipped: {exc}")
    data_findings = check_data(settings.data)
    readable = not any(f.level == "error" for f in data_findings)
    rows = count_rows(settings.data) if readable else None
    findings = [*resolved.findings, *data_findings]
    findings += check_transformer_engine() + check_gated_model(settings.base_model)
    findings += preflight(
        settings, resolved.accel, machine, rows, shape, processes=resolved.plan.processes
    )
    return sorted(findings, key=lambda f: f.level != "error"), notes


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def output_folder(command: list[str]) -> Path | None:
    """The ``--out`` a training job's command line names (None if it names none)."""
    out = command_value(command, "--out")
    return Path(out) if out is not None else None


def newest_checkpoint(out: Path) -> Path | None:
    """The checkpoint ``--resume`` continues from: the highest checkpoint-N under
    OUT/checkpoints, chosen as transformers' get_last_checkpoint chooses (without importing it)."""
    folder = out / "checkpoints"
    try:
        found = [
            (int(match.group(1)), entry)
            for entry in folder.iterdir()
            if (match := _CHECKPOINT.match(entry.name)) and entry.is_dir()
        ]
    except OSError:
        return None
    return max(found)[1] if found else None
