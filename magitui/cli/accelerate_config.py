"""`magitui accelerate-config`: the accelerate YAML and DeepSpeed JSON without a questionnaire."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from magitui_core.accelerate_setup import AccelerateSettings, write_configs


@click.command("accelerate-config", context_settings={"show_default": True})
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for accelerate.yaml and deepspeed.json (e.g. the run's folder).",
)
@click.option("--num-machines", type=int, default=1)
@click.option("--machine-rank", type=int, default=0, help="This machine's rank (from 0).")
@click.option("--main-ip", help="IP of the rank-0 machine (several machines only).")
@click.option("--main-port", type=int, default=29500)
@click.option(
    "--multinode-launcher",
    type=click.Choice(["standard", "pdsh", "openmpi", "mvapich", "mpich", "nossh"]),
    default="standard",
    help="How DeepSpeed starts ranks on the other machines (several machines only).",
)
@click.option("--gpus", type=int, default=1, help="GPUs to use on this machine (0: CPU).")
@click.option("--mixed-precision", type=click.Choice(["bf16", "fp16", "no"]), default="bf16")
@click.option("--deepspeed/--no-deepspeed", default=True)
@click.option("--zero-stage", type=click.IntRange(0, 3), default=2)
@click.option("--offload-optimizer", type=click.Choice(["none", "cpu", "nvme"]), default="none")
@click.option("--offload-params", type=click.Choice(["none", "cpu", "nvme"]), default="none")
@click.option("--nvme-path", type=click.Path(path_type=Path))
@click.option("--grad-accum", type=int, default=1)
@click.option("--clip", type=float, help="Gradient clipping (default: none, as the recipe).")
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
    grad_accum: int,
    clip: float | None,
) -> None:
    """Write OUT/accelerate.yaml (+ OUT/deepspeed.json) for `magitui train --accelerate-config`."""
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
