"""The `magitui` command: the TUI when run bare, and a headless twin for every action.

Only light modules are imported at the top so `magitui jobs` answers quickly;
the Textual app is imported only when the TUI is opened. Each command family
lives in its own module and is registered here.
"""

from __future__ import annotations

import click

from magitui.cli.base import CliContext
from magitui.cli.jobs import jobs
from magitui.cli.runs import runs
from magitui.cli.settings import config_cmd, credentials_cmd
from magitui_core import __version__


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
    click_ctx.obj = CliContext(workspace)
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.obj.get()
        from magitui.app import run_app

        run_app(context=ctx)


for command in (jobs, runs, config_cmd, credentials_cmd):
    main.add_command(command)
