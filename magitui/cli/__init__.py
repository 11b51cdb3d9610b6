"""The `magitui` command: the TUI when run bare, and a headless twin for every action.

Only light modules are imported at the top so `magitui jobs` answers quickly;
the Textual app is imported only when the TUI is opened.
"""

from __future__ import annotations

import click

from magitui.cli.base import CliContext
from magitui.cli.lazy_group import LazyGroup
from magitui_core import __version__

# Each command family lives in its own module, imported only when that command runs.
COMMANDS = {
    "jobs": "magitui.cli.jobs:jobs",
    "runs": "magitui.cli.runs:runs",
    "config": "magitui.cli.settings:config_cmd",
    "credentials": "magitui.cli.settings:credentials_cmd",
    "generate": "magitui.cli.generate:generate",
    "preprocess": "magitui.cli.preprocess:preprocess",
    "train": "magitui.cli.train:train",
    "accelerate-config": "magitui.cli.accelerate_config:accelerate_config",
    "chat": "magitui.cli.chat:chat",
    "serve": "magitui.cli.serve:serve",
    "doctor": "magitui.cli.doctor:doctor",
    "gpu": "magitui.cli.monitor:gpu",
    "cache": "magitui.cli.monitor:cache",
    "demo": "magitui.cli.demo:demo",
    "eval": "magitui.cli.eval:eval_cmd",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
