"""`magitui serve`: a model server on 127.0.0.1 as a detached job, for chat and A/B tests."""

from __future__ import annotations

import click

from magitui.cli.base import CliContext, friendly_errors, pass_ctx


def gpu_warnings(model: str, jobs: object) -> list[str]:
    """Will the model fit next to what already holds the GPU? (Only where a GPU exists.)"""
    from magitui_core.machine.gpu import NvmlSource
    from magitui_core.training.memory_advisor import ModelShape, ModelShapeError, read_model_config

    warnings = []
    training = [j for j in jobs.list_jobs() if j.is_live and j.status.kind == "train"]  # type: ignore[attr-defined]
    source = NvmlSource()
    try:
        snapshot = source.read()
    finally:
        source.close()
    if not snapshot.available:
        return warnings
    for job in training:
        warnings.append(f"training job {job.id} is running and holds GPU memory")
    try:
        weights = ModelShape.from_config(read_model_config(model)).parameters * 2  # 16-bit
    except ModelShapeError:
        return warnings
    free = max((g.memory_total or 0) - (g.memory_used or 0) for g in snapshot.gpus)
    if weights > free:
        warnings.append(
            f"the model's weights need about {weights / 1024**3:.1f} GiB; the freest GPU has "
            f"{free / 1024**3:.1f} GiB free"
        )
    return warnings


@click.command("serve")
@click.argument("model")
@click.option("--port", type=int, help="Port on 127.0.0.1 (default: a free one).")
@click.option(
    "--engine",
    type=click.Choice(["auto", "vllm", "transformers"]),
    default="auto",
    show_default=True,
    help="auto: vLLM when installed, else transformers serve.",
)
@click.option("--run", "run_name", metavar="RUN", help="File the job under this run.")
@click.option("--detach", is_flag=True, help="Return at once instead of waiting until ready.")
@click.option(
    "--timeout",
    type=float,
    default=900.0,
    show_default=True,
    help="Seconds to wait for the server to be ready.",
)
@pass_ctx
@friendly_errors
def serve(
    ctx: CliContext,
    model: str,
    port: int | None,
    engine: str,
    run_name: str | None,
    detach: bool,
    timeout: float,
) -> None:
    """Serve MODEL (a run's final model, a checkpoint, or a cached base model) as a job.

    The server keeps running after this command and the terminal end; stop it with
    `magitui jobs stop ID`.
    """
    from magitui_core.generation.local_teacher import (
        SERVE_KIND,
        LocalTeacherError,
        default_engine,
        start_local_teacher,
        wait_until_ready,
    )
    from magitui_core.model_source import ModelSourceError, model_source

    try:
        source = model_source(model)
    except ModelSourceError as exc:
        raise click.ClickException(str(exc)) from None
    if source.folder is not None and not (source.folder / "config.json").is_file():
        raise click.ClickException(
            f"{source.folder} has no config.json — give a model folder (a run's "
            "checkpoints/final, a checkpoint-N folder) or a model id from the Hugging Face cache"
        )
    jobs = ctx.get().jobs
    for warning in gpu_warnings(model, jobs):
        click.secho(f"warning: {warning}", err=True, fg="yellow")
    chosen = default_engine() if engine == "auto" else engine
    try:
        server = start_local_teacher(jobs, model, chosen, port, run_name, kind=SERVE_KIND)
        click.echo(server.job.id)
        if detach:
            click.secho(f"starting {server.base_url} ({chosen}) as job {server.job.id}", err=True)
            return
        click.secho(f"loading {model} with {chosen}…", err=True, dim=True)
        wait_until_ready(jobs, server, timeout)
    except LocalTeacherError as exc:
        raise click.ClickException(str(exc)) from None
    click.secho(f"ready at {server.base_url} (model {server.model})", err=True, fg="green")
    click.secho(f"chat: magitui chat --base-url {server.base_url} --model {server.model}", err=True)
    click.secho(f"stop: magitui jobs stop {server.job.id}", err=True, dim=True)
