"""`magitui accelerate-config`: the accelerate YAML and DeepSpeed JSON without a questionnaire,
and with --advise the Setup screen's memory advisor: its table, and its choice of ZeRO stage and
offload unless those are given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
from pydantic import ValidationError

from magitui.cli.base import settings
from magitui_core.training.accelerate_config import (
    MULTINODE_LAUNCHERS,
    AccelerateSettings,
    write_configs,
)
from magitui_core.training.memory_advisor import OPTIMIZERS, optimizer_kind

# train's --optim names for the advisor's optimizers, and the family names it used to take.
OPTIM_CHOICES = [spec.hf_optim for spec in OPTIMIZERS.values()] + list(OPTIMIZERS)

if TYPE_CHECKING:
    from magitui_core.training.memory_advisor import Optimizer, Plan

GIB = 1024**3
ADVISED = (
    "deepspeed",
    "zero_stage",
    "offload_optimizer",
    "offload_params",
)  # what --advise may choose


@click.command(
    "accelerate-config",
    # Spellings before one vocabulary across commands (train's names), kept for one release.
    context_settings=settings(
        mixed_precision="precision",
        optimizer="optim",
        seq_len="max-seq-len",
        micro_batch="per-device-batch",
        checkpointing="gradient-checkpointing",
        no_checkpointing="no-gradient-checkpointing",
    ),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for accelerate.yaml and deepspeed.json (e.g. the run's folder).",
)
@click.option("--num-machines", type=int, default=1, help="Machines training together.")
@click.option("--machine-rank", type=int, default=0, help="This machine's rank (from 0).")
@click.option("--main-ip", help="IP of the rank-0 machine (several machines only).")
@click.option("--main-port", type=int, default=29500, help="Port of the rank-0 machine.")
@click.option(
    "--multinode-launcher",
    type=click.Choice(MULTINODE_LAUNCHERS),
    default="standard",
    help="How DeepSpeed starts ranks on the other machines (several machines only).",
)
@click.option("--gpus", type=int, default=1, help="GPUs to use on this machine (0: CPU).")
@click.option(
    "--precision",
    "mixed_precision",
    type=click.Choice(["bf16", "fp16", "no"]),
    default="bf16",
    help="Mixed precision accelerate sets up (no: fp32).",
)
@click.option("--deepspeed/--no-deepspeed", default=True, help="Train under DeepSpeed ZeRO.")
@click.option(
    "--zero-stage", type=click.IntRange(0, 3), default=2, help="DeepSpeed ZeRO stage (0–3)."
)
@click.option(
    "--offload-optimizer",
    type=click.Choice(["none", "cpu", "nvme"]),
    default="none",
    help="Where ZeRO keeps optimizer states (cpu/nvme: less GPU memory, slower).",
)
@click.option(
    "--offload-params",
    type=click.Choice(["none", "cpu", "nvme"]),
    default="none",
    help="Where ZeRO-3 keeps parameters (cpu/nvme: less GPU memory, slower).",
)
@click.option(
    "--nvme-path", type=click.Path(path_type=Path), help="Folder on an NVMe disk for nvme offload."
)
@click.option(
    "--grad-accum",
    type=int,
    help="Gradient accumulation  [default: the recipe's: global batch 512 ÷ (processes × 2 per "
    "device), e.g. 128 on 2 GPUs]",
)
@click.option("--clip", type=float, help="Gradient clipping (default: none, as the recipe).")
@click.option(
    "--advise",
    "advise_model",
    metavar="MODEL",
    help="Size the memory for MODEL (a folder, a downloaded Hub id, or a parameter count such "
    "as 6.7B): print the advisor's table and take its ZeRO stage and offload unless given.",
)
@click.option(
    "--optim",
    "optimizer",
    type=click.Choice(OPTIM_CHOICES),
    default="adafactor",
    help="Optimizer the advisor sizes for, by train's --optim name (the recipe's: adafactor).",
)
@click.option("--gpu-memory", type=float, help="Advisor: GiB per GPU [default: this machine's].")
@click.option("--cpu-memory", type=float, help="Advisor: GiB of RAM [default: this machine's].")
@click.option(
    "--max-seq-len",
    "seq_len",
    type=click.IntRange(min=1),
    default=1216,
    help="Advisor: tokens per row (train's --max-seq-len).",
)
@click.option(
    "--per-device-batch",
    "micro_batch",
    type=click.IntRange(min=1),
    default=2,
    help="Advisor: rows per GPU (train's --per-device-batch; the recipe's: 2).",
)
@click.option(
    "--gradient-checkpointing/--no-gradient-checkpointing",
    "checkpointing",
    default=True,
    help="Advisor: gradient checkpointing.",
)
def accelerate_config(
    out: Path,
    num_machines: int,
    machine_rank: int,
    main_ip: str | None,
    main_port: int,
    multinode_launcher: str,
    gpus: int,
    mixed_precision: str,
    deepspeed: bool,
    zero_stage: int,
    offload_optimizer: str,
    offload_params: str,
    nvme_path: Path | None,
    grad_accum: int | None,
    clip: float | None,
    advise_model: str | None,
    optimizer: str,
    gpu_memory: float | None,
    cpu_memory: float | None,
    seq_len: int,
    micro_batch: int,
    checkpointing: bool,
) -> None:
    """Write OUT/accelerate.yaml (+ OUT/deepspeed.json) for `magitui train --accelerate-config`."""
    if advise_model:
        source = click.get_current_context().get_parameter_source
        given = any(source(name) == click.core.ParameterSource.COMMANDLINE for name in ADVISED)
        plan = advise(
            advise_model,
            out,
            optimizer,
            gpu_memory,
            cpu_memory,
            gpus_per_node=max(1, gpus),
            nodes=num_machines,
            micro_batch=micro_batch,
            seq_len=seq_len,
            checkpointing=checkpointing,
            required=not given,
        )
        if plan is not None and not given:
            deepspeed, zero_stage = True, plan.stage
            offload_optimizer, offload_params = plan.offload_optimizer, plan.offload_params
    if grad_accum is None:
        grad_accum = recipe_accumulation(max(1, gpus) * max(1, num_machines))
    try:
        settings = AccelerateSettings(
            num_machines=num_machines,
            machine_rank=machine_rank,
            main_process_ip=main_ip,
            main_process_port=main_port,
            multinode_launcher=multinode_launcher,
            gpus=gpus,
            mixed_precision=mixed_precision,
            use_deepspeed=deepspeed,
            zero_stage=zero_stage,
            offload_optimizer=offload_optimizer,
            offload_params=offload_params,
            nvme_path=nvme_path,
            grad_accum=grad_accum,
            grad_clip=clip,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        raise click.ClickException(f"{where + ': ' if where else ''}{message}") from None
    yaml_path, json_path = write_configs(settings, out)
    click.echo(str(yaml_path))
    if deepspeed:
        click.echo(str(json_path))
    click.secho(
        f"train with: magitui train --accelerate-config {yaml_path} ...", err=True, fg="green"
    )


def recipe_accumulation(processes: int) -> int:
    """The accumulation that makes the recipe's global batch with its per-device batch, so
    `magitui train --accelerate-config` with no options trains as the paper; said on stderr."""
    from magitui_core.training.recipe import MAGICODER
    from magitui_core.training.recipe import recipe_accumulation as accumulation_for

    accumulation = accumulation_for(processes)
    if accumulation is None:
        click.secho(
            f"gradient accumulation 1: the recipe's global batch {MAGICODER.global_batch} does "
            f"not split over {processes} processes × {MAGICODER.per_device_batch} per device — "
            "give --grad-accum, and train with the --global-batch it makes",
            err=True,
            fg="yellow",
        )
        return 1
    click.secho(
        f"gradient accumulation {accumulation}: the recipe's global batch "
        f"{MAGICODER.global_batch} = {MAGICODER.per_device_batch} per device × {accumulation} × "
        f"{processes} process{'es' if processes != 1 else ''}",
        err=True,
        dim=True,
    )
    return accumulation


def advise(
    model: str,
    out: Path,
    optimizer: str,
    gpu_memory: float | None,
    cpu_memory: float | None,
    *,
    required: bool,
    **layout: Any,
) -> Plan | None:
    """Print the advisor's table (stderr) and return its choice; ``required``: none is fatal."""
    from magitui_core.machine.disks import format_binary
    from magitui_core.training.memory_advisor import (
        AdvisorInputError,
        ModelShapeError,
        plans,
        recommend,
        shape_for,
    )

    try:
        shape = shape_for(model)
    except (ModelShapeError, AdvisorInputError) as exc:
        raise click.ClickException(str(exc)) from None
    if gpu_memory is None or cpu_memory is None:
        from magitui_core.training.preflight import machine_facts

        machine = machine_facts(out)
        gpu_bytes = int(gpu_memory * GIB) if gpu_memory is not None else machine.gpu_memory
        cpu_bytes = int(cpu_memory * GIB) if cpu_memory is not None else machine.cpu_memory
    else:
        gpu_bytes, cpu_bytes = int(gpu_memory * GIB), int(cpu_memory * GIB)
    if gpu_bytes <= 0:
        raise click.ClickException(
            "--gpu-memory is missing — no GPU here; give the target GPU's memory, e.g. 80"
        )
    kind = cast("Optimizer", optimizer_kind(optimizer) or optimizer)
    all_plans = plans(shape, gpu_bytes, cpu_bytes, optimizer=kind, **layout)
    best = recommend(all_plans)
    spec = OPTIMIZERS[kind]
    click.echo(
        f"{shape.parameters / 1e9:.2f} B parameters, {spec.label}, "
        f"{format_binary(gpu_bytes)} per GPU, {format_binary(cpu_bytes)} RAM",
        err=True,
    )
    for plan in all_plans:
        mark = "★" if plan == best else " "
        fits = plan.blocked or ("yes" if plan.fits else "no")
        click.echo(
            f"{mark} {plan.label:<40} {format_binary(plan.gpu_bytes):>9} GPU  "
            f"{format_binary(plan.cpu_bytes):>9} CPU  {fits}",
            err=True,
        )
    if best is None:
        message = (
            "nothing fits — more GPUs, a smaller --per-device-batch or --max-seq-len, or a smaller "
            "model"
        )
        if required:
            raise click.ClickException(message)
        click.secho(message, err=True, fg="yellow")
    else:
        click.secho(
            f"★ {best.label}: the fastest that fits; train with --optim {spec.hf_optim}",
            err=True,
            fg="green",
        )
    return best
