"""`magitui demo`: the whole recipe on a tiny model, offline on any machine, in a few minutes.

The stages run as one detached demo job (see magitui_core.demo.tour); this command shows it in the
TUI (a Demo screen, then the chat) or, with --headless, prints each stage as it ends, asks the
served model one question and stops what it started.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from magitui.cli.base import CliContext, pass_ctx
from magitui_core.demo.tour import (
    CHAT_MAX_TOKENS,
    CHAT_PROMPT,
    CHAT_TEMPERATURE,
    STAGE_KEYS,
    STAGES,
    DemoError,
    DemoView,
    default_dir,
    durations_note,
    missing_message,
    missing_modules,
    start_or_attach,
    stop_live_jobs,
    wipe,
)
from magitui_core.jobs.manager import JobError, JobInfo, JobManager
from magitui_core.workspace import WorkspaceError

TITLES = {stage.key: stage.title for stage in STAGES}


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="The demo's own workspace folder. Default: 'demo' inside the workspace "
    "(--workspace, MAGITUI_HOME or the config's, else the platform data dir).",
)
@click.option("--fresh", is_flag=True, help="Delete an earlier demo in that folder first.")
@click.option(
    "--headless", is_flag=True, help="No TUI: print the stages, ask one question, clean up."
)
@pass_ctx
def demo(ctx: CliContext, folder: Path | None, fresh: bool, headless: bool) -> None:
    """A tour of the whole recipe on a tiny model: no GPU, no API key, no network.

    Builds a tiny random model and starts a teacher STAND-IN (a local server that answers in a
    teacher's format but is not a language model), then generates data, curates it,
    fine-tunes under accelerate launch and serves the result, each as a real magitui job,
    and ends in the chat. Needs the train and serve extras.
    """
    missing = missing_modules()
    if missing:
        click.secho(f"error: {missing_message(missing)}", err=True, fg="red")
        sys.exit(2)
    root = (folder or default_dir(workspace_root(ctx))).expanduser().resolve()
    again = "magitui demo --fresh" + (f" --dir {shlex.quote(str(root))}" if folder else "")
    if ctx.workspace_arg and not folder:
        again = f"magitui -w {shlex.quote(ctx.workspace_arg)} demo --fresh"
    try:
        if fresh:
            wipe(root)
        from magitui_core.context import open_context

        jobs = open_context(root).jobs
        job, attached = start_or_attach(jobs, root)
    except (DemoError, JobError, WorkspaceError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "re-attached to" if attached else "started"
    click.secho(f"demo workspace {root}: {verb} demo job {job.id}", err=True, dim=True)
    if headless:
        sys.exit(run_headless(jobs, job, again))
    run_tui(root, job)


def workspace_root(ctx: CliContext) -> Path:
    """The workspace the other commands would use, not opened (the demo keeps its own inside)."""
    from magitui_core import paths
    from magitui_core.config import load_config

    return Path(paths.resolve_workspace(ctx.workspace_arg, load_config().config.workspace.path))


def run_headless(jobs: JobManager, job: JobInfo, again: str = "magitui demo --fresh") -> int:
    """Follow the demo job to its end, chat once, stop every job; the exit status."""
    from magitui_core.jobs.events import EventReader

    click.echo(
        "The teacher here is a STAND-IN (not an LLM) and the model is tiny and random: the "
        "tour shows the stages working, not a useful model."
    )
    reader = EventReader(job.events_path)
    view = DemoView()
    try:
        while True:
            for event in reader.read_new():
                view.fold(event)
                _print_event(event)
            current = jobs.get(job.id)
            if not current.is_live:
                for event in reader.read_new():
                    view.fold(event)
                    _print_event(event)
                break
            time.sleep(0.3)
        if view.finished is None or view.endpoint is None:
            tail = "\n".join(current.tail(12))
            click.secho(
                f"the demo job {job.id} {current.state.value}: {view.error or tail}",
                err=True,
                fg="red",
            )
            return 1
        answered = _ask(view.endpoint)
        durations = view.finished.get("durations") or {}
        click.echo(f"\nStage durations: {durations_note(durations)}")
        return 0 if answered else 1
    except KeyboardInterrupt:
        click.secho("\ninterrupted: stopping the demo's jobs", err=True)
        return 130
    finally:
        for stopped in stop_live_jobs(jobs):
            click.secho(f"stopped job {stopped}", err=True, dim=True)
        click.secho(
            f"The demo's files stay in {jobs.workspace.root} "
            f"(open them: magitui -w {jobs.workspace.root}; start over: {again}).",
            err=True,
            dim=True,
        )


def _print_event(event: dict[str, Any]) -> None:
    stage = str(event.get("stage", ""))
    kind = event.get("type")
    if kind == "progress" and stage in TITLES:
        number = STAGE_KEYS.index(stage) + 1
        if event.get("state") == "started":
            click.echo(f"[{number}/{len(STAGE_KEYS)}] {TITLES[stage]}: {event.get('message', '')}…")
        else:
            took = "kept from before" if event.get("reused") else f"{event.get('seconds', 0):.1f}s"
            click.echo(f"      done ({took}): {event.get('message', '')}")
    elif kind == "log" and stage in TITLES:
        click.secho(f"      {event.get('message', '')}", dim=True)
    elif kind == "error":
        click.secho(f"error in {stage or 'the demo'}: {event.get('message', '')}", fg="red")


def _ask(endpoint: dict[str, str]) -> bool:
    """One question to the served model, answered as `magitui chat -p` does."""
    from magitui.cli.chat import _stats_line
    from magitui_core.chat.client import ChatClient, ChatError, ChatSettings, Conversation

    settings = ChatSettings(
        base_url=endpoint["base_url"],
        model=endpoint["model"],
        max_tokens=CHAT_MAX_TOKENS,
        temperature=CHAT_TEMPERATURE,
    )
    client = ChatClient(Conversation(settings), api_key=None)
    click.echo(f"\n>>> {CHAT_PROMPT}")
    try:
        answer = "".join(client.send(CHAT_PROMPT))
    except ChatError as exc:
        click.secho(f"error: the served model did not answer: {exc}", err=True, fg="red")
        return False
    # A random model often answers runs of blank lines: show them as such, not as a void.
    shown = re.sub(r"\n{3,}", "\n\n", answer).strip()
    click.echo(shown or f"(an answer of {len(answer)} blank characters: {answer[:20]!r}…)")
    click.secho(_stats_line(client.last).split(" (/more")[0], err=True, dim=True)
    click.secho(
        "(The tiny model was trained for seconds on stand-in data: its answer is noise. A real "
        "run's model answers properly.)",
        dim=True,
    )
    return True


def run_tui(root: Path, job: JobInfo) -> None:
    """The app on the Demo screen; on quitting, the model server the tour left is stopped."""
    from magitui.app import run_app
    from magitui_core.context import open_context

    context = open_context(root)
    try:
        run_app(context=context, demo_job=job.id)
    finally:
        after = context.jobs.get(job.id)
        if after.is_live:
            click.secho(
                f"The demo goes on as job {after.id}; `magitui demo` re-attaches "
                f"(stop it: magitui -w {root} jobs stop {after.id}).",
                err=True,
            )
        else:
            for stopped in stop_live_jobs(context.jobs):
                click.secho(f"stopped the demo's job {stopped}", err=True, dim=True)
            click.secho(
                f"The demo's files stay in {root} (open them: magitui -w {root}; "
                "start over: magitui demo --fresh).",
                err=True,
                dim=True,
            )
