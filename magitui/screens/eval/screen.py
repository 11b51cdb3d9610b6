"""Eval: did fine-tuning help? HumanEval pass@1 of the base model and the fine-tuned one,
side by side, kept with the run.

Pick the endpoints (found as Chat finds them, or served from here with `v`) for the Base and
Fine-tuned slots and a benchmark; ctrl+r starts one `magitui eval` job per slot into
RUN/evals/{base,tuned}-BENCH. The results table lists every evaluation of the run with its
delta against the base slot; the problems table compares the highlighted result with the
base task by task (`f` filters failed / passed / changed) and Enter shows one problem: the
prompt, each model's answer and what the tests said.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, DataTable, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from magitui.job_actions import request_stop
from magitui.screens.base import PollingScreen
from magitui.screens.eval.tables import (
    FILTERS,
    ProblemsTable,
    ResultRow,
    ResultsTable,
    problem_rows,
    result_rows,
)
from magitui.widgets.border_text import set_border_subtitle, set_border_title
from magitui.widgets.choice import choice
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.chat.endpoints import Endpoint, known_endpoints
from magitui_core.eval.jobs import EvalFollower, eval_jobs
from magitui_core.eval.results import (
    EvalResult,
    TaskOutcome,
    baseline,
    change,
    list_results,
    slot_folder,
    task_outcomes,
)
from magitui_core.jobs.manager import JobInfo
from magitui_core.workspace import RunInfo

BENCHMARKS = ("humaneval", "humaneval+", "mbpp+")
MODES = ("auto", "base", "instruct", "chat")
SLOT_LABELS = {"base": "Base", "tuned": "Fine-tuned"}
NO_ENDPOINT = "none"
NO_RUN = (
    "Evaluations are kept with a run: create one on Home (n), then come back. From a shell: "
    "magitui eval --base-url URL --model NAME --run RUN"
)
NO_RESULTS = (
    "No evaluation in this run yet. Choose the Base and Fine-tuned endpoints (v serves a "
    "model here) and press ctrl+r."
)


@dataclass
class EvalSnapshot:
    taken_at: float
    runs: list[RunInfo]
    run: str | None
    results: list[EvalResult]
    jobs: list[JobInfo]  # this run's evaluation jobs, newest first
    progress: dict[str, dict[str, Any]]  # job id → latest progress event
    errors: dict[str, str]
    endpoints: list[Endpoint]


@dataclass
class Comparison:
    """The two results the problems table compares, and their per-task outcomes."""

    before: EvalResult | None
    after: EvalResult | None
    before_tasks: dict[str, TaskOutcome] = field(default_factory=dict)
    after_tasks: dict[str, TaskOutcome] = field(default_factory=dict)


def endpoint_key(endpoint: Endpoint) -> str:
    return f"{endpoint.base_url.rstrip('/')}|{endpoint.model}"


def endpoint_label(endpoint: Endpoint) -> str:
    model = endpoint.model or "(no model)"
    return f"{model} · {endpoint.base_url} · {endpoint.label}"


class EvalScreen(PollingScreen):
    TITLE_TEXT = "Eval"
    POLL_WHAT = "evaluations"
    AUTO_FOCUS = "#eval-results"
    BINDINGS = [
        Binding("ctrl+r", "start", "Run"),
        Binding("v", "serve", "Serve"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("k", "stop_job", "Stop"),
    ]
    DEFAULT_CSS = """
    EvalScreen #eval-form {
        height: auto;
        padding: 0 1;
    }
    EvalScreen .form-row {
        height: 1;
    }
    EvalScreen .form-row Label {
        width: 11;
        color: $foreground 70%;
    }
    EvalScreen .form-row Select {
        width: 1fr;
    }
    EvalScreen .form-row #eval-file {
        width: 1fr;
    }
    EvalScreen .form-row Input {
        width: 6;
        height: 1;
        border: none;
        padding: 0 1;
    }
    EvalScreen .form-row Input:focus {
        border: none;
        background: $primary 25%;
    }
    EvalScreen .form-row .narrow {
        width: 14;
    }
    EvalScreen .form-row #eval-mode {
        width: 12;
    }
    EvalScreen .form-row Label.inline {
        width: auto;
        padding: 0 1 0 1;
    }
    EvalScreen #eval-buttons {
        height: 1;
        margin-top: 1;
    }
    EvalScreen #eval-buttons Button {
        margin-right: 2;
    }
    EvalScreen #eval-buttons Label {
        color: $foreground 70%;
    }
    EvalScreen #eval-buttons Input {
        width: 8;
        height: 1;
        border: none;
        padding: 0 1;
    }
    EvalScreen #eval-buttons Input:focus {
        border: none;
        background: $primary 25%;
    }
    EvalScreen #eval-results-panel {
        height: 5;
    }
    EvalScreen #eval-problems-panel {
        height: 1fr;
        min-height: 4;
    }
    EvalScreen ResultsTable, EvalScreen ProblemsTable {
        height: auto;
        max-height: 100%;
    }
    EvalScreen .empty-state {
        display: none;
        color: $text-muted;
        padding: 0 1;
    }
    EvalScreen .-empty .empty-state {
        display: block;
    }
    EvalScreen .-empty DataTable {
        display: none;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="eval")
        self._run: str | None = None  # read by the poll thread; polls never overlap
        self._followers: dict[str, EvalFollower] = {}
        self._results: list[EvalResult] = []
        self._jobs: list[JobInfo] = []
        self._rows: dict[str, ResultRow] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._filter = FILTERS[0]
        self._comparison = Comparison(None, None)
        self._compared: tuple[str | None, str | None, float, float] | None = None

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Vertical(id="eval-form"):
            with Horizontal(classes="form-row"):
                yield Label("Run")
                yield Select[str](
                    [], prompt="no run", compact=True, id="eval-run", classes="narrow"
                )
                yield Label("Benchmark", classes="inline")
                yield choice(BENCHMARKS, id="eval-benchmark", classes="narrow")
                yield Label("Mode", classes="inline")
                yield choice(MODES, id="eval-mode", classes="narrow")
            with Horizontal(classes="form-row"):
                yield Label("File")
                yield Input(
                    placeholder="for humaneval+/mbpp+: their evalplus .jsonl(.gz) — empty: "
                    "evalplus's download",
                    id="eval-file",
                )
            for slot, label in SLOT_LABELS.items():
                with Horizontal(classes="form-row"):
                    yield Label(label)
                    yield Select[str](
                        [(NO_ENDPOINT, NO_ENDPOINT)],
                        value=NO_ENDPOINT,
                        allow_blank=False,
                        compact=True,
                        id=f"eval-{slot}",
                    )
            with Horizontal(id="eval-buttons"):
                yield Button("Run eval (ctrl+r)", id="eval-start", variant="primary", compact=True)
                yield Button("Serve a model (v)", id="eval-serve", compact=True)
                yield Label("Limit", classes="inline")
                yield Input(placeholder="all", id="eval-limit", type="integer")
        with Vertical(id="eval-results-panel", classes="panel"):
            yield ResultsTable(id="eval-results")
            yield Static(NO_RESULTS, classes="empty-state", id="eval-results-empty")
        with Vertical(id="eval-problems-panel", classes="panel"):
            yield ProblemsTable(id="eval-problems")
            yield Static(
                "Highlight a result to compare it with the base, task by task.",
                classes="empty-state",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#eval-results-panel").border_title = "Results"
        self.query_one("#eval-problems-panel").border_title = "Problems"

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> EvalSnapshot:
        workspace = self.ctx.workspace
        runs = sorted(workspace.list_runs(), key=lambda r: r.created_at, reverse=True)
        run = self._run if self._run in {r.name for r in runs} else None
        if run is None and runs:
            run = runs[0].name
        all_jobs = self.ctx.jobs.list_jobs()
        jobs = [j for j in eval_jobs(self.ctx.jobs) if j.status.run == run] if run else []
        progress: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        for job in jobs[:8]:  # the newest: older ones have their summary
            follower = self._followers.setdefault(job.id, EvalFollower(job.events_path)).read()
            if follower.progress:
                progress[job.id] = follower.progress
            if follower.error:
                errors[job.id] = follower.error
        results = list_results(workspace.run_path(run)) if run else []
        endpoints = known_endpoints(self.ctx.config, all_jobs)
        return EvalSnapshot(time.time(), runs, run, results, jobs, progress, errors, endpoints)

    def apply(self, snapshot: EvalSnapshot) -> None:
        self._apply_runs(snapshot)
        self._apply_endpoints(snapshot.endpoints)
        self._results, self._jobs = snapshot.results, snapshot.jobs
        rows = result_rows(snapshot.results, snapshot.jobs, snapshot.progress, snapshot.errors)
        self._rows = {row.key: row for row in rows}
        table = self.query_one(ResultsTable)
        table.apply_rows([(row.key, row.cells) for row in rows])
        panel = self.query_one("#eval-results-panel")
        panel.set_class(not rows, "-empty")
        # As tall as its rows (a header and the borders), up to 6 rows; the problems get the rest.
        panel.styles.height = min(max(len(rows), 2), 6) + 3
        set_border_title(panel, f"Results · {snapshot.run}" if snapshot.run else "Results")
        self.query_one("#eval-results-empty", Static).update(
            NO_RESULTS if snapshot.runs else NO_RUN
        )
        self._compare_selected()
        self.sync_bindings()

    def _apply_runs(self, snapshot: EvalSnapshot) -> None:
        select = self.query_one("#eval-run", Select)
        names = [run.name for run in snapshot.runs]
        if [value for _, value in getattr(select, "_options", [])[1:]] != names:
            with self.prevent(Select.Changed):
                select.set_options([(name, name) for name in names])
        if snapshot.run is not None and select.value != snapshot.run:
            with self.prevent(Select.Changed):
                select.value = snapshot.run
        self._run = snapshot.run

    def _apply_endpoints(self, endpoints: list[Endpoint]) -> None:
        found = {endpoint_key(e): e for e in endpoints}
        if list(found) == list(self._endpoints):
            return
        self._endpoints = found
        options = [(NO_ENDPOINT, NO_ENDPOINT)] + [(endpoint_label(e), k) for k, e in found.items()]
        for slot in SLOT_LABELS:
            select = self.query_one(f"#eval-{slot}", Select)
            keep = select.value
            with self.prevent(Select.Changed):
                select.set_options(options)
                select.value = keep if keep in found else NO_ENDPOINT
        self._guess_slots()

    def _guess_slots(self) -> None:
        """Empty slots take the obvious endpoints: a run's trained model is the fine-tuned
        one, anything else the base."""
        base = self.query_one("#eval-base", Select)
        tuned = self.query_one("#eval-tuned", Select)
        for key, endpoint in self._endpoints.items():
            if endpoint.label in ("config teacher", "OPENAI_BASE_URL"):
                continue  # the teacher is not a model being compared
            trained = "/checkpoints/" in endpoint.model or endpoint.model.endswith("/final")
            target = tuned if trained else base
            if target.value == NO_ENDPOINT and key not in (base.value, tuned.value):
                target.value = key

    # ---- comparing -------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.query_one(ResultsTable):
            self._compare_selected()
            self.sync_bindings()

    def _selected_row(self) -> ResultRow | None:
        key = self.query_one(ResultsTable).selected_key
        return self._rows.get(key) if key else None

    def _compare_selected(self) -> None:
        row = self._selected_row()
        result = row.result if row is not None else None
        if result is None:
            self._comparison = Comparison(None, None)
            self._compared = None
            self._show_problems()
            return
        before = baseline(self._results, result.benchmark)
        after: EvalResult | None = result
        if before is not None and before.folder == result.folder:
            # The base itself: compare it with the fine-tuned slot where there is one.
            after = next(
                (r for r in self._results if r.benchmark == result.benchmark and r.slot == "tuned"),
                None,
            )
            if after is None:
                before, after = None, result
        key = (
            str(before.folder) if before else None,
            str(after.folder) if after else None,
            before.finished_at if before else 0.0,
            after.finished_at if after else 0.0,
        )
        if key == self._compared:
            return
        self._compared = key

        def load() -> Comparison:
            return Comparison(
                before,
                after,
                task_outcomes(before.folder) if before else {},
                task_outcomes(after.folder) if after else {},
            )

        self.run_worker(load, name="read the samples", group="compare", thread=True, exclusive=True)

    def _show_problems(self) -> None:
        comparison = self._comparison
        table = self.query_one(ProblemsTable)
        table.set_labels(
            _short(comparison.before) if comparison.before else None,
            _short(comparison.after) if comparison.after else "result",
        )
        rows = problem_rows(comparison.before_tasks, comparison.after_tasks, self._filter)
        table.apply_rows(rows)
        panel = self.query_one("#eval-problems-panel")
        panel.set_class(comparison.after is None, "-empty")
        shown = len(rows)
        total = len(comparison.after_tasks)
        if comparison.after is None:
            set_border_title(panel, "Problems")
        elif comparison.before is None:
            set_border_title(panel, f"Problems · {_short(comparison.after)}")
        else:
            changes = Counter(
                change(comparison.before_tasks.get(task), outcome)
                for task, outcome in comparison.after_tasks.items()
            )
            fixed, broken = changes["fixed"], changes["broken"]
            set_border_title(
                panel,
                f"Problems · {_short(comparison.after)} vs {_short(comparison.before)} · "
                f"{fixed} fixed, {broken} broken",
            )
        set_border_subtitle(panel, f"f filter: {self._filter} · {shown}/{total}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.state is not WorkerState.SUCCESS:
            return
        if event.worker.group == "compare":
            self._comparison = cast(Comparison, event.worker.result)
            self._show_problems()
        elif event.worker.group == "start":
            started = cast("list[JobInfo]", event.worker.result)
            names = ", ".join(job.id for job in started)
            self.notify(f"Evaluating as {names}.", title="Eval started", timeout=4)
            self.poll_now()

    def worker_failed(self, worker: Worker[Any]) -> None:
        from magitui_core.eval.engine import EvalError

        if worker.group == "start" and isinstance(worker.error, EvalError):
            self.notify(str(worker.error), title="Cannot start", severity="error", timeout=10)
            return
        super().worker_failed(worker)

    # ---- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_job":
            row = self._selected_row()
            return (row is not None and row.job is not None and row.job.is_live) or None
        if action == "cycle_filter":
            return self._comparison.after is not None or None
        return True

    def binding_state(self) -> tuple[object, ...]:
        row = self._selected_row()
        live = row is not None and row.job is not None and row.job.is_live
        return (live, self._comparison.after is not None)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "eval-run" and isinstance(event.value, str):
            self._run = event.value
            self._compared = None
            self.poll_now()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "eval-start":
            self.action_start()
        elif event.button.id == "eval-serve":
            self.action_serve()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ProblemsTable):
            event.stop()
            self._open_problem(str(event.row_key.value))

    def action_cycle_filter(self) -> None:
        self._filter = FILTERS[(FILTERS.index(self._filter) + 1) % len(FILTERS)]
        self._show_problems()

    def action_stop_job(self) -> None:
        row = self._selected_row()
        if row is not None and row.job is not None:
            request_stop(self, row.job)

    def action_serve(self) -> None:
        from magitui.widgets.serve_dialog import ServeModelScreen

        suggestion = ""
        if self._run is not None:
            final = self.ctx.workspace.run_path(self._run) / "checkpoints" / "final"
            served = {e.model for e in self._endpoints.values()}
            if (final / "config.json").is_file() and str(final) not in served:
                suggestion = str(final)
        self.app.push_screen(ServeModelScreen(run=self._run, model=suggestion), self._served)

    def _served(self, endpoint: Endpoint | None) -> None:
        if endpoint is None:
            return
        self.notify(f"{endpoint.model} is served at {endpoint.base_url}.", title="Ready")
        self._endpoints = {}  # the next poll lists the new server and fills an empty slot
        self.poll_now()

    def action_start(self) -> None:
        try:
            plans = self._plans()
        except ValueError as exc:
            self.notify(str(exc), title="Cannot start", severity="error", timeout=10)
            return
        earlier = [
            (slot, result)
            for slot, settings in plans
            if (result := _result_in(self._results, settings.out)) is not None
        ]
        if not earlier:
            self._start(plans)
            return
        replaced = ", ".join(
            f"{SLOT_LABELS[slot]} {_score(result)} ({result.model})" for slot, result in earlier
        )
        self.app.push_screen(
            ConfirmScreen(
                "Replace earlier results",
                Content.from_markup(
                    "This run already has $what on $bench. Evaluating again replaces them. Go on?",
                    what=replaced,
                    bench=plans[0][1].benchmark,
                ),
                "Replace",
            ),
            lambda yes: self._start(plans) if yes else None,
        )

    def _plans(self) -> list[tuple[str, Any]]:
        from magitui_core.eval.engine import EvalError, EvalSettings

        if self._run is None:
            raise ValueError("No run to keep the results in — create one on Home (n)")
        benchmark = str(self.query_one("#eval-benchmark", Select).value)
        mode = str(self.query_one("#eval-mode", Select).value)
        limit_text = self.query_one("#eval-limit", Input).value.strip()
        try:
            limit = int(limit_text) if limit_text else None
        except ValueError:
            raise ValueError(f"Limit {limit_text!r} — give a whole number, or clear it") from None
        chosen = {
            slot: self._endpoints.get(str(self.query_one(f"#eval-{slot}", Select).value))
            for slot in SLOT_LABELS
        }
        if not any(chosen.values()):
            raise ValueError("Choose an endpoint for Base or Fine-tuned (v serves a model here)")
        base, tuned = chosen["base"], chosen["tuned"]
        if base is not None and tuned is not None and endpoint_key(base) == endpoint_key(tuned):
            raise ValueError(
                "Base and Fine-tuned are the same model on the same server — choose the "
                "fine-tuned model's server for Fine-tuned (v serves one)"
            )
        file = self._benchmark_file(benchmark)
        run_path = self.ctx.workspace.run_path(self._run)
        plans = []
        for slot, endpoint in chosen.items():
            if endpoint is None:
                continue
            if not endpoint.model:
                raise ValueError(
                    f"{SLOT_LABELS[slot]}: {endpoint.base_url} names no model — serve one (v)"
                )
            settings = EvalSettings(
                base_url=endpoint.base_url,
                model=endpoint.model,
                out=slot_folder(run_path, slot, benchmark),
                benchmark=benchmark,
                benchmark_file=file,
                mode=mode,
                limit=limit,
            )
            try:
                settings.validate()
            except EvalError as exc:
                raise ValueError(f"{SLOT_LABELS[slot]}: {exc}") from None
            plans.append((slot, settings))
        return plans

    def _benchmark_file(self, benchmark: str) -> Path | None:
        """The File field, resolved in the workspace; checked before any job starts."""
        import importlib.util

        text = self.query_one("#eval-file", Input).value.strip()
        if not text:
            if benchmark != "humaneval" and importlib.util.find_spec("evalplus") is None:
                name = "HumanEvalPlus" if benchmark == "humaneval+" else "MbppPlus"
                raise ValueError(
                    f"{benchmark} needs its problems: put {name}.jsonl.gz (from evalplus's "
                    "releases on GitHub) in File — magitui ships only HumanEval"
                )
            return None
        path = Path(text).expanduser()
        path = path if path.is_absolute() else self.ctx.workspace.root / path
        if not path.is_file():
            raise ValueError(f"File {str(path)!r} does not exist — give the benchmark's JSONL")
        return path

    def _start(self, plans: list[tuple[str, Any]]) -> None:
        from magitui_core.eval.jobs import start_eval_job

        jobs, run = self.ctx.jobs, self._run

        def work() -> list[JobInfo]:
            return [
                start_eval_job(jobs, settings, run, f"eval-{run}-{settings.out.name}")
                for _, settings in plans
            ]

        self.run_worker(work, name="start the evaluation", group="start", thread=True)

    def _open_problem(self, task_id: str) -> None:
        from magitui.screens.eval.problem_view import ProblemScreen

        comparison = self._comparison
        if comparison.after is None:
            return
        self.app.push_screen(ProblemScreen(task_id, comparison))


def _short(result: EvalResult) -> str:
    if result.slot:
        return result.slot
    return result.model.rstrip("/").rsplit("/", 1)[-1]


def _score(result: EvalResult) -> str:
    return f"{result.pass1 * 100:.1f} %" if result.pass1 is not None else "no score"


def _result_in(results: list[EvalResult], folder: Path) -> EvalResult | None:
    return next((r for r in results if r.folder == folder), None)
