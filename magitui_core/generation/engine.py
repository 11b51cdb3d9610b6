"""The OSS-Instruct generation: seeds → teacher → accepted / rejected, exactly once.

Run as a job: ``python -m magitui_core.generation.engine --base-url URL --model NAME
--seeds SOURCE --count N --out FILE.jsonl [...]``; the CLI's `magitui generate`
runs the same engine in the foreground. The engine reports through a
GenerationReporter (events for jobs, plain lines for logs, rich in the CLI).

Index i of the requested range always gets the same seed snippet and the same request
(upstream's: seed 976 + i, n 1, temperature 0, max_tokens min(2500, 8192 − prompt tokens − 10));
only an answer that ended with finish_reason "stop" and parses into a problem and a solution is
accepted. Rerunning the same command skips indices already in either output file, except those
whose request failed (an outage says nothing about the index): those are asked again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any, TextIO

from magitui_core.credentials import redact_text
from magitui_core.durations import compact_duration
from magitui_core.generation.output import (
    REJECT_REASONS,
    GenerationOutput,
    OutputFull,
    ResumeState,
)
from magitui_core.generation.seeds import DEFAULT_TEXT_COLUMN, Seed, SeedSource, open_seed_source
from magitui_core.generation.settings import (
    DEFAULT_API_KEY_ENV,
    DEFAULT_ATTEMPTS,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL_CONTEXT,
    DEFAULT_TIMEOUT,
    INPUT_ERRORS,
    PAUSE_MARKER,
    GenerationError,
    GenerationSettings,
    api_key_from,
)
from magitui_core.generation.snippets import MAX_CONSIDERED, RECIPE_SEED
from magitui_core.generation.teacher import (
    PromptTooLong,
    RequestFailed,
    TeacherClient,
    TeacherFatal,
)
from magitui_core.generation.teacher_pool import TeacherPool
from magitui_core.jobs.events import JOB_DIR_ENV, EventWriter
from magitui_core.prompts import (
    OSS_INSTRUCT_SYSTEM,
    generation_prompt,
    load_generation_prompt,
    parse_problem_solution,
)

PROGRESS_EVERY = 0.5  # seconds between progress reports
RATE_WINDOW = 30.0  # seconds of history behind requests/s and tokens/s
SEED_BATCH = 256  # seeds fetched per trip to a worker thread (each trip costs a thread hand-off)
PAUSE_CHECK_EVERY = 0.1  # seconds between looks at the pause marker while dispatching
SEED_PROGRESS_EVERY = 5.0  # seconds between "seed documents read" lines while a table is built


class SeedsInterrupted(Exception):
    """Raised inside the seed table build when the job is asked to stop."""


EXIT_OK = 0
EXIT_FATAL = 1
EXIT_INCOMPLETE = 3
EXIT_STOPPED = 130


class GenerationReporter:
    """Where the engine reports; every method may be overridden, none is required."""

    def info(self, message: str) -> None: ...

    def progress(self, stats: dict[str, Any]) -> None: ...

    def warning(self, key: str, message: str) -> None: ...

    def sample(self, record: dict[str, Any]) -> None: ...

    def done(self, summary: dict[str, Any]) -> None: ...

    def error(self, message: str) -> None: ...


class ReporterGroup(GenerationReporter):
    def __init__(self, *reporters: GenerationReporter) -> None:
        self.reporters = reporters

    def info(self, message: str) -> None:
        for r in self.reporters:
            r.info(message)

    def progress(self, stats: dict[str, Any]) -> None:
        for r in self.reporters:
            r.progress(stats)

    def warning(self, key: str, message: str) -> None:
        for r in self.reporters:
            r.warning(key, message)

    def sample(self, record: dict[str, Any]) -> None:
        for r in self.reporters:
            r.sample(record)

    def done(self, summary: dict[str, Any]) -> None:
        for r in self.reporters:
            r.done(summary)

    def error(self, message: str) -> None:
        for r in self.reporters:
            r.error(message)


class EventReporter(GenerationReporter):
    """The job's events.jsonl: what the Generate screen and `jobs logs --events` read."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer

    def info(self, message: str) -> None:
        self.writer.emit("log", message=message)

    def progress(self, stats: dict[str, Any]) -> None:
        self.writer.emit("progress", **stats)

    def warning(self, key: str, message: str) -> None:
        self.writer.emit("warning", key=key, message=redact_text(message))

    def sample(self, record: dict[str, Any]) -> None:
        self.writer.emit("sample", record=record)

    def done(self, summary: dict[str, Any]) -> None:
        self.writer.emit("done", **summary)

    def error(self, message: str) -> None:
        self.writer.emit("error", message=redact_text(message))


class LineReporter(GenerationReporter):
    """Plain lines on a stream (a job's output.log): progress every few seconds."""

    def __init__(self, stream: TextIO, every: float = 5.0) -> None:
        self.stream = stream
        self.every = every
        self._last = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def info(self, message: str) -> None:
        self._print(message)

    def progress(self, stats: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self._last < self.every and not stats.get("final"):
            return
        self._last = now
        self._print(describe_progress(stats))

    def warning(self, key: str, message: str) -> None:
        self._print(f"warning: {redact_text(message)}")

    def done(self, summary: dict[str, Any]) -> None:
        self._print(describe_summary(summary))

    def error(self, message: str) -> None:
        self._print(f"error: {redact_text(message)}")


def describe_progress(stats: dict[str, Any]) -> str:
    rejected = stats.get("rejected", {})
    rejected_text = ", ".join(f"{k} {v}" for k, v in rejected.items() if v) or "0"
    eta = stats.get("eta_s")
    return (
        f"{stats['done']}/{stats['total']} done · accepted {stats['accepted']} · rejected "
        f"{rejected_text} · in flight {stats['in_flight']} · {stats['requests_per_s']:.1f} req/s"
        f" · {stats['tokens_per_s']:.0f} tok/s · ETA {compact_duration(eta)}"
        + (" · paused" if stats.get("paused") else "")
    )


def describe_summary(summary: dict[str, Any]) -> str:
    rejected = ", ".join(f"{k} {v}" for k, v in summary["rejected"].items() if v) or "none"
    text = (
        f"{summary['state']}: {summary['done']}/{summary['total']} indices accounted for — "
        f"accepted {summary['accepted']}, rejected {rejected}; {summary['accepted_path']}"
    )
    failed = summary["rejected"].get("request-failed", 0)
    if failed and summary["state"] == "completed":
        text += f" — {failed} requests failed: rerun the same command to ask for them again"
    if summary["state"] == "stopped" and summary["done"] < summary["total"]:
        # Interrupted: nothing is lost, and the way on is to start the same generation again.
        text += " — rerun the same settings to resume (finished indices are skipped)"
    return text


def classify(text: str, finish_reason: str | None) -> tuple[str | None, tuple[str, str] | None]:
    """(reject reason or None, (problem, solution) when accepted)."""
    if finish_reason == "length":
        return "truncated", None
    if finish_reason != "stop":  # content_filter, tool calls, a server that says nothing
        return "not-stopped", None
    if not text.strip():
        return "empty", None
    parsed = parse_problem_solution(text)
    if parsed is None:
        return "unparseable", None
    problem, solution = parsed
    if not problem or not solution:
        return "empty", None
    return None, parsed


class RateMeter:
    """Events per second over a sliding window (completed requests, generated tokens)."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.points: deque[tuple[float, int]] = deque()  # (when, tokens), one per request
        self.started = time.monotonic()
        self._tokens = 0  # the sum over points, kept as they come and go

    def add(self, tokens: int) -> None:
        self.points.append((time.monotonic(), tokens))
        self._tokens += tokens

    def rates(self) -> tuple[float, float]:
        now = time.monotonic()
        points = self.points
        while points and now - points[0][0] > self.window:
            self._tokens -= points.popleft()[1]
        span = max(min(self.window, now - self.started), 1e-6)
        return len(points) / span, self._tokens / span


class GenerationJob:
    """One generation over indices [start, start + count)."""

    def __init__(
        self,
        settings: GenerationSettings,
        reporter: GenerationReporter | None = None,
        api_key: str | None = None,
        job_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.reporter = reporter or GenerationReporter()
        self.api_key = api_key
        self.pause_marker = job_dir / PAUSE_MARKER if job_dir else None
        self.output = GenerationOutput(settings.out)
        self._warned: set[str] = set()
        self.fatal: str | None = None
        self.stopping = False
        self.paused = False
        self.rates = RateMeter()
        self.session_done = 0
        self.skipped = 0
        # Outcomes within this run's index range (the files may hold other ranges too).
        self.range_accepted = 0
        self.range_rejected: Counter[str] = Counter()
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.pool: TeacherPool | None = None
        self._last_progress = 0.0
        self._latest_sample: dict[str, Any] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._next_pause_check = 0.0
        self._halted: asyncio.Event | None = None  # set on a fatal error: workers are cancelled

    def _fail(self, message: str) -> None:
        """The run cannot go on: the first reason is kept, and dispatch stops at once."""
        if self.fatal is None:
            self.fatal = message
        if self._halted is not None:
            self._halted.set()

    def warn(self, key: str, message: str) -> None:
        """Each quirk is reported once per run, however often it happens."""
        if key not in self._warned:
            self._warned.add(key)
            self.reporter.warning(key, message)

    def stop(self) -> None:
        """Stop now (SIGTERM, Ctrl-C): in-flight requests are dropped and redone on resume,
        rather than waited for (they may take minutes)."""
        if self.stopping:
            return
        self.stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # ---- set-up --------------------------------------------------------------------------
    def prepare(self) -> tuple[SeedSource, str, ResumeState]:
        settings = self.settings
        settings.validate()
        hf_token = None
        if settings.seeds.startswith("hf:"):
            from magitui_core.credentials import resolve

            hf_token = resolve("hf_token").value
        source = open_seed_source(
            settings.seeds,
            seed=settings.seed,
            column=settings.text_column,
            languages=settings.languages or None,
            extensions=settings.extensions or None,
            hf_token=hf_token,
            max_considered=settings.max_considered,
        )
        template = load_generation_prompt(settings.prompt_file)
        state = self.output.open(settings.fingerprint_fields(source, template), settings.force)
        for path in state.repaired:
            self.warn(
                f"repaired:{path}",
                f"{path}: cut a torn last line left by an interrupted run (that index is redone)",
            )
        if state.bad_lines:
            self.warn(
                "bad-lines", f"{state.bad_lines} unreadable lines in the output files were skipped"
            )
        if state.retried:
            self.reporter.info(
                f"{state.retried} indices whose requests failed before are asked again"
            )
        return source, template, state

    async def _prepare_seeds(self, source: SeedSource) -> None:
        """Read the source once if it needs it (upstream's selection), then fit the range."""
        settings = self.settings
        last_report = time.monotonic()

        def progress(documents: int) -> None:
            nonlocal last_report
            if self.stopping:
                raise SeedsInterrupted
            now = time.monotonic()
            if now - last_report >= SEED_PROGRESS_EVERY:
                last_report = now
                self.reporter.info(
                    f"choosing seed snippets: {documents:,} of up to "
                    f"{settings.max_considered:,} documents read"
                )

        size = await asyncio.to_thread(source.prepare, settings.out.parent, progress)
        if size is None:
            return
        if settings.start >= size:
            raise GenerationError(
                f"--start {settings.start} is past the end: the seed source gives "
                f"{size:,} indices (0–{size - 1}) — lower --start"
            )
        if settings.start + settings.count > size:
            capped = size - settings.start
            self.warn(
                "capped",
                f"the seed source gives {size:,} indices: generating {capped:,} "
                f"(indices {settings.start}–{size - 1}), not {settings.count:,}",
            )
            settings.count = capped

    async def _connect(self) -> None:
        settings = self.settings
        several = len(settings.endpoints) > 1
        clients = []
        for url in settings.endpoints:

            def warn(key: str, message: str, url: str = url) -> None:
                # With several endpoints each quirk is per endpoint, and says which.
                self.warn(
                    f"{key}@{url}" if several else key, f"{url}: {message}" if several else message
                )

            clients.append(
                TeacherClient(
                    url,
                    settings.model,
                    self.api_key,
                    concurrency=settings.concurrency,
                    timeout=settings.timeout,
                    attempts=settings.attempts,
                    backoff_base=settings.backoff_base,
                    on_warning=warn,
                    model_context=settings.model_context,
                )
            )
        self.pool = TeacherPool(clients, self.warn)
        for client in clients:
            try:
                await self._inspect(client)
            except TeacherFatal as exc:
                self.pool.drop(client, str(exc))  # raises when no endpoint is left

    async def _inspect(self, client: TeacherClient) -> None:
        """Check the model is served and learn its context length, where the server says."""
        model = self.settings.model
        try:
            models = await client.list_models()
        except RequestFailed as exc:
            self.warn("no-model-list", f"cannot list the teacher's models ({exc}); going on")
            return
        except TeacherFatal as exc:
            if "404" not in str(exc):  # a 404 here means only that /v1/models is missing
                raise
            self.warn("no-model-list", "the teacher does not list its models; going on")
            return
        match = next((m for m in models if m.id == model), None)
        if match is None:
            served = ", ".join(m.id for m in models[:10]) or "none"
            self.warn(
                "model-not-listed",
                f"model {model!r} is not in {client.base_url}'s model list (served: {served})",
            )
            return
        if match.context_length:
            client.use_context_length(match.context_length)
            self.reporter.info(
                f"{model} at {client.base_url}: context length {match.context_length} tokens"
            )

    # ---- the run -------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        source, template, state = self.prepare()
        settings = self.settings
        self._task = asyncio.current_task()
        try:
            await self._prepare_seeds(source)
            stop_at = settings.start + settings.count
            self.skipped = state.count_in(settings.start, stop_at)
            self.range_accepted, self.range_rejected = state.outcomes_in(settings.start, stop_at)
            self.reporter.info(
                f"generating {settings.count} samples (indices {settings.start}–{stop_at - 1}) "
                f"from {source.description} with {settings.model} at "
                f"{', '.join(settings.endpoints)}"
                + (f"; {self.skipped} already done, resuming" if self.skipped else "")
            )
            if state.latest_sample:
                self.reporter.sample(state.latest_sample)
            if self.skipped < settings.count:
                await self._connect()
                await self._dispatch(source, template, state)
        except TeacherFatal as exc:
            self.fatal = str(exc)
        except (asyncio.CancelledError, SeedsInterrupted):
            if not self.stopping or self._task is None:
                raise
            if sys.version_info >= (3, 11):
                self._task.uncancel()  # our own stop: finish normally, summary and all
        finally:
            self._task = None
            self._flush()  # finished answers are kept, whatever ended the run
            if self.pool is not None:
                await self.pool.close()
            self._close_output()
        return self._finish()

    def _close_output(self) -> None:
        """Close the files; once every index is done, in index order (upstream's, which the
        curation's shuffle depends on), however many answers came back out of turn."""
        complete = self.fatal is None and self.skipped + self.session_done >= self.settings.count
        try:
            self.output.close(in_order=complete)
        except OutputFull as exc:
            self._fail(str(exc.strerror))

    def _pending(self, state: ResumeState) -> itertools.filterfalse[int]:
        stop_at = self.settings.start + self.settings.count
        return itertools.filterfalse(state.done.__contains__, range(self.settings.start, stop_at))

    async def _dispatch(self, source: SeedSource, template: str, state: ResumeState) -> None:
        """`concurrency` workers, each taking the next index as soon as its answer is in: no
        task per request, and a freed connection is used again at once. Bounded: at most
        `concurrency` requests and SEED_BATCH waiting seeds in memory, however large N is."""
        seeds = source.seeds(self._pending(state))
        waiting: deque[Seed] = deque()
        exhausted = False
        # Taken to hand out the next seed: indices go out in order, one worker at a time reads
        # the next batch or waits out a pause while the others finish what they are asking.
        turn = asyncio.Lock()

        def next_batch() -> list[Seed]:
            return list(itertools.islice(seeds, SEED_BATCH))

        async def next_seed() -> Seed | None:
            nonlocal exhausted
            async with turn:
                if time.monotonic() >= self._next_pause_check:
                    await self._wait_while_paused()
                if not waiting and not exhausted:
                    # Seeds may come from disk or the network: never block the event loop.
                    waiting.extend(await asyncio.to_thread(next_batch))
                    exhausted = not waiting
                if self.stopping or self.fatal is not None or not waiting:
                    return None
                return waiting.popleft()

        async def worker() -> None:
            while (seed := await next_seed()) is not None:
                try:
                    await self._one(seed, template)
                except Exception as exc:  # a bug for one index must not cost a worker
                    self.warn(
                        "unexpected-error",
                        f"index {seed.index} failed unexpectedly ({exc!r}); it is left for a rerun",
                    )
                # Written before this worker asks again, with whatever else is waiting, so a
                # failed write stops the run with at most `concurrency` answers unwritten.
                # Holding answers back to write more of them at once would leave connections
                # idle meanwhile, which costs the HTTP pool more than the writes it saves.
                self._flush()

        self._halted = asyncio.Event()
        halted: asyncio.Future[Any] = asyncio.ensure_future(self._halted.wait())
        count = self.settings.concurrency * len(self.settings.endpoints)
        workers = {asyncio.create_task(worker()) for _ in range(count)}
        try:
            running: set[asyncio.Future[Any]] = set(workers)
            while running and not self.stopping and self.fatal is None:
                _, running = await asyncio.wait(
                    running | {halted}, timeout=PROGRESS_EVERY, return_when=asyncio.FIRST_COMPLETED
                )
                running.discard(halted)
                self._maybe_progress()
        finally:
            halted.cancel()
            for task in workers:
                task.cancel()  # lost in-flight work is redone on resume
            await asyncio.gather(halted, *workers, return_exceptions=True)

    async def _wait_while_paused(self) -> None:
        self._next_pause_check = time.monotonic() + PAUSE_CHECK_EVERY
        while self.pause_marker is not None and self.pause_marker.exists() and not self.stopping:
            if not self.paused:
                self.paused = True
                self.reporter.info("paused: no new requests until resumed")
            self._maybe_progress(force=not self._last_progress)
            await asyncio.sleep(PROGRESS_EVERY)
            self._maybe_progress()
        if self.paused:
            self.paused = False
            self.reporter.info("resumed")

    async def _one(self, seed: Seed, template: str) -> None:
        assert self.pool is not None
        settings = self.settings
        # Upstream's provenance fields first, in its order ("seed" is the snippet).
        base: dict[str, Any] = {"index": seed.index, "seed": seed.code}
        if seed.raw_index is not None:
            base = {"raw_index": seed.raw_index, **base}
        if seed.code == "":
            detail = "the seed document has no lines"
            self._record({**base, "reason": "empty-seed", "detail": detail, "raw": ""}, False)
            return
        try:
            completion = await self.pool.complete(
                OSS_INSTRUCT_SYSTEM,
                generation_prompt(seed.code, template),
                settings.max_tokens,
                settings.temperature,
                seed=settings.seed + seed.index,
            )
        except PromptTooLong as exc:
            self._record(
                {**base, "reason": "prompt-too-long", "detail": str(exc), "raw": ""}, False
            )
            return
        except RequestFailed as exc:
            self._record({**base, "reason": "request-failed", "detail": str(exc), "raw": ""}, False)
            return
        except TeacherFatal as exc:
            self._fail(str(exc))
            return
        self.rates.add(int(completion.usage.get("completion_tokens") or 0))
        for key in self.usage:
            self.usage[key] += int(completion.usage.get(key) or 0)
        if completion.system_fingerprint:
            base["openai_fingerprint"] = completion.system_fingerprint
        reason, parsed = classify(completion.text, completion.finish_reason)
        common = {
            "model": completion.model,
            "finish_reason": completion.finish_reason,
            "usage": completion.usage,
            "seed_source": seed.origin,
        }
        if reason is not None or parsed is None:
            self._record({**base, "reason": reason, "raw": completion.text, **common}, False)
            return
        problem, solution = parsed
        self._record({**base, "problem": problem, "solution": solution, **common}, True)

    def _record(self, record: dict[str, Any], accepted: bool) -> None:
        """Queue a finished index for the next ``_flush``."""
        if self.fatal is not None:
            return  # after a failed write nothing more is written: the rerun asks again
        self.output.add(record, accepted)

    def _flush(self) -> None:
        """Write the queued records; each counts (done, progress, sample) once on disk."""
        if not self.output.queued:
            return
        try:
            written = self.output.flush()
        except OutputFull as exc:
            # Stop at the first failed write: no more requests (answers that cannot be kept
            # would be paid for and thrown away); in-flight ones are cancelled by dispatch.
            written = list(exc.written)
            self._fail(str(exc.strerror))
        for record, accepted in written:
            if accepted:
                self.range_accepted += 1
                self._latest_sample = record  # shown at the next progress tick
            else:
                reason = str(record["reason"])
                self.range_rejected[reason] += 1
                if reason == "request-failed":
                    self.rates.add(0)
        self.session_done += len(written)
        self._maybe_progress()

    # ---- reporting -----------------------------------------------------------------------
    def stats(self, final: bool = False) -> dict[str, Any]:
        settings = self.settings
        stop_at = settings.start + settings.count
        done = self.skipped + self.session_done
        requests_per_s, tokens_per_s = self.rates.rates()
        remaining = settings.count - done
        eta = remaining / requests_per_s if requests_per_s > 0 else None
        pool = self.pool
        return {
            "done": done,
            "total": settings.count,
            "start": settings.start,
            "stop": stop_at,
            "accepted": self.range_accepted,
            "rejected": {reason: self.range_rejected.get(reason, 0) for reason in REJECT_REASONS},
            "in_flight": pool.in_flight if pool else 0,
            "concurrency": pool.concurrency if pool else settings.concurrency,
            "requests_per_s": round(requests_per_s, 3),
            "tokens_per_s": round(tokens_per_s, 1),
            "eta_s": round(eta, 1) if eta is not None and not final else None,
            "prompt_tokens": self.usage["prompt_tokens"],
            "completion_tokens": self.usage["completion_tokens"],
            "retries": pool.retries if pool else 0,
            "endpoints": len(pool.live) if pool else len(settings.endpoints),
            "model": settings.model,
            "paused": self.paused,
            "final": final,
        }

    def _maybe_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self._flush_sample()
            self.reporter.progress(self.stats())

    def _flush_sample(self) -> None:
        if self._latest_sample is not None:
            self.reporter.sample(self._latest_sample)
            self._latest_sample = None

    def _finish(self) -> dict[str, Any]:
        self._flush_sample()
        stats = self.stats(final=True)
        self.reporter.progress(stats)
        complete = stats["done"] >= stats["total"]
        state = "completed" if complete else "failed" if self.fatal else "stopped"
        summary = {
            **{k: stats[k] for k in ("done", "total", "accepted", "rejected")},
            "state": state,
            "skipped_existing": self.skipped,
            "generated_now": self.session_done,
            "prompt_tokens": self.usage["prompt_tokens"],
            "completion_tokens": self.usage["completion_tokens"],
            "elapsed_s": round(time.monotonic() - self.rates.started, 2),
            "accepted_path": str(self.output.accepted_path),
            "rejected_path": str(self.output.rejected_path),
            "system_role_merged": bool(self.pool and self.pool.merge_system),
        }
        if self.fatal:
            summary["error"] = self.fatal
            self.reporter.error(self.fatal)
        self.reporter.done(summary)
        return summary


def exit_code(summary: dict[str, Any]) -> int:
    if summary["state"] == "completed":
        return EXIT_OK
    if summary.get("error"):
        return EXIT_FATAL
    return EXIT_STOPPED if summary["state"] == "stopped" else EXIT_INCOMPLETE


def run_generation(
    settings: GenerationSettings,
    reporter: GenerationReporter | None = None,
    api_key: str | None = None,
    job_dir: Path | None = None,
) -> dict[str, Any]:
    """Run a generation to its end (or a stop signal); returns the summary.

    Raises GenerationError / SeedError / OutputError / PromptError before any request
    is sent when the inputs cannot be used.
    """
    job = GenerationJob(settings, reporter, api_key, job_dir)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        # SIGTERM (jobs stop) and Ctrl-C end the run cleanly: files consistent, summary written.
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, job.stop)
        try:
            return await job.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magitui_core.generation.engine",
        description="OSS-Instruct generation job (the engine behind `magitui generate`).",
    )
    parser.add_argument("--base-url", action="append", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seeds", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--seed", type=int, default=RECIPE_SEED)
    parser.add_argument("--model-context", type=int, default=DEFAULT_MODEL_CONTEXT)
    parser.add_argument("--max-considered", type=int, default=MAX_CONSIDERED)
    parser.add_argument("--api-key-env", default=DEFAULT_API_KEY_ENV)
    parser.add_argument("--prompt-file", type=Path)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS)
    parser.add_argument("--backoff-base", type=float, default=0.5)
    parser.add_argument("--text-column", default=DEFAULT_TEXT_COLUMN)
    parser.add_argument("--language", action="append", default=[])
    parser.add_argument("--ext", action="append", default=[])
    return parser


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    return GenerationSettings(
        base_url=args.base_url[0],
        extra_base_urls=args.base_url[1:],
        model=args.model,
        seeds=args.seeds,
        count=args.count,
        out=args.out.expanduser().resolve(),
        start=args.start,
        concurrency=args.concurrency,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        model_context=args.model_context,
        max_considered=args.max_considered,
        api_key_env=args.api_key_env,
        prompt_file=args.prompt_file,
        force=args.force,
        timeout=args.timeout,
        attempts=args.attempts,
        backoff_base=args.backoff_base,
        text_column=args.text_column,
        languages=args.language,
        extensions=args.ext,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    reporters: list[GenerationReporter] = [LineReporter(sys.stderr)]
    writer = EventWriter.for_current_job()
    if writer is not None:
        reporters.append(EventReporter(writer))
    reporter = ReporterGroup(*reporters)
    job_dir = Path(os.environ[JOB_DIR_ENV]) if os.environ.get(JOB_DIR_ENV) else None
    try:
        summary = run_generation(settings, reporter, api_key_from(settings.api_key_env), job_dir)
    except INPUT_ERRORS as exc:
        reporter.error(str(exc))
        return 2
    return exit_code(summary)


if __name__ == "__main__":
    sys.exit(main())
