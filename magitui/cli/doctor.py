"""`magitui doctor`: versions, GPUs, disks, HF_HOME, secrets, DeepSpeed ops, in one table."""

from __future__ import annotations

import json

import click

from magitui.cli.base import CliContext, pass_ctx

STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "red"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def doctor(ctx: CliContext, as_json: bool) -> None:
    """Check this machine for training and generation; exits 1 when something is broken."""
    from magitui_core.machine.doctor import run_checks

    context = ctx.get()
    checks = run_checks(context.workspace.root, list(context.warnings))
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            click.echo(
                click.style(f"{check.status:<8}", fg=STYLE[check.status])
                + f"{check.name:<{width}}  {check.detail}"
            )
            if check.fix and check.status != "ok":
                click.echo(" " * (10 + width) + click.style(f"→ {check.fix}", dim=True))
    if any(c.status == "error" for c in checks):
        raise SystemExit(1)
