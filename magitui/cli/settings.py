"""`magitui config` and `magitui credentials`: settings and secrets."""

from __future__ import annotations

import json
import sys

import click

from magitui.cli.base import friendly_errors


@click.group("config", invoke_without_command=True)
@click.pass_context
def config_cmd(click_ctx: click.Context) -> None:
    """Show the settings in force (or change one with `set`)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(config_show)


@config_cmd.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config_show(as_json: bool = False) -> None:
    """Print the effective settings and where they come from."""
    from magitui_core.config import load_config

    loaded = load_config()
    for warning in loaded.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    data = loaded.config.to_dict()
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
@friendly_errors
def config_set(key: str, value: str) -> None:
    """Set SECTION.KEY to VALUE, e.g. `magitui config set jobs.stop_grace_seconds 30`."""
    from magitui_core.config import set_config_value
    from magitui_core.paths import config_file

    set_config_value(key, value)
    click.echo(f"{key} = {value}  ({config_file()})")


@click.group("credentials", invoke_without_command=True)
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
@friendly_errors
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
@friendly_errors
def credentials_unset(name: str) -> None:
    """Remove NAME from the credentials file (and the HF token file magitui wrote with it)."""
    from magitui_core.credentials import unset
    from magitui_core.paths import credentials_file

    result = unset(name)
    if result.removed:
        click.echo(f"removed {name} from {', '.join(str(p) for p in result.removed)}")
    else:
        click.echo(f"{name} was not stored in {credentials_file()}; nothing removed")
    if result.still_set_by:
        click.secho(
            f"warning: {name} is still set by the {result.still_set_by} — remove it there",
            fg="yellow",
            err=True,
        )
