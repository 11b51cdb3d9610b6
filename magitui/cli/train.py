"""`magitui train`: start fine-tuning as a detached job and follow its progress."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import click

from magitui.cli.base import CliContext, fmt_duration, friendly_errors, pass_ctx, settings
from magitui_core.jobs.events import EventReader
from magitui_core.training.launch import LaunchError, LaunchRequest
from magitui_core.training.preflight import Finding
from magitui_core.training.recipe import MAGICODER, OFFLOAD_OPTIMIZER, effective_lines
from magitui_core.training.settings import ATTENTIONS, PACKINGS, PRECISIONS, SAMPLINGS


def format_metric(event: dict[str, Any]) -> str:
    parts = [f"step {event['step']}/{event['total']}", f"loss {event['loss']:.4f}"]
    if event.get("lr") is not None:
        parts.append(f"lr {event['lr']:.2e}")
    if event.get("tokens_per_s"):
        parts.append(f"{event['tokens_per_s']:,.0f} tok/s")
    if event.get("eta_s") is not None:
        parts.append(f"ETA {fmt_duration(event['eta_s'])}")
    return "  ".join(parts)


def report_findings(findings: list[Finding], notes: list[str]) -> int:
    """Print what preflight finds; returns the number of errors (each blocks the launch)."""
    for note in notes:
        click.secho(f"note: {note}", err=True, dim=True)
    for finding in findings:
        colour = "red" if finding.level == "error" else "yellow"
        click.secho(f"{finding.level}: {finding.message}", err=True, fg=colour)
        click.secho(f"  → {finding.fix}", err=True, dim=True)
    return sum(1 for f in findings if f.level == "error")


@click.command(
    "train", context_settings=settings(batch_size="per-device-batch", max_len="max-seq-len")
)
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
@click.option(
    "--global-batch",
    type=int,
    help=f"Rows per optimizer step, the recipe's unit  [default: {MAGICODER.global_batch}]",
)
@click.option(
    "--per-device-batch",
    "per_device_batch",
    type=int,
    help=f"Rows per process per forward pass  [default: {MAGICODER.per_device_batch}]",
)
@click.option(
    "--grad-accum",
    type=int,
    help="Gradient accumulation  [default: the accelerate config's, else global batch ÷ "
    "(processes × per-device batch); given: must multiply out]",
)
@click.option(
    "--num-processes",
    type=int,
    help="Processes on this machine without a config file (DDP)  [default: 1; with "
    "--accelerate-config: its num_processes]",
)
@click.option("--epochs", type=float, default=MAGICODER.epochs, help="Passes over the data.")
@click.option(
    "--learning-rate",
    "--lr",
    type=float,
    default=MAGICODER.learning_rate,
    help="Peak learning rate.",
)
@click.option(
    "--lr-scheduler", default=MAGICODER.scheduler, help="HF Trainer learning-rate schedule."
)
@click.option(
    "--warmup-steps",
    type=int,
    default=MAGICODER.warmup_steps,
    help="Optimizer steps of linear warm-up.",
)
@click.option(
    "--max-grad-norm",
    type=float,
    help="Clip gradients at this norm; 0 or less: off  [default: off, the recipe's; with "
    "--accelerate-config: its clipping]",
)
@click.option(
    "--max-seq-len",
    "max_seq_len",
    type=int,
    default=MAGICODER.max_len,
    help="max_training_seq_length: longer examples are cut",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="bf16: bfloat16 weights (the recipe's); bf16-mixed: fp32 weights under bf16  "
    "[default: bf16 where the GPUs have it, else fp32; with --accelerate-config: its mixed "
    "precision]",
)
@click.option(
    "--optim",
    help=f"HF Trainer optimizer  [default: {MAGICODER.optimizer}, the recipe's; "
    f"{OFFLOAD_OPTIMIZER} under ZeRO optimizer offload, where Adafactor cannot run]",
)
@click.option(
    "--sampling",
    type=click.Choice(SAMPLINGS),
    default=MAGICODER.sampling,
    help="random: the recipe's batches; group_by_length: rows of similar length together "
    "(less padding, different batches).",
)
@click.option(
    "--packing",
    type=click.Choice(PACKINGS),
    is_flag=False,
    flag_value="on",
    default="auto",
    help="Each batch end to end in one row, no padding, same examples per step; auto: with "
    "flash attention (bare --packing: on).",
)
@click.option(
    "--attention",
    type=click.Choice(ATTENTIONS),
    default="auto",
    help="auto: flash_attention_2 where flash-attn is installed and a GPU trains in 16 bits, "
    "else transformers' default (sdpa).",
)
@click.option(
    "--gradient-checkpointing", is_flag=True, help="Recompute activations: less memory, slower."
)
@click.option("--save-steps", type=int, default=500, help="Save a checkpoint every N steps.")
@click.option("--max-steps", type=int, default=-1, help="Stop after N steps (-1: epochs).")
@click.option("--seed", type=int, default=42, help="Seed of shuffling and initialisation.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option(
    "--accelerate-config",
    "--config",
    type=click.Path(path_type=Path),
    help="accelerate YAML or its folder (from `magitui accelerate-config` or the Setup "
    "screen); its processes, accumulation, precision and clipping apply.",
)
@click.option("--run", "run_name", metavar="RUN", help="File the job under this run.")
@click.option("--detach", is_flag=True, help="Print the job id and return at once.")
@click.option("--skip-checks", is_flag=True, help="Launch even when preflight finds errors.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the effective settings, the launch command and every preflight finding; exit "
    "0 if launchable, else 2.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With --dry-run: the resolved launch as one JSON object.",
)
@pass_ctx
@friendly_errors
def train(
    ctx: CliContext,
    data: tuple[Path, ...],
    base_model: str,
    out: Path,
    global_batch: int | None,
    per_device_batch: int | None,
    grad_accum: int | None,
    num_processes: int | None,
    precision: str | None,
    max_grad_norm: float | None,
    optim: str | None,
    accelerate_config: Path | None,
    run_name: str | None,
    detach: bool,
    skip_checks: bool,
    dry_run: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Fine-tune BASE_MODEL on DATA as a detached job (it survives this terminal), with the
    Magicoder recipe unless options say otherwise.

    Without --detach, follows the training until it ends; Ctrl-C stops following, not training.
    """
    from magitui_core.training.plan import plan_launch, start_training

    if as_json and not dry_run:
        raise click.UsageError("--json goes with --dry-run")
    request = LaunchRequest(
        data=list(data),
        base_model=base_model,
        out=out,
        accelerate_config=accelerate_config,
        num_processes=num_processes,
        global_batch=global_batch,
        per_device_batch=per_device_batch,
        grad_accum=grad_accum,
        precision=precision,
        max_grad_norm=max_grad_norm,
        optim=optim,
        **options,
    )
    try:
        plan = plan_launch(request)
    except LaunchError as exc:
        if as_json:
            click.echo(
                json.dumps({"launchable": False, "error": str(exc)}, indent=2, ensure_ascii=False)
            )
        raise click.ClickException(str(exc)) from None
    effective = plan.resolved.effective
    if dry_run:
        if as_json:
            click.echo(json.dumps(plan.record(), indent=2, ensure_ascii=False))
        else:
            for line in effective_lines(effective):
                click.echo(line, err=True)
            report_findings(plan.findings, plan.notes)
            click.echo(shlex.join(plan.command))
        if plan.errors:
            if not as_json:
                click.secho(f"not launchable: {plan.errors} preflight error(s)", err=True, fg="red")
            raise SystemExit(2)
        if not as_json:
            click.secho("launchable: drop --dry-run to start it", err=True, fg="green")
        return
    for line in effective_lines(effective):
        click.secho(line, err=True, dim=True)
    errors = report_findings(plan.findings, plan.notes)
    if errors and not skip_checks:
        raise click.ClickException(
            f"{errors} preflight error(s); fix them, or launch anyway with --skip-checks"
        )
    click.secho(f"launch: {shlex.join(plan.command)}", err=True, dim=True)
    jobs = ctx.get().jobs
    try:
        job = start_training(jobs, plan, run=run_name)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from None
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
