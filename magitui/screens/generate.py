"""Generate: OSS-Instruct data from a teacher model, started as a job and watched live.

Setup tests the endpoint (models, latency, whether it takes a system message) and
starts `python -m magitui_core.generation.engine` as a detached job — the same command as
`magitui generate --detach`. Live follows that job's events: progress, rejections by
reason, rates, ETA, cost for OpenAI models, the latest accepted sample and the
warnings. Reopening the app re-attaches to the newest generation job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    Input,
    Label,
    Markdown,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, WorkerState

from magitui.job_actions import request_stop
from magitui.screens.job_list import JobListScreen
from magitui.widgets.border_text import set_border_subtitle
from magitui.widgets.job_table import JobsTable
from magitui.widgets.live_static import LiveStatic
from magitui_core.durations import compact_duration
from magitui_core.generation.jobs import (
    GenerationFollower,
    GenerationView,
    form_values,
    generation_jobs,
    is_paused,
    set_paused,
    start_generation_job,
)
from magitui_core.generation.settings import (
    INPUT_ERRORS,
    GenerationSettings,
    api_key_from,
)
from magitui_core.generation.teacher_prices import PriceTable, load_prices, prices_path
from magitui_core.jobs.manager import JobInfo
from magitui_core.workspace import GENERATED_NAME, WorkspaceError

if TYPE_CHECKING:
    from magitui_core.generation.local_teacher import LocalTeacher
    from magitui_core.generation.teacher import EndpointProbe

NO_JOB = (
    "No generation yet. Fill in Setup and press [b]Start[/b] (or ctrl+r), or run "
    "[b]magitui generate … --detach[/b]; its progress shows here."
)
JOBS_EMPTY = "No generation jobs yet — start one from Setup."
FIELDS = (
    ("base_url", "Endpoint", "http://127.0.0.1:8000/v1 (several: separate with spaces)"),
    ("model", "Model", "teacher model name"),
    ("seeds", "Seeds", "folder, file.jsonl or hf:DATASET[:DIR]"),
    ("count", "Count", "samples"),
    ("concurrency", "Parallel", "requests in flight"),
    ("run", "Run", "run name (Home › n makes one) — empty: the workspace's data/"),
    ("out", "Output", "FILE.jsonl (relative: in the run's data/ folder)"),
)
FLAG_LABELS = {
    "--base-url": "Endpoint",
    "--model": "Model",
    "--count": "Count",
    "--concurrency": "Parallel",
    "--out": "Output",
}
# What the engine tells a shell user to do, said in this screen's terms.
APP_WORDS = {
    "rerun the same command": "start it again (ctrl+r; finished indices are skipped)",
    "rerun the same settings to resume": "start it again (ctrl+r) to resume",
    "use another --out, or --force": "choose another Output",
    "use another --out": "choose another Output",
    "--force": "another Output",
}


def in_app_words(message: str) -> str:
    """An engine message with the screen's field names and keys instead of CLI flags."""
    for phrase, words in APP_WORDS.items():
        message = message.replace(phrase, words)
    for flag, label in FLAG_LABELS.items():
        message = message.replace(flag, label)
    return message


SAMPLE_CHARS = 4000  # a huge sample must not slow the screen; the file has all of it
WARNINGS_MAX_LINES = 100


@dataclass
class GenerateSnapshot:
    jobs: list[JobInfo]
    taken_at: float
    attached: JobInfo | None
    view: GenerationView
    reattached: bool
    prices: PriceTable | None
    newest_run: str | None = None  # looked up only while the Run field follows the newest


class GenerateScreen(JobListScreen):
    CSS_PATH = "generate.tcss"
    TITLE_TEXT = "Generate"
    POLL_WHAT = "generation"
    # The tabs, not a field: single-key section switching must keep working on arrival.
    AUTO_FOCUS = "ContentTabs"
    BINDINGS = [
        Binding("ctrl+l", "test_endpoint", "Test"),
        Binding("ctrl+r", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("k", "stop_job", "Stop"),
        Binding("o", "open_detail", "Job detail", show=False),
        # Left/Right switch tabs only while the tabs have focus; these work from anywhere
        # but a field (where they are typed), e.g. from Live back to Setup. Listed in the
        # help (one row: same description); the footer at 80 columns has no room.
        Binding("left_square_bracket", "switch_tab(-1)", "Previous / next tab", show=False),
        Binding("right_square_bracket", "switch_tab(1)", "Previous / next tab", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="generate")
        self._attached_id: str | None = None  # read by the poll thread; polls never overlap
        self._follower: GenerationFollower | None = None
        self._followed_id: str | None = None
        self._attached: JobInfo | None = None
        self._progress: dict[str, Any] | None = None
        self._summary: dict[str, Any] | None = None
        self._errors: list[str] = []
        self._warnings: list[str] = []
        self._prices: PriceTable | None = None
        self._sample_index: int | None = None
        # The Run field follows the newest run (a run made on Home shows up here) until edited.
        self._run_auto: str | None = ""
        self._defaults: dict[str, str] = {}

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        config = self.ctx.config.teacher
        defaults = self._defaults = {
            "base_url": config.base_url or "",
            "model": config.model or "",
            "seeds": "",
            "count": "1000",
            "concurrency": "64",
            "run": "",
            "out": GENERATED_NAME,
        }
        with TabbedContent(initial="setup-tab"):
            # Not focusable, so Tab goes from the tabs straight to the first field; the
            # form still scrolls to whichever field has focus.
            with TabPane("Setup", id="setup-tab"), VerticalScroll(can_focus=False):
                for key, label, placeholder in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label)
                        yield Input(defaults[key], placeholder=placeholder, id=f"field-{key}")
                with Horizontal(id="form-buttons"):
                    yield Button("Test endpoint", id="test-endpoint")
                    yield Button("Start", id="start", variant="primary")
                    yield Button("Serve model here (vllm)", id="serve-local")
                yield Static(
                    "Test the endpoint to see its models, latency and whether it accepts a "
                    "system message.",
                    id="probe-result",
                )
                yield Static(
                    f"Cost estimates for OpenAI models use {prices_path()} (edit it to change "
                    "prices).",
                    id="prices-hint",
                    markup=False,
                )
            with TabPane("Live", id="live-tab"):
                yield LiveStatic(Content.from_markup(NO_JOB), id="live-stats")
                yield ProgressBar(id="live-progress", show_eta=False)
                with VerticalScroll(id="sample-panel", classes="panel"):
                    yield Markdown("", id="sample-problem")
                    yield Markdown("", id="sample-solution")
                # Warnings are few (each quirk once) and long: wrapped text, not a log.
                with VerticalScroll(id="warnings-panel", classes="panel"):
                    yield Static("", id="warnings-text", markup=False)
            with TabPane("Jobs", id="jobs-tab"), Vertical(id="generate-jobs", classes="panel"):
                yield JobsTable()
                yield Static(JOBS_EMPTY, classes="empty-state")

    def on_mount(self) -> None:
        self.query_one("#sample-panel").border_title = "Latest accepted sample"
        self.query_one("#warnings-panel").border_title = "Warnings"
        self.query_one("#generate-jobs").border_title = "Generation jobs"
        self.query_one("#live-progress").display = False

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> GenerateSnapshot:
        jobs = generation_jobs(self.ctx.jobs)
        prices = load_prices() if self._prices is None else None
        wanted = self._attached_id
        if wanted is None and jobs:
            # Re-attach: the newest live generation, else the newest one.
            wanted = next((job.id for job in jobs if job.is_live), jobs[0].id)
        attached = next((job for job in jobs if job.id == wanted), None)
        newest_run = None
        if self._run_auto is not None:
            runs = self.ctx.workspace.list_runs()
            newest_run = max(runs, key=lambda r: r.created_at).name if runs else None
        reattached = False
        if attached is not None and attached.id != self._followed_id:
            self._follower = GenerationFollower(attached.events_path)
            self._followed_id = attached.id
            reattached = True
        view = self._follower.read() if self._follower and attached else GenerationView()
        return GenerateSnapshot(jobs, time.time(), attached, view, reattached, prices, newest_run)

    def apply(self, snapshot: GenerateSnapshot) -> None:
        self.show_jobs(snapshot.jobs, snapshot.taken_at)
        self.query_one("#generate-jobs").set_class(not snapshot.jobs, "-empty")
        if snapshot.newest_run and self._run_auto is not None:
            self._run_auto = snapshot.newest_run
            self.query_one("#field-run", Input).value = snapshot.newest_run
        if snapshot.prices is not None:
            self._prices = snapshot.prices
            for problem in snapshot.prices.warnings:
                self.notify(problem, title="Price table", severity="warning", timeout=10)
        if snapshot.attached is None:
            return
        first_attach = self._attached_id is None
        if first_attach:
            self._refill_form(snapshot.jobs[0])
        self._attached_id = snapshot.attached.id
        self._attached = snapshot.attached
        if snapshot.reattached:
            self._reset_live()
            if first_attach and snapshot.attached.is_live:
                self._show_live()
        view = snapshot.view
        self._progress = view.progress or self._progress
        self._summary = view.summary or self._summary
        self._errors += view.errors
        if view.warnings or view.errors:
            self._warnings += [f"warning: {in_app_words(w)}" for w in view.warnings]
            self._warnings += [f"error: {in_app_words(e)}" for e in view.errors]
            del self._warnings[:-WARNINGS_MAX_LINES]
            self.query_one("#warnings-text", Static).update("\n".join(self._warnings))
        set_border_subtitle(self.query_one("#warnings-panel"), str(len(self._warnings) or "none"))
        if view.sample is not None:
            self._show_sample(view.sample)
        self._show_stats()

    def _refill_form(self, job: JobInfo) -> None:
        """On reopening, fields still at their defaults take the newest job's values."""
        for key, value in form_values(job).items():
            if key == "out":  # absolute: it would pin the old run's folder; Run decides it
                continue
            field = self.query_one(f"#field-{key}", Input)
            if field.value == self._defaults[key]:
                field.value = value

    def _show_live(self) -> None:
        self.query_one(TabbedContent).active = "live-tab"
        # Focus follows: a focused field on Setup would pull its tab back after a dialog.
        self.query_one("#sample-panel").focus()

    def _reset_live(self) -> None:
        self._progress = self._summary = None
        self._errors = []
        self._warnings = []
        self._sample_index = None
        self.query_one("#warnings-text", Static).update("")
        self.query_one("#live-progress").display = False
        self.query_one("#sample-problem", Markdown).update("")
        self.query_one("#sample-solution", Markdown).update("")

    def _show_stats(self) -> None:
        job = self._attached
        if job is None:
            return
        progress = self._progress or {}
        paused = is_paused(job) and job.is_live
        state = "paused" if paused else job.state.value
        out = form_values(job).get("out", "")
        if out and job.status.run:
            out = f"{job.status.run}/{Path(out).name}"  # the run says where; the path is long
        lines = [
            Content.from_markup(
                "[b]$id[/b] · [b $accent]$state[/]$model$where",
                id=job.id,
                state=state,
                model=f" · {progress['model']}" if progress.get("model") else "",
                where=f" → {out}" if out else "",  # where the samples go, while they go
            )
        ]
        bar = self.query_one("#live-progress", ProgressBar)
        total, done = progress.get("total"), progress.get("done")
        if isinstance(total, int) and isinstance(done, int):
            bar.display = True
            bar.update(total=total, progress=done)
            rejected = progress.get("rejected")
            rejected_map = rejected if isinstance(rejected, dict) else {}
            rejected_text = ", ".join(f"{k} {v}" for k, v in rejected_map.items() if v)
            accepted = progress.get("accepted", "-")
            lines.append(
                Content(
                    f"{done}/{total} done · accepted {accepted} · rejected "
                    f"{sum(rejected_map.values())}"
                    + (f" ({rejected_text})" if rejected_text else "")
                )
            )
            rates = (
                f"in flight {progress.get('in_flight', 0)} · "
                f"{float(progress.get('requests_per_s') or 0):.1f} req/s · "
                f"{float(progress.get('tokens_per_s') or 0):.0f} tok/s · "
                f"ETA {compact_duration(progress.get('eta_s')) if job.is_live else '-'}"
            )
            cost = self._cost(progress)
            if cost is not None:  # small runs cost fractions of a cent: show them, not $0.00
                rates += f" · cost ${cost:.2f}" if cost >= 1 else f" · cost ${cost:.4f}"
            lines.append(Content(rates))
        if self._summary is not None:
            lines.append(
                Content.from_markup(
                    "[b]$state[/b]: $detail",
                    state=str(self._summary.get("state", "done")),
                    detail=str(
                        self._summary.get("accepted_path") or self._summary.get("message") or ""
                    ),
                )
            )
        if self._errors:
            lines.append(Content.from_markup("[$error]$error[/]", error=self._errors[-1]))
        self.query_one("#live-stats", LiveStatic).show_content(Content("\n").join(lines))

    def _cost(self, progress: dict[str, Any]) -> float | None:
        if self._prices is None or not progress.get("model"):
            return None
        return self._prices.cost(
            str(progress["model"]),
            int(progress.get("prompt_tokens") or 0),
            int(progress.get("completion_tokens") or 0),
        )

    def _show_sample(self, record: dict[str, Any]) -> None:
        if record.get("index") == self._sample_index:
            return
        self._sample_index = record.get("index")
        problem = str(record.get("problem", ""))[:SAMPLE_CHARS]
        solution = str(record.get("solution", ""))[:SAMPLE_CHARS]
        if "```" not in solution:  # highlight bare code as the snippet's language would be
            solution = f"```python\n{solution}\n```"
        self.query_one("#sample-problem", Markdown).update(
            f"**#{record.get('index')}** · problem\n\n{problem}"
        )
        self.query_one("#sample-solution", Markdown).update(f"**solution**\n\n{solution}")
        set_border_subtitle(self.query_one("#sample-panel"), f"index {record.get('index')}")

    # ---- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return (self._attached is not None and self._attached.is_live) or None
        if action == "stop_job":
            return (self._live_target() is not None) or None
        return super().check_action(action, parameters)

    def binding_state(self) -> tuple[object, ...]:
        attached_live = self._attached is not None and self._attached.is_live
        return (*super().binding_state(), attached_live)

    def _live_target(self) -> JobInfo | None:
        """The job ``k`` stops: the table's selection on Jobs, else the attached one."""
        if self.query_one(TabbedContent).active == "jobs-tab":
            job = self.selected_job()
            return job if job is not None and job.is_live else None
        job = self._attached
        return job if job is not None and job.is_live else None

    def action_stop_job(self) -> None:
        job = self._live_target()
        if job is not None:
            request_stop(self, job)

    def action_pause(self) -> None:
        job = self._attached
        if job is None or not job.is_live:
            return
        paused = not is_paused(job)
        set_paused(job, paused)
        self.notify(
            f"{job.id}: " + ("paused — no new requests" if paused else "resumed"), timeout=3
        )
        self._show_stats()
        self.poll_now()

    def action_open_job(self) -> None:
        """Enter on a generation job shows it in Live."""
        job = self.selected_job()
        if job is None:
            return
        self._attached_id = job.id
        self._show_live()
        self.poll_now()

    def action_switch_tab(self, step: int) -> None:
        tabbed = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabbed.query(TabPane) if pane.id]
        index = panes.index(tabbed.active) if tabbed.active in panes else 0
        tabbed.active = panes[(index + step) % len(panes)]
        # Focus goes to the tabs: left in the hidden pane, it would pull that tab back.
        tabbed.query_one(Tabs).focus()

    def action_open_detail(self) -> None:
        super().action_open_job()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "test-endpoint":
            self.action_test_endpoint()
        elif event.button.id == "start":
            self.action_start()
        elif event.button.id == "serve-local":
            self.action_serve_local()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Typing a run name (or clearing it) stops the field following the newest run.
        if event.input.id == "field-run" and event.value != self._run_auto:
            self._run_auto = None

    def _field(self, key: str) -> str:
        return self.query_one(f"#field-{key}", Input).value.strip()

    def action_test_endpoint(self) -> None:
        base_url = (self._field("base_url").replace(",", " ").split() or [""])[0]
        model = self._field("model") or None
        if not base_url:
            self.notify("Fill in the endpoint first (e.g. http://127.0.0.1:8000/v1).")
            return
        if not base_url.startswith(("http://", "https://")):
            self.notify(
                f"Endpoint {base_url!r} — must start with http:// or https://",
                title="Cannot test",
                severity="error",
            )
            return
        self.query_one("#probe-result", Static).update(f"Testing {base_url}…")

        def probe() -> EndpointProbe:
            # The HTTP client loads here, in the worker: opening the screen stays instant.
            from magitui_core.generation.teacher import probe_endpoint

            return probe_endpoint(base_url, model, api_key_from("OPENAI_API_KEY"), timeout=20)

        self.run_worker(
            probe,
            name="test the endpoint",
            group="probe",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def action_serve_local(self) -> None:
        """Serve MODEL here as a job (vLLM where installed, else transformers serve, as
        `magitui serve` chooses) and point the form at it once it answers."""
        from magitui_core.generation.local_teacher import (
            LocalTeacherError,
            default_engine,
            engine_command,
        )

        model = self._field("model")
        if not model:
            self.notify("Fill in Model with the model to serve (hub id or folder).")
            return
        engine = default_engine()
        try:
            engine_command(engine, model, 0)  # fails at once, with the install hint
        except LocalTeacherError as exc:
            self.notify(in_app_words(str(exc)), title="Cannot serve locally", severity="error")
            return
        server = "vllm serve" if engine == "vllm" else "transformers serve"
        self.query_one("#probe-result", Static).update(
            f"Starting {server} {model} as a job; waiting for it to answer…"
        )
        jobs = self.ctx.jobs

        def serve() -> LocalTeacher:
            from magitui_core.generation.local_teacher import start_local_teacher, wait_until_ready

            return wait_until_ready(jobs, start_local_teacher(jobs, model, engine))

        self.run_worker(
            serve, name="serve the teacher", group="serve", thread=True, exit_on_error=False
        )

    def action_start(self) -> None:
        try:
            run, settings = self._settings()
        except (ValueError, WorkspaceError) as exc:
            self.notify(str(exc), title="Cannot start", severity="error", timeout=10)
            return
        self.run_worker(
            lambda: start_generation_job(self.ctx.jobs, settings, run=run),
            name="start the generation",
            group="start",
            thread=True,
            exit_on_error=False,
        )

    def _settings(self) -> tuple[str | None, GenerationSettings]:
        """The run (if any) and the settings; a relative Output lands in the run's data/,
        where Data and `magitui preprocess --run` look, so no file has to be moved."""

        def number(key: str, label: str) -> int:
            try:
                return int(self._field(key))
            except ValueError:
                raise ValueError(f"{label} {self._field(key)!r} — give a whole number") from None

        run = self._field("run") or None
        if run is not None:
            folder = self.ctx.workspace.run_path(run) / "data"  # refuses a bad name
            if not folder.parent.is_dir():
                known = ", ".join(r.name for r in self.ctx.workspace.list_runs()) or "none yet"
                raise WorkspaceError(
                    f"Run {run!r} does not exist (runs: {known}) — create it on Home (n), "
                    "or clear Run to write under the workspace"
                )
        else:
            folder = self.ctx.workspace.root / "data"
        out = Path(self._field("out") or GENERATED_NAME).expanduser()
        if not out.is_absolute():
            out = folder / out
        if not self._field("seeds"):
            raise ValueError("Seeds is empty — give a folder of code, a .jsonl file or hf:DATASET")
        # Several servers of the same model: separated by spaces or commas.
        urls = self._field("base_url").replace(",", " ").split() or [""]
        settings = GenerationSettings(
            base_url=urls[0],
            extra_base_urls=urls[1:],
            model=self._field("model"),
            seeds=self._field("seeds"),
            count=number("count", "Count"),
            out=out,
            concurrency=number("concurrency", "Parallel"),
        )
        try:
            settings.validate()
        except ValueError as exc:  # the engine names its flags; the form has labels
            raise ValueError(in_app_words(str(exc))) from None
        return run, settings

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base classes' handlers run too (Textual calls each class's handler in the MRO).
        if event.state is not WorkerState.SUCCESS:
            return
        if event.worker.group == "probe":
            self._show_probe(cast("EndpointProbe", event.worker.result))
        elif event.worker.group == "serve":
            teacher = cast("LocalTeacher", event.worker.result)
            self.query_one("#field-base_url", Input).value = teacher.base_url
            self.query_one("#probe-result", Static).update(
                f"✓ {teacher.model} is served at {teacher.base_url} by job {teacher.job.id} "
                "(stop it from Home or Jobs when done)."
            )
        elif event.worker.group == "start":
            job = cast(JobInfo, event.worker.result)
            if job.status.child_pid is None:
                self.notify(
                    f"{job.id} failed to start: {job.status.error}", severity="error", timeout=10
                )
                return
            self.notify(f"Started {job.id}.", title="Generation", timeout=4)
            self._attached_id = job.id
            self._show_live()
            self.poll_now()

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "start" and isinstance(worker.error, INPUT_ERRORS):
            self.notify(
                in_app_words(str(worker.error)), title="Cannot start", severity="error", timeout=10
            )
            return
        super().worker_failed(worker)

    def _show_probe(self, probe: EndpointProbe) -> None:
        result = self.query_one("#probe-result", Static)
        if probe.models and not self._field("model"):
            self.query_one("#field-model", Input).value = probe.model or probe.models[0].id
        names = ", ".join(m.id for m in probe.models[:6]) or "none listed"
        lines = []
        if probe.models_latency is not None:
            lines.append(
                f"✓ {len(probe.models)} model(s) in {probe.models_latency * 1000:.0f} ms: {names}"
            )
        if probe.chat_latency is not None:
            role = (
                "system role works"
                if probe.system_role
                else "system role rejected — it will be merged into the user turn"
            )
            lines.append(
                f"✓ {probe.model}: one chat in {probe.chat_latency * 1000:.0f} ms · {role}"
            )
        if probe.error:
            lines.append(f"✗ {probe.error}")
        result.update(Content("\n".join(lines) or "No answer."))
