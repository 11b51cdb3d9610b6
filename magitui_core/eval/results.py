"""Evaluations kept with their run: RUN/evals/NAME/{summary.json,samples.jsonl}.

The Eval screen fills two slots per benchmark, ``base-BENCH`` and ``tuned-BENCH``; any other
folder (`magitui eval --run RUN` names them after the model) is listed too. A result's delta
is measured against the base slot of the same benchmark, so "did fine-tuning help" is one
number per row, whichever way the results were made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVALS_DIR = "evals"
SLOTS = ("base", "tuned")
# What an evaluation leaves in its folder. Named here, not in the engine, so that listing
# results (Home does, on start) does not load the benchmarks, prompts and sandbox.
SAMPLES_NAME = "samples.jsonl"
SUMMARY_NAME = "summary.json"


def benchmark_slug(benchmark: str) -> str:
    return benchmark.replace("+", "plus")


def slot_folder(run_path: Path, slot: str, benchmark: str) -> Path:
    """Where the Eval screen keeps a slot's result for a benchmark."""
    return run_path / EVALS_DIR / f"{slot}-{benchmark_slug(benchmark)}"


@dataclass(frozen=True)
class EvalResult:
    folder: Path
    summary: dict[str, Any]
    finished_at: float

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def benchmark(self) -> str:
        return str(self.summary.get("benchmark", "?"))

    @property
    def model(self) -> str:
        return str(self.summary.get("model", "?"))

    @property
    def pass1(self) -> float | None:
        value = self.summary.get("pass@1")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def slot(self) -> str | None:
        for slot in SLOTS:
            if self.name == f"{slot}-{benchmark_slug(self.benchmark)}":
                return slot
        return None


def read_result(folder: Path) -> EvalResult | None:
    """A finished evaluation's result (None while none was written, or when unreadable)."""
    path = folder / SUMMARY_NAME
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        finished = path.stat().st_mtime
    except (OSError, ValueError):
        return None
    return EvalResult(folder, summary, finished) if isinstance(summary, dict) else None


def list_results(run_path: Path) -> list[EvalResult]:
    """Every finished evaluation of a run, newest first."""
    try:
        folders = [p for p in (run_path / EVALS_DIR).iterdir() if p.is_dir()]
    except OSError:
        return []
    results = [r for r in map(read_result, folders) if r is not None]
    return sorted(results, key=lambda r: r.finished_at, reverse=True)


def baseline(results: list[EvalResult], benchmark: str) -> EvalResult | None:
    """The base slot's result for ``benchmark``, what deltas are measured against."""
    return next((r for r in results if r.benchmark == benchmark and r.slot == "base"), None)


def delta(result: EvalResult, results: list[EvalResult]) -> float | None:
    """pass@1 of ``result`` minus the base slot's on the same benchmark (None for the base
    itself, or when either has no score)."""
    base = baseline(results, result.benchmark)
    if base is None or base.folder == result.folder or result.pass1 is None or base.pass1 is None:
        return None
    return result.pass1 - base.pass1


def latest_score(run_path: Path) -> str | None:
    """The newest score of a run in a few characters, for the runs table and `magitui runs`:
    "tuned 61.0 % (+4.3)" — the delta against the base slot where there is one.

    A model under comparison wins over the base slot even when the base finished later (both
    slots run at once, so either may end last): the base alone is shown only while it is all
    there is."""
    results = list_results(run_path)
    scored = [r for r in results if r.pass1 is not None]
    if not scored:
        return None
    newest = next((r for r in scored if r.slot != "base"), scored[0])
    assert newest.pass1 is not None
    who = newest.slot or newest.model.rstrip("/").rsplit("/", 1)[-1]
    text = f"{who} {newest.pass1 * 100:.1f} %"
    change = delta(newest, results)
    return text + (f" ({change * 100:+.1f})" if change is not None else "")


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    passed: int
    samples: int
    completion: str | None  # the first sample's
    solution: str | None
    result: str  # the first sample's verdict: "passed", "timed out", "failed: AssertionError"
    stdout: str = ""
    stderr: str = ""

    @property
    def verdict(self) -> str:
        if self.completion is None:
            return "unscored"
        if self.passed == self.samples:
            return "passed"
        return "failed" if self.passed == 0 else "partial"


def task_outcomes(folder: Path) -> dict[str, TaskOutcome]:
    """Per task, from samples.jsonl: samples passed and the first sample's answer and verdict."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    try:
        with (folder / SAMPLES_NAME).open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "task_id" in record:
                    grouped.setdefault(str(record["task_id"]), []).append(record)
    except OSError:
        return {}
    outcomes = {}
    for task, rows in grouped.items():
        rows.sort(key=lambda r: r.get("completion_id", 0))
        first = rows[0]
        outcomes[task] = TaskOutcome(
            task_id=task,
            passed=sum(bool(r.get("passed")) for r in rows),
            samples=len(rows),
            completion=first.get("completion"),
            solution=first.get("solution"),
            result=str(first.get("result", "")),
            stdout=str(first.get("stdout") or ""),
            stderr=str(first.get("stderr") or ""),
        )
    return outcomes


def change(before: TaskOutcome | None, after: TaskOutcome | None) -> str:
    """What fine-tuning did to one task: fixed (failed → passed), broken, or same."""
    if before is None or after is None:
        return "same"
    was, now = before.verdict == "passed", after.verdict == "passed"
    if now and not was:
        return "fixed"
    if was and not now:
        return "broken"
    return "same"
