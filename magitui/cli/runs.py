"""`magitui runs`: the pipeline runs in the workspace."""

from __future__ import annotations

import json
import sys

import click

from magitui.cli.base import CliContext, fmt_time, friendly_errors, pass_ctx


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
@click.pass_context
def runs(click_ctx: click.Context, ctx: CliContext, as_json: bool) -> None:
    """List pipeline runs (or manage them with a subcommand)."""
    if click_ctx.invoked_subcommand is not None:
        return
    items = ctx.get().workspace.list_runs()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "path": str(r.path),
                        "created_at": r.created_at,
                        "jobs": r.job_count,
                    }
                    for r in items
                ],
                indent=2,
            )
        )
        return
    if not items:
        click.echo("No runs yet. Create one: magitui runs create NAME")
        return
    for run in items:
        click.echo(f"{run.name:<32} {fmt_time(run.created_at)}  {run.job_count} job(s)")


@runs.command("create")
@click.argument("name")
@pass_ctx
@friendly_errors
def runs_create(ctx: CliContext, name: str) -> None:
    """Create runs/NAME/ with a snapshot of the current settings."""
    context = ctx.get()
    run = context.workspace.create_run(name, context.config.model_dump(mode="json"))
    click.echo(f"created {run.path}")


@runs.command("rename")
@click.argument("old")
@click.argument("new")
@pass_ctx
@friendly_errors
def runs_rename(ctx: CliContext, old: str, new: str) -> None:
    """Rename a run (refused while its jobs run)."""
    context = ctx.get()
    run = context.workspace.rename_run(old, new, live_job_ids=context.jobs.live_in_run(old))
    click.echo(f"renamed {old} -> {run.name}")


@runs.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
@friendly_errors
def runs_delete(ctx: CliContext, name: str, yes: bool) -> None:
    """Delete a run and everything in it (data, jobs, checkpoints)."""
    from magitui_core.workspace import dir_size

    context = ctx.get()
    run = context.workspace.get_run(name)
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"refusing to delete run {name!r} without confirmation — pass --yes"
            )
        size = dir_size(run.path) / 1e6
        click.confirm(
            f"Delete run {name!r} ({size:.1f} MB, {run.job_count} job(s)) at {run.path}?",
            default=False,
            abort=True,
        )
    context.workspace.delete_run(name, live_job_ids=context.jobs.live_in_run(name))
    click.echo(f"deleted {run.path}")
