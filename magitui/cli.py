"""The `magitui` command: the TUI when run bare, and a headless twin for every action.

Only light modules are imported at the top so `magitui jobs` answers quickly;
the Textual app is imported only when the TUI is opened.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from magitui_core import __version__
from magitui_core.config import ConfigError
from magitui_core.credentials import CredentialsError
from magitui_core.jobs import JobError, JobInfo
from magitui_core.workspace import WorkspaceError

F = TypeVar("F", bound=Callable[..., Any])
EXPECTED_ERRORS = (JobError, WorkspaceError, ConfigError, CredentialsError)


def _friendly_errors(func: F) -> F:
    """Expected failures print one line naming the problem and the fix, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EXPECTED_ERRORS as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class _Ctx:
    """Lazily opened context, so `magitui --help` never touches the disk."""

    def __init__(self, workspace: str | None) -> None:
        self.workspace_arg = workspace
        self._context: Any = None

    def get(self) -> Any:
        if self._context is None:
            from magitui_core.context import open_context

            try:
                self._context = open_context(self.workspace_arg)
            except WorkspaceError as exc:
                raise click.ClickException(str(exc)) from None
            for warning in self._context.warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
        return self._context


pass_ctx = click.make_pass_decorator(_Ctx)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    envvar="MAGITUI_HOME",
    help="Workspace folder (runs and jobs). Default: $MAGITUI_HOME, config, platform data dir.",
)
@click.version_option(__version__, "-V", "--version", prog_name="magitui")
@click.pass_context
def main(click_ctx: click.Context, workspace: str | None) -> None:
    """magitui — OSS-Instruct data generation, curation, fine-tuning, monitoring and chat.

    Run without a command to open the terminal app.
    """
    click_ctx.obj = _Ctx(workspace)
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.obj.get()
        from magitui.app import run_app

        run_app(context=ctx)


# ---- jobs ------------------------------------------------------------------------------------
def _fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


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
    data = job.status.model_dump(mode="json")
    data["state"] = job.state.value
    data["recorded_state"] = job.status.state.value
    data["note"] = job.note
    data["dir"] = str(job.dir)
    return data


STATE_STYLE = {
    "running": "green",
    "starting": "cyan",
    "succeeded": "blue",
    "failed": "red",
    "crashed": "bright_red",
    "stopped": "yellow",
}


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--run", "run_name", metavar="RUN", help="Only this run's jobs.")
@pass_ctx
@click.pass_context
def jobs(click_ctx: click.Context, ctx: _Ctx, as_json: bool, run_name: str | None) -> None:
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
            _fmt_time(job.status.started_at or job.status.created_at),
            _fmt_duration(job.duration()),
            job.note or job.status.error or "",
        ]
        for job in items
    ]
    headers = ["ID", "NAME", "RUN", "STATE", "STARTED", "DURATION", "NOTE"]
    _print_columns(headers, rows, state_col=3)


@jobs.command("start", context_settings={"ignore_unknown_options": True})
@click.option("--name", "-n", help="A readable name (default: the command's name).")
@click.option("--run", "run_name", metavar="RUN", help="File the job under this run.")
@click.option("--kind", default="command", show_default=True, help="Job kind shown in the UI.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
@_friendly_errors
def jobs_start(
    ctx: _Ctx, name: str | None, run_name: str | None, kind: str, command: tuple[str, ...]
) -> None:
    """Run COMMAND as a detached, managed job; prints its id.

    The job keeps running when this shell, the SSH link or the app goes away.
    Put `--` before the command: magitui jobs start --name vllm -- vllm serve MODEL
    """
    job = ctx.get().jobs.start(list(command), name=name, kind=kind, run=run_name)
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
@_friendly_errors
def jobs_logs(ctx: _Ctx, job_id: str, follow: bool, lines: int, show_events: bool) -> None:
    """Show a job's output (stdout and stderr of all its processes)."""
    from magitui_core.tail import FileFollower, last_lines

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
@_friendly_errors
def jobs_stop(ctx: _Ctx, job_id: str, grace: float | None) -> None:
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
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
@_friendly_errors
def jobs_show(ctx: _Ctx, job_id: str, as_json: bool) -> None:
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
    click.echo(f"{'started':>10}: {_fmt_time(job.status.started_at)}")
    click.echo(f"{'ended':>10}: {_fmt_time(job.status.ended_at)}")
    click.echo(f"{'duration':>10}: {_fmt_duration(job.duration())}")
    tail = job.tail(10)
    if tail:
        click.echo("  last output:")
        for line in tail:
            click.echo(f"    {line}")


@jobs.command("rm")
@click.argument("job_ids", nargs=-1, required=True)
@pass_ctx
@_friendly_errors
def jobs_rm(ctx: _Ctx, job_ids: tuple[str, ...]) -> None:
    """Delete finished jobs' folders (logs and events)."""
    for job_id in job_ids:
        ctx.get().jobs.remove(job_id)
        click.echo(f"removed {job_id}")


# ---- runs ------------------------------------------------------------------------------------
@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
@click.pass_context
def runs(click_ctx: click.Context, ctx: _Ctx, as_json: bool) -> None:
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
        click.echo(f"{run.name:<32} {_fmt_time(run.created_at)}  {run.job_count} job(s)")


@runs.command("create")
@click.argument("name")
@pass_ctx
@_friendly_errors
def runs_create(ctx: _Ctx, name: str) -> None:
    """Create runs/NAME/ with a snapshot of the current settings."""
    context = ctx.get()
    run = context.workspace.create_run(name, context.config.model_dump(mode="json"))
    click.echo(f"created {run.path}")


@runs.command("rename")
@click.argument("old")
@click.argument("new")
@pass_ctx
@_friendly_errors
def runs_rename(ctx: _Ctx, old: str, new: str) -> None:
    """Rename a run (refused while its jobs run)."""
    context = ctx.get()
    run = context.workspace.rename_run(old, new, live_job_ids=context.jobs.live_in_run(old))
    click.echo(f"renamed {old} -> {run.name}")


@runs.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
@_friendly_errors
def runs_delete(ctx: _Ctx, name: str, yes: bool) -> None:
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


# ---- config and credentials ------------------------------------------------------------------
@main.group("config", invoke_without_command=True)
@click.pass_context
def config_cmd(click_ctx: click.Context) -> None:
    """Show the settings in force (or change one with `set`)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(config_show)


@config_cmd.command("show")
@click.option("--json", "as_json", is_flag=True)
def config_show(as_json: bool = False) -> None:
    """Print the effective settings and where they come from."""
    from magitui_core.config import load_config

    loaded = load_config()
    for warning in loaded.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    data = loaded.config.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps({"file": str(loaded.path), "settings": data}, indent=2))
        return
    state = "" if loaded.exists else " (not created yet; defaults in force)"
    click.echo(f"# {loaded.path}{state}")
    for section, values in data.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            shown = "(unset)" if value is None else json.dumps(value)
            click.echo(f"{key} = {shown}")
        click.echo()


@config_cmd.command("path")
def config_path() -> None:
    """Print the config file's path."""
    from magitui_core.paths import config_file

    click.echo(str(config_file()))


@config_cmd.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value", type=click.UNPROCESSED)  # so negative numbers reach validation
@_friendly_errors
def config_set(key: str, value: str) -> None:
    """Set SECTION.KEY to VALUE, e.g. `magitui config set jobs.stop_grace_seconds 30`."""
    from magitui_core.config import set_config_value
    from magitui_core.paths import config_file

    set_config_value(key, value)
    click.echo(f"{key} = {value}  ({config_file()})")


@main.group("credentials", invoke_without_command=True)
@click.pass_context
def credentials_cmd(click_ctx: click.Context) -> None:
    """Show (masked) or store secrets: the teacher API key and the HF token."""
    if click_ctx.invoked_subcommand is None:
        from magitui_core.credentials import SECRETS, permission_warning, resolve

        for name, spec in SECRETS.items():
            secret = resolve(name)
            origin = (
                f"from {secret.source}"
                if secret.value
                else f"set {spec.env} or run: magitui credentials set {name}"
            )
            click.echo(f"{spec.label:<20} {secret.masked:<14} {origin}")
        warning = permission_warning()
        if warning:
            click.secho(f"warning: {warning}", fg="yellow", err=True)


@credentials_cmd.command("set")
@click.argument("name", type=click.Choice(["openai_api_key", "hf_token"]))
@_friendly_errors
def credentials_set(name: str) -> None:
    """Store NAME in the 0600 credentials file (read from a hidden prompt or stdin)."""
    from magitui_core.credentials import mask, store

    if sys.stdin.isatty():
        value = click.prompt(f"{name}", hide_input=True)
    else:
        value = sys.stdin.readline().strip()
    if not value:
        raise click.ClickException(f"no value given for {name}; nothing stored")
    path = store(name, value)
    click.echo(f"stored {name} = {mask(value)} in {path} (mode 600)")


@credentials_cmd.command("unset")
@click.argument("name", type=click.Choice(["openai_api_key", "hf_token"]))
@_friendly_errors
def credentials_unset(name: str) -> None:
    """Remove NAME from the credentials file."""
    from magitui_core.credentials import store

    path = store(name, "")
    click.echo(f"removed {name} from {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
