"""`magitui train`: start fine-tuning as a detached job and follow its progress."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import click

from magitui.cli.base import CliContext, fmt_duration, friendly_errors, pass_ctx
from magitui_core.jobs.events import EventReader
from magitui_core.training.launch import LaunchError, launch_command, validate_train_args
from magitui_core.training.settings import TrainSettings

PASSED_OPTIONS = (
    "epochs",
    "learning_rate",
    "max_seq_len",
    "per_device_batch",
    "grad_accum",
    "precision",
    "sampling",
    "save_steps",
    "max_steps",
    "seed",
    "optim",
)


def format_metric(event: dict[str, Any]) -> str:
    parts = [f"step {event['step']}/{event['total']}", f"loss {event['loss']:.4f}"]
    if event.get("lr") is not None:
        parts.append(f"lr {event['lr']:.2e}")
    if event.get("tokens_per_s"):
        parts.append(f"{event['tokens_per_s']:,.0f} tok/s")
    if event.get("eta_s") is not None:
        parts.append(f"ETA {fmt_duration(event['eta_s'])}")
    return "  ".join(parts)


def run_preflight(
    settings: TrainSettings, accelerate_config: Path | None, num_processes: int
) -> int:
    """Print what preflight finds; returns the number of errors (each blocks the launch)."""
    from magitui_core.training.accelerate_config import AccelerateSettings, load_answers
    from magitui_core.training.memory_advisor import ModelShape, ModelShapeError, read_model_config
    from magitui_core.training.preflight import (
        check_gated_model,
        check_transformer_engine,
        count_rows,
        machine_facts,
        preflight,
    )

    machine = machine_facts(settings.out)
    accel = load_answers(accelerate_config.parent) if accelerate_config else None
    if accel is None:  # a plain run, or a config written by other tools: judge what we know
        accel = AccelerateSettings(
            gpus=min(machine.gpu_count, max(1, num_processes)) if machine.gpu_count else 0,
            use_deepspeed=False,
            mixed_precision="bf16" if settings.precision == "bf16" else "no",
        )
    try:
        shape: ModelShape | None = ModelShape.from_config(read_model_config(settings.base_model))
    except ModelShapeError as exc:
        shape = None
        click.secho(f"note: memory checks skipped: {exc}", err=True, dim=True)
    findings = check_transformer_engine() + check_gated_model(settings.base_model)
    findings += preflight(settings, accel, machine, count_rows(settings.data), shape)
    for finding in findings:
        colour = "red" if finding.level == "error" else "yellow"
        click.secho(f"{finding.level}: {finding.message}", err=True, fg=colour)
        click.secho(f"  → {finding.fix}", err=True, dim=True)
    return sum(1 for f in findings if f.level == "error")


@click.command("train", context_settings={"show_default": True})
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Formatted instruction/response JSONL (repeat for several files).",
)
@click.option("--base-model", required=True, help="HF model id or local model folder.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--epochs", type=float, default=2.0)
@click.option("--learning-rate", "--lr", type=float, default=5e-5)
@click.option("--max-seq-len", "--max-len", type=int, default=1216, help="max_training_seq_length")
@click.option("--per-device-batch", "--batch-size", type=int, default=8)
@click.option("--grad-accum", type=int, default=1)
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp16", "fp32"]), default="auto")
@click.option(
    "--sampling", type=click.Choice(["group_by_length", "random"]), default="group_by_length"
)
@click.option("--gradient-checkpointing", is_flag=True)
@click.option(
    "--packing",
    is_flag=True,
    help="Pack each batch into one row without padding (eager/sdpa/flex/flash attention).",
)
@click.option("--optim", default="adamw_torch")
@click.option("--save-steps", type=int, default=500)
@click.option("--max-steps", type=int, default=-1, help="Stop after N steps (-1: epochs).")
@click.option("--seed", type=int, default=42)
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option(
    "--accelerate-config",
    "--config",
    type=click.Path(path_type=Path),
    help="accelerate YAML (from `magitui accelerate-config` or the Setup screen).",
)
@click.option(
    "--num-processes",
    type=int,
    default=1,
    help="Processes on this machine without a config file (DDP).",
)
@click.option("--run", "run_name", metavar="RUN", help="File the job under this run.")
@click.option("--detach", is_flag=True, help="Print the job id and return at once.")
@click.option("--skip-checks", is_flag=True, help="Launch even when preflight finds errors.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the launch command and every preflight finding; exit 0 if launchable, else 2.",
)
@pass_ctx
@friendly_errors
def train(
    ctx: CliContext,
    data: tuple[Path, ...],
    base_model: str,
    out: Path,
    gradient_checkpointing: bool,
    packing: bool,
    resume: bool,
    accelerate_config: Path | None,
    num_processes: int,
    run_name: str | None,
    detach: bool,
    skip_checks: bool,
    dry_run: bool,
    **options: Any,
) -> None:
    """Fine-tune BASE_MODEL on DATA as a detached job (it survives this terminal).

    Without --detach, follows the training until it ends; Ctrl-C stops following, not training.
    """
    train_argv = ["--data", *map(str, data), "--base-model", base_model, "--out", str(out)]
    for name in PASSED_OPTIONS:
        train_argv += [f"--{name.replace('_', '-')}", str(options[name])]
    if gradient_checkpointing:
        train_argv.append("--gradient-checkpointing")
    if packing:
        train_argv.append("--packing")
    if resume:
        train_argv.append("--resume")
    try:
        settings = validate_train_args(train_argv)
        command = launch_command(train_argv, accelerate_config, num_processes)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from None
    errors = run_preflight(settings, accelerate_config, num_processes)
    if dry_run:
        click.echo(shlex.join(command))
        if errors:
            click.secho(f"not launchable: {errors} preflight error(s)", err=True, fg="red")
            raise SystemExit(2)
        click.secho("launchable: drop --dry-run to start it", err=True, fg="green")
        return
    if errors and not skip_checks:
        raise click.ClickException(
            f"{errors} preflight error(s); fix them, or launch anyway with --skip-checks"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create output folder {out}: {exc.strerror}") from None
    click.secho(f"launch: {shlex.join(command)}", err=True, dim=True)
    jobs = ctx.get().jobs
    job = jobs.start(command, name=f"train {Path(base_model).name}", kind="train", run=run_name)
    click.echo(job.id)
    if detach:
        click.secho(
            f"training as job {job.id}; follow: magitui jobs logs {job.id} -f", err=True, fg="green"
        )
        return
    reader = EventReader(job.events_path)
    try:
        while True:
            for event in reader.read_new():
                if event["type"] == "metric":
                    click.echo(format_metric(event), err=True)
                elif event["type"] in ("log", "warning", "error", "done") and "message" in event:
                    click.echo(f"{event['type']}: {event['message']}", err=True)
            current = jobs.get(job.id)
            if not current.is_live:
                for line in [] if current.state.value == "succeeded" else current.tail(15):
                    click.echo(line, err=True)
                if current.state.value != "succeeded":
                    click.secho(
                        f"Error: training job {job.id} {current.state.value} "
                        f"(exit {current.status.exit_code}); full log: magitui jobs logs {job.id}",
                        err=True,
                        fg="red",
                    )
                    # The training's own exit status, so scripts can tell its failures apart.
                    raise SystemExit(current.status.exit_code or 1)
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.secho(
            f"\nstopped following; training continues as job {job.id} "
            f"(end it with: magitui jobs stop {job.id})",
            err=True,
        )
