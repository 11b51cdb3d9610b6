"""`magitui runs`: the pipeline runs in the workspace."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
    from magitui_core.eval.results import latest_score

    items = ctx.get().workspace.list_runs()
    scores = {run.name: latest_score(run.path) for run in items}
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "path": str(r.path),
                        "created_at": r.created_at,
                        "jobs": r.job_count,
                        "data_files": _data_names(r.path),
                        "eval": scores[r.name],
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
    rows = [
        (
            run.name,
            fmt_time(run.created_at),
            str(run.job_count),
            scores[run.name] or "-",
            ", ".join(_data_names(run.path)),
        )
        for run in items
    ]
    widths = [max(len(row[i]) for row in [RUN_HEADER, *rows]) for i in range(4)]
    for row in [RUN_HEADER, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[4] or "-"]).rstrip())


RUN_HEADER = ("NAME", "CREATED", "JOBS", "EVAL", "DATA")


def _data_names(run_path: Path) -> list[str]:
    """The run's data files, so a listing shows which stages have produced something."""
    data = run_path / "data"
    return sorted(str(p.relative_to(data)) for p in data.glob("**/*.jsonl") if p.is_file())


@runs.command("create")
@click.argument("name")
@pass_ctx
@friendly_errors
def runs_create(ctx: CliContext, name: str) -> None:
    """Create runs/NAME/ with a snapshot of the current settings."""
    context = ctx.get()
    run = context.workspace.create_run(name, context.config.to_dict())
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
