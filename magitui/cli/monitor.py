"""`magitui gpu` and `magitui cache`: the Monitor screen's headless twins."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from magitui.cli.base import CliContext, fmt_time, pass_ctx
from magitui_core.cache.catalog import SORT_KEYS, CacheError, CacheLocations, format_size

SIZE_HINT = "sizes in bytes: K = 1000"


def _bytes(value: int | None) -> str:
    return "-" if value is None else format_size(value)


# ---- gpu -----------------------------------------------------------------------------------
@click.command("gpu")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def gpu(ctx: CliContext, as_json: bool) -> None:
    """GPUs (NVML): utilisation, memory, temperature, power, clocks and their processes."""
    from magitui_core.machine.gpu import NvmlSource, job_process_groups

    context = ctx.get()
    source = NvmlSource(job_groups=lambda: job_process_groups(context.jobs.list_jobs()))
    snapshot = source.read()
    source.close()
    if as_json:
        click.echo(json.dumps(snapshot.to_dict(), indent=2))
        return
    if not snapshot.available:
        click.echo(snapshot.message)
        return
    click.secho(f"Driver {snapshot.driver_version or '?'} · {len(snapshot.gpus)} GPU(s)", bold=True)
    for info in snapshot.gpus:
        mem = f"{_bytes(info.memory_used)}/{_bytes(info.memory_total)}"
        power = (
            "-"
            if info.power_watts is None
            else f"{info.power_watts:.0f}W/{info.power_limit_watts or 0:.0f}W"
        )
        util = "-" if info.utilization is None else f"{info.utilization}%"
        temp = "-" if info.temperature is None else f"{info.temperature}°C"
        clocks = f"{info.clock_sm_mhz or '-'}/{info.clock_mem_mhz or '-'} MHz"
        click.echo(f"[{info.index}] {info.name}  util {util}  mem {mem}  {temp}  {power}  {clocks}")
        for proc in info.processes:
            job = f"  job {proc.job_id}" if proc.job_id else ""
            click.echo(
                f"      pid {proc.pid:<7} {proc.user or '?':<10} {_bytes(proc.gpu_memory):>7}"
                f"{job}  {proc.command[:80]}"
            )


# ---- cache ---------------------------------------------------------------------------------
def _locations(ctx: CliContext) -> CacheLocations:
    context = ctx.get()
    return CacheLocations.from_env(runs_dir=context.workspace.runs_dir)


class _StderrProgress:
    """A one-line progress counter on a terminal; silent when stderr is a file."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        click.echo(f"\r\033[Kscanning {what}: {done}/{total}", err=True, nl=False)

    def finish(self) -> None:
        if self.live:
            click.echo("\r\033[K", err=True, nl=False)


def _scan(ctx: CliContext) -> Any:
    from magitui_core.cache.catalog import scan_cache

    progress = _StderrProgress()
    scan = scan_cache(_locations(ctx), progress)
    progress.finish()
    return scan


@click.group("cache", invoke_without_command=True)
@click.pass_context
def cache(click_ctx: click.Context) -> None:
    """The Hugging Face cache and its neighbours: see what fills the disk, free it safely."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(cache_scan)


@cache.command("scan")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--sort", type=click.Choice(SORT_KEYS[:3]), default="size", show_default=True, help="Order."
)
@pass_ctx
def cache_scan(ctx: CliContext, as_json: bool = False, sort: str = "size") -> None:
    """List cached repos with their revisions, and the other caches (datasets, xet, pip, ...)."""
    from magitui_core.cache.catalog import sort_repos

    scan = _scan(ctx)
    if as_json:
        click.echo(json.dumps(scan.to_dict(), indent=2))
        return
    hub = scan.hub
    if not hub.exists:
        click.echo(f"No hub cache at {hub.cache_dir} (nothing downloaded yet).")
    repos = sort_repos(hub.repos, sort)
    if repos:
        click.secho(f"{'TARGET':<44} {'REVS':>4} {'SIZE':>8}  {'LAST USED':<19}  REFS", bold=True)
    for repo in repos:
        click.echo(
            f"{repo.key:<44} {len(repo.revisions):>4} {format_size(repo.size):>8}  "
            f"{fmt_time(repo.last_accessed):<19}  {', '.join(repo.refs) or '-'}"
        )
        for rev in repo.revisions:
            refs = ", ".join(rev.refs) if rev.refs else click.style("detached", fg="yellow")
            click.echo(f"  {rev.commit_hash:<42} {format_size(rev.size):>13}  {'':<19}  {refs}")
    extras = list(scan.extras)
    if sort == "size":
        extras.sort(key=lambda e: (-e.size, e.key))
    elif sort == "accessed":
        extras.sort(key=lambda e: (-e.last_accessed, e.key))
    else:
        extras.sort(key=lambda e: e.key)
    if extras:
        click.secho(f"\n{'OTHER CACHES':<49} {'SIZE':>8}  {'LAST USED':<19}  NOTE", bold=True)
        for entry in extras:
            click.echo(
                f"{entry.key:<49} {format_size(entry.size):>8}  "
                f"{fmt_time(entry.last_accessed):<19}  {entry.note}"
            )
    if hub.incomplete:
        size = sum(f.size for f in hub.incomplete)
        click.echo(f"\n{len(hub.incomplete)} unfinished download(s), {format_size(size)}")
    for warning in hub.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(
        f"\nHub {format_size(hub.size_on_disk)} in {len(hub.repos)} repos · all caches "
        f"{format_size(scan.total_size)} ({SIZE_HINT}). Free space: magitui cache rm TARGET..."
    )


@cache.command("rm")
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.option("--dry-run", is_flag=True, help="Print what would go and the size; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def cache_rm(ctx: CliContext, targets: tuple[str, ...], dry_run: bool, yes: bool) -> None:
    """Delete cached repos, revisions or other cache entries.

    TARGET is a repo (model/org/name, dataset/org/name), a revision hash (7+ characters
    are enough), or an entry key from `magitui cache scan` (datasets-cache/downloads, ...).
    """
    from magitui_core.cache.catalog import resolve_targets
    from magitui_core.cache.delete import execute_plan, plan_deletion

    context = ctx.get()
    try:
        scan = _scan(ctx)
        plan = plan_deletion(scan, resolve_targets(scan, targets), context.jobs.list_jobs())
    except CacheError as exc:
        raise click.ClickException(str(exc)) from None
    for line in plan.describe():
        click.echo(line)
    if not plan.ok:
        raise click.ClickException(
            "nothing deleted — an entry is in use by a running job; stop it "
            "(magitui jobs stop ID) and try again"
        )
    total = format_size(plan.freed_bytes)
    if dry_run:
        click.echo(f"would free {total} (dry run: nothing deleted)")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"about to delete {len(plan.items)} item(s), {total} — add -y to confirm "
                "when not at a terminal"
            )
        click.confirm(f"Delete these {len(plan.items)} item(s) and free {total}?", abort=True)
    progress = _StderrProgress()
    try:
        result = execute_plan(plan, progress)
    except CacheError as exc:
        raise click.ClickException(str(exc)) from None
    progress.finish()
    for failure in result.failures:
        click.secho(f"not freed: {failure}", fg="red", err=True)
    click.echo(
        f"freed {format_size(result.freed)} (expected {format_size(result.predicted)}); "
        f"hub cache now {format_size(result.scan.hub.size_on_disk)}"
    )
    if result.failures:
        sys.exit(1)
