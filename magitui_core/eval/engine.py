"""The evaluation: problems → endpoint → sandbox → samples.jsonl and summary.json.

Run as a job: ``python -m magitui_core.eval.engine --base-url URL --model NAME --out DIR
[...]``; `magitui eval` runs the same engine in the foreground. Requests go out concurrently
(the openai client retries 429/5xx and connection errors with backoff, honouring Retry-After),
and each answer is executed as soon as it arrives, so requests and tests overlap.

Exit status: 0 when every sample was answered and executed (whatever the score), 1 for a fatal
error (bad input, endpoint refusing the model or the key), 3 when some requests failed after
their retries (those tasks are listed; rerun to evaluate them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import atomic_writer, write_json_atomic
from magitui_core.credentials import redact_text
from magitui_core.eval.benchmarks import BENCHMARKS, BenchmarkError, Problem, load_benchmark
from magitui_core.eval.passk import ks_for, mean_pass_at_k
from magitui_core.eval.prompts import (
    MODES,
    Mode,
    chat_messages,
    chat_solution,
    cut_completion,
    request_text,
    stop_sequences,
)
from magitui_core.eval.results import SAMPLES_NAME, SUMMARY_NAME
from magitui_core.eval.sandbox import DEFAULT_TIMEOUT, Limits, Sandbox, Verdict
from magitui_core.jobs.events import EventWriter
from magitui_core.jobs.locks import OutputLock, OutputLocked

JOB_KIND = "eval"
DEFAULT_MAX_TOKENS = 512  # evalplus's and upstream text2code's default
DEFAULT_CONCURRENCY = 32
DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
PARTIAL_NAME = "samples.partial.jsonl"  # each sample as it is evaluated, until the end
SETTINGS_NAME = "settings.json"  # what decides whether earlier samples can be reused
PROGRESS_EVERY = 0.5  # seconds between progress reports

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_INCOMPLETE = 3


class EvalError(Exception):
    """An evaluation that cannot start or go on; the message names the cause and the fix."""


@dataclass
class EvalSettings:
    base_url: str
    model: str
    out: Path
    benchmark: str = "humaneval"
    benchmark_file: Path | None = None
    mode: str = "auto"
    samples: int = 1
    temperature: float = 0.0
    max_tokens: int = DEFAULT_MAX_TOKENS
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT  # seconds per program in the sandbox
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    limit: int | None = None  # the first N problems only (smoke runs)
    workers: int | None = None  # sandbox processes at once; default: CPU count
    api_key_env: str = DEFAULT_API_KEY_ENV

    def validate(self) -> None:
        checks = [
            (self.benchmark in BENCHMARKS, f"--benchmark {self.benchmark!r}: one of {BENCHMARKS}"),
            (self.mode in MODES, f"--mode {self.mode!r}: one of {', '.join(MODES)}"),
            (self.samples >= 1, f"--samples {self.samples}: give 1 or more"),
            (self.temperature >= 0, f"--temperature {self.temperature}: give 0 or more"),
            (self.max_tokens >= 1, f"--max-tokens {self.max_tokens}: give 1 or more"),
            (self.concurrency >= 1, f"--concurrency {self.concurrency}: give 1 or more"),
            (self.timeout > 0, f"--timeout {self.timeout}: give a positive number of seconds"),
            (self.limit is None or self.limit >= 1, f"--limit {self.limit}: give 1 or more"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise EvalError("; ".join(problems))
        if self.samples > 1 and self.temperature == 0:
            raise EvalError(
                f"--samples {self.samples} at temperature 0 gives the same greedy answer "
                "every time — add --temperature 0.2 (the Codex paper's for pass@10) or use "
                "--samples 1"
            )

    def to_argv(self) -> list[str]:
        """The engine's command line (no secret: the key travels in the environment)."""
        argv = ["--base-url", self.base_url, "--model", self.model, "--out", str(self.out)]
        argv += ["--benchmark", self.benchmark, "--mode", self.mode]
        argv += ["--samples", str(self.samples), "--temperature", str(self.temperature)]
        argv += ["--max-tokens", str(self.max_tokens), "--concurrency", str(self.concurrency)]
        argv += ["--timeout", str(self.timeout), "--request-timeout", str(self.request_timeout)]
        argv += ["--api-key-env", self.api_key_env]
        if self.benchmark_file is not None:
            argv += ["--benchmark-file", str(self.benchmark_file)]
        if self.limit is not None:
            argv += ["--limit", str(self.limit)]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        return argv


def api_key_from(env_name: str) -> str | None:
    """The key from the named variable, else the stored credential (never from argv)."""
    value = os.environ.get(env_name)
    if value:
        return value
    from magitui_core.credentials import resolve

    return resolve("openai_api_key").value


def resolve_mode(mode: str, model: str) -> tuple[Mode, str]:
    """``auto``: instruct for a local model folder with a chat template or a magitui run card,
    else base. Returns the mode and why, to print and keep in the summary."""
    if mode == "base":
        return "base", "asked for"
    if mode == "instruct":
        return "instruct", "asked for"
    if mode == "chat":
        return "chat", "asked for"
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return "base", (
            f"{model} is not a local folder, so its chat template cannot be checked — base "
            "mode; give --mode instruct for an instruction-tuned model"
        )
    if (folder / "magitui_run.json").is_file():
        return "instruct", f"{folder} has a magitui run card (trained in the Magicoder prompt)"
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return "instruct", f"{folder} has a chat template"
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    if isinstance(config, dict) and config.get("chat_template"):
        return "instruct", f"{folder}/tokenizer_config.json has a chat template"
    return "base", f"{folder} has no chat template and no magitui run card"


class EvalReporter:
    """Where the engine reports; the default says nothing."""

    def info(self, message: str) -> None: ...

    def progress(self, stats: dict[str, Any]) -> None: ...

    def done(self, summary: dict[str, Any]) -> None: ...

    def error(self, message: str) -> None: ...


class PlainReporter(EvalReporter):
    """Lines on a stream (a job's log, or a terminal without rich)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def info(self, message: str) -> None:
        self._print(message)

    def progress(self, stats: dict[str, Any]) -> None:
        self._print(describe_progress(stats))

    def done(self, summary: dict[str, Any]) -> None:
        self._print(describe_summary(summary))

    def error(self, message: str) -> None:
        self._print(f"error: {message}")


class EventReporter(EvalReporter):
    """Events for a job (read by `magitui jobs logs --events` and the app) plus plain lines."""

    def __init__(self, events: EventWriter, lines: EvalReporter) -> None:
        self.events, self.lines = events, lines

    def info(self, message: str) -> None:
        self.events.emit("log", message=message)
        self.lines.info(message)

    def progress(self, stats: dict[str, Any]) -> None:
        self.events.emit("progress", **stats)
        self.lines.progress(stats)

    def done(self, summary: dict[str, Any]) -> None:
        self.events.emit("done", **{k: v for k, v in summary.items() if k != "tasks"})
        self.lines.done(summary)

    def error(self, message: str) -> None:
        self.events.emit("error", message=message)
        self.lines.error(message)


def describe_progress(stats: dict[str, Any]) -> str:
    return (
        f"{stats['executed']}/{stats['total']} executed · {stats['passed']} passed · "
        f"{stats['answered']} answered · {stats['in_flight']} in flight"
        + (f" · {stats['request_failed']} requests failed" if stats["request_failed"] else "")
    )


def describe_summary(summary: dict[str, Any]) -> str:
    scores = " · ".join(f"{k} {v * 100:.1f} %" for k, v in summary["pass_at_k"].items())
    text = (
        f"{summary['benchmark']} {summary['mode']}: {scores or 'no score'} "
        f"({summary['passed']}/{summary['executed']} samples passed, "
        f"{summary['problems']} problems, {summary['seconds']:.1f} s)"
    )
    if summary["request_failed"]:
        text += (
            f" — incomplete: {summary['request_failed']} requests failed; "
            "rerun the same command to evaluate them"
        )
    return text


@dataclass
class _Progress:
    total: int
    answered: int = 0
    executed: int = 0
    passed: int = 0
    in_flight: int = 0
    request_failed: int = 0
    last: float = field(default=0.0)

    def stats(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "answered": self.answered,
            "executed": self.executed,
            "passed": self.passed,
            "in_flight": self.in_flight,
            "request_failed": self.request_failed,
        }


class _Fatal(Exception):
    pass


async def _evaluate(
    settings: EvalSettings,
    problems: list[Problem],
    mode: Mode,
    sandbox: Sandbox,
    reporter: EvalReporter,
    done: dict[tuple[str, int], dict[str, Any]] | None = None,
    on_record: Any = None,
) -> list[dict[str, Any]]:
    import openai  # the engine's only heavy import, paid when an evaluation really starts

    done = done or {}
    client = openai.AsyncOpenAI(
        base_url=settings.base_url,
        api_key=api_key_from(settings.api_key_env) or "EMPTY",  # local servers take any key
        max_retries=3,
        timeout=settings.request_timeout,
    )
    progress = _Progress(total=len(problems) * settings.samples)
    # Samples a stopped or incomplete run already evaluated count as done from the start.
    progress.answered = progress.executed = len(done)
    progress.passed = sum(bool(r.get("passed")) for r in done.values())
    slots = asyncio.Semaphore(settings.concurrency)
    stops = stop_sequences(mode)
    fatal = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)

    def tick(force: bool = False) -> None:
        now = time.monotonic()
        if force or now - progress.last >= PROGRESS_EVERY:
            progress.last = now
            reporter.progress(progress.stats())

    async def one(problem: Problem, sample: int) -> dict[str, Any]:
        record: dict[str, Any] = {"task_id": problem.task_id, "completion_id": sample}
        async with slots:
            progress.in_flight += 1
            try:
                if mode == "chat":
                    reply = await client.chat.completions.create(
                        model=settings.model,
                        messages=chat_messages(problem.prompt),  # type: ignore[arg-type]
                        max_tokens=settings.max_tokens,
                        temperature=settings.temperature,
                        n=1,
                    )
                    text = (reply.choices[0].message.content or "") if reply.choices else ""
                    finish = reply.choices[0].finish_reason if reply.choices else None
                else:
                    response = await client.completions.create(
                        model=settings.model,
                        prompt=request_text(problem.prompt, mode),
                        max_tokens=settings.max_tokens,
                        temperature=settings.temperature,
                        stop=stops,
                        n=1,
                    )
                    text = response.choices[0].text if response.choices else ""
                    finish = response.choices[0].finish_reason if response.choices else None
            except fatal as exc:
                raise _Fatal(
                    f"{settings.base_url} refused {settings.model!r}: {exc.message} — check "
                    f"--model (GET {settings.base_url}/models lists them) and the key in "
                    f"${settings.api_key_env}"
                ) from None
            except openai.APIError as exc:
                progress.request_failed += 1
                record.update(
                    completion=None,
                    passed=False,
                    result=f"request failed: {redact_text(str(exc))}",
                )
                return record
            finally:
                progress.in_flight -= 1
        progress.answered += 1
        if mode == "chat":
            completion, solution = chat_solution(problem.prompt, problem.entry_point, text or "")
        else:
            completion = cut_completion(text or "", mode)
            solution = problem.prompt + completion
        verdict: Verdict = await asyncio.wrap_future(
            sandbox.submit(problem.check_program(solution))
        )
        progress.executed += 1
        progress.passed += verdict.passed
        tick()
        record.update(
            completion=completion,
            solution=solution,
            finish_reason=finish,
            passed=verdict.passed,
            result=verdict.result,
            stdout=verdict.stdout,
            stderr=verdict.stderr,
        )
        if on_record is not None:
            on_record(record)
        return record

    async def kept(record: dict[str, Any]) -> dict[str, Any]:
        return record

    tasks = [
        asyncio.ensure_future(
            kept(done[(problem.task_id, sample)])
            if (problem.task_id, sample) in done
            else one(problem, sample)
        )
        for problem in problems
        for sample in range(settings.samples)
    ]
    try:
        records = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        await client.close()
    tick(force=True)
    return list(records)


def resume_key(settings: EvalSettings, mode: Mode) -> dict[str, Any]:
    """What an earlier sample must have been made with to count in this run."""
    return {
        "benchmark": settings.benchmark,
        "benchmark_file": str(settings.benchmark_file) if settings.benchmark_file else None,
        "base_url": settings.base_url.rstrip("/"),
        "model": settings.model,
        "mode": mode,
        "samples": settings.samples,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": settings.timeout,
    }


def resumable(
    out: Path, settings: EvalSettings, mode: Mode
) -> dict[tuple[str, int], dict[str, Any]]:
    """The samples an earlier, unfinished run into ``out`` evaluated with the same settings —
    a stopped run's partial file, or an incomplete run's answered samples — by (task, sample).
    Other settings, none recorded, or a completed result: nothing is reused."""
    try:
        earlier = json.loads((out / SETTINGS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None
    try:
        finished = json.loads((out / SUMMARY_NAME).read_text(encoding="utf-8"))["state"]
    except (OSError, ValueError, KeyError, TypeError):
        finished = None
    # A completed result is evaluated afresh: the model behind the name may have been
    # trained again since (a run's checkpoints/final is rewritten by each training).
    if earlier != resume_key(settings, mode) or finished == "completed":
        (out / PARTIAL_NAME).unlink(missing_ok=True)
        return {}
    done: dict[tuple[str, int], dict[str, Any]] = {}
    for name in (SAMPLES_NAME, PARTIAL_NAME):
        try:
            lines = (out / name).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the torn last line of a killed run
            if isinstance(record, dict) and record.get("completion") is not None:
                key = (str(record.get("task_id")), int(record.get("completion_id", 0)))
                done[key] = record
    return done


def summarize(
    settings: EvalSettings,
    mode: Mode,
    mode_reason: str,
    problems: list[Problem],
    records: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    per_task: dict[str, list[dict[str, Any]]] = {p.task_id: [] for p in problems}
    for record in records:
        per_task[record["task_id"]].append(record)
    failed_requests = [r for r in records if r.get("completion") is None]
    # Tasks with a failed request are left out of the score rather than counted as wrong.
    complete = {
        task: rows
        for task, rows in per_task.items()
        if all(r.get("completion") is not None for r in rows)
    }
    counts = [(len(rows), sum(bool(r["passed"]) for r in rows)) for rows in complete.values()]
    pass_at_k: dict[str, float] = {}
    for k in ks_for(settings.samples):
        value = mean_pass_at_k(counts, k)
        if value is not None:
            pass_at_k[f"pass@{k}"] = value
    executed = len(records) - len(failed_requests)
    return {
        "state": "incomplete" if failed_requests else "completed",
        "benchmark": settings.benchmark,
        "benchmark_file": str(settings.benchmark_file) if settings.benchmark_file else None,
        "model": settings.model,
        "base_url": settings.base_url,
        "mode": mode,
        "mode_reason": mode_reason,
        "samples": settings.samples,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": settings.timeout,
        "problems": len(problems),
        "scored_problems": len(complete),
        "executed": executed,
        "passed": sum(bool(r["passed"]) for r in records),
        "request_failed": len(failed_requests),
        "pass_at_k": pass_at_k,
        "pass@1": pass_at_k.get("pass@1"),
        "seconds": round(seconds, 3),
        "out": str(settings.out),
        # per task: samples passed of samples executed (None: a request failed)
        "tasks": {
            task: (
                {"passed": sum(bool(r["passed"]) for r in rows), "samples": len(rows)}
                if task in complete
                else None
            )
            for task, rows in per_task.items()
        },
    }


def run_eval(settings: EvalSettings, reporter: EvalReporter | None = None) -> dict[str, Any]:
    """Evaluate, write ``samples.jsonl`` and ``summary.json`` into ``settings.out``, return the
    summary. Raises EvalError (with the fix) when it cannot run."""
    reporter = reporter or EvalReporter()
    settings.validate()
    try:
        problems = load_benchmark(settings.benchmark, settings.benchmark_file, settings.limit)
    except BenchmarkError as exc:
        raise EvalError(str(exc)) from None
    mode, reason = resolve_mode(settings.mode, settings.model)
    out = settings.out
    try:
        lock = OutputLock(out).acquire()  # one writer per output folder
    except OutputLocked as exc:
        raise EvalError(str(exc)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
        reporter.info(
            f"evaluating {settings.model} at {settings.base_url} on {settings.benchmark} "
            f"({len(problems)} problems × {settings.samples} samples), {mode} mode: {reason}"
        )
        done = resumable(out, settings, mode)
        if done:
            reporter.info(
                f"resuming: {len(done)} of {len(problems) * settings.samples} samples were "
                "evaluated by an earlier run with the same settings; evaluating the rest"
            )
        write_json_atomic(out / SETTINGS_NAME, resume_key(settings, mode))
        started = time.monotonic()
        with (
            Sandbox(Limits(timeout=settings.timeout), settings.workers) as sandbox,
            (out / PARTIAL_NAME).open("a", encoding="utf-8") as partial,
        ):

            def keep(record: dict[str, Any]) -> None:
                # Each finished sample at once: a stopped run resumes from here.
                if record.get("completion") is not None:
                    partial.write(json.dumps(record, ensure_ascii=False) + "\n")
                    partial.flush()

            try:
                records = asyncio.run(
                    _evaluate(settings, problems, mode, sandbox, reporter, done, keep)
                )
            except _Fatal as exc:
                raise EvalError(str(exc)) from None
        summary = summarize(settings, mode, reason, problems, records, time.monotonic() - started)
        with atomic_writer(out / SAMPLES_NAME) as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        write_json_atomic(out / SUMMARY_NAME, summary)
        (out / PARTIAL_NAME).unlink(missing_ok=True)
    finally:
        lock.release()
    reporter.done(summary)
    return summary


def exit_code(summary: dict[str, Any]) -> int:
    return EXIT_OK if summary["state"] == "completed" else EXIT_INCOMPLETE


def verdicts(summary: dict[str, Any]) -> Counter[str]:
    """How many tasks passed every sample, some, none, or could not be scored."""
    kinds: Counter[str] = Counter()
    for value in summary["tasks"].values():
        if value is None:
            kinds["unscored"] += 1
        elif value["passed"] == value["samples"]:
            kinds["passed"] += 1
        else:
            kinds["failed" if value["passed"] == 0 else "partial"] += 1
    return kinds


def parse_args(argv: list[str] | None = None) -> EvalSettings:
    parser = argparse.ArgumentParser(
        prog="python -m magitui_core.eval.engine", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--benchmark", default="humaneval", choices=BENCHMARKS)
    parser.add_argument("--benchmark-file", type=Path)
    parser.add_argument("--mode", default="auto", choices=MODES)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--api-key-env", default=DEFAULT_API_KEY_ENV)
    args = parser.parse_args(argv)
    return EvalSettings(**vars(args))


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    lines = PlainReporter(sys.stdout)
    events = EventWriter.for_current_job()
    reporter: EvalReporter = EventReporter(events, lines) if events else lines
    try:
        summary = run_eval(settings, reporter)
    except EvalError as exc:
        reporter.error(str(exc))
        return EXIT_FATAL
    finally:
        if events:
            events.close()
    return exit_code(summary)


if __name__ == "__main__":
    sys.exit(main())
