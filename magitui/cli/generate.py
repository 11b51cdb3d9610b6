"""`magitui generate`: OSS-Instruct data from a teacher model, in the foreground or as a job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from magitui.cli.base import CliContext, friendly_errors, pass_ctx
from magitui_core.generation.engine import (
    DEFAULT_API_KEY_ENV,
    DEFAULT_MAX_TOKENS,
    INPUT_ERRORS,
    GenerationReporter,
    GenerationSettings,
    api_key_from,
    describe_summary,
    exit_code,
    run_generation,
)
from magitui_core.generation.settings import DEFAULT_MODEL_CONTEXT
from magitui_core.generation.snippets import MAX_CONSIDERED, RECIPE_SEED
from magitui_core.generation.teacher import DEFAULT_ATTEMPTS, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT
from magitui_core.workspace import GENERATED_NAME


class RichReporter(GenerationReporter):
    """Live progress bar on stderr; warnings and the summary printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("[bold]generate"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.bar.add_task("generate", total=None, detail="")

    def __enter__(self) -> RichReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def progress(self, stats: dict[str, Any]) -> None:
        rejected = sum(stats["rejected"].values())
        eta = stats.get("eta_s")
        detail = (
            f"✓ {stats['accepted']} ✗ {rejected} · {stats['in_flight']} in flight · "
            f"{stats['requests_per_s']:.1f} req/s · {stats['tokens_per_s']:.0f} tok/s"
            + (f" · ETA {int(eta) // 60}m{int(eta) % 60:02d}s" if eta else "")
            + (" · paused" if stats.get("paused") else "")
        )
        self.bar.start()  # on first progress: input errors never leave an empty bar behind
        self.bar.update(self.task, completed=stats["done"], total=stats["total"], detail=detail)

    def warning(self, key: str, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    def done(self, summary: dict[str, Any]) -> None:
        colour = "green" if summary["state"] == "completed" else "red"
        self.console.print(
            f"[{colour}]{describe_summary(summary)}[/]", highlight=False, soft_wrap=True
        )
        self.console.print(
            f"rejected samples: {summary['rejected_path']}", highlight=False, soft_wrap=True
        )

    def error(self, message: str) -> None:
        self.console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)


def _out_path(context: Any, out: Path | None, run_name: str | None) -> Path:
    """With --run, a relative --out (or none) lives in the run's data folder, as for
    `magitui preprocess`, so the stages' files meet without copying folders around."""
    if run_name:
        data = context.workspace.get_run(run_name).path / "data"
        if out is None:
            return data / GENERATED_NAME
        out = out.expanduser()
        return out if out.is_absolute() else data / out
    if out is not None:
        return out.expanduser().resolve()
    raise click.UsageError("give --out FILE.jsonl (or --run RUN to write into the run's data/)")


def _list_models(base_url: str, model: str | None, api_key_env: str) -> None:
    from magitui_core.generation.teacher import probe_endpoint

    probe = probe_endpoint(base_url, model, api_key_from(api_key_env))
    for info in probe.models:
        context = f"  context {info.context_length}" if info.context_length else ""
        click.echo(f"{info.id}{context}")
    if probe.models_latency is not None:
        click.echo(f"models listed in {probe.models_latency * 1000:.0f} ms", err=True)
    if probe.chat_latency is not None:
        role = "works" if probe.system_role else "rejected (merged into the user turn)"
        click.echo(
            f"{probe.model}: one chat in {probe.chat_latency * 1000:.0f} ms; system role {role}",
            err=True,
        )
    if probe.error:
        raise click.ClickException(probe.error)


@click.command(context_settings={"show_default": True})
@click.option(
    "--base-url",
    "base_urls",
    metavar="URL",
    multiple=True,
    help="Teacher endpoint (default: config teacher.base_url); repeat it to spread requests "
    "over several servers of the same model.",
)
@click.option("--model", metavar="NAME", help="Teacher model (default: config teacher.model).")
@click.option(
    "--seeds",
    "seeds",
    metavar="SOURCE",
    help="A folder of code, a .jsonl file, or hf:DATASET[:DATA_DIR] (streamed).",
)
@click.option("--count", "-n", type=int, help="How many samples (indices) to generate.")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Output FILE.jsonl.")
@click.option("--start", type=int, default=0, help="First index.")
@click.option(
    "--concurrency",
    type=int,
    default=DEFAULT_CONCURRENCY,
    help="Requests in flight (per endpoint).",
)
@click.option("--temperature", type=float, default=0.0, help="Sampling temperature (upstream: 0).")
@click.option(
    "--max-tokens",
    type=int,
    default=DEFAULT_MAX_TOKENS,
    help="Answer token limit; each request asks min(this, model context − prompt tokens − 10).",
)
@click.option(
    "--model-context",
    type=int,
    default=DEFAULT_MODEL_CONTEXT,
    help="Context the answer budget assumes (upstream: 8192); a smaller one the server "
    "reports wins.",
)
@click.option(
    "--seed",
    type=int,
    default=RECIPE_SEED,
    help="Seed of snippet selection and of datasets' shuffle; request i sends seed + i.",
)
@click.option(
    "--max-considered",
    type=int,
    default=MAX_CONSIDERED,
    help="JSONL and hf: sources: snippets come from this many first documents, shuffled.",
)
@click.option(
    "--api-key-env",
    default=DEFAULT_API_KEY_ENV,
    metavar="VAR",
    help="Environment variable holding the API key (else the stored credential).",
)
@click.option(
    "--prompt-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Own prompt template (with {code}).",
)
@click.option("--force", is_flag=True, help="Continue an output made with other settings.")
@click.option("--text-column", default="content", help="Text column of JSONL/HF seeds.")
@click.option("--language", multiple=True, help="Folder seeds: only this language (repeatable).")
@click.option("--ext", multiple=True, help="Folder seeds: only this file extension (repeatable).")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, help="Seconds per request.")
@click.option("--attempts", type=int, default=DEFAULT_ATTEMPTS, help="Tries per request.")
@click.option("--backoff-base", type=float, default=0.5, hidden=True)
@click.option("--detach", is_flag=True, help="Run as a managed job; print its id.")
@click.option(
    "--run",
    "run_name",
    metavar="RUN",
    help="File the job under RUN; a relative --out goes into its data/.",
)
@click.option("--list-models", is_flag=True, help="Test the endpoint: list models and exit.")
@click.option(
    "--local-teacher",
    metavar="MODEL",
    help="Serve MODEL here as a job (vllm serve) and generate against it.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "vllm", "transformers"]),
    default="auto",
    help="Server for --local-teacher; auto: vLLM when installed, else transformers serve.",
)
@pass_ctx
@friendly_errors
def generate(
    ctx: CliContext,
    base_urls: tuple[str, ...],
    model: str | None,
    seeds: str | None,
    count: int | None,
    out: Path | None,
    detach: bool,
    run_name: str | None,
    list_models: bool,
    local_teacher: str | None,
    engine: str,
    **options: Any,
) -> None:
    """Generate OSS-Instruct samples from random code snippets with a teacher model.

    Rerunning the same command resumes: indices already in OUT or
    OUT.rejected.jsonl are skipped. Exits 0 when every index is accounted for.
    """
    context = ctx.get()
    base_url = base_urls[0] if base_urls else context.config.teacher.base_url
    if local_teacher:
        base_url, served = _serve_locally(context, local_teacher, engine, run_name)
        base_urls, model = (), model or served
    model = model or context.config.teacher.model
    if not base_url:
        raise click.UsageError(
            "no teacher endpoint — pass --base-url URL (e.g. http://127.0.0.1:8000/v1) or "
            "run: magitui config set teacher.base_url URL"
        )
    if list_models:
        _list_models(base_url, model, options["api_key_env"])
        return
    missing = [
        flag
        for flag, value in (("--model", model), ("--seeds", seeds), ("--count", count))
        if value is None or value == ""
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} — see magitui generate --help")
    settings = GenerationSettings(
        base_url=base_url,
        model=str(model),
        seeds=str(seeds),
        count=int(count or 0),
        out=_out_path(context, out, run_name),
        start=options["start"],
        concurrency=options["concurrency"],
        temperature=options["temperature"],
        max_tokens=options["max_tokens"],
        seed=options["seed"],
        model_context=options["model_context"],
        max_considered=options["max_considered"],
        api_key_env=options["api_key_env"],
        prompt_file=options["prompt_file"].resolve() if options["prompt_file"] else None,
        force=options["force"],
        timeout=options["timeout"],
        attempts=options["attempts"],
        backoff_base=options["backoff_base"],
        text_column=options["text_column"],
        languages=list(options["language"]),
        extensions=list(options["ext"]),
        extra_base_urls=list(base_urls[1:]),
    )
    if detach:
        _start_job(context, settings, run_name)
        return
    try:
        with RichReporter() as reporter:
            summary = run_generation(settings, reporter, api_key_from(settings.api_key_env))
    except INPUT_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    code = exit_code(summary)
    if code:
        sys.exit(code)


def _serve_locally(context: Any, model: str, engine: str, run_name: str | None) -> tuple[str, str]:
    from magitui_core.generation.local_teacher import (
        LocalTeacherError,
        default_engine,
        start_local_teacher,
        wait_until_ready,
    )

    chosen = default_engine() if engine == "auto" else engine  # as magitui serve chooses
    try:
        teacher = start_local_teacher(context.jobs, model, chosen, run=run_name)
        click.echo(
            f"teacher server job {teacher.job.id} starting at {teacher.base_url} "
            f"(stop it later: magitui jobs stop {teacher.job.id})…",
            err=True,
        )
        wait_until_ready(context.jobs, teacher)
    except LocalTeacherError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"teacher ready at {teacher.base_url}", err=True)
    return teacher.base_url, teacher.model


def _start_job(context: Any, settings: GenerationSettings, run_name: str | None) -> None:
    from magitui_core.generation.jobs import start_generation_job

    try:
        job = start_generation_job(context.jobs, settings, run_name)
    except INPUT_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    if job.status.child_pid is None:
        raise click.ClickException(f"job {job.id} failed to start: {job.status.error}")
    click.echo(job.id)
    click.secho(
        f"started generation {job.id}; follow: magitui jobs logs {job.id} -f", err=True, fg="green"
    )
