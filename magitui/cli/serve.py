"""`magitui serve`: a model server on 127.0.0.1 as a detached job, for chat and A/B tests."""

from __future__ import annotations

import click

from magitui.cli.base import CliContext, friendly_errors, pass_ctx


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
        gpu_warnings,
        serve_model_problem,
        start_local_teacher,
        wait_until_ready,
    )

    problem = serve_model_problem(model)
    if problem is not None:
        raise click.ClickException(problem)
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
