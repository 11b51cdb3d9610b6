"""`magitui jobs`: list, start, follow, inspect and stop detached jobs."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from magitui.cli.base import CliContext, fmt_duration, fmt_time, friendly_errors, pass_ctx
from magitui_core.jobs.manager import JobInfo


def _print_columns(headers: list[str], rows: list[list[str]], state_col: int) -> None:
    """Plain aligned columns that never truncate (like `ps`), state coloured on terminals."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    click.secho(
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), bold=True
    )
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        cells[state_col] = click.style(cells[state_col], fg=STATE_STYLE.get(row[state_col]))
        click.echo("  ".join(cells).rstrip())


def _job_dict(job: JobInfo) -> dict[str, Any]:
    data = job.status.to_dict()
    data["state"] = job.state.value
    data["recorded_state"] = job.status.state.value
    data["note"] = job.note
    data["dir"] = str(job.dir)
    return data


def _last_error(job: JobInfo) -> str:
    """Why a failed job failed, for jobs that ended before the supervisor recorded it."""
    if job.state.value not in ("failed", "crashed"):
        return ""
    from magitui_core.jobs.events import last_error_message

    return last_error_message(job.events_path)


STATE_STYLE = {
    "running": "green",
    "starting": "cyan",
    "succeeded": "blue",
    "failed": "red",
    "crashed": "bright_red",
    "stopped": "yellow",
}


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--run", "run_name", metavar="RUN", help="Only this run's jobs.")
@pass_ctx
@click.pass_context
def jobs(click_ctx: click.Context, ctx: CliContext, as_json: bool, run_name: str | None) -> None:
    """List jobs (or manage them with a subcommand)."""
    if click_ctx.invoked_subcommand is not None:
        return
    items = ctx.get().jobs.list_jobs()
    if run_name:
        items = [j for j in items if j.status.run == run_name]
    if as_json:
        click.echo(json.dumps([_job_dict(j) for j in items], indent=2))
        return
    if not items:
        click.echo("No jobs yet. Start one: magitui jobs start -- COMMAND [ARGS...]")
        return
    rows = [
        [
            job.id,
            job.status.name,
            job.status.run or "-",
            job.state.value,
            fmt_time(job.status.started_at or job.status.created_at),
            fmt_duration(job.duration()),
            job.note or job.status.error or _last_error(job),
        ]
        for job in items
    ]
    headers = ["ID", "NAME", "RUN", "STATE", "STARTED", "DURATION", "NOTE"]
    _print_columns(headers, rows, state_col=3)


@jobs.command("start", context_settings={"ignore_unknown_options": True})
@click.option("--name", help="A readable name (default: the command's name).")
# -n means "how many" everywhere else (generate -n, jobs logs -n): kept here for one release.
@click.option("-n", "name_alias", hidden=True)
@click.option("--run", "run_name", metavar="RUN", help="File the job under this run.")
@click.option("--kind", default="command", show_default=True, help="Job kind shown in the UI.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
@friendly_errors
def jobs_start(
    ctx: CliContext,
    name: str | None,
    name_alias: str | None,
    run_name: str | None,
    kind: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND as a detached, managed job; prints its id.

    The job keeps running when this shell, the SSH link or the app goes away.
    Put `--` before the command: magitui jobs start --name vllm -- vllm serve MODEL
    """
    job = ctx.get().jobs.start(list(command), name=name or name_alias, kind=kind, run=run_name)
    if job.status.child_pid is None:  # the command never ran
        raise click.ClickException(f"job {job.id} failed to start: {job.status.error}")
    click.echo(job.id)
    if job.state.is_final:  # ran, but ended before we looked
        click.secho(
            f"{job.id} already {job.state.value} (exit {job.status.exit_code}); "
            f"see: magitui jobs logs {job.id}",
            err=True,
            fg="yellow",
        )
        return
    click.secho(
        f"started {job.id} (pid {job.status.child_pid}); follow: magitui jobs logs {job.id} -f",
        err=True,
        fg="green",
    )


@jobs.command("logs")
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@click.option("--lines", "-n", default=50, show_default=True, help="Lines of history to show.")
@click.option("--events", "show_events", is_flag=True, help="Show events.jsonl instead.")
@pass_ctx
@friendly_errors
def jobs_logs(ctx: CliContext, job_id: str, follow: bool, lines: int, show_events: bool) -> None:
    """Show a job's output (stdout and stderr of all its processes)."""
    from magitui_core.jobs.tail import FileFollower, last_lines

    manager = ctx.get().jobs
    job = manager.get(job_id)
    path = job.events_path if show_events else job.output_path
    # History and follow share one offset, so no line is lost or printed twice.
    follower = FileFollower(path, from_end=0)
    for line in last_lines(path, lines, end=follower.offset):
        click.echo(line)
    if not follow:
        return
    try:
        while True:
            chunk = follower.read_new()
            if chunk:
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
                continue
            if not manager.get(job.id).is_live:
                final = manager.get(job.id)
                click.secho(f"-- job {final.id} {final.state.value}", err=True, fg="cyan")
                return
            time.sleep(0.25)
    except KeyboardInterrupt:
        click.secho("\nstopped following; the job keeps running", err=True)


@jobs.command("stop")
@click.argument("job_id")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    help="Seconds between SIGTERM and SIGKILL (default: config jobs.stop_grace_seconds).",
)
@pass_ctx
@friendly_errors
def jobs_stop(ctx: CliContext, job_id: str, grace: float | None) -> None:
    """Stop a job: SIGTERM to its whole process group, SIGKILL after the grace period."""
    context = ctx.get()
    wait = context.config.jobs.stop_grace_seconds if grace is None else grace
    before = context.jobs.get(job_id)
    if not before.is_live and before.state.value != "crashed":
        click.echo(f"{before.id} already {before.state.value}")
        return
    click.echo(f"stopping {before.id} (grace {wait:g}s)…", err=True)
    after = context.jobs.stop(job_id, grace=wait)
    detail = f", {after.status.signal}" if after.status.signal else ""
    click.echo(f"{after.id} {after.state.value}{detail}")


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
@friendly_errors
def jobs_show(ctx: CliContext, job_id: str, as_json: bool) -> None:
    """Show one job's status and its last output lines."""
    job = ctx.get().jobs.get(job_id)
    data = _job_dict(job)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key in (
        "id",
        "name",
        "kind",
        "run",
        "state",
        "note",
        "error",
        "pid",
        "pgid",
        "child_pid",
        "exit_code",
        "signal",
        "cwd",
        "dir",
    ):
        if data.get(key) not in (None, ""):
            click.echo(f"{key:>10}: {data[key]}")
    click.echo(f"{'command':>10}: {' '.join(job.status.command)}")
    click.echo(f"{'started':>10}: {fmt_time(job.status.started_at)}")
    click.echo(f"{'ended':>10}: {fmt_time(job.status.ended_at)}")
    click.echo(f"{'duration':>10}: {fmt_duration(job.duration())}")
    tail = job.tail(10)
    if tail:
        click.echo("  last output:")
        for line in tail:
            click.echo(f"    {line}")


@jobs.command("rm")
@click.argument("job_ids", nargs=-1, required=True)
@pass_ctx
@friendly_errors
def jobs_rm(ctx: CliContext, job_ids: tuple[str, ...]) -> None:
    """Delete finished jobs' folders (logs and events)."""
    for job_id in job_ids:
        ctx.get().jobs.remove(job_id)
        click.echo(f"removed {job_id}")
